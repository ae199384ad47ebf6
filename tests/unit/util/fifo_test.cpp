// Unit tests for util::Fifo: order, draining, and storage reuse. Single-threaded.
#include "pgmux/util/fifo.hpp"

#include <gtest/gtest.h>

#include <string>

namespace pgmux::util {
namespace {

TEST(FifoTest, FirstInFirstOut) {
  Fifo<std::string> q;
  EXPECT_TRUE(q.empty());
  q.push_back("a");
  q.push_back("b");
  q.push_back("c");
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.front(), "a");
  q.pop_front();
  EXPECT_EQ(q.front(), "b");
  EXPECT_EQ(q[1], "c");
  q.erase_front(2);
  EXPECT_TRUE(q.empty());
}

TEST(FifoTest, InterleavedPushAndPopKeepOrderAcrossCompaction) {
  Fifo<int> q;
  int next_in = 0, next_out = 0;
  for (int round = 0; round < 1000; ++round) {
    for (int i = 0; i < 3; ++i) q.push_back(next_in++);
    for (int i = 0; i < 2; ++i) {
      ASSERT_EQ(q.front(), next_out++);
      q.pop_front();
    }
  }
  EXPECT_EQ(q.size(), static_cast<size_t>(next_in - next_out));
  for (size_t i = 0; i < q.size(); ++i) EXPECT_EQ(q[i], next_out + static_cast<int>(i));
}

TEST(FifoTest, ClearEmpties) {
  Fifo<int> q;
  q.push_back(1);
  q.clear();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.size(), 0u);
}

}  // namespace
}  // namespace pgmux::util
