// State shared by every worker: the current Config, the pools, the cancel-key registry
// and process-wide counters; plus the per-worker context a session runs in.
// Runtime members are thread-safe as documented on each; a Worker is touched only by
// its own thread.
#pragma once

#include <atomic>
#include <deque>
#include <limits>
#include <functional>
#include <set>
#include <optional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "pgmux/admin/audit.hpp"
#include "pgmux/admin/views.hpp"
#include "pgmux/auth/scram.hpp"
#include "pgmux/backend/asio.hpp"
#include "pgmux/backend/mailbox.hpp"
#include "pgmux/backend/server_connection.hpp"
#include "pgmux/backend/tls.hpp"
#include "pgmux/config/config.hpp"
#include "pgmux/metrics/stats.hpp"
#include "pgmux/pool/pool.hpp"
#include "pgmux/session/login_deadlines.hpp"
#include "pgmux/sql/classify.hpp"

namespace pgmux::session {

class Session;
struct Worker;

// What the health checker knows about one node (primary or replica) of a database.
// Shared by the pools of every user of that node. Thread-safe: atomics, and a mutex
// for the primary's WAL history.
struct NodeState {
  NodeState(std::string address, bool replica) : address(std::move(address)), replica(replica) {}
  const std::string address;  // "host:port"
  const bool replica;         // configured role
  // A replica serves reads only once a check has found it healthy.
  std::atomic<bool> healthy{false};
  std::atomic<bool> wrong_role{false};     // a replica that is not in recovery, or the reverse
  std::atomic<int64_t> lag_ms{0};          // replicas: replay lag
  std::atomic<uint64_t> lag_bytes{0};      // replicas: primary's LSN - replay LSN
  std::atomic<uint64_t> lsn{0};            // primary: insert LSN; replica: replay LSN
  std::atomic<uint32_t> in_flight{0};      // clients holding a server of this node

  // Primary: when its WAL reached which position (one sample per health check), so a
  // replica's lag in time is how long ago the primary wrote what it has not replayed.
  void add_wal_sample(pool::Clock::time_point at, uint64_t position);
  // How long ago the primary first passed `replayed`; nullopt without history.
  std::optional<std::chrono::milliseconds> lag_behind(uint64_t replayed,
                                                      pool::Clock::time_point now) const;

 private:
  mutable std::mutex samples_mu_;
  std::deque<std::pair<pool::Clock::time_point, uint64_t>> samples_;
};

// An idle server idle longer than this may have been closed by PostgreSQL: it is checked
// (one MSG_PEEK) before reuse, and SHOW POOLS / metrics count it as `used`, not `idle`.
inline constexpr std::chrono::milliseconds kIdleCheckAfter{500};

// A steady-clock instant as wall-clock seconds since the epoch (for SHOW timestamps).
double wall_seconds(pool::Clock::time_point t);

// One pool with what a session needs to use it. `pool` is thread-safe; the rest is
// immutable after construction (or atomic).
struct PoolEntry {
  PoolEntry(pool::PoolLimits limits, unsigned workers, std::string database,
            backend::ServerTarget target, config::PoolMode mode, std::shared_ptr<NodeState> node,
            uint32_t weight)
      : pool(limits, workers),
        stats(workers),
        database(std::move(database)),
        target(std::move(target)),
        mode(mode),
        node(std::move(node)),
        weight(weight) {}

  pool::Pool pool;
  metrics::PoolCounters stats;
  const std::string database;  // the name clients connect to
  const backend::ServerTarget target;
  const config::PoolMode mode;
  const std::shared_ptr<NodeState> node;
  const uint32_t weight;
  std::atomic<bool> retired{false};  // replaced by a reload: servers are closed, not returned
  // RECONNECT: servers opened before this (steady clock ticks) are closed, not returned.
  std::atomic<int64_t> reconnect_before{std::numeric_limits<int64_t>::min()};
  std::atomic<int32_t> paused_waiting{0};  // clients held by PAUSE
};

// PAUSE / RESUME: which databases hold new transactions, and the sessions waiting for
// a RESUME. Thread-safe (own mutex; paused() is lock-free while nothing is paused).
class PauseGate {
 public:
  // `database` empty: every database.
  void pause(const std::string& database);
  // Ends the pause of `database` (empty: every pause) and wakes every waiting session
  // (each checks again).
  void resume(const std::string& database);
  bool paused(std::string_view database) const {
    return any_.load(std::memory_order_acquire) && paused_locked(database);
  }
  // When `database` is paused, keeps `waiter` to be woken by a resume and returns true.
  bool hold(std::string_view database, const std::shared_ptr<pool::Waiter>& waiter);
  void forget(const pool::Waiter* waiter);
  bool all_paused() const;
  std::set<std::string, std::less<>> paused_databases() const;

