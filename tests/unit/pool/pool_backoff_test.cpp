// Unit tests for pool::Pool's connect backoff: kFail while it lasts, doubling with a
// cap, reset on success, and what happens to queued clients. Single-threaded.
#include <memory>

#include <gtest/gtest.h>

#include "pgmux/pool/pool.hpp"
#include "pool_test_util.hpp"

namespace pgmux::pool {
namespace {

using namespace testing;  // NOLINT: the helpers of this test binary

TEST(PoolBackoffTest, ConnectFailedStartsBackoff) {
  Pool pool(limits_of(2), 1);
  ASSERT_EQ(pool.checkout(0, waiter(), kT0).kind, Kind::kConnect);
  pool.connect_failed("connection refused", kT0);
  expect_stats(pool, 0, 0, 0, 0);

  auto got = pool.checkout(0, waiter(), kT0 + milliseconds(999));
  EXPECT_EQ(got.kind, Kind::kFail);
  EXPECT_EQ(got.why(), "connection refused");
  expect_stats(pool, 0, 0, 0, 0);  // a failed checkout holds nothing and is not queued

  EXPECT_EQ(pool.checkout(0, waiter(), kT0 + seconds(1)).kind, Kind::kConnect);
  expect_stats(pool, 1, 0, 1, 0);
}

TEST(PoolBackoffTest, ResetBackoffEndsItAtOnce) {
  Pool pool(limits_of(2), 1);
  ASSERT_EQ(pool.checkout(0, waiter(), kT0).kind, Kind::kConnect);
  pool.connect_failed("down", kT0);
  ASSERT_EQ(pool.checkout(0, waiter(), kT0 + milliseconds(10)).kind, Kind::kFail);
  pool.reset_backoff();  // a health check found the server up
  EXPECT_EQ(pool.checkout(0, waiter(), kT0 + milliseconds(20)).kind, Kind::kConnect);
}

TEST(PoolBackoffTest, BackoffDoublesAndCapsAtSixteenTimes) {
  Pool pool(limits_of(2), 1);
  Clock::time_point t = kT0;
  ASSERT_EQ(pool.checkout(0, waiter(), t).kind, Kind::kConnect);
  for (int factor : {1, 2, 4, 8, 16, 16, 16}) {
    pool.connect_failed("down", t);
    auto backoff = seconds(factor);
    EXPECT_EQ(pool.checkout(0, waiter(), t + backoff - milliseconds(1)).kind, Kind::kFail)
        << "factor " << factor;
    t += backoff;
    ASSERT_EQ(pool.checkout(0, waiter(), t).kind, Kind::kConnect) << "factor " << factor;
  }
}

TEST(PoolBackoffTest, ConnectedResetsBackoff) {
  Pool pool(limits_of(2), 1);
  ASSERT_EQ(pool.checkout(0, waiter(), kT0).kind, Kind::kConnect);
  pool.connect_failed("down", kT0);  // 1 s
  ASSERT_EQ(pool.checkout(0, waiter(), kT0 + seconds(1)).kind, Kind::kConnect);
  pool.connect_failed("down", kT0 + seconds(1));  // 2 s
  ASSERT_EQ(pool.checkout(0, waiter(), kT0 + seconds(3)).kind, Kind::kConnect);
  pool.connected();
  expect_stats(pool, 1, 0, 0, 0);
  pool.drop();  // no server left: a client in backoff fails rather than queues

  // The next failure starts again from login_retry.
  ASSERT_EQ(pool.checkout(0, waiter(), kT0 + seconds(4)).kind, Kind::kConnect);
  pool.connect_failed("down again", kT0 + seconds(4));
  EXPECT_EQ(pool.checkout(0, waiter(), kT0 + seconds(4) + milliseconds(999)).kind, Kind::kFail);
  EXPECT_EQ(pool.checkout(0, waiter(), kT0 + seconds(5)).kind, Kind::kConnect);
}

TEST(PoolBackoffTest, ConnectFailedWithNoServerLeftFailsAllWaiters) {
  Pool pool(limits_of(1), 1);
  ASSERT_EQ(pool.checkout(0, waiter(), kT0).kind, Kind::kConnect);
  auto w1 = waiter(), w2 = waiter();
  ASSERT_EQ(pool.checkout(0, w1, kT0).kind, Kind::kWait);
  ASSERT_EQ(pool.checkout(0, w2, kT0).kind, Kind::kWait);
  pool.connect_failed("password authentication failed", kT0);
  EXPECT_EQ(w1->wakes, 1);
  EXPECT_EQ(w2->wakes, 1);
  expect_stats(pool, 0, 0, 0, 0);
  for (auto& w : {w1, w2}) {
    auto got = pool.finish_wait(w, kT0);
    EXPECT_EQ(got.kind, Kind::kFail);
    EXPECT_EQ(got.why(), "password authentication failed");
  }
}

TEST(PoolBackoffTest, ConnectFailedWithServersLeftKeepsWaiters) {
  Pool pool(limits_of(2), 1);
  auto s = open_server(pool, 1, 0);
  ASSERT_EQ(pool.checkout(0, waiter(), kT0).kind, Kind::kConnect);
  auto w = waiter();
  ASSERT_EQ(pool.checkout(0, w, kT0).kind, Kind::kWait);
  pool.connect_failed("too many clients", kT0);
  EXPECT_EQ(w->wakes, 0);
  expect_stats(pool, 1, 0, 0, 1);
  EXPECT_EQ(pool.release(std::move(s), kT0), nullptr);
  EXPECT_EQ(w->wakes, 1);
  auto got = pool.finish_wait(w, kT0);
  ASSERT_EQ(got.kind, Kind::kServer);
  EXPECT_EQ(id_of(got.server), 1);
}

// A failed connect must not fail new clients while live servers exist: they queue
// for one of those servers instead.
TEST(PoolBackoffTest, BackoffQueuesClientsWhileServersExist) {
  Pool pool(limits_of(2), 1);
  auto s = open_server(pool, 1, 0);
  ASSERT_EQ(pool.checkout(0, waiter(), kT0).kind, Kind::kConnect);
  pool.connect_failed("sorry, too many clients already", kT0);
  auto w = waiter();
  EXPECT_EQ(pool.checkout(0, w, kT0 + milliseconds(10)).kind, Kind::kWait);
  expect_stats(pool, 1, 0, 0, 1);
  EXPECT_EQ(pool.release(std::move(s), kT0 + milliseconds(20)), nullptr);
  EXPECT_EQ(w->wakes, 1);
  auto got = pool.finish_wait(w, kT0 + milliseconds(20));
  ASSERT_EQ(got.kind, Kind::kServer);
  EXPECT_EQ(id_of(got.server), 1);
}

// Clients queued through a backoff get the free slots once it is over, from the next
// checkout or the periodic reserve_warm_slots(), not only when a busy server comes back.
TEST(PoolBackoffTest, WaitersGetFreeSlotsWhenBackoffEnds) {
  Pool pool(limits_of(3), 1);
  auto a = open_server(pool, 1, 0);  // both stay checked out
  auto b = open_server(pool, 2, 0);
  ASSERT_EQ(pool.checkout(0, waiter(), kT0).kind, Kind::kConnect);
  auto w1 = waiter(), w2 = waiter();
  ASSERT_EQ(pool.checkout(0, w1, kT0 + milliseconds(100)).kind, Kind::kWait);
  pool.connect_failed("down", kT0 + milliseconds(200));
  ASSERT_EQ(pool.checkout(0, w2, kT0 + milliseconds(300)).kind, Kind::kWait);
  expect_stats(pool, 2, 0, 0, 2);

  EXPECT_EQ(pool.reserve_warm_slots(kT0 + milliseconds(1199)), 0u);  // still in backoff
  EXPECT_EQ(w1->wakes, 0);
  EXPECT_EQ(pool.reserve_warm_slots(kT0 + milliseconds(1200)), 0u);  // over: slot to w1
  EXPECT_EQ(w1->wakes, 1);
  EXPECT_EQ(w2->wakes, 0);
  expect_stats(pool, 3, 0, 1, 1);
  EXPECT_EQ(pool.finish_wait(w1, kT0 + milliseconds(1200)).kind, Kind::kConnect);
}

TEST(PoolBackoffTest, CheckoutAfterBackoffServesQueuedClientsFirst) {
  Pool pool(limits_of(2), 1);
  auto s = open_server(pool, 1, 0);
  ASSERT_EQ(pool.checkout(0, waiter(), kT0).kind, Kind::kConnect);
  auto w1 = waiter(), w2 = waiter();
  ASSERT_EQ(pool.checkout(0, w1, kT0).kind, Kind::kWait);
  ASSERT_EQ(pool.checkout(0, w2, kT0).kind, Kind::kWait);
  pool.connect_failed("down", kT0);
  expect_stats(pool, 1, 0, 0, 2);

  auto late = waiter();
  EXPECT_EQ(pool.checkout(0, late, kT0 + seconds(2)).kind, Kind::kWait);
  EXPECT_EQ(w1->wakes, 1);  // the oldest got the free slot, ahead of the newcomer
  EXPECT_EQ(w2->wakes, 0);
  expect_stats(pool, 2, 0, 1, 2);
  EXPECT_EQ(pool.finish_wait(w1, kT0 + seconds(2)).kind, Kind::kConnect);
}

// A connect slot granted during a backoff fails at finish_wait; when that leaves the
// pool without any server, the other waiters are failed too instead of hanging.
TEST(PoolBackoffTest, GrantFailingInBackoffFailsRemainingWaiters) {
  Pool pool(limits_of(2), 1);
  auto s = open_server(pool, 1, 0);
  ASSERT_EQ(pool.checkout(0, waiter(), kT0).kind, Kind::kConnect);
  auto w1 = waiter(), w2 = waiter();
  ASSERT_EQ(pool.checkout(0, w1, kT0).kind, Kind::kWait);
  ASSERT_EQ(pool.checkout(0, w2, kT0).kind, Kind::kWait);
  pool.connect_failed("down", kT0);
  expect_stats(pool, 1, 0, 0, 2);

  s.reset();
  pool.drop();  // the last server breaks: its slot goes to w1
  EXPECT_EQ(w1->wakes, 1);
  auto got = pool.finish_wait(w1, kT0 + milliseconds(10));
  EXPECT_EQ(got.kind, Kind::kFail);
  EXPECT_EQ(got.why(), "down");
  EXPECT_EQ(w2->wakes, 1);
  expect_stats(pool, 0, 0, 0, 0);
  got = pool.finish_wait(w2, kT0 + milliseconds(10));
  EXPECT_EQ(got.kind, Kind::kFail);
  EXPECT_EQ(got.why(), "down");
}

TEST(PoolBackoffTest, GrantAfterBackoffEndsConnects) {
  Pool pool(limits_of(1), 1);
  auto s = open_server(pool, 1, 0);
  auto w = waiter();
  ASSERT_EQ(pool.checkout(0, w, kT0).kind, Kind::kWait);
  s.reset();
  pool.drop();
  EXPECT_EQ(pool.finish_wait(w, kT0).kind, Kind::kConnect);
  expect_stats(pool, 1, 0, 1, 0);
}

// A server refused at release during a backoff frees the last slot: the queued clients
// are failed rather than left waiting for a release that cannot come.
TEST(PoolBackoffTest, RefusedReleaseLeavingNoServerFailsWaiters) {
  Pool pool(limits_of(2), 1);
  auto s = open_server(pool, 1, 0, kT0);
  ASSERT_EQ(pool.checkout(0, waiter(), kT0).kind, Kind::kConnect);
  auto w1 = waiter(), w2 = waiter();
  ASSERT_EQ(pool.checkout(0, w1, kT0).kind, Kind::kWait);
  ASSERT_EQ(pool.checkout(0, w2, kT0).kind, Kind::kWait);
  pool.connect_failed("down", kT0 + hours(2));
  ASSERT_NE(pool.release(std::move(s), kT0 + hours(2)), nullptr);  // past lifetime
  EXPECT_EQ(w1->wakes, 1);
  EXPECT_EQ(w2->wakes, 1);
  expect_stats(pool, 0, 0, 0, 0);
  for (auto& w : {w1, w2}) {
    auto got = pool.finish_wait(w, kT0 + hours(2));
    EXPECT_EQ(got.kind, Kind::kFail);
    EXPECT_EQ(got.why(), "down");
  }
}

}  // namespace
}  // namespace pgmux::pool
