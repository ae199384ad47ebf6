// Unit tests for backend::intern_params: equal settings share one copy (so a server's
// "in line with" check compares addresses), different ones do not, a released copy is
// made afresh, and threads interning and releasing at once agree.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "pgmux/backend/server_connection.hpp"

namespace pgmux::backend {
namespace {

TEST(InternParamsTest, EqualContentsShareOneCopy) {
  auto a = intern_params({{"application_name", "app"}, {"TimeZone", "UTC"}});
  auto b = intern_params({{"TimeZone", "UTC"}, {"application_name", "app"}});
  auto c = intern_params({{"application_name", "other"}, {"TimeZone", "UTC"}});
  EXPECT_EQ(a.get(), b.get());
  EXPECT_NE(a.get(), c.get());
  EXPECT_EQ(*a, (ParamMap{{"TimeZone", "UTC"}, {"application_name", "app"}}));
  EXPECT_EQ(intern_params({}).get(), intern_params({}).get());
  EXPECT_TRUE(intern_params({})->empty());
  EXPECT_NE(intern_params({}).get(), a.get());
}

TEST(InternParamsTest, AReleasedCopyIsMadeAgainWithTheSameContents) {
  ParamMap m{{"search_path", "released_then_interned"}};
  std::weak_ptr<const ParamMap> first;
  {
    auto held = intern_params(m);
    first = held;
    EXPECT_EQ(intern_params(m).get(), held.get());
  }
  EXPECT_TRUE(first.expired());
  auto again = intern_params(m);
  EXPECT_EQ(*again, m);
  EXPECT_EQ(intern_params(m).get(), again.get());
}

TEST(InternParamsTest, ThreadsInterningAndReleasingAgree) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 20000;
  auto pinned = intern_params({{"k", "0"}});  // one of the maps stays held throughout
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        std::string v = std::to_string((i + t) % 3);
        auto x = intern_params({{"k", v}});
        auto y = intern_params({{"k", v}});
        if (x.get() != y.get() || x->at("k") != v) ++wrong;
        if (v == "0" && x.get() != pinned.get()) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace pgmux::backend
