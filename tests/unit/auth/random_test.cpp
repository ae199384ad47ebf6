// Unit tests for the block-buffered CSPRNG draws (random.hpp).
#include "pgmux/auth/random.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace pgmux::auth {
namespace {

std::string draw(size_t size) {
  std::string out(size, '\0');
  random_bytes(out.data(), size);
  return out;
}

// Small draws are served from one block after another: none repeats, whether the draw
// fits the rest of the block or needs a new one (sizes 8 and 60 do not divide 256).
TEST(RandomBytes, SmallDrawsNeverRepeatAcrossBlocks) {
  std::set<std::string> seen;
  for (int i = 0; i < 300; ++i) {
    EXPECT_TRUE(seen.insert(draw(8)).second) << "draw " << i << " repeated an earlier one";
    EXPECT_TRUE(seen.insert(draw(60)).second) << "draw " << i << " repeated an earlier one";
  }
}

TEST(RandomBytes, LargeDrawsAreFilledAndDiffer) {
  std::string a = draw(1000);
  std::string b = draw(1000);
  EXPECT_NE(a, b);
  EXPECT_NE(a, std::string(1000, '\0'));
  EXPECT_NE(a.substr(900), std::string(100, '\0'));  // filled to the end
}

TEST(RandomBytes, ZeroBytesTouchNothing) {
  std::array<uint8_t, 4> out{1, 2, 3, 4};
  random_bytes(out.data(), 0);
  EXPECT_EQ(out, (std::array<uint8_t, 4>{1, 2, 3, 4}));
}

TEST(RandomBytes, ThreadsDrawDifferentBytes) {
  std::vector<std::string> drawn(4);
  std::vector<std::thread> threads;
  for (auto& out : drawn) threads.emplace_back([&out] { out = draw(16); });
  for (auto& t : threads) t.join();
  std::set<std::string> distinct(drawn.begin(), drawn.end());
  drawn.push_back(draw(16));
  distinct.insert(drawn.back());
  EXPECT_EQ(distinct.size(), 5u);
}

}  // namespace
}  // namespace pgmux::auth
