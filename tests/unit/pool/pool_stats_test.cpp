// Unit tests for what Pool::stats() reports for metrics: servers opened and closed by
// every path, idle servers split by how long they have been idle, and for_each_idle.
// Single-threaded, time injected.
#include <gtest/gtest.h>

#include "pgmux/pool/pool.hpp"
#include "pool_test_util.hpp"

namespace pgmux::pool {
namespace {

using namespace testing;  // NOLINT: the helpers of this test binary

TEST(PoolStatsTest, OpenedCountsConnectedServers) {
  Pool pool(limits_of(3), 1);
  auto a = open_server(pool, 1, 0);
  auto b = open_server(pool, 2, 0);
  EXPECT_EQ(pool.stats().opened, 2u);
  EXPECT_EQ(pool.stats().closed, 0u);
  ASSERT_EQ(pool.checkout(0, waiter(), kT0).kind, Kind::kConnect);
  pool.connect_failed("refused", kT0);  // a failed login never counted as opened
  EXPECT_EQ(pool.stats().opened, 2u);
  EXPECT_EQ(pool.stats().closed, 0u);
}

TEST(PoolStatsTest, ClosedCountsDropExpiryRefusalAndTakeAll) {
  Pool pool(limits_of(4), 1);
  auto a = open_server(pool, 1, 0);
  auto b = open_server(pool, 2, 0);
  auto c = open_server(pool, 3, 0);
  auto d = open_server(pool, 4, 0);
  pool.drop();  // a
  EXPECT_EQ(pool.stats().closed, 1u);
  EXPECT_NE(pool.release(std::move(b), kT0 + hours(2)), nullptr);  // past lifetime: refused
  EXPECT_EQ(pool.stats().closed, 2u);
  EXPECT_EQ(pool.release(std::move(c), kT0), nullptr);
  EXPECT_EQ(pool.take_expired(kT0 + minutes(11)).size(), 1u);  // idle too long
  EXPECT_EQ(pool.stats().closed, 3u);
  EXPECT_EQ(pool.release(std::move(d), kT0), nullptr);
  EXPECT_EQ(pool.take_all_idle().size(), 1u);
  EXPECT_EQ(pool.stats().closed, 4u);
  EXPECT_EQ(pool.stats().total, 0u);
}

TEST(PoolStatsTest, IdleStaleCountsServersIdleBeforeTheCutoff) {
  Pool pool(limits_of(3), 1);
  auto a = open_server(pool, 1, 0);
  auto b = open_server(pool, 2, 0);
  ASSERT_EQ(pool.release(std::move(a), kT0), nullptr);
  ASSERT_EQ(pool.release(std::move(b), kT0 + seconds(10)), nullptr);
  EXPECT_EQ(pool.stats().idle_stale, 0u);  // no cutoff given
  EXPECT_EQ(pool.stats(kT0 + seconds(5)).idle_stale, 1u);
  EXPECT_EQ(pool.stats(kT0 + seconds(11)).idle_stale, 2u);
  EXPECT_EQ(pool.stats(kT0 + seconds(11)).idle, 2u);
}

TEST(PoolStatsTest, ForEachIdleVisitsEveryIdleServerOfEveryWorker) {
  Pool pool(limits_of(3), 2);
  auto a = open_server(pool, 1, 0);
  auto b = open_server(pool, 2, 1);
  auto c = open_server(pool, 3, 1);
  ASSERT_EQ(pool.release(std::move(a), kT0), nullptr);
  ASSERT_EQ(pool.release(std::move(b), kT0), nullptr);
  int sum = 0, count = 0;
  pool.for_each_idle([&](const PooledServer& s) {
    sum += static_cast<const FakeServer&>(s).id;
    ++count;
  });
  EXPECT_EQ(count, 2);
  EXPECT_EQ(sum, 3);
  pool.drop();  // c
}

}  // namespace
}  // namespace pgmux::pool
