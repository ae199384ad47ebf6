// Routing-test helpers: access to and control of the primary + streaming replica pair, and pgmux
// configs routed to it. Thread-safety: see replica_harness.hpp.
#include "replica_harness.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace pgmux::itest {
namespace {

uint16_t read_port(const std::string& path) {
  std::ifstream in(path);
  int port = 0;
  in >> port;
  if (port <= 0 || port > 65535) {
    throw std::runtime_error("no port in " + path + " (is the pg_replica fixture started?)");
  }
  return static_cast<uint16_t>(port);
}

std::string pg_bin(const std::string& program) {
  const char* dir = getenv("PGBIN");
  return std::string(dir && *dir ? dir : "/usr/lib/postgresql/15/bin") + "/" + program;
}

std::string socket_conninfo(const std::string& socket_dir, uint16_t port, const std::string& db) {
  return "host=" + socket_dir + " port=" + std::to_string(port) + " user=postgres dbname=" + db +
         " connect_timeout=5";
}

PgConn must_connect(const std::string& conninfo, const char* what) {
  ConnectOutcome c = connect(conninfo, 5s);
  if (!c.ok) throw std::runtime_error(std::string("superuser connection to the ") + what + " failed: " + c.error);
  return std::move(c.conn);
}

PgResult exec_on(const std::string& conninfo, const std::string& sql) {
  ConnectOutcome c = connect(conninfo, 5s);
  if (!c.ok) return PgResult(nullptr, "connect: " + c.error);
  return c.conn.exec(sql);
}

}  // namespace

const ReplicaCluster& ReplicaCluster::get() {
  static const ReplicaCluster cluster = [] {
    ReplicaCluster c;
    c.dir_ = required_env("PGMUX_REPLICA_DIR");
    c.primary_port_ = read_port(c.dir_ + "/primary/port");
    c.replica_port_ = read_port(c.dir_ + "/replica/port");
    return c;
  }();
  return cluster;
}

std::string ReplicaCluster::primary_conninfo(const std::string& db) const {
  return socket_conninfo(node_dir("primary"), primary_port_, db);
}

std::string ReplicaCluster::replica_conninfo(const std::string& db) const {
  return socket_conninfo(node_dir("replica"), replica_port_, db);
}

PgConn ReplicaCluster::primary(const std::string& db) const {
  return must_connect(primary_conninfo(db), "primary");
}

PgConn ReplicaCluster::replica(const std::string& db) const {
  return must_connect(replica_conninfo(db), "replica");
}

PgResult ReplicaCluster::exec_primary(const std::string& db, const std::string& sql) const {
  return exec_on(primary_conninfo(db), sql);
}

PgResult ReplicaCluster::exec_replica(const std::string& db, const std::string& sql) const {
  return exec_on(replica_conninfo(db), sql);
}

::testing::AssertionResult ReplicaCluster::wait_replica_caught_up(Millis timeout) const {
  PgResult target = exec_primary("postgres", "SELECT pg_current_wal_lsn()");
  if (!target.ok()) return ::testing::AssertionFailure() << "primary LSN: " << target.error();
  std::string last;
  bool done = wait_until(
      [&] {
        PgResult r = exec_replica("postgres", "SELECT pg_last_wal_replay_lsn() >= '" + target.value() +
                                                  "'::pg_lsn, pg_last_wal_replay_lsn()");
        last = r.ok() ? r.value(0, 1) : r.error();
        return r.ok() && r.value() == "t";
      },
      timeout, 20ms);
  if (done) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "replica did not replay up to " << target.value() << " within "
                                       << timeout.count() << " ms; last replay LSN: " << last;
}

::testing::AssertionResult ReplicaCluster::wait_streaming(Millis timeout) const {
  std::string last;
  bool done = wait_until(
      [&] {
        PgResult r = exec_primary("postgres",
                                  "SELECT count(*) FROM pg_stat_replication WHERE application_name = "
                                  "'pgmux_replica' AND state = 'streaming'");
        last = r.ok() ? r.value() : r.error();
        return r.ok() && r.value() == "1";
      },
      timeout, 50ms);
  if (done) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "the replica was not streaming within " << timeout.count()
                                       << " ms (streaming walsenders: " << last << ")";
}

::testing::AssertionResult ReplicaCluster::pause_replay(Millis timeout) const {
  PgResult r = exec_replica("postgres", "SELECT pg_wal_replay_pause()");
  if (!r.ok()) return ::testing::AssertionFailure() << "pg_wal_replay_pause(): " << r.error();
  // The startup process pauses at its next record: give it one.
  exec_primary(kReplDatabase, "INSERT INTO ticks DEFAULT VALUES");
  if (wait_until([&] { return replay_paused(); }, timeout, 20ms)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "replay not paused within " << timeout.count() << " ms";
}

::testing::AssertionResult ReplicaCluster::resume_replay() const {
  PgResult r = exec_replica("postgres", "SELECT pg_wal_replay_resume()");
  if (!r.ok()) return ::testing::AssertionFailure() << "pg_wal_replay_resume(): " << r.error();
  return ::testing::AssertionSuccess();
}

bool ReplicaCluster::replay_paused() const {
  PgResult r = exec_replica("postgres", "SELECT pg_get_wal_replay_pause_state()");
  return r.ok() && r.value() == "paused";
}

::testing::AssertionResult ReplicaCluster::pg_ctl(const std::vector<std::string>& args,
                                                  Millis timeout) const {
  std::vector<std::string> argv;
  if (geteuid() == 0) argv = {"runuser", "-u", "postgres", "--"};
  argv.push_back(pg_bin("pg_ctl"));
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"-w", "-t", std::to_string(timeout.count() / 1000)});
  CommandResult r = run_command(argv, {}, timeout + 5s);
  if (r.exit_code == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "pg_ctl " << args.back() << ": " << r.describe();
}

