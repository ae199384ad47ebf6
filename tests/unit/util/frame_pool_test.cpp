// Unit tests for util::FramePool: a frame given back is the next one taken of its size
// class, classes do not mix, large frames and frames over a class's byte budget are not kept, and a
// frame given back on another thread joins that thread's lists. Single-threaded except
// where a test starts a thread of its own.
#include "pgmux/util/frame_pool.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace pgmux::util {
namespace {

TEST(FramePool, AFrameGivenBackIsTakenAgainForItsSizeClass) {
  void* a = FramePool::allocate(200);
  size_t kept = FramePool::kept();
  FramePool::deallocate(a, 200);
  EXPECT_EQ(FramePool::kept(), kept + 1);
  void* b = FramePool::allocate(250);  // same 64-byte class (193..256)
  EXPECT_EQ(b, a);
  EXPECT_EQ(FramePool::kept(), kept);
  FramePool::deallocate(b, 250);
}

TEST(FramePool, SizeClassesDoNotMix) {
  void* small = FramePool::allocate(100);
  FramePool::deallocate(small, 100);
  void* larger = FramePool::allocate(300);
  EXPECT_NE(larger, small);
  void* again = FramePool::allocate(128);
  EXPECT_EQ(again, small);
  FramePool::deallocate(larger, 300);
  FramePool::deallocate(again, 128);
}

TEST(FramePool, LargeFramesAreNotKept) {
  size_t kept = FramePool::kept();
  const size_t big = FramePool::kGranule * FramePool::kClasses + 1;
  void* p = FramePool::allocate(big);
  FramePool::deallocate(p, big);
  EXPECT_EQ(FramePool::kept(), kept);
}

TEST(FramePool, KeepsAtMostItsByteBudgetPerClass) {
  const size_t cap = FramePool::max_kept(1000);
  EXPECT_EQ(cap, FramePool::kMaxKeptBytes / 1024);  // 1000 bytes: the 1 KiB class
  std::vector<void*> frames;
  for (size_t i = 0; i < cap + 10; ++i) frames.push_back(FramePool::allocate(1000));
  size_t kept = FramePool::kept();  // the 1 KiB class is empty now
  for (void* p : frames) FramePool::deallocate(p, 1000);
  EXPECT_EQ(FramePool::kept(), kept + cap);
}

TEST(FramePool, AFrameGivenBackOnAnotherThreadJoinsThatThreadsList) {
  void* frame = FramePool::allocate(500);
  size_t kept_here = FramePool::kept();
  void* taken_there = nullptr;
  size_t kept_there = 0;
  std::thread other([&] {
    FramePool::deallocate(frame, 500);
    kept_there = FramePool::kept();
    taken_there = FramePool::allocate(500);
    FramePool::deallocate(taken_there, 500);
  });
  other.join();
  EXPECT_EQ(kept_there, 1u);
  EXPECT_EQ(taken_there, frame);
  EXPECT_EQ(FramePool::kept(), kept_here);
}

}  // namespace
}  // namespace pgmux::util
