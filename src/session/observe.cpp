// PauseGate and Runtime::snapshot(): what PAUSE/RESUME hold, and the pool and node
// figures that metrics and SHOW commands report. Thread-safe (see runtime.hpp).
#include <algorithm>

#include "pgmux/session/runtime.hpp"

namespace pgmux::session {
namespace {

double seconds_since(pool::Clock::time_point since, pool::Clock::time_point now) {
  return std::chrono::duration<double>(now - since).count();
}

metrics::PoolSnapshot pool_snapshot(const PoolEntry& entry, bool paused,
                                    pool::Clock::time_point now) {
  metrics::PoolSnapshot s;
  s.database = entry.database;
  s.user = entry.target.user;
  s.node = entry.node->address;
  s.role = entry.node->replica ? "replica" : "primary";
  s.pool_mode = std::string(config::to_string(entry.mode));
  auto limits = entry.pool.limits();
  s.pool_size = limits.pool_size;
  s.min_pool_size = limits.min_pool_size;
  s.paused = paused;
  auto ps = entry.pool.stats(now - kIdleCheckAfter);
  int32_t held = std::max(0, entry.paused_waiting.load());
  s.clients_waiting = ps.waiting + static_cast<uint32_t>(held);
  int32_t clients = std::max(0, entry.stats.clients.load());
  s.clients_active = static_cast<uint32_t>(std::max<int64_t>(0, int64_t{clients} - s.clients_waiting));
  s.servers_login = ps.connecting;
  s.servers_idle = ps.idle - ps.idle_stale;
  s.servers_used = ps.idle_stale;
  s.servers_active = ps.total - ps.idle - ps.connecting;
  if (ps.waiting > 0) s.longest_wait_seconds = seconds_since(ps.oldest_wait_since, now);
  s.totals = entry.stats.totals();
  s.totals.servers_opened = ps.opened;
  s.totals.servers_closed = ps.closed;
  return s;
}

}  // namespace

void PauseGate::pause(const std::string& database) {
  std::lock_guard lock(mu_);
  if (database.empty()) {
    all_ = true;
  } else {
    databases_.insert(database);
  }
  any_ = true;
}

void PauseGate::resume(const std::string& database) {
  std::vector<std::shared_ptr<pool::Waiter>> woken;
  {
    std::lock_guard lock(mu_);
    if (database.empty()) {
      all_ = false;
      databases_.clear();
    } else {
      databases_.erase(database);
    }
    any_ = all_ || !databases_.empty();
    woken.swap(waiters_);
  }
  for (auto& w : woken) w->wake();
}

bool PauseGate::paused_locked(std::string_view database) const {
  std::lock_guard lock(mu_);
  return all_ || databases_.count(database) != 0;
}

bool PauseGate::hold(std::string_view database, const std::shared_ptr<pool::Waiter>& waiter) {
  if (!any_.load(std::memory_order_acquire)) return false;
  std::lock_guard lock(mu_);
  if (!all_ && databases_.count(database) == 0) return false;
  waiters_.push_back(waiter);
  return true;
}

void PauseGate::forget(const pool::Waiter* waiter) {
  std::lock_guard lock(mu_);
  std::erase_if(waiters_, [&](const auto& w) { return w.get() == waiter; });
}

bool PauseGate::all_paused() const {
  std::lock_guard lock(mu_);
  return all_;
}

std::set<std::string, std::less<>> PauseGate::paused_databases() const {
  std::lock_guard lock(mu_);
  return databases_;
}

std::shared_ptr<admin::AuditLog> Runtime::audit() const {
  std::lock_guard lock(mu_);
  return audit_;
}

void Runtime::set_audit(std::shared_ptr<admin::AuditLog> log) {
  std::lock_guard lock(mu_);
  audit_ = std::move(log);
}

backend::TlsContextPtr Runtime::tls() const {
  std::lock_guard lock(mu_);
  return tls_;
}

void Runtime::set_tls(backend::TlsContextPtr for_clients, backend::TlsContextPtr for_servers) {
  std::lock_guard lock(mu_);
  tls_ = std::move(for_clients);
  server_tls_ = std::move(for_servers);
}

double wall_seconds(pool::Clock::time_point t) {
  auto ago = std::chrono::duration_cast<std::chrono::system_clock::duration>(pool::Clock::now() - t);
  return std::chrono::duration<double>((std::chrono::system_clock::now() - ago).time_since_epoch())
      .count();
}

metrics::Snapshot Runtime::snapshot() {
  metrics::Snapshot snap;
  auto now = pool::Clock::now();
  for (const auto& entry : pools()) {
    snap.pools.push_back(pool_snapshot(*entry, pauses_.paused(entry->database), now));
  }
  std::set<const NodeState*> seen;
  for (const auto& n : checked_nodes()) {
    if (!seen.insert(n.node.get()).second) continue;
    metrics::NodeSnapshot ns;
    ns.database = n.database;
    ns.node = n.node->address;
    ns.role = n.node->replica ? "replica" : "primary";
    ns.healthy = n.node->healthy;
    ns.wrong_role = n.node->wrong_role;
    ns.lag_seconds = static_cast<double>(n.node->lag_ms.load()) / 1000.0;
    ns.lag_bytes = n.node->lag_bytes;
    ns.in_flight = n.node->in_flight;
    snap.nodes.push_back(std::move(ns));
  }
  auto& p = snap.process;
  p.version = version;
  p.workers = static_cast<unsigned>(workers_.size());
  p.start_time = std::chrono::duration<double>(started_at.time_since_epoch()).count();
  p.accepted = counters.accepted;
  for (size_t i = 0; i < p.rejected.size(); ++i) p.rejected[i] = counters.rejected[i];
  p.tls_handshakes = counters.tls_handshakes;
  p.admin_commands = counters.admin_commands;
  p.slow_queries = counters.slow_queries;
  p.reloads = counters.reloads;
  p.clients = clients;
  return snap;
}

}  // namespace pgmux::session