::testing::AssertionResult ReplicaCluster::stop_replica(Millis timeout) const {
  return pg_ctl({"-D", node_dir("replica") + "/data", "-m", "fast", "stop"}, timeout);
}

::testing::AssertionResult ReplicaCluster::start_replica(Millis timeout, bool settle) const {
  auto deadline = Clock::now() + timeout;
  ::testing::AssertionResult started =
      pg_ctl({"-D", node_dir("replica") + "/data", "-l", node_dir("replica") + "/server.log", "start"},
             timeout);
  if (!started) return started;
  ::testing::AssertionResult streaming = wait_streaming(Millis(remaining_ms(deadline)));
  if (!streaming || !settle) return streaming;
  return settle_replica(Millis(remaining_ms(deadline)));
}

::testing::AssertionResult ReplicaCluster::settle_replica(Millis timeout) const {
  const std::string received = "SELECT pg_last_wal_receive_lsn() >= pg_last_wal_replay_lsn()";
  if (exec_replica("postgres", received).value() == "t") return ::testing::AssertionSuccess();
  PgResult r = exec_primary(kReplDatabase, "INSERT INTO ticks DEFAULT VALUES");
  if (!r.ok()) return ::testing::AssertionFailure() << "settle_replica: insert on the primary: " << r.error();
  std::string last;
  bool done = wait_until(
      [&] {
        PgResult s = exec_replica("postgres", received + ", pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()");
        last = s.ok() ? s.value(0, 1) + " < " + s.value(0, 2) : s.error();
        return s.ok() && s.value() == "t";
      },
      timeout, 20ms);
  if (done) return wait_replica_caught_up(timeout);
  return ::testing::AssertionFailure() << "the replica's receive LSN stayed behind its replay LSN for "
                                       << timeout.count() << " ms: " << last;
}

bool ReplicaCluster::replica_running() const { return connect(replica_conninfo(), 2s).ok; }

ReplicaGuard::~ReplicaGuard() {
  const ReplicaCluster& cluster = ReplicaCluster::get();
  if (!cluster.replica_running()) {
    EXPECT_TRUE(cluster.start_replica()) << "while restoring the replica after the test";
  }
  PgResult state = cluster.exec_replica("postgres", "SELECT pg_get_wal_replay_pause_state()");
  if (!state.ok() || state.value() != "not paused") {
    EXPECT_TRUE(cluster.resume_replay()) << "while restoring the replica after the test";
  }
  EXPECT_TRUE(cluster.wait_streaming()) << "while restoring the replica after the test";
  EXPECT_TRUE(cluster.settle_replica()) << "while restoring the replica after the test";
  EXPECT_TRUE(cluster.wait_replica_caught_up()) << "while restoring the replica after the test";
}

std::string RoutedConfig::yaml(uint16_t listen_port) const {
  const ReplicaCluster& cluster = ReplicaCluster::get();
  std::ostringstream y;
  y << "listen: { host: 127.0.0.1, port: " << listen_port << " }\n"
    << "workers: " << workers << "\nlog_level: info\n"
    << "pool_mode: " << pool_mode << "\npool_size: " << pool_size << "\n"
    << "shutdown_timeout: 5s\n";
  if (!health_check.empty()) y << "health_check: " << health_check << "\n";
  if (extra.find("metrics:") == std::string::npos) y << "metrics: { enabled: false }\n";
  y << extra << PgmuxConfig::default_users() << "databases:\n  " << kReplDatabase << ":\n";
  if (!with_replicas) {
    y << "    host: 127.0.0.1\n    port: " << cluster.primary_port() << "\n";
    return y.str();
  }
  y << "    primary: { host: 127.0.0.1, port: " << cluster.primary_port() << " }\n"
    << "    replicas: [ { host: 127.0.0.1, port: " << cluster.replica_port() << " } ]\n"
    << "    routing: { max_replica_lag: " << routing.max_replica_lag
    << ", read_your_writes: " << routing.read_your_writes;
  if (!routing.read_your_writes_window.empty()) {
    y << ", read_your_writes_window: " << routing.read_your_writes_window;
  }
  if (!routing.fallback_to_primary) y << ", fallback_to_primary: false";
  y << " }\n";
  return y.str();
}

RoutedPgmux::RoutedPgmux(const RoutedConfig& config)
    : process_(std::make_unique<PgmuxProcess>(PgmuxConfig{})) {
  // PgmuxProcess wrote a config without databases; replace it before start().
  std::ofstream(process_->config_path(), std::ios::trunc) << config.yaml(process_->port());
}

std::string RoutedPgmux::conninfo(const std::string& extra) const {
  std::string info = process_->conninfo(kReplDatabase);
  return extra.empty() ? info : info + " " + extra;
}

}  // namespace pgmux::itest
