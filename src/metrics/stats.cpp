// Counters, histograms and their sums over shards (see stats.hpp). Writers touch only
// their own shard; readers may run on any thread at any time.
#include "pgmux/metrics/stats.hpp"

#include <algorithm>

namespace pgmux::metrics {

void HistogramValues::merge(const HistogramValues& other) {
  for (size_t i = 0; i < buckets.size(); ++i) buckets[i] += other.buckets[i];
  count += other.count;
  sum_seconds += other.sum_seconds;
}

// Like Prometheus' histogram_quantile: find the bucket holding rank q*count and
// interpolate linearly between its bounds (the first bucket starts at 0). Empty
// buckets are skipped so that q == 0 reports the lower bound of the first used one.
double HistogramValues::quantile(double q) const {
  uint64_t total = 0;
  for (uint64_t b : buckets) total += b;
  if (total == 0) return 0;
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(total);
  uint64_t below = 0;
  for (size_t i = 0; i < buckets.size(); ++i) {
    if (buckets[i] == 0 || static_cast<double>(below + buckets[i]) < rank) {
      below += buckets[i];
      continue;
    }
    if (i == kLatencyBuckets.size()) return kLatencyBuckets.back();  // +Inf bucket
    const double lower = i == 0 ? 0.0 : kLatencyBuckets[i - 1];
    const double upper = kLatencyBuckets[i];
    const double within = (rank - static_cast<double>(below)) / static_cast<double>(buckets[i]);
    return lower + (upper - lower) * within;
  }
  return kLatencyBuckets.back();  // not reached: the last used bucket always holds rank
}

HistogramValues Histogram::values() const {
  HistogramValues v;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    v.buckets[i] = buckets_[i].get();
    v.count += v.buckets[i];
  }
  v.sum_seconds = static_cast<double>(sum_ns_.get()) / 1e9;
  return v;
}

size_t error_class_index(std::string_view sqlstate) {
  const size_t other = kErrorClasses.size() - 1;
  if (sqlstate.size() < 2) return other;
  const std::string_view cls = sqlstate.substr(0, 2);
  for (size_t i = 0; i < other; ++i) {
    if (kErrorClasses[i] == cls) return i;
  }
  return other;
}

namespace {

void add_shard(const PoolShard& s, PoolCounters::Totals& t) {
  t.queries += s.queries.get();
  t.transactions += s.transactions.get();
  t.bytes_received += s.bytes_received.get();
  t.bytes_sent += s.bytes_sent.get();
  t.servers_opened += s.servers_opened.get();
  t.servers_closed += s.servers_closed.get();
  t.statements_to_primary += s.statements_to_primary.get();
  t.statements_to_replica += s.statements_to_replica.get();
  t.fallbacks_to_primary += s.fallbacks_to_primary.get();
  t.retries += s.retries.get();
  t.server_moves += s.server_moves.get();
  for (size_t i = 0; i < t.errors.size(); ++i) t.errors[i] += s.errors[i].get();
  t.query_time_us += s.query_time_us.get();
  t.xact_time_us += s.xact_time_us.get();
  t.wait_time_us += s.wait_time_us.get();
  t.query_duration.merge(s.query_duration.values());
  t.transaction_duration.merge(s.transaction_duration.values());
  t.wait_duration.merge(s.wait_duration.values());
}

}  // namespace

PoolCounters::Totals PoolCounters::totals() const {
  Totals t;
  for (unsigned i = 0; i < count_; ++i) add_shard(shards_[i], t);
  return t;
}

std::string_view to_string(Reject reason) {
  switch (reason) {
    case Reject::kTooManyClients:
      return "too_many_clients";
    case Reject::kAuthFailed:
      return "auth_failed";
    case Reject::kUnknownDatabase:
      return "unknown_database";
    case Reject::kLoginTimeout:
      return "login_timeout";
    case Reject::kProtocol:
      return "protocol_error";
    case Reject::kTlsRequired:
      return "tls_required";
    case Reject::kCount:
      break;
  }
  return "unknown";
}

}  // namespace pgmux::metrics
