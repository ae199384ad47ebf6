// Unit tests for pool::Pool: limits, the FIFO waiter queue, per-worker idle lists,
// expiry, warm slots and a multi-threaded stress run, with time injected through the
// `now` arguments. Single-threaded except the stress test, which runs its own threads.
#include "pgmux/pool/pool.hpp"

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "pool_test_util.hpp"

namespace pgmux::pool {
namespace {

using namespace testing;  // NOLINT: the helpers of this test binary

// --- limits and the waiter queue -------------------------------------------------------

TEST(PoolTest, CheckoutGivesConnectUntilPoolSizeThenWaits) {
  Pool pool(limits_of(2), 1);
  expect_stats(pool, 0, 0, 0, 0);
  EXPECT_EQ(pool.checkout(0, waiter(), kT0).kind, Kind::kConnect);
  expect_stats(pool, 1, 0, 1, 0);
  EXPECT_EQ(pool.checkout(0, waiter(), kT0).kind, Kind::kConnect);
  expect_stats(pool, 2, 0, 2, 0);
  auto w = waiter();
  EXPECT_EQ(pool.checkout(0, w, kT0 + seconds(3)).kind, Kind::kWait);
  expect_stats(pool, 2, 0, 2, 1);
  EXPECT_EQ(pool.stats().oldest_wait_since, kT0 + seconds(3));
  EXPECT_EQ(w->wakes, 0);
}

TEST(PoolTest, ConnectedKeepsTotalAndClearsConnecting) {
  Pool pool(limits_of(2), 1);
  ASSERT_EQ(pool.checkout(0, waiter(), kT0).kind, Kind::kConnect);
  pool.connected();
  expect_stats(pool, 1, 0, 0, 0);
}

TEST(PoolTest, ReleaseGoesToOldestWaiterFirst) {
  Pool pool(limits_of(1), 1);
  auto s = open_server(pool, 7, 0);
  auto w1 = waiter(), w2 = waiter(), w3 = waiter();
  ASSERT_EQ(pool.checkout(0, w1, kT0 + seconds(1)).kind, Kind::kWait);
  ASSERT_EQ(pool.checkout(0, w2, kT0 + seconds(2)).kind, Kind::kWait);
  ASSERT_EQ(pool.checkout(0, w3, kT0 + seconds(3)).kind, Kind::kWait);
  expect_stats(pool, 1, 0, 0, 3);

  EXPECT_EQ(pool.release(std::move(s), kT0), nullptr);
  EXPECT_EQ(w1->wakes, 1);
  EXPECT_EQ(w2->wakes, 0);
  EXPECT_EQ(w3->wakes, 0);
  expect_stats(pool, 1, 0, 0, 2);
  EXPECT_EQ(pool.stats().oldest_wait_since, kT0 + seconds(2));

  auto got = pool.finish_wait(w1, kT0);
  ASSERT_EQ(got.kind, Kind::kServer);
  EXPECT_EQ(id_of(got.server), 7);

  EXPECT_EQ(pool.release(std::move(got.server), kT0), nullptr);
  EXPECT_EQ(w1->wakes, 1);
  EXPECT_EQ(w2->wakes, 1);
  EXPECT_EQ(w3->wakes, 0);
  expect_stats(pool, 1, 0, 0, 1);
}

// The local handoff window: one server (7, on worker 1) and two waiters, `on0` on worker 0
// queued at kT0 and `on1` on worker 1 queued `gap` later.
struct WindowCase {
  explicit WindowCase(Clock::duration gap) {
    EXPECT_EQ(pool.checkout(0, on0, kT0).kind, Kind::kWait);
    EXPECT_EQ(pool.checkout(1, on1, kT0 + gap).kind, Kind::kWait);
  }
  Pool pool{limits_of(1), 2};
  std::unique_ptr<PooledServer> s = open_server(pool, 7, 1);
  std::shared_ptr<FakeWaiter> on0 = waiter(), on1 = waiter();
};

TEST(PoolTest, ReleasePrefersAWaiterOnTheServersWorkerQueuedSoonAfterTheOldest) {
  WindowCase c(Pool::kLocalGrantWindow - microseconds(100));
  auto& [pool, s, on0, on1] = c;

  // on1 queued just within the window after the oldest (worker 0): the server stays on worker 1, however
  // long both have waited.
  EXPECT_EQ(pool.release(std::move(s), kT0 + seconds(5)), nullptr);
  EXPECT_EQ(on0->wakes, 0);
  EXPECT_EQ(on1->wakes, 1);
  EXPECT_EQ(pool.stats().oldest_wait_since, kT0);
  auto got = pool.finish_wait(on1, kT0 + seconds(5));
  ASSERT_EQ(got.kind, Kind::kServer);
  EXPECT_EQ(id_of(got.server), 7);

  // No waiter on worker 1 is left: the oldest gets it, whatever its worker.
  EXPECT_EQ(pool.release(std::move(got.server), kT0 + seconds(5)), nullptr);
  EXPECT_EQ(on0->wakes, 1);
  EXPECT_EQ(pool.finish_wait(on0, kT0 + seconds(5)).kind, Kind::kServer);
}

TEST(PoolTest, ReleaseGoesToTheOldestWaiterBeforeOnesQueuedAWindowLater) {
  WindowCase c(Pool::kLocalGrantWindow);
  auto& [pool, s, on0, on1] = c;
  EXPECT_EQ(pool.release(std::move(s), kT0 + Pool::kLocalGrantWindow), nullptr);
  EXPECT_EQ(on0->wakes, 1);
  EXPECT_EQ(on1->wakes, 0);
}

// A server handed straight to a waiter was free since its release, not since it was last
// listed idle (sessions skip the idle check's MSG_PEEK for servers free for a short while:
// with every release going to a waiter, each handoff had peeked).
TEST(PoolTest, ReleaseToAWaiterMarksTheServerFreeSinceTheRelease) {
  Pool pool(limits_of(1), 1);
  auto s = open_server(pool, 7, 0);
  auto w = waiter();
  ASSERT_EQ(pool.checkout(0, w, kT0 + seconds(1)).kind, Kind::kWait);
  EXPECT_EQ(pool.release(std::move(s), kT0 + seconds(2)), nullptr);
  auto got = pool.finish_wait(w, kT0 + seconds(2));
  ASSERT_EQ(got.kind, Kind::kServer);
  EXPECT_EQ(got.server->idle_since, kT0 + seconds(2));
}

// A server released to a waiter on another worker leaves its worker's event loop first,
// on the releasing thread; one released to a waiter on its own worker does not.
TEST(PoolTest, ReleaseToAWaiterOnAnotherWorkerLetsTheServerLeaveItsWorkerFirst) {
  WindowCase c(Pool::kLocalGrantWindow);  // on0 (worker 0) oldest, on1 (worker 1) later
  auto& [pool, s, on0, on1] = c;
  auto* server = static_cast<FakeServer*>(s.get());  // on worker 1
  EXPECT_EQ(pool.release(std::move(s), kT0 + Pool::kLocalGrantWindow), nullptr);
  ASSERT_EQ(on0->wakes, 1);  // the oldest, on worker 0
  EXPECT_EQ(server->left_worker, 1);
  auto got = pool.finish_wait(on0, kT0 + Pool::kLocalGrantWindow);
  ASSERT_EQ(got.kind, Kind::kServer);

  got.server->worker = 0;  // taken over by worker 0; now on1 (worker 1) waits alone
  EXPECT_EQ(pool.release(std::move(got.server), kT0 + seconds(1)), nullptr);
  ASSERT_EQ(on1->wakes, 1);
  EXPECT_EQ(server->left_worker, 2);

  auto again = pool.finish_wait(on1, kT0 + seconds(1));
  ASSERT_EQ(again.kind, Kind::kServer);
  auto w = waiter();
  ASSERT_EQ(pool.checkout(0, w, kT0 + seconds(2)).kind, Kind::kWait);
  again.server->worker = 0;  // released by worker 0 to a waiter on worker 0: stays
  EXPECT_EQ(pool.release(std::move(again.server), kT0 + seconds(2)), nullptr);
  EXPECT_EQ(w->wakes, 1);
  EXPECT_EQ(server->left_worker, 2);
}

TEST(PoolTest, FinishWaitReturnsGrantedServerOnce) {
  Pool pool(limits_of(1), 1);
  auto s = open_server(pool, 3, 0);
  auto w = waiter();
  ASSERT_EQ(pool.checkout(0, w, kT0).kind, Kind::kWait);
  EXPECT_EQ(pool.release(std::move(s), kT0), nullptr);
  auto got = pool.finish_wait(w, kT0);
  ASSERT_EQ(got.kind, Kind::kServer);
  ASSERT_NE(got.server, nullptr);
  EXPECT_EQ(id_of(got.server), 3);
  expect_stats(pool, 1, 0, 0, 0);
  // The grant was collected: a second call has nothing more to give.
  EXPECT_EQ(pool.finish_wait(w, kT0).kind, Kind::kWait);
}

TEST(PoolTest, FinishWaitWithoutGrantDequeues) {
  Pool pool(limits_of(1), 1);
  auto s = open_server(pool, 1, 0);
  auto w = waiter();
  ASSERT_EQ(pool.checkout(0, w, kT0).kind, Kind::kWait);
  expect_stats(pool, 1, 0, 0, 1);

  auto got = pool.finish_wait(w, kT0 + seconds(120));  // timed out
  EXPECT_EQ(got.kind, Kind::kWait);
  EXPECT_EQ(got.server, nullptr);
  expect_stats(pool, 1, 0, 0, 0);

  EXPECT_EQ(pool.release(std::move(s), kT0), nullptr);
  EXPECT_EQ(w->wakes, 0);
  expect_stats(pool, 1, 1, 0, 0);
  EXPECT_EQ(pool.finish_wait(w, kT0).kind, Kind::kWait);  // nothing was parked for it
  expect_stats(pool, 1, 1, 0, 0);
}

TEST(PoolTest, FinishWaitDequeuesOnlyThatWaiter) {
  Pool pool(limits_of(1), 1);
  auto s = open_server(pool, 1, 0);
  auto w1 = waiter(), w2 = waiter(), w3 = waiter();
  ASSERT_EQ(pool.checkout(0, w1, kT0).kind, Kind::kWait);
  ASSERT_EQ(pool.checkout(0, w2, kT0).kind, Kind::kWait);
  ASSERT_EQ(pool.checkout(0, w3, kT0).kind, Kind::kWait);
  EXPECT_EQ(pool.finish_wait(w2, kT0).kind, Kind::kWait);
  expect_stats(pool, 1, 0, 0, 2);
  EXPECT_EQ(pool.release(std::move(s), kT0), nullptr);
  EXPECT_EQ(w1->wakes, 1);
  auto got = pool.finish_wait(w1, kT0);
  ASSERT_EQ(got.kind, Kind::kServer);
  EXPECT_EQ(pool.release(std::move(got.server), kT0), nullptr);
  EXPECT_EQ(w2->wakes, 0);
  EXPECT_EQ(w3->wakes, 1);
}

TEST(PoolTest, WakeAllWakesEveryWaiterWithNothing) {
  Pool pool(limits_of(1), 1);
  auto s = open_server(pool, 1, 0);
  auto w1 = waiter(), w2 = waiter();
  ASSERT_EQ(pool.checkout(0, w1, kT0).kind, Kind::kWait);
  ASSERT_EQ(pool.checkout(0, w2, kT0).kind, Kind::kWait);
  pool.wake_all();
  EXPECT_EQ(w1->wakes, 1);
  EXPECT_EQ(w2->wakes, 1);
  expect_stats(pool, 1, 0, 0, 0);
  EXPECT_EQ(pool.finish_wait(w1, kT0).kind, Kind::kWait);
  EXPECT_EQ(pool.finish_wait(w2, kT0).kind, Kind::kWait);
  EXPECT_EQ(pool.release(std::move(s), kT0), nullptr);
  expect_stats(pool, 1, 1, 0, 0);
}

// --- idle lists --------------------------------------------------------------------------

TEST(PoolTest, PrefersOwnWorkersIdleServer) {
  Pool pool(limits_of(4), 2);
  auto a = open_server(pool, 10, 0);
  auto b = open_server(pool, 11, 1);
  EXPECT_EQ(pool.release(std::move(a), kT0), nullptr);
  EXPECT_EQ(pool.release(std::move(b), kT0), nullptr);
  expect_stats(pool, 2, 2, 0, 0);

  auto got = pool.checkout(1, waiter(), kT0);
  ASSERT_EQ(got.kind, Kind::kServer);
  EXPECT_EQ(id_of(got.server), 11);
  got = pool.checkout(0, waiter(), kT0);
  ASSERT_EQ(got.kind, Kind::kServer);
  EXPECT_EQ(id_of(got.server), 10);
  expect_stats(pool, 2, 0, 0, 0);
}

TEST(PoolTest, StealsAnotherWorkersIdleServerBeforeConnecting) {
  Pool pool(limits_of(4), 3);
  auto b = open_server(pool, 21, 2);
  EXPECT_EQ(pool.release(std::move(b), kT0), nullptr);
  auto got = pool.checkout(0, waiter(), kT0);
  ASSERT_EQ(got.kind, Kind::kServer);
  EXPECT_EQ(id_of(got.server), 21);
  EXPECT_EQ(got.server->worker, 2u);  // the caller moves the socket
  expect_stats(pool, 1, 0, 0, 0);
}

TEST(PoolTest, IdleListIsLifo) {
  Pool pool(limits_of(4), 1);
  auto a = open_server(pool, 1, 0);
  auto b = open_server(pool, 2, 0);
  auto c = open_server(pool, 3, 0);
  EXPECT_EQ(pool.release(std::move(a), kT0), nullptr);
  EXPECT_EQ(pool.release(std::move(b), kT0), nullptr);
  EXPECT_EQ(pool.release(std::move(c), kT0), nullptr);
  for (int expected : {3, 2, 1}) {
    auto got = pool.checkout(0, waiter(), kT0);
    ASSERT_EQ(got.kind, Kind::kServer);
    EXPECT_EQ(id_of(got.server), expected);
  }
}

TEST(PoolTest, ServerOfUnknownWorkerGoesToFirstIdleList) {
  Pool pool(limits_of(2), 2);
  auto s = open_server(pool, 5, 9);  // worker id out of range
  EXPECT_EQ(pool.release(std::move(s), kT0), nullptr);
  auto got = pool.checkout(0, waiter(), kT0);
  ASSERT_EQ(got.kind, Kind::kServer);
  EXPECT_EQ(id_of(got.server), 5);
}

TEST(PoolTest, ReleaseSetsIdleSince) {
  Pool pool(limits_of(2), 1);
  auto s = open_server(pool, 1, 0);
  EXPECT_EQ(pool.release(std::move(s), kT0 + seconds(42)), nullptr);
  auto got = pool.checkout(0, waiter(), kT0 + seconds(50));
  ASSERT_EQ(got.kind, Kind::kServer);
  EXPECT_EQ(got.server->idle_since, kT0 + seconds(42));
}

TEST(PoolTest, TakeAllIdleFreesTheirSlots) {
  Pool pool(limits_of(4), 2);
  auto a = open_server(pool, 1, 0);
  auto b = open_server(pool, 2, 1);
  auto c = open_server(pool, 3, 1);
  EXPECT_EQ(pool.release(std::move(a), kT0), nullptr);
  EXPECT_EQ(pool.release(std::move(b), kT0), nullptr);
  EXPECT_EQ(pool.take_all_idle().size(), 2u);
  expect_stats(pool, 1, 0, 0, 0);
  EXPECT_EQ(pool.checkout(0, waiter(), kT0).kind, Kind::kConnect);
}

// --- drop --------------------------------------------------------------------------------

TEST(PoolTest, DropFreesSlot) {
  Pool pool(limits_of(1), 1);
  auto s = open_server(pool, 1, 0);
  s.reset();
  pool.drop();
  expect_stats(pool, 0, 0, 0, 0);
  EXPECT_EQ(pool.checkout(0, waiter(), kT0).kind, Kind::kConnect);
}

TEST(PoolTest, DropGrantsConnectSlotToOldestWaiter) {
  Pool pool(limits_of(1), 1);
  auto s = open_server(pool, 1, 0);
  auto w1 = waiter(), w2 = waiter();
  ASSERT_EQ(pool.checkout(0, w1, kT0).kind, Kind::kWait);
  ASSERT_EQ(pool.checkout(0, w2, kT0).kind, Kind::kWait);
  s.reset();
  pool.drop();
  EXPECT_EQ(w1->wakes, 1);
  EXPECT_EQ(w2->wakes, 0);
  expect_stats(pool, 1, 0, 1, 1);
  EXPECT_EQ(pool.finish_wait(w1, kT0).kind, Kind::kConnect);
  expect_stats(pool, 1, 0, 1, 1);
  pool.connected();
  expect_stats(pool, 1, 0, 0, 1);
}

// --- lifetime and expiry -------------------------------------------------------------------

TEST(PoolTest, ReleasePastLifetimeIsRefused) {
  Pool pool(limits_of(2), 1);
  auto s = open_server(pool, 1, 0, kT0);
  auto refused = pool.release(std::move(s), kT0 + hours(1));
  ASSERT_NE(refused, nullptr);
  EXPECT_EQ(id_of(refused), 1);
  expect_stats(pool, 0, 0, 0, 0);
}

TEST(PoolTest, ReleaseJustBeforeLifetimeIsKept) {
  Pool pool(limits_of(2), 1);
  auto s = open_server(pool, 1, 0, kT0);
  EXPECT_EQ(pool.release(std::move(s), kT0 + hours(1) - milliseconds(1)), nullptr);
  expect_stats(pool, 1, 1, 0, 0);
}

TEST(PoolTest, RefusedReleaseGrantsConnectSlotToWaiter) {
  Pool pool(limits_of(1), 1);
  auto s = open_server(pool, 1, 0, kT0);
  auto w = waiter();
  ASSERT_EQ(pool.checkout(0, w, kT0).kind, Kind::kWait);
  auto refused = pool.release(std::move(s), kT0 + hours(2));
  ASSERT_NE(refused, nullptr);
  EXPECT_EQ(w->wakes, 1);
  expect_stats(pool, 1, 0, 1, 0);
  EXPECT_EQ(pool.finish_wait(w, kT0 + hours(2)).kind, Kind::kConnect);
}

TEST(PoolTest, TakeExpiredIdleTimeoutKeepsMinPoolSize) {
  Pool pool(limits_of(5, 2), 1);
  std::vector<std::unique_ptr<PooledServer>> servers;
  for (int i = 0; i < 4; ++i) servers.push_back(open_server(pool, i, 0));
  for (auto& s : servers) EXPECT_EQ(pool.release(std::move(s), kT0), nullptr);
  expect_stats(pool, 4, 4, 0, 0);

  EXPECT_TRUE(pool.take_expired(kT0 + minutes(10) - milliseconds(1)).empty());
  auto expired = pool.take_expired(kT0 + minutes(10));
  EXPECT_EQ(expired.size(), 2u);
  expect_stats(pool, 2, 2, 0, 0);
  EXPECT_TRUE(pool.take_expired(kT0 + minutes(50)).empty());
  expect_stats(pool, 2, 2, 0, 0);
}

TEST(PoolTest, TakeExpiredIdleTimeoutCountsCheckedOutServers) {
  Pool pool(limits_of(5, 2), 1);
  auto busy = open_server(pool, 0, 0);
  auto a = open_server(pool, 1, 0);
  auto b = open_server(pool, 2, 0);
  EXPECT_EQ(pool.release(std::move(a), kT0), nullptr);
  EXPECT_EQ(pool.release(std::move(b), kT0), nullptr);
  EXPECT_EQ(pool.take_expired(kT0 + minutes(11)).size(), 1u);
  expect_stats(pool, 2, 1, 0, 0);
}

TEST(PoolTest, TakeExpiredLifetimeIgnoresMinPoolSize) {
  Pool pool(limits_of(5, 3), 1);
  std::vector<std::unique_ptr<PooledServer>> servers;
  for (int i = 0; i < 3; ++i) servers.push_back(open_server(pool, i, 0));
  for (auto& s : servers) EXPECT_EQ(pool.release(std::move(s), kT0 + minutes(59)), nullptr);
  EXPECT_TRUE(pool.take_expired(kT0 + minutes(59)).empty());
  auto expired = pool.take_expired(kT0 + hours(1));
  EXPECT_EQ(expired.size(), 3u);
  expect_stats(pool, 0, 0, 0, 0);
}

// --- warm slots and limits -------------------------------------------------------------

TEST(PoolTest, ReserveWarmSlotsUpToMinPoolSize) {
  Pool pool(limits_of(5, 3), 1);
  auto s = open_server(pool, 1, 0);
  EXPECT_EQ(pool.reserve_warm_slots(kT0), 2u);
  expect_stats(pool, 3, 0, 2, 0);
  EXPECT_EQ(pool.reserve_warm_slots(kT0), 0u);
  pool.connected();
  pool.connected();
  expect_stats(pool, 3, 0, 0, 0);
  EXPECT_EQ(pool.reserve_warm_slots(kT0), 0u);
}

TEST(PoolTest, ReserveWarmSlotsNoneDuringBackoff) {
  Pool pool(limits_of(5, 2), 1);
  ASSERT_EQ(pool.reserve_warm_slots(kT0), 2u);
  pool.connect_failed("down", kT0);
  pool.connect_failed("down", kT0);  // second failure: 2 s
  expect_stats(pool, 0, 0, 0, 0);
  EXPECT_EQ(pool.reserve_warm_slots(kT0 + seconds(1)), 0u);
  EXPECT_EQ(pool.reserve_warm_slots(kT0 + seconds(2)), 2u);
}

TEST(PoolTest, SetLimitsGrowingGrantsWaitersConnectSlots) {
  Pool pool(limits_of(1), 1);
  auto s = open_server(pool, 1, 0);
  auto w1 = waiter(), w2 = waiter(), w3 = waiter();
  for (auto& w : {w1, w2, w3}) ASSERT_EQ(pool.checkout(0, w, kT0).kind, Kind::kWait);
  pool.set_limits(limits_of(3));
  EXPECT_EQ(pool.limits().pool_size, 3u);
  EXPECT_EQ(w1->wakes, 1);
  EXPECT_EQ(w2->wakes, 1);
  EXPECT_EQ(w3->wakes, 0);
  expect_stats(pool, 3, 0, 2, 1);
  EXPECT_EQ(pool.finish_wait(w1, kT0).kind, Kind::kConnect);
  EXPECT_EQ(pool.finish_wait(w2, kT0).kind, Kind::kConnect);
}

TEST(PoolTest, SetLimitsShrinkingRefusesReleasesAboveNewSize) {
  Pool pool(limits_of(3), 1);
  auto a = open_server(pool, 1, 0);
  auto b = open_server(pool, 2, 0);
  pool.set_limits(limits_of(1));
  EXPECT_NE(pool.release(std::move(a), kT0), nullptr);
  expect_stats(pool, 1, 0, 0, 0);
  EXPECT_EQ(pool.release(std::move(b), kT0), nullptr);
  expect_stats(pool, 1, 1, 0, 0);
}

TEST(PoolTest, ServerParamsAreLearnedOnce) {
  Pool pool(limits_of(1), 1);
  EXPECT_FALSE(pool.has_server_params());
  pool.set_server_params({{"server_version", "15.4"}});
  EXPECT_TRUE(pool.has_server_params());
  ASSERT_NE(pool.server_params(), nullptr);
  EXPECT_EQ(pool.server_params()->at("server_version"), "15.4");
}

// --- concurrency ---------------------------------------------------------------------------

// Four threads check out and release through a pool of three; waits are real (the fake
// waiter's condition variable). The pool must never hold more than pool_size servers
// and must end with every server idle.
TEST(PoolTest, StressNeverExceedsPoolSize) {
  constexpr uint32_t kPoolSize = 3;
  constexpr int kThreads = 4;
  constexpr int kCycles = 10000;
  Pool pool(limits_of(kPoolSize), kThreads);
  std::atomic<int> in_use{0};
  std::atomic<int> max_in_use{0};
  std::atomic<int> next_id{0};
  std::atomic<bool> over_limit{false};

  auto worker = [&](unsigned id) {
    auto w = std::make_shared<FakeWaiter>();
    for (int i = 0; i < kCycles; ++i) {
      w->reset();
      auto got = pool.checkout(id, w, kT0);
      if (got.kind == Kind::kWait) {
        w->wait_woken();
        got = pool.finish_wait(w, kT0);
      }
      std::unique_ptr<PooledServer> server;
      if (got.kind == Kind::kServer) {
        server = std::move(got.server);
      } else if (got.kind == Kind::kConnect) {
        pool.connected();
        server = std::make_unique<FakeServer>(next_id++, id, kT0);
      } else {
        over_limit = true;  // kFail or an empty wake: neither may happen here
        continue;
      }
      int now_in_use = ++in_use;
      int seen = max_in_use.load();
      while (now_in_use > seen && !max_in_use.compare_exchange_weak(seen, now_in_use)) {
      }
      if (pool.stats().total > kPoolSize) over_limit = true;
      --in_use;
      if (pool.release(std::move(server), kT0) != nullptr) over_limit = true;
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(worker, static_cast<unsigned>(t));
  for (auto& t : threads) t.join();

  EXPECT_FALSE(over_limit);
  EXPECT_LE(max_in_use.load(), static_cast<int>(kPoolSize));
  EXPECT_LE(next_id.load(), static_cast<int>(kPoolSize));
  PoolStats s = pool.stats();
  EXPECT_LE(s.total, kPoolSize);
  EXPECT_EQ(s.total, s.idle);
  EXPECT_EQ(s.connecting, 0u);
  EXPECT_EQ(s.waiting, 0u);
}

}  // namespace
}  // namespace pgmux::pool
