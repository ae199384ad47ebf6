// Unit test for backend/frame_alloc.hpp: the frames of coroutines run on an io_context
// come from util::FramePool (a frame that ends goes back to this thread's lists, and the
// next coroutine of its size takes that same memory), not from Asio's recycling cache.
#include "pgmux/backend/asio.hpp"

#include <gtest/gtest.h>

#include "pgmux/util/frame_pool.hpp"

namespace pgmux {
namespace {

awaitable<int> leaf(int x) {
  co_return x + 1;
}

awaitable<void> parent(int& out) {
  out = co_await leaf(out);
}

void run_parent(asio::io_context& io, int& out) {
  io.restart();
  asio::co_spawn(io, parent(out), asio::detached);
  io.run();
}

TEST(FrameAlloc, EndedFramesGoBackToTheFramePoolAndAreTakenAgain) {
  asio::io_context io;
  int out = 1;
  size_t kept_before = util::FramePool::kept();
  run_parent(io, out);
  EXPECT_EQ(out, 2);
  // parent's and leaf's frames (and co_spawn's own) ended on this thread: in its lists.
  size_t kept = util::FramePool::kept();
  EXPECT_GE(kept, kept_before + 2);
  run_parent(io, out);
  EXPECT_EQ(out, 3);
  // The same frames were taken and given back: no new memory kept, none lost.
  EXPECT_EQ(util::FramePool::kept(), kept);
}

}  // namespace
}  // namespace pgmux
