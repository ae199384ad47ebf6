// Unit tests for servers kept by their clients between transactions (Pool::hold): counted
// idle, taken back for a waiter before a new server is opened, one per waiter, from the
// waiter's own worker first, closed by expiry and take_all_idle through their holders.
// Single-threaded.
#include <memory>
#include <utility>

#include <gtest/gtest.h>

#include "pgmux/pool/pool.hpp"
#include "pool_test_util.hpp"

namespace pgmux::pool {
namespace {

using namespace testing;  // NOLINT: the helpers of this test binary

// Counts reclaim() calls (the real holder posts to its worker; here the test acts for it).
class FakeHolder : public Holder {
 public:
  void reclaim() override { ++reclaims; }
  int reclaims = 0;
};

// A server checked out, then held by `holder` at `at`. (Servers are opened before any is
// held: a checkout with a server held takes that one back rather than open another.)
std::unique_ptr<PooledServer> held_server(Pool& pool, FakeHolder& holder, int id, unsigned worker,
                                          Clock::time_point at = kT0) {
  auto server = open_server(pool, id, worker, at);
  EXPECT_TRUE(pool.hold(holder, *server, at));
  return server;
}

// Two servers opened at kT0, then held by `a` and `b` (in that order) at `at_a`, `at_b`.
std::pair<std::unique_ptr<PooledServer>, std::unique_ptr<PooledServer>> two_held(
    Pool& pool, FakeHolder& a, unsigned worker_a, FakeHolder& b, unsigned worker_b,
    Clock::time_point at_a = kT0, Clock::time_point at_b = kT0) {
  auto sa = open_server(pool, 1, worker_a);
  auto sb = open_server(pool, 2, worker_b);
  EXPECT_TRUE(pool.hold(a, *sa, at_a));
  EXPECT_TRUE(pool.hold(b, *sb, at_b));
  return {std::move(sa), std::move(sb)};
}

TEST(PoolHoldTest, AHeldServerCountsIdleAndIsTakenUpAgainByItsHolder) {
  Pool pool(limits_of(2), 1);
  FakeHolder holder;
  auto server = held_server(pool, holder, 1, 0);
  expect_stats(pool, 1, 1, 0, 0);
  int visited = 0;
  pool.for_each_idle([&](const PooledServer& s) { visited += static_cast<const FakeServer&>(s).id; });
  EXPECT_EQ(visited, 1);
  EXPECT_EQ(pool.stats(kT0 + seconds(1)).idle_stale, 1u);

  EXPECT_TRUE(pool.unhold(holder));
  expect_stats(pool, 1, 0, 0, 0);
  EXPECT_FALSE(pool.reclaimed(holder));
  EXPECT_EQ(holder.reclaims, 0);
  // Held again after its next transaction, and again.
  EXPECT_TRUE(pool.hold(holder, *server, kT0 + seconds(1)));
  EXPECT_TRUE(pool.unhold(holder));
  EXPECT_TRUE(pool.hold(holder, *server, kT0 + seconds(2)));
  expect_stats(pool, 1, 1, 0, 0);
}

TEST(PoolHoldTest, HoldIsRefusedWhileAClientWaitsAndPastLifetime) {
  Pool pool(limits_of(1), 1);
  FakeHolder holder;
  auto server = open_server(pool, 1, 0);
  auto w = waiter();
  ASSERT_EQ(pool.checkout(0, w, kT0).kind, Kind::kWait);
  EXPECT_FALSE(pool.hold(holder, *server, kT0));
  EXPECT_EQ(pool.release(std::move(server), kT0), nullptr);
  EXPECT_EQ(pool.finish_wait(w, kT0).kind, Kind::kServer);

  auto old = std::make_unique<FakeServer>(2, 0, kT0 - hours(1));
  EXPECT_FALSE(pool.hold(holder, *old, kT0));
}

TEST(PoolHoldTest, AWaiterReclaimsAHeldServerBeforeANewOneIsOpened) {
  Pool pool(limits_of(5), 1);
  FakeHolder holder;
  auto server = held_server(pool, holder, 7, 0);
  auto w = waiter();
  ASSERT_EQ(pool.checkout(0, w, kT0 + seconds(1)).kind, Kind::kWait)
      << "a connect slot while a held server could serve";
  EXPECT_EQ(holder.reclaims, 1);
  EXPECT_TRUE(pool.reclaimed(holder));
  EXPECT_EQ(w->wakes, 0);
  expect_stats(pool, 1, 0, 0, 1);

  // The holder's next transaction came first: it must give the server back.
  EXPECT_FALSE(pool.unhold(holder));
  EXPECT_EQ(pool.give_back(holder, std::move(server), kT0 + seconds(1), false), nullptr);
  EXPECT_EQ(w->wakes, 1);
  auto got = pool.finish_wait(w, kT0 + seconds(1));
  ASSERT_EQ(got.kind, Kind::kServer);
  EXPECT_EQ(id_of(got.server), 7);
  // Idle since it was held: checked before reuse by the session that takes it.
  EXPECT_EQ(got.server->idle_since, kT0);
  EXPECT_FALSE(pool.reclaimed(holder));
  expect_stats(pool, 1, 0, 0, 0);
}

TEST(PoolHoldTest, OneReclaimPerWaiterAndFreeSlotsForTheRest) {
  Pool pool(limits_of(5), 1);
  FakeHolder h1, h2;
  auto [s1, s2] = two_held(pool, h1, 0, h2, 0);
  auto w1 = waiter(), w2 = waiter(), w3 = waiter();
  ASSERT_EQ(pool.checkout(0, w1, kT0).kind, Kind::kWait);
  EXPECT_EQ(h1.reclaims + h2.reclaims, 1);
  EXPECT_EQ(h1.reclaims, 1) << "the server held longest goes first";
  ASSERT_EQ(pool.checkout(0, w2, kT0).kind, Kind::kWait);
  EXPECT_EQ(h2.reclaims, 1);
  // Nothing held is left and every waiter has a reclaim coming: a new server may open.
  EXPECT_EQ(pool.checkout(0, w3, kT0).kind, Kind::kConnect);
  expect_stats(pool, 3, 0, 1, 2);

  // The holders give back through the work reclaim() posted.
  ASSERT_TRUE(pool.reclaimed(h2));
  EXPECT_EQ(pool.give_back(h2, std::move(s2), kT0, false), nullptr);
  ASSERT_TRUE(pool.reclaimed(h1));
  EXPECT_EQ(pool.give_back(h1, std::move(s1), kT0, false), nullptr);
  EXPECT_EQ(id_of(pool.finish_wait(w1, kT0).server), 2) << "the oldest waiter is served first";
  EXPECT_EQ(id_of(pool.finish_wait(w2, kT0).server), 1);
}

TEST(PoolHoldTest, AReclaimTakesAServerHeldOnTheWaitersWorkerFirst) {
  Pool pool(limits_of(2), 2);
  FakeHolder on0, on1;
  auto [s0, s1] = two_held(pool, on0, 0, on1, 1);
  auto w = waiter();
  ASSERT_EQ(pool.checkout(1, w, kT0).kind, Kind::kWait);
  EXPECT_EQ(on0.reclaims, 0);
  EXPECT_EQ(on1.reclaims, 1);
}

TEST(PoolHoldTest, AReclaimedServerGivenBackWithNoWaiterLeftIsListedIdle) {
  Pool pool(limits_of(1), 1);
  FakeHolder holder;
  auto server = held_server(pool, holder, 1, 0);
  auto w = waiter();
  ASSERT_EQ(pool.checkout(0, w, kT0).kind, Kind::kWait);
  EXPECT_EQ(pool.finish_wait(w, kT0 + seconds(5)).kind, Kind::kWait);  // gave up
  EXPECT_EQ(pool.give_back(holder, std::move(server), kT0 + seconds(5), false), nullptr);
  expect_stats(pool, 1, 1, 0, 0);
  EXPECT_EQ(pool.checkout(0, waiter(), kT0 + seconds(5)).kind, Kind::kServer);
}

TEST(PoolHoldTest, ExpiryReclaimsAHeldServerToCloseIt) {
  Pool pool(limits_of(2), 1);
  FakeHolder idle_one, fresh_one;
  auto [idle, fresh] = two_held(pool, idle_one, 0, fresh_one, 0, kT0, kT0 + minutes(5));
  EXPECT_TRUE(pool.take_expired(kT0 + minutes(10)).empty()) << "held servers are not taken here";
  EXPECT_EQ(idle_one.reclaims, 1);
  EXPECT_EQ(fresh_one.reclaims, 0);
  expect_stats(pool, 2, 1, 0, 0);  // its slot counted until the holder gives it back
  auto closed = pool.give_back(idle_one, std::move(idle), kT0 + minutes(10), false);
  ASSERT_NE(closed, nullptr) << "reclaimed to be closed, it came back to the pool";
  EXPECT_EQ(id_of(closed), 1);
  expect_stats(pool, 1, 1, 0, 0);
  EXPECT_EQ(pool.stats().closed, 1u);
  EXPECT_TRUE(pool.unhold(fresh_one));
}

TEST(PoolHoldTest, TakeAllIdleReclaimsHeldServersToCloseThem) {
  Pool pool(limits_of(2), 1);
  FakeHolder holder;
  auto server = held_server(pool, holder, 1, 0);
  EXPECT_TRUE(pool.take_all_idle().empty());
  EXPECT_EQ(holder.reclaims, 1);
  EXPECT_FALSE(pool.unhold(holder)) << "RECONNECT's server taken up again";
  EXPECT_NE(pool.give_back(holder, std::move(server), kT0, false), nullptr);
  expect_stats(pool, 0, 0, 0, 0);
}

TEST(PoolHoldTest, AHolderThatLeavesGivesItsServerBackOrClosesIt) {
  Pool pool(limits_of(2), 1);
  FakeHolder a, b;
  auto [sa, sb] = two_held(pool, a, 0, b, 0);
  EXPECT_EQ(pool.give_back(a, std::move(sa), kT0 + seconds(1), false), nullptr);
  expect_stats(pool, 2, 2, 0, 0);
  EXPECT_NE(pool.give_back(b, std::move(sb), kT0 + seconds(1), true), nullptr);
  expect_stats(pool, 1, 1, 0, 0);
  auto got = pool.checkout(0, waiter(), kT0 + seconds(1));
  ASSERT_EQ(got.kind, Kind::kServer);
  EXPECT_EQ(id_of(got.server), 1);
  EXPECT_EQ(got.server->idle_since, kT0) << "idle since it was held, not since given back";
}

}  // namespace
}  // namespace pgmux::pool
