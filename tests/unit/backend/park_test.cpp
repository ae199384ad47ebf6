// Unit tests for ParkingSlot (backend/park.hpp): a parked coroutine resumes with the
// code unpark() gives, unpark() with nothing parked does nothing, and an io_context
// destroyed with a coroutine still parked frees it (as it frees one waiting on a socket).
#include "pgmux/backend/asio.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <vector>

namespace pgmux {
namespace {

TEST(ParkingSlot, AParkedCoroutineResumesWithTheCodeItIsUnparkedWith) {
  asio::io_context io{1};
  ParkingSlot slot(io);
  std::optional<error_code> got;
  asio::co_spawn(io, [&]() -> awaitable<void> {
    auto [ec] = co_await slot.park(deferred_nothrow);
    got = ec;
  }, asio::detached);
  io.poll();
  EXPECT_TRUE(slot.parked());
  EXPECT_FALSE(got);
  slot.unpark(asio::error::timed_out);
  EXPECT_FALSE(slot.parked());
  io.poll();
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, asio::error::timed_out);
  slot.unpark();  // nothing parked: nothing happens
  EXPECT_EQ(io.poll(), 0u);
}

TEST(ParkingSlot, DestroyingTheContextFreesAParkedCoroutine) {
  auto alive = std::make_shared<int>(0);
  std::weak_ptr<int> watch = alive;
  auto io = std::make_unique<asio::io_context>(1);
  ParkingSlot slot(*io);
  asio::co_spawn(*io, [held = std::move(alive), &slot]() -> awaitable<void> {
    co_await slot.park(deferred_nothrow);
  }, asio::detached);
  io->poll();
  ASSERT_TRUE(slot.parked());
  EXPECT_FALSE(watch.expired());  // the parked coroutine holds it
  io.reset();
  EXPECT_TRUE(watch.expired()) << "the parked coroutine was not freed";
  EXPECT_FALSE(slot.parked());
}

// park_with(): the same park with an operation kept in the coroutine's frame, used for
// one wait after another.
TEST(ParkingSlot, AKeptParkResumesWithTheCodeItIsUnparkedWithEachTime) {
  asio::io_context io{1};
  ParkingSlot slot(io);
  std::vector<error_code> got;
  asio::co_spawn(io, [&]() -> awaitable<void> {
    KeptPark park;
    for (int i = 0; i < 2; ++i) {
      co_await slot.park_with(park);
      got.push_back(park.ec);
    }
  }, asio::detached);
  io.poll();
  EXPECT_TRUE(slot.parked());
  EXPECT_TRUE(got.empty());
  slot.unpark(asio::error::timed_out);
  io.poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], asio::error::timed_out);
  EXPECT_TRUE(slot.parked()) << "parked again with the same operation";
  slot.unpark();
  io.poll();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_FALSE(got[1]);
  EXPECT_FALSE(slot.parked());
}

TEST(ParkingSlot, DestroyingTheContextFreesACoroutineParkedWithAKeptPark) {
  auto alive = std::make_shared<int>(0);
  std::weak_ptr<int> watch = alive;
  auto io = std::make_unique<asio::io_context>(1);
  ParkingSlot slot(*io);
  asio::co_spawn(*io, [held = std::move(alive), &slot]() -> awaitable<void> {
    KeptPark park;
    co_await slot.park_with(park);
  }, asio::detached);
  io->poll();
  ASSERT_TRUE(slot.parked());
  EXPECT_FALSE(watch.expired());
  io.reset();
  EXPECT_TRUE(watch.expired()) << "the parked coroutine was not freed";
  EXPECT_FALSE(slot.parked());
}

}  // namespace
}  // namespace pgmux
