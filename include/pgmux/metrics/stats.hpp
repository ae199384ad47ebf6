// What the engine counts, and plain snapshots of it that the Prometheus exposition and
// the admin console read. Counters are sharded per worker thread: a worker only ever
// adds to its own shard (relaxed atomics, no contended cache line on the hot path);
// readers sum the shards. Snapshot structs are plain values.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pgmux::metrics {

// Upper bounds (seconds) of histogram buckets; a last, implicit bucket is +Inf.
inline constexpr std::array<double, 16> kLatencyBuckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0,  10.0};

// The same bounds in nanoseconds, for Histogram::observe (no floating point per call).
inline constexpr std::array<int64_t, kLatencyBuckets.size()> kLatencyBucketsNs = [] {
  std::array<int64_t, kLatencyBuckets.size()> ns{};
  for (size_t i = 0; i < ns.size(); ++i) {
    ns[i] = static_cast<int64_t>(kLatencyBuckets[i] * 1e9 + 0.5);
  }
  return ns;
}();

// A counter with a single writer (the worker owning the shard) and any readers.
// add() is a relaxed load+store: no locked instruction.
class Counter {
 public:
  void add(uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// Histogram values: per-bucket counts (not cumulative; the last is +Inf), count, sum.
struct HistogramValues {
  std::array<uint64_t, kLatencyBuckets.size() + 1> buckets{};
  uint64_t count = 0;
  double sum_seconds = 0;
  void merge(const HistogramValues& other);
  // The q-quantile (0..1) estimated by linear interpolation inside a bucket; 0 when
  // empty. Values in the +Inf bucket report the largest finite bound.
  double quantile(double q) const;
};

// A fixed-bucket latency histogram with a single writer.
class Histogram {
 public:
  // Counts `d` in the first bucket whose bound is at least `d` (Prometheus' "le").
  // Inline, and a scan from the smallest bound: a proxy's latencies are mostly in the
  // first few buckets.
  void observe(std::chrono::nanoseconds d) {
    const int64_t ns = d.count();
    size_t i = 0;
    while (i < kLatencyBucketsNs.size() && ns > kLatencyBucketsNs[i]) ++i;
    buckets_[i].add();
    sum_ns_.add(ns > 0 ? static_cast<uint64_t>(ns) : 0);
  }
  HistogramValues values() const;

 private:
  std::array<Counter, kLatencyBuckets.size() + 1> buckets_{};
  Counter sum_ns_;
};

// SQLSTATE classes counted one by one; anything else counts as "other".
inline constexpr std::array<std::string_view, 16> kErrorClasses = {
    "08", "22", "23", "25", "28", "3D", "40", "42", "53", "54", "55", "57", "58", "0A", "XX",
    "other"};
// Index into kErrorClasses for a five-character SQLSTATE (or its class).
size_t error_class_index(std::string_view sqlstate);

// One worker's share of a pool's counters. Written only by that worker.
struct alignas(64) PoolShard {
  Counter queries;           // requests answered (one per ReadyForQuery)
  Counter transactions;      // server checkouts that ended (transaction mode: transactions)
  Counter bytes_received;    // client -> server
  Counter bytes_sent;        // server -> client
  Counter servers_opened;
  Counter servers_closed;
  Counter statements_to_primary;  // requests routed to the primary (databases with replicas)
  Counter statements_to_replica;
  Counter fallbacks_to_primary;   // reads that went to the primary for want of a replica
  Counter retries;                // reads sent again to another node after a replica failed
  Counter server_moves;           // server connections moved in from another worker
  std::array<Counter, kErrorClasses.size()> errors{};  // ErrorResponses from the server
  Counter query_time_us;     // sum of query durations (SHOW STATS total_query_time)
  Counter xact_time_us;      // sum of transaction durations
  Counter wait_time_us;      // sum of client waits for a server
  Histogram query_duration;        // request sent -> its ReadyForQuery
  Histogram transaction_duration;  // server taken -> given back
  Histogram wait_duration;         // asking for a server -> having one
};

// A pool's counters, one shard per worker (shard index = worker id). Thread-safe.
class PoolCounters {
 public:
  explicit PoolCounters(unsigned workers)
      : count_(workers ? workers : 1), shards_(std::make_unique<PoolShard[]>(count_)) {}
  PoolShard& shard(unsigned worker) { return shards_[worker < count_ ? worker : 0]; }

  // Gauges the sessions keep (any thread).
  std::atomic<int32_t> clients{0};  // logged-in clients whose current pool this is

  // Sum of all shards.
  struct Totals {
    uint64_t queries = 0, transactions = 0, bytes_received = 0, bytes_sent = 0;
    uint64_t servers_opened = 0, servers_closed = 0;
    uint64_t statements_to_primary = 0, statements_to_replica = 0, fallbacks_to_primary = 0,
             retries = 0, server_moves = 0;
    std::array<uint64_t, kErrorClasses.size()> errors{};
    uint64_t query_time_us = 0, xact_time_us = 0, wait_time_us = 0;
    HistogramValues query_duration, transaction_duration, wait_duration;
  };
  Totals totals() const;

 private:
  unsigned count_;
  std::unique_ptr<PoolShard[]> shards_;
};

// Why a client connection was refused (counted by reason).
enum class Reject : uint8_t {
  kTooManyClients,
  kAuthFailed,
  kUnknownDatabase,
  kLoginTimeout,
  kProtocol,     // malformed startup
  kTlsRequired,  // a login without TLS where tls.mode is require
  kCount
};
std::string_view to_string(Reject reason);  // "too_many_clients", "auth_failed", ...

// Process-wide counters. Thread-safe.
struct GlobalCounters {
  std::atomic<uint64_t> accepted{0};
  std::array<std::atomic<uint64_t>, static_cast<size_t>(Reject::kCount)> rejected{};
  std::atomic<uint64_t> tls_handshakes{0};
  std::atomic<uint64_t> admin_commands{0};
  std::atomic<uint64_t> slow_queries{0};
  std::atomic<uint64_t> reloads{0};
  void reject(Reject reason) { rejected[static_cast<size_t>(reason)].fetch_add(1, std::memory_order_relaxed); }
};

// ---- snapshots (plain values) ----

struct PoolSnapshot {
  std::string database;
  std::string user;
  std::string node;       // "host:port"
  std::string role;       // "primary" or "replica"
  std::string pool_mode;  // "session", "transaction", "statement"
  uint32_t pool_size = 0;
  uint32_t min_pool_size = 0;
  bool paused = false;
  // gauges
  uint32_t clients_active = 0;   // logged in to this pool and not waiting
  uint32_t clients_waiting = 0;  // queued for a server
  uint32_t servers_active = 0;   // checked out by clients
  uint32_t servers_idle = 0;     // idle, used recently: handed out without a check
  uint32_t servers_used = 0;     // idle for a while: checked before reuse
  uint32_t servers_login = 0;    // being opened
  double longest_wait_seconds = 0;  // oldest waiting client's wait so far
  PoolCounters::Totals totals;
};

struct NodeSnapshot {
  std::string database;
  std::string node;  // "host:port"
  std::string role;  // "primary" or "replica"
  bool healthy = true;
  bool wrong_role = false;
  double lag_seconds = 0;
  uint64_t lag_bytes = 0;
  uint32_t in_flight = 0;  // clients holding a server of this node
};

struct ClientSnapshot {
  std::string user, database, address;
  std::string state;  // "active" (has a server), "waiting" (for one), "idle"
  uint32_t pid = 0;   // pgmux's BackendKeyData pid given to the client
  double connect_time = 0;  // seconds since the epoch
  double request_time = 0;  // last request, seconds since the epoch (0: none)
  std::string server;       // "host:port pid N" while it holds one
  std::string application_name;
  std::string tls;  // "TLSv1.3/TLS_AES_256_GCM_SHA384"; empty without TLS
};

struct ServerSnapshot {
  std::string user, database, node;  // node "host:port"
  std::string role;   // "primary" or "replica"
  std::string state;  // "active", "idle", "used"
  uint32_t pid = 0;   // PostgreSQL backend pid
  double connect_time = 0;  // seconds since the epoch
  double idle_seconds = 0;  // idle ones: since last released
  uint32_t prepared_statements = 0;
  std::string client;  // active ones: the client's address
};

struct ProcessSnapshot {
  std::string version;
  unsigned workers = 0;
  double start_time = 0;  // seconds since the epoch
  uint64_t accepted = 0, tls_handshakes = 0, admin_commands = 0, slow_queries = 0, reloads = 0;
  std::array<uint64_t, static_cast<size_t>(Reject::kCount)> rejected{};
  uint32_t clients = 0;  // open client connections
};

// Everything a scrape shows.
struct Snapshot {
  ProcessSnapshot process;
  std::vector<PoolSnapshot> pools;
  std::vector<NodeSnapshot> nodes;
};

}  // namespace pgmux::metrics