 private:
  bool paused_locked(std::string_view database) const;  // takes mu_
  mutable std::mutex mu_;
  std::atomic<bool> any_{false};
  bool all_ = false;
  std::set<std::string, std::less<>> databases_;
  std::vector<std::shared_ptr<pool::Waiter>> waiters_;
};

// The pools of one (database, user): the primary's and each replica's, and how to
// route between them. Immutable after construction.
struct PoolGroup {
  std::shared_ptr<PoolEntry> primary;
  std::vector<std::shared_ptr<PoolEntry>> replicas;
  config::RoutingConfig routing;
  sql::ClassifyOptions classify;
  // Reads back the config's track_extra_parameters after a client's SET (one column
  // each, in order); empty when there are none.
  std::string read_back_sql;
};

// Where a client's CancelRequest must go right now. Thread-safe. Its session sets and
// clears it on every request; a CancelRequest (rare, on any worker) reads it. So the
// lock is a flag taken with one atomic exchange, not a mutex: it is all but never
// contended, and each critical section is a few stores.
class CancelTarget {
 public:
  void set(const tcp::endpoint& peer, uint32_t pid, uint32_t secret) {
    Hold hold(busy_);
    peer_ = peer;
    pid_ = pid;
    secret_ = secret;
    active_ = true;
  }
  void clear() {
    Hold hold(busy_);
    active_ = false;
  }
  // The server key to cancel, if the client has a server now.
  bool get(tcp::endpoint& peer, uint32_t& pid, uint32_t& secret) const {
    Hold hold(busy_);
    if (!active_) return false;
    peer = peer_;
    pid = pid_;
    secret = secret_;
    return true;
  }

 private:
  struct Hold {
    explicit Hold(std::atomic_flag& f) : flag(f) {
      while (flag.test_and_set(std::memory_order_acquire)) std::this_thread::yield();
    }
    ~Hold() { flag.clear(std::memory_order_release); }
    std::atomic_flag& flag;
  };
  mutable std::atomic_flag busy_;
  bool active_ = false;
  tcp::endpoint peer_;
  uint32_t pid_ = 0;
  uint32_t secret_ = 0;
};

// pgmux's own BackendKeyData values -> the session they belong to. Thread-safe.
class CancelRegistry {
 public:
  // Allocates an unused random pid and a random secret for `target`.
  std::pair<uint32_t, uint32_t> add(const std::shared_ptr<CancelTarget>& target);
  void remove(uint32_t pid);
  // The target for (pid, secret), or null when unknown or the secret is wrong.
  std::shared_ptr<CancelTarget> find(uint32_t pid, uint32_t secret) const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<uint32_t, std::pair<uint32_t, std::weak_ptr<CancelTarget>>> entries_;
};

class Runtime {
 public:
  explicit Runtime(std::shared_ptr<const config::Config> config);

  // Current configuration (a snapshot; reload swaps it). Thread-safe.
  std::shared_ptr<const config::Config> config() const;
  // Swaps in a new configuration. Pool groups whose database and user still exist with
  // the same servers and mode take the new limits and routing; the others are retired
  // (their pools returned): their sessions finish on them, new sessions get fresh
  // pools. Thread-safe.
  std::vector<std::shared_ptr<PoolEntry>> set_config(std::shared_ptr<const config::Config> config);

  // The pools for (database, user), created on first use. Thread-safe.
  std::shared_ptr<PoolGroup> pools_for(const config::DatabaseConfig& db,
                                       const config::UserConfig& user);
  std::vector<std::shared_ptr<PoolEntry>> pools() const;
  // Every node of every database that has replicas, with its database's config.
  struct CheckedNode {
    std::string database;
    backend::ServerTarget target;  // how the health checker logs in
    std::shared_ptr<NodeState> node;
    std::shared_ptr<NodeState> primary;  // the database's primary (for lag in bytes)
  };
  std::vector<CheckedNode> checked_nodes();

  // The SCRAM secret clients of `user` are checked against (derived once from a
  // plain password with a random salt, or the configured secret). Thread-safe.
  auth::ScramSecret scram_secret_for(const config::UserConfig& user);
  const std::string& mock_seed() const { return mock_seed_; }

  CancelRegistry& cancels() { return cancels_; }

