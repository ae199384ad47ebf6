// Unit tests for SessionWaiter (src/session/session_impl.hpp, private to the session
// module): a parked wait ends when woken, on its own thread or from another (through the
// worker's mailbox), and at its deadline otherwise; the deadline timer, left running
// across waits, neither ends a later wait early nor lets an earlier deadline pass. Times are what is tested here
// (query_wait_timeout), with margins of 100 ms and more.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <thread>

#include "../../../src/session/session_impl.hpp"

namespace pgmux::session {
namespace {

using namespace std::chrono_literals;
using Clock = pool::Clock;

struct WaitEnd {
  error_code ec;
  Clock::duration after{};
};

class WaiterTest : public ::testing::Test {
 protected:
  // Parks until woken or `deadline` from now; records how it ended.
  awaitable<WaitEnd> wait_for(Clock::duration deadline) {
    auto start = Clock::now();
    waiter->end_by(start + deadline);
    auto [ec] = co_await waiter->slot.park(deferred_nothrow);
    ++waiter->generation;
    co_return WaitEnd{ec, Clock::now() - start};
  }
  // Calls wake() on this thread `after` from now.
  void wake_after(Clock::duration after) {
    auto timer = std::make_shared<asio::steady_timer>(io, after);
    timer->async_wait([timer, w = waiter](const error_code&) { w->wake(); });
  }
  void run(awaitable<void> test) {
    asio::co_spawn(io, std::move(test), [this](std::exception_ptr e) {
      io.stop();  // the deadline timer may still be armed: it outlives waits
      if (e) std::rethrow_exception(e);
    });
    io.run_for(10s);
  }

  // As a worker's: no Asio locks, so a wake from another thread goes through the mailbox.
  asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE};
  Runtime runtime{std::make_shared<const config::Config>()};
  Worker worker{0, io, runtime};
  std::shared_ptr<SessionWaiter> waiter = std::make_shared<SessionWaiter>(worker);
};

TEST_F(WaiterTest, AWakeOnItsThreadEndsTheWait) {
  std::optional<WaitEnd> end;
  run([&]() -> awaitable<void> {
    wake_after(50ms);
    end = co_await wait_for(5s);
  }());
  ASSERT_TRUE(end);
  EXPECT_FALSE(end->ec) << end->ec.message();
  EXPECT_LT(end->after, 2s);
}

TEST_F(WaiterTest, AWakeFromAnotherThreadEndsTheWait) {
  std::optional<WaitEnd> end;
  std::thread other;
  run([&]() -> awaitable<void> {
    other = std::thread([w = waiter] {
      std::this_thread::sleep_for(50ms);
      w->wake();
    });
    end = co_await wait_for(5s);
  }());
  other.join();
  ASSERT_TRUE(end);
  EXPECT_FALSE(end->ec) << end->ec.message();
  EXPECT_LT(end->after, 2s);
}

TEST_F(WaiterTest, AnUnwokenWaitEndsAtItsDeadline) {
  std::optional<WaitEnd> end;
  run([&]() -> awaitable<void> { end = co_await wait_for(200ms); }());
  ASSERT_TRUE(end);
  EXPECT_EQ(end->ec, asio::error::timed_out);
  EXPECT_GE(end->after, 200ms);
  EXPECT_LT(end->after, 2s);
}

// The first wait arms the timer for 400 ms and is woken at once; the second starts
// with a deadline of 1.5 s, so the timer fires in its middle: it must go on until its
// wake at 600 ms. A third, with a deadline of 100 ms (earlier than the 1.5 s the timer
// is armed for by then), must end then, not when the timer was set for.
TEST_F(WaiterTest, TheTimerLeftRunningNeitherEndsALaterWaitEarlyNorMissesAnEarlierDeadline) {
  std::optional<WaitEnd> first, second, third;
  run([&]() -> awaitable<void> {
    wake_after(10ms);
    first = co_await wait_for(400ms);
    wake_after(600ms);
    second = co_await wait_for(1500ms);
    third = co_await wait_for(100ms);
  }());
  ASSERT_TRUE(first && second && third);
  EXPECT_FALSE(first->ec) << first->ec.message();
  EXPECT_FALSE(second->ec) << "the earlier wait's timer ended this one: " << second->ec.message();
  EXPECT_GE(second->after, 550ms);
  EXPECT_EQ(third->ec, asio::error::timed_out);
  EXPECT_GE(third->after, 100ms);
  EXPECT_LT(third->after, 500ms);
}

TEST_F(WaiterTest, AWakeForAnEndedWaitDoesNotEndTheNext) {
  std::optional<WaitEnd> first, second;
  run([&]() -> awaitable<void> {
    wake_after(10ms);
    first = co_await wait_for(5s);
    waiter->wake();  // nothing parked: nothing to end
    second = co_await wait_for(200ms);
  }());
  ASSERT_TRUE(first && second);
  EXPECT_FALSE(first->ec);
  EXPECT_EQ(second->ec, asio::error::timed_out);
  EXPECT_GE(second->after, 200ms);
}

}  // namespace
}  // namespace pgmux::session
