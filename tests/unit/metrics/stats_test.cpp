// Tests for the counters: histogram buckets and quantiles, SQLSTATE classes, reject
// reasons, and sharded totals written from several threads.
#include "pgmux/metrics/stats.hpp"

#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace pgmux::metrics {
namespace {

using std::chrono::nanoseconds;
constexpr size_t kInf = kLatencyBuckets.size();  // index of the +Inf bucket

size_t only_bucket(const HistogramValues& v) {
  for (size_t i = 0; i < v.buckets.size(); ++i) {
    if (v.buckets[i] != 0) return i;
  }
  return v.buckets.size();
}

size_t bucket_of(nanoseconds d) {
  Histogram h;
  h.observe(d);
  return only_bucket(h.values());
}

TEST(Histogram, ZeroGoesToFirstBucket) { EXPECT_EQ(bucket_of(nanoseconds(0)), 0u); }

TEST(Histogram, ExactFirstBoundGoesToFirstBucket) {
  EXPECT_EQ(bucket_of(nanoseconds(100'000)), 0u);  // 0.0001 s
}

TEST(Histogram, JustAboveFirstBoundGoesToSecondBucket) {
  EXPECT_EQ(bucket_of(nanoseconds(100'001)), 1u);
}

TEST(Histogram, ExactInnerBoundsGoToTheirBucket) {
  EXPECT_EQ(bucket_of(nanoseconds(250'000)), 1u);         // 0.00025
  EXPECT_EQ(bucket_of(nanoseconds(1'000'000)), 3u);       // 0.001
  EXPECT_EQ(bucket_of(nanoseconds(2'500'000)), 4u);       // 0.0025
  EXPECT_EQ(bucket_of(nanoseconds(100'000'000)), 9u);     // 0.1
  EXPECT_EQ(bucket_of(nanoseconds(1'000'000'000)), 12u);  // 1
}

TEST(Histogram, ExactLastBoundGoesToLastFiniteBucket) {
  EXPECT_EQ(bucket_of(std::chrono::seconds(10)), kInf - 1);
}

TEST(Histogram, AboveLastBoundGoesToInfBucket) {
  EXPECT_EQ(bucket_of(std::chrono::seconds(10) + nanoseconds(1)), kInf);
  EXPECT_EQ(bucket_of(std::chrono::hours(1)), kInf);
}

TEST(Histogram, CountAndSumInSeconds) {
  Histogram h;
  h.observe(std::chrono::milliseconds(1500));
  h.observe(std::chrono::microseconds(500));
  h.observe(nanoseconds(7));
  const HistogramValues v = h.values();
  EXPECT_EQ(v.count, 3u);
  EXPECT_DOUBLE_EQ(v.sum_seconds, 1.500500007);
  EXPECT_EQ(v.buckets[0], 1u);
  EXPECT_EQ(v.buckets[2], 1u);   // 0.0005 exactly
  EXPECT_EQ(v.buckets[13], 1u);  // (1, 2.5]
}

TEST(HistogramValues, MergeAddsBucketsCountAndSum) {
  HistogramValues a, b;
  a.buckets[1] = 2;
  a.count = 2;
  a.sum_seconds = 0.5;
  b.buckets[1] = 1;
  b.buckets[kInf] = 4;
  b.count = 5;
  b.sum_seconds = 60;
  a.merge(b);
  EXPECT_EQ(a.buckets[1], 3u);
  EXPECT_EQ(a.buckets[kInf], 4u);
  EXPECT_EQ(a.count, 7u);
  EXPECT_DOUBLE_EQ(a.sum_seconds, 60.5);
}

TEST(Quantile, EmptyIsZero) {
  HistogramValues v;
  EXPECT_EQ(v.quantile(0.5), 0.0);
  EXPECT_EQ(v.quantile(0.99), 0.0);
}

TEST(Quantile, FirstBucketInterpolatesFromZero) {
  HistogramValues v;
  v.buckets[0] = 2;
  v.count = 2;
  EXPECT_DOUBLE_EQ(v.quantile(0.5), 0.00005);
  EXPECT_DOUBLE_EQ(v.quantile(1.0), 0.0001);
}

TEST(Quantile, InterpolatesInsideInnerBucket) {
  HistogramValues v;
  v.buckets[4] = 4;  // (0.001, 0.0025]
  v.count = 4;
  EXPECT_DOUBLE_EQ(v.quantile(0.5), 0.00175);
  EXPECT_DOUBLE_EQ(v.quantile(0.25), 0.001375);
  EXPECT_DOUBLE_EQ(v.quantile(1.0), 0.0025);
}

TEST(Quantile, RankFallsInLaterBucket) {
  HistogramValues v;
  v.buckets[0] = 1;  // (0, 0.0001]
  v.buckets[2] = 3;  // (0.00025, 0.0005]
  v.count = 4;
  // rank 2: one below, the second of three in (0.00025, 0.0005].
  EXPECT_DOUBLE_EQ(v.quantile(0.5), 0.00025 + 0.00025 / 3);
  EXPECT_DOUBLE_EQ(v.quantile(0.25), 0.0001);
}

TEST(Quantile, ZeroIsLowerBoundOfFirstUsedBucket) {
  HistogramValues v;
  v.buckets[9] = 5;  // (0.05, 0.1]
  v.count = 5;
  EXPECT_DOUBLE_EQ(v.quantile(0.0), 0.05);
}

TEST(Quantile, InfBucketReportsLargestFiniteBound) {
  HistogramValues v;
  v.buckets[0] = 1;
  v.buckets[kInf] = 9;
  v.count = 10;
  EXPECT_DOUBLE_EQ(v.quantile(0.99), 10.0);
  EXPECT_DOUBLE_EQ(v.quantile(0.05), 0.00005);
}

TEST(Quantile, OutOfRangeQIsClamped) {
  HistogramValues v;
  v.buckets[3] = 2;  // (0.0005, 0.001]
  v.count = 2;
  EXPECT_DOUBLE_EQ(v.quantile(7.0), 0.001);
  EXPECT_DOUBLE_EQ(v.quantile(-1.0), 0.0005);
}

size_t index_of(std::string_view cls) {
  for (size_t i = 0; i < kErrorClasses.size(); ++i) {
    if (kErrorClasses[i] == cls) return i;
  }
  return 999;
}

TEST(ErrorClass, FullSqlstateMapsToItsClass) {
  EXPECT_EQ(error_class_index("42P01"), index_of("42"));
  EXPECT_EQ(error_class_index("40001"), index_of("40"));
  EXPECT_EQ(error_class_index("0A000"), index_of("0A"));
  EXPECT_EQ(error_class_index("XX000"), index_of("XX"));
}

TEST(ErrorClass, BareClassMaps) { EXPECT_EQ(error_class_index("57"), index_of("57")); }

TEST(ErrorClass, UnknownClassIsOther) {
  EXPECT_EQ(error_class_index("ZZ000"), index_of("other"));
  EXPECT_EQ(error_class_index("P0001"), index_of("other"));
}

TEST(ErrorClass, LowercaseIsOther) { EXPECT_EQ(error_class_index("0a000"), index_of("other")); }

TEST(ErrorClass, EmptyIsOther) { EXPECT_EQ(error_class_index(""), index_of("other")); }

TEST(ErrorClass, OneCharIsOther) { EXPECT_EQ(error_class_index("4"), index_of("other")); }

TEST(ErrorClass, WordOtherIsOther) {
  EXPECT_EQ(error_class_index("other"), kErrorClasses.size() - 1);
}

TEST(Reject, Names) {
  EXPECT_EQ(to_string(Reject::kTooManyClients), "too_many_clients");
  EXPECT_EQ(to_string(Reject::kAuthFailed), "auth_failed");
  EXPECT_EQ(to_string(Reject::kUnknownDatabase), "unknown_database");
  EXPECT_EQ(to_string(Reject::kLoginTimeout), "login_timeout");
  EXPECT_EQ(to_string(Reject::kProtocol), "protocol_error");
}

TEST(GlobalCounters, RejectCountsByReason) {
  GlobalCounters g;
  g.reject(Reject::kAuthFailed);
  g.reject(Reject::kAuthFailed);
  g.reject(Reject::kLoginTimeout);
  EXPECT_EQ(g.rejected[static_cast<size_t>(Reject::kAuthFailed)].load(), 2u);
  EXPECT_EQ(g.rejected[static_cast<size_t>(Reject::kLoginTimeout)].load(), 1u);
  EXPECT_EQ(g.rejected[static_cast<size_t>(Reject::kTooManyClients)].load(), 0u);
}

// Worker `w` adds (w + 1) to each counter of its own shard, `rounds` times.
void work(PoolCounters& c, unsigned w, int rounds) {
  PoolShard& s = c.shard(w);
  for (int i = 0; i < rounds; ++i) {
    s.queries.add(w + 1);
    s.bytes_sent.add(10);
    s.errors[error_class_index("23505")].add();
    s.wait_duration.observe(std::chrono::microseconds(300));
  }
  s.retries.add(w);
}

TEST(PoolCounters, TotalsSumShardsWrittenByThreads) {
  constexpr unsigned kWorkers = 3;
  constexpr int kRounds = 10'000;
  PoolCounters c(kWorkers);
  std::vector<std::thread> threads;
  for (unsigned w = 0; w < kWorkers; ++w) threads.emplace_back(work, std::ref(c), w, kRounds);
  for (auto& t : threads) t.join();
  const PoolCounters::Totals t = c.totals();
  EXPECT_EQ(t.queries, uint64_t{kRounds} * (1 + 2 + 3));
  EXPECT_EQ(t.bytes_sent, uint64_t{kRounds} * 10 * kWorkers);
  EXPECT_EQ(t.retries, 0u + 1u + 2u);
  EXPECT_EQ(t.errors[error_class_index("23")], uint64_t{kRounds} * kWorkers);
  EXPECT_EQ(t.errors[error_class_index("42")], 0u);
  EXPECT_EQ(t.wait_duration.count, uint64_t{kRounds} * kWorkers);
  EXPECT_EQ(t.wait_duration.buckets[2], uint64_t{kRounds} * kWorkers);  // (0.00025, 0.0005]
  EXPECT_NEAR(t.wait_duration.sum_seconds, 0.0003 * kRounds * kWorkers, 1e-9);
  EXPECT_EQ(t.query_duration.count, 0u);
}

TEST(PoolCounters, OutOfRangeWorkerUsesShardZero) {
  PoolCounters c(2);
  c.shard(7).queries.add(5);
  EXPECT_EQ(c.shard(0).queries.get(), 5u);
  EXPECT_EQ(c.totals().queries, 5u);
}

TEST(PoolCounters, ZeroWorkersStillHasOneShard) {
  PoolCounters c(0);
  c.shard(0).transactions.add(2);
  EXPECT_EQ(c.totals().transactions, 2u);
}

TEST(PoolCounters, ShardsDoNotShareCacheLines) {
  PoolCounters c(2);
  const auto a = reinterpret_cast<uintptr_t>(&c.shard(0));
  const auto b = reinterpret_cast<uintptr_t>(&c.shard(1));
  EXPECT_EQ(a % 64, 0u);
  EXPECT_GE(b - a, 64u);
}

}  // namespace
}  // namespace pgmux::metrics