  // TLS as loaded from the current configuration's files, for clients (`tls:`) and to
  // the servers (`server_tls:`); null where off. Set at start and by every reload, before
  // the configuration (pools made after take the servers' one). Thread-safe.
  backend::TlsContextPtr tls() const;
  void set_tls(backend::TlsContextPtr for_clients, backend::TlsContextPtr for_servers);

  // Server statement names (content-addressed) that a server has accepted a Parse of:
  // a client's Parse of one of them can be answered without a server. Thread-safe.
  bool statement_known(const std::string& name) const;
  void statement_accepted(const std::string& name);

  std::atomic<uint32_t> clients{0};       // client connections open
  std::atomic<bool> shutting_down{false};

  metrics::GlobalCounters counters;
  PauseGate& pauses() { return pauses_; }
  // Pools and nodes as the metrics and SHOW commands report them. Thread-safe.
  metrics::Snapshot snapshot();

  // Worker threads, registered by the server before they run. Thread-safe after.
  void add_worker(Worker* worker) { workers_.push_back(worker); }
  const std::vector<Worker*>& workers() const { return workers_; }

  // Control actions the server provides (set before workers run; then read-only).
  // reload(user, client): "" when the new configuration was taken, else why not; it
  // audits itself. shutdown: starts a graceful shutdown. Both may be called from any
  // thread.
  std::function<std::string(const std::string& user, const std::string& client)> reload;
  std::function<void()> shutdown;
  std::string version;
  std::chrono::system_clock::time_point started_at = std::chrono::system_clock::now();
  admin::StatsPeriod stats_period;  // SHOW STATS averages; sampled by the server

  // Where admin commands and reloads are audited (null: nowhere). Thread-safe.
  std::shared_ptr<admin::AuditLog> audit() const;
  void set_audit(std::shared_ptr<admin::AuditLog> log);

 private:
  // The target of a pool or health check, with the servers' TLS. Requires mu_.
  backend::ServerTarget target_locked(const std::string& host, uint16_t port,
                                      const config::DatabaseConfig& db,
                                      const config::UserConfig& user) const;
  // Health state of a node of a database, created on first use. Requires mu_.
  std::shared_ptr<NodeState> node_state_locked(const std::string& database,
                                               const std::string& address, bool replica);

  mutable std::mutex mu_;
  std::shared_ptr<const config::Config> config_;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<PoolGroup>> groups_;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<NodeState>> nodes_;
  std::map<std::string, std::pair<std::string, auth::ScramSecret>> scram_cache_;
  std::string mock_seed_;
  CancelRegistry cancels_;
  PauseGate pauses_;
  std::shared_ptr<admin::AuditLog> audit_;  // guarded by mu_
  backend::TlsContextPtr tls_;               // guarded by mu_
  backend::TlsContextPtr server_tls_;        // guarded by mu_
  std::vector<Worker*> workers_;
  mutable std::mutex statements_mu_;
  std::unordered_set<std::string> known_statements_;
};

// One worker thread's context. Touched only from that thread: other threads hand it
// work through `mailbox` (its io_context runs without Asio's locks: backend/mailbox.hpp),
// never through asio::post or co_spawn on `io`.
struct Worker {
  Worker(unsigned id, asio::io_context& io, Runtime& runtime)
      : id(id),
        io(io),
        runtime(runtime),
        mailbox(io),
        read_services(read_op_detail::services_for(io)),
        login_deadlines(io) {}
  const unsigned id;
  asio::io_context& io;
  Runtime& runtime;
  backend::Mailbox mailbox;
  const read_op_detail::ContextServices read_services;  // for its sockets' reads
  std::unordered_set<Session*> sessions;
  LoginDeadlines login_deadlines;  // client_login_timeout of the sessions logging in here
};

// The worker with id `id` (worker 0 for an id out of range).
Worker& worker_of(const Runtime& runtime, unsigned id);

// Destroys `server` on the thread of the worker whose event loop its socket is in.
// Workers' event loops run without Asio's locks: only a socket's own worker may close it
// or start operations on it.
void destroy_on_owner(const Runtime& runtime, std::unique_ptr<pool::PooledServer> server);

// An LSN as PostgreSQL prints it ("16/B374D848") as a number; 0 when malformed.
uint64_t parse_lsn(std::string_view text);

// Serves one accepted client connection until it ends. Never throws.
awaitable<void> run_session(tcp::socket socket, Worker& worker);

// Asks every session of `worker` to finish (shutdown): idle ones are closed with
// 57P01 at once, busy ones when their transaction ends. Call on the worker's thread.
void request_shutdown(Worker& worker);
// Closes every session of `worker` now (shutdown_timeout reached).
void force_close(Worker& worker);

}  // namespace pgmux::session
