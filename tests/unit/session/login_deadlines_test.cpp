// Unit tests for LoginDeadlines (include/pgmux/session/login_deadlines.hpp): one timer
// for every login deadline of a worker. A watch expires once its deadline has passed,
// in deadline order whatever the order of registration (an earlier deadline arms the
// timer again); a watch destroyed before its deadline never expires; a watch added after
// the timer ran out of deadlines arms it again. The io_context runs until no work is
// left: that is, until every watch still registered has expired.
#include "pgmux/session/login_deadlines.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace pgmux::session {
namespace {

using namespace std::chrono_literals;
using Clock = pool::Clock;

struct Expiries {
  std::vector<std::string> order;
  std::vector<Clock::time_point> at;
};

struct Named {
  Expiries* log;
  std::string name;
};

void record(void* context) {
  auto* named = static_cast<Named*>(context);
  named->log->order.push_back(named->name);
  named->log->at.push_back(Clock::now());
}

TEST(LoginDeadlinesTest, WatchesExpireInDeadlineOrderAndDestroyedOnesNever) {
  boost::asio::io_context io;
  LoginDeadlines deadlines(io);
  Expiries log;
  Named a{&log, "a"}, b{&log, "b"}, c{&log, "c"};
  const auto start = Clock::now();
  LoginWatch late(deadlines, start + 120ms, record, &a);
  LoginWatch early(deadlines, start + 40ms, record, &b);  // earlier than the armed deadline
  {
    LoginWatch gone(deadlines, start + 80ms, record, &c);  // a login that finished in time
    EXPECT_EQ(deadlines.size(), 3u);
  }
  EXPECT_EQ(deadlines.size(), 2u);
  io.run_for(10s);
  ASSERT_EQ(log.order, (std::vector<std::string>{"b", "a"}));
  EXPECT_GE(log.at[0], start + 40ms);
  EXPECT_GE(log.at[1], start + 120ms);
  EXPECT_TRUE(early.expired());
  EXPECT_TRUE(late.expired());
  EXPECT_EQ(deadlines.size(), 0u);
}

TEST(LoginDeadlinesTest, WatchAddedAfterTheTimerRanOutArmsItAgain) {
  boost::asio::io_context io;
  LoginDeadlines deadlines(io);
  Expiries log;
  Named first{&log, "first"}, second{&log, "second"};
  std::optional<LoginWatch> later;
  LoginWatch once(deadlines, Clock::now() + 20ms, record, &first);
  io.run_for(10s);
  ASSERT_EQ(log.order, (std::vector<std::string>{"first"}));
  io.restart();
  const auto added = Clock::now();
  later.emplace(deadlines, added + 30ms, record, &second);
  io.run_for(10s);
  ASSERT_EQ(log.order, (std::vector<std::string>{"first", "second"}));
  EXPECT_GE(log.at[1], added + 30ms);
  EXPECT_TRUE(later->expired());
}

TEST(LoginDeadlinesTest, DeadlinesAlreadyPastExpireTogetherOnTheNextRun) {
  boost::asio::io_context io;
  LoginDeadlines deadlines(io);
  Expiries log;
  Named x{&log, "x"}, y{&log, "y"};
  const auto past = Clock::now() - 1s;
  LoginWatch wx(deadlines, past, record, &x);
  LoginWatch wy(deadlines, past + 1ms, record, &y);
  EXPECT_FALSE(wx.expired());  // nothing runs until the io_context does
  io.run_for(10s);
  EXPECT_EQ(log.order, (std::vector<std::string>{"x", "y"}));
  EXPECT_TRUE(wx.expired());
  EXPECT_TRUE(wy.expired());
}

}  // namespace
}  // namespace pgmux::session
