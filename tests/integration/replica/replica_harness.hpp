// Helpers for the routing tests: the primary + streaming replica started by replica_cluster.sh,
// replay control, replica stop/start, and pgmux configs with `primary:`/`replicas:`/`routing:`.
// Thread-safety: ReplicaCluster is immutable after get() and its methods may run on any thread
// (each call opens its own connection); RoutedPgmux and ReplicaGuard belong to one thread.
#pragma once

#include "harness.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace pgmux::itest {

// Database the replica fixture creates on the primary (replicated): tables items(id bigserial,
// tag, v), ticks(id bigserial, at), sequence s, and the pgbench tables at scale 1.
inline constexpr const char* kReplDatabase = "pgmux_repl";

// The cluster pair started by replica_cluster.sh; $PGMUX_REPLICA_DIR holds primary/ and replica/,
// each with its socket and `port` file.
class ReplicaCluster {
 public:
  // Throws std::runtime_error when the fixture is missing.
  static const ReplicaCluster& get();
  const std::string& dir() const { return dir_; }
  uint16_t primary_port() const { return primary_port_; }
  uint16_t replica_port() const { return replica_port_; }

  // Superuser `postgres` over each node's unix socket (trust).
  std::string primary_conninfo(const std::string& db = "postgres") const;
  std::string replica_conninfo(const std::string& db = "postgres") const;
  // Open a superuser connection; throw std::runtime_error on failure.
  PgConn primary(const std::string& db = "postgres") const;
  PgConn replica(const std::string& db = "postgres") const;
  // Run SQL as superuser on a fresh connection (errors come back in the result, never thrown).
  PgResult exec_primary(const std::string& db, const std::string& sql) const;
  PgResult exec_replica(const std::string& db, const std::string& sql) const;

  // Waits until the replica has replayed all the WAL the primary had written when called
  // (pg_current_wal_lsn() on the primary <= pg_last_wal_replay_lsn() on the replica).
  ::testing::AssertionResult wait_replica_caught_up(Millis timeout = 30s) const;
  // Waits until pg_stat_replication on the primary shows the replica in state 'streaming'.
  ::testing::AssertionResult wait_streaming(Millis timeout = 30s) const;
  // pg_wal_replay_pause() / pg_wal_replay_resume() on the replica; the pause call also waits
  // until pg_get_wal_replay_pause_state() says 'paused'.
  ::testing::AssertionResult pause_replay(Millis timeout = 10s) const;
  ::testing::AssertionResult resume_replay() const;
  bool replay_paused() const;  // false also when the replica is unreachable

  // Brings the replica's receive position up to its replay position. After a restart the WAL
  // receiver reports the start of the segment it streams from (pg_last_wal_receive_lsn() <
  // pg_last_wal_replay_lsn()) until the primary sends new WAL; this commits a row on the primary
  // and waits until the replica has received and replayed it. No-op when already so.
  ::testing::AssertionResult settle_replica(Millis timeout = 10s) const;

  // pg_ctl stop -m fast / pg_ctl start -w on the replica (as `postgres` when run as root). start
  // also waits until the replica streams again and, with `settle`, calls settle_replica().
  // Bounded by `timeout`.
  ::testing::AssertionResult stop_replica(Millis timeout = 60s) const;
  ::testing::AssertionResult start_replica(Millis timeout = 60s, bool settle = true) const;
  bool replica_running() const;  // the replica accepts a superuser connection

 private:
  std::string node_dir(const char* node) const { return dir_ + "/" + node; }
  ::testing::AssertionResult pg_ctl(const std::vector<std::string>& args, Millis timeout) const;
  std::string dir_;
  uint16_t primary_port_ = 0;
  uint16_t replica_port_ = 0;
};

// Puts the replica back the way every test expects it (running, replay resumed, streaming,
// settled, caught up) when it goes out of scope, whatever the test did to it.
class ReplicaGuard {
 public:
  ReplicaGuard() = default;
  ~ReplicaGuard();
  ReplicaGuard(const ReplicaGuard&) = delete;
  ReplicaGuard& operator=(const ReplicaGuard&) = delete;
};

// The `routing:` block of the routed database, as written in YAML flow style.
struct RoutingSpec {
  std::string max_replica_lag = "1s";
  std::string read_your_writes = "off";  // off | window | lsn
  std::string read_your_writes_window;   // e.g. "2s"; empty = not written
  bool fallback_to_primary = true;
};

// pgmux in front of the replica pair. With `with_replicas`, kReplDatabase has `primary:` and
// `replicas:` (and `routing:`); without, it is a plain host/port database on the primary.
struct RoutedConfig {
  bool with_replicas = true;
  RoutingSpec routing;
  std::string pool_mode = "transaction";
  int pool_size = 5;
  int workers = 2;
  std::string health_check = "{ interval: 200ms, timeout: 1s, user: pgmux_scram }";
  std::string extra;  // further top-level YAML lines
  std::string yaml(uint16_t listen_port) const;
};

// A PgmuxProcess whose config file holds RoutedConfig::yaml().
class RoutedPgmux {
 public:
  explicit RoutedPgmux(const RoutedConfig& config);
  ::testing::AssertionResult start(Millis timeout = 10s) { return process_->start(timeout); }
  PgmuxProcess& process() { return *process_; }
  // libpq conninfo to kReplDatabase through pgmux as kScramUser; `extra` is appended verbatim
  // (e.g. "options='-c pgmux.route=primary'").
  std::string conninfo(const std::string& extra = "") const;

 private:
  std::unique_ptr<PgmuxProcess> process_;
};

}  // namespace pgmux::itest
