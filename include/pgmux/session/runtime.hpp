// State shared by every worker: the current Config, the pools, the cancel-key registry
// and process-wide counters; plus the per-worker context a session runs in.
// Runtime members are thread-safe as documented on each; a Worker is touched only by
// its own thread.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "pgmux/auth/scram.hpp"
#include "pgmux/backend/asio.hpp"
#include "pgmux/backend/server_connection.hpp"
#include "pgmux/config/config.hpp"
#include "pgmux/pool/pool.hpp"

namespace pgmux::session {

class Session;

// One pool with what a session needs to use it. `pool` is thread-safe; the rest is
// immutable after construction.
struct PoolEntry {
  PoolEntry(pool::PoolLimits limits, unsigned workers, backend::ServerTarget target,
            config::PoolMode mode)
      : pool(limits, workers), target(std::move(target)), mode(mode) {}

  pool::Pool pool;
  const backend::ServerTarget target;
  const config::PoolMode mode;
  std::atomic<bool> retired{false};  // replaced by a reload: servers are closed, not returned
};

// Where a client's CancelRequest must go right now. Thread-safe (own mutex).
class CancelTarget {
 public:
  void set(const tcp::endpoint& peer, uint32_t pid, uint32_t secret) {
    std::lock_guard lock(mu_);
    peer_ = peer;
    pid_ = pid;
    secret_ = secret;
    active_ = true;
  }
  void clear() {
    std::lock_guard lock(mu_);
    active_ = false;
  }
  // The server key to cancel, if the client has a server now.
  bool get(tcp::endpoint& peer, uint32_t& pid, uint32_t& secret) const {
    std::lock_guard lock(mu_);
    if (!active_) return false;
    peer = peer_;
    pid = pid_;
    secret = secret_;
    return true;
  }

 private:
  mutable std::mutex mu_;
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
  // Swaps in a new configuration. Pools whose database and user still exist with the
  // same server and mode take the new limits; the others are retired (returned):
  // their sessions finish on them, new sessions get a fresh pool. Thread-safe.
  std::vector<std::shared_ptr<PoolEntry>> set_config(std::shared_ptr<const config::Config> config);

  // The pool for (database, user), created on first use. Thread-safe.
  std::shared_ptr<PoolEntry> pool_for(const config::DatabaseConfig& db,
                                      const config::UserConfig& user);
  std::vector<std::shared_ptr<PoolEntry>> pools() const;

  // The SCRAM secret clients of `user` are checked against (derived once from a
  // plain password with a random salt, or the configured secret). Thread-safe.
  auth::ScramSecret scram_secret_for(const config::UserConfig& user);
  const std::string& mock_seed() const { return mock_seed_; }

  CancelRegistry& cancels() { return cancels_; }

  // Server statement names (content-addressed) that a server has accepted a Parse of:
  // a client's Parse of one of them can be answered without a server. Thread-safe.
  bool statement_known(const std::string& name) const;
  void statement_accepted(const std::string& name);

  std::atomic<uint32_t> clients{0};       // client connections open
  std::atomic<bool> shutting_down{false};

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const config::Config> config_;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<PoolEntry>> pools_;
  std::map<std::string, std::pair<std::string, auth::ScramSecret>> scram_cache_;
  std::string mock_seed_;
  CancelRegistry cancels_;
  mutable std::mutex statements_mu_;
  std::unordered_set<std::string> known_statements_;
};

// One worker thread's context. Touched only from that thread (post to it otherwise).
struct Worker {
  Worker(unsigned id, asio::io_context& io, Runtime& runtime) : id(id), io(io), runtime(runtime) {}
  const unsigned id;
  asio::io_context& io;
  Runtime& runtime;
  std::unordered_set<Session*> sessions;
};

// Serves one accepted client connection until it ends. Never throws.
awaitable<void> run_session(tcp::socket socket, Worker& worker);

// Asks every session of `worker` to finish (shutdown): idle ones are closed with
// 57P01 at once, busy ones when their transaction ends. Call on the worker's thread.
void request_shutdown(Worker& worker);
// Closes every session of `worker` now (shutdown_timeout reached).
void force_close(Worker& worker);

}  // namespace pgmux::session
