// Read/write splitting through pgmux in transaction mode: where statements, transactions, hints
// and the extended protocol land (pg_is_in_recovery() tells the replica from the primary), and what
// happens when the replica lags, stops, or the client must read its own writes.
// Thread-safety: each test drives its own pgmux; the replica-stop test runs one thread per client.
#include "replica_harness.hpp"

#include <atomic>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

namespace pgmux::itest {
namespace {

constexpr const char* kWhere = "SELECT pg_is_in_recovery()";

// "t" (replica) or "f" (primary) for the first column of `sql`, else "error: ...".
std::string placement(PgConn& conn, const std::string& sql = kWhere, int col = 0) {
  PgResult r = conn.exec(sql);
  if (!r.ok()) return "error: " + r.sqlstate() + " " + r.error();
  return r.value(0, col);
}

// Polls plain reads until one answers `want` ("t" or "f") within `timeout`.
::testing::AssertionResult reads_reach(PgConn& conn, const std::string& want, Millis timeout) {
  std::string last;
  if (wait_until([&] { return (last = placement(conn)) == want; }, timeout, 20ms)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "reads through pgmux did not answer pg_is_in_recovery() = " << want
                                       << " within " << timeout.count() << " ms; last answer: " << last;
}

// Reads for `duration`; every one must answer `want`.
::testing::AssertionResult reads_stay(PgConn& conn, const std::string& want, Millis duration) {
  auto start = Clock::now();
  int reads = 0;
  while (Clock::now() - start < duration) {
    std::string got = placement(conn);
    if (got != want) {
      return ::testing::AssertionFailure()
             << "read " << reads << ", " << std::chrono::duration_cast<Millis>(Clock::now() - start).count()
             << " ms in, answered pg_is_in_recovery() = " << got << " instead of " << want;
    }
    ++reads;
    std::this_thread::sleep_for(20ms);
  }
  return ::testing::AssertionSuccess();
}

class RoutingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(cluster_.wait_streaming());
    ASSERT_TRUE(cluster_.settle_replica());
    ASSERT_TRUE(cluster_.wait_replica_caught_up());
  }

  // Starts pgmux with `config` and opens one client (`extra` conninfo appended). With `warm`,
  // waits until the health checks let plain reads reach the replica, so that a later "f" means
  // a routing decision and not a replica not yet known to be healthy.
  PgConn start(const RoutedConfig& config, bool warm = true, const std::string& extra = "") {
    pgmux_ = std::make_unique<RoutedPgmux>(config);
    EXPECT_TRUE(pgmux_->start());
    ConnectOutcome c = connect(pgmux_->conninfo(extra));
    EXPECT_TRUE(c.ok) << c.error;
    if (c.ok && warm) {
      PgConn probe = connect(pgmux_->conninfo()).conn;
      EXPECT_TRUE(reads_reach(probe, "t", 10s)) << "(warm-up: is the replica used at all?)";
    }
    return std::move(c.conn);
  }
  PgConn start_default() { return start(RoutedConfig{}); }

  const ReplicaCluster& cluster_ = ReplicaCluster::get();
  ReplicaGuard guard_;
  std::unique_ptr<RoutedPgmux> pgmux_;
};

TEST_F(RoutingTest, AutocommitReadsGoToReplica) {
  PgConn conn = start_default();
  ASSERT_TRUE(conn.ok());
  for (int i = 0; i < 20; ++i) EXPECT_EQ(placement(conn), "t") << "read " << i;
}

TEST_F(RoutingTest, InsertGoesToPrimary) {
  PgConn conn = start_default();
  ASSERT_TRUE(conn.ok());
  std::string tag = unique_tag("insert");
  EXPECT_EQ(placement(conn, "INSERT INTO items (tag) VALUES ('" + tag + "') RETURNING pg_is_in_recovery()"),
            "f");
  EXPECT_EQ(cluster_.exec_primary(kReplDatabase, "SELECT count(*) FROM items WHERE tag = '" + tag + "'").value(),
            "1");
}

TEST_F(RoutingTest, NextvalGoesToPrimary) {
  PgConn conn = start_default();
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ(placement(conn, "SELECT pg_is_in_recovery(), nextval('s')"), "f");
}

TEST_F(RoutingTest, WritingCteGoesToPrimary) {
  PgConn conn = start_default();
  ASSERT_TRUE(conn.ok());
  std::string sql = "WITH x AS (INSERT INTO items (tag) VALUES ('" + unique_tag("cte") +
                    "') RETURNING id) SELECT pg_is_in_recovery(), id FROM x";
  EXPECT_EQ(placement(conn, sql), "f");
}

TEST_F(RoutingTest, SelectForUpdateGoesToPrimary) {
  PgConn conn = start_default();
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ(placement(conn, "SELECT pg_is_in_recovery(), id FROM items WHERE id = 1 FOR UPDATE"), "f");
}

TEST_F(RoutingTest, AdvisoryLockGoesToPrimary) {
  PgConn conn = start_default();
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ(placement(conn, "SELECT pg_is_in_recovery(), pg_advisory_lock(1), pg_advisory_unlock(1)"), "f");
}

TEST_F(RoutingTest, WriteKeywordInStringLiteralGoesToReplica) {
  PgConn conn = start_default();
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ(placement(conn, "SELECT pg_is_in_recovery(), 'INSERT'"), "t");
}

TEST_F(RoutingTest, WriteKeywordInCommentGoesToReplica) {
  PgConn conn = start_default();
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ(placement(conn, "SELECT pg_is_in_recovery() -- UPDATE"), "t");
}

TEST_F(RoutingTest, TransactionReadsStayOnPrimary) {
  PgConn conn = start_default();
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(conn.exec("BEGIN").ok());
  EXPECT_EQ(placement(conn), "f");
  EXPECT_EQ(placement(conn), "f");
  ASSERT_TRUE(conn.exec("COMMIT").ok());
  EXPECT_EQ(placement(conn), "t") << "after COMMIT";
}

TEST_F(RoutingTest, ReadOnlyTransactionGoesToReplica) {
  PgConn conn = start_default();
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(conn.exec("BEGIN READ ONLY").ok());
  EXPECT_EQ(placement(conn), "t");
  EXPECT_EQ(placement(conn, "SELECT pg_is_in_recovery(), count(*) FROM pgbench_branches"), "t");
  ASSERT_TRUE(conn.exec("COMMIT").ok());
}

TEST_F(RoutingTest, PrimaryHintCommentGoesToPrimary) {
  PgConn conn = start_default();
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ(placement(conn, "/* pgmux:primary */ SELECT pg_is_in_recovery()"), "f");
  EXPECT_EQ(placement(conn), "t") << "the hint holds for its statement only";
}

TEST_F(RoutingTest, SetRoutePrimaryThenAuto) {
  PgConn conn = start_default();
  ASSERT_TRUE(conn.ok());
  PgResult r = conn.exec("SET pgmux.route = primary");
  ASSERT_TRUE(r.ok()) << r.error();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(placement(conn), "f") << "read " << i << " after SET pgmux.route = primary";
  r = conn.exec("SET pgmux.route = auto");
  ASSERT_TRUE(r.ok()) << r.error();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(placement(conn), "t") << "read " << i << " after SET pgmux.route = auto";
}

TEST_F(RoutingTest, StartupOptionRoutePrimary) {
  PgConn conn = start(RoutedConfig{}, true, "options='-c pgmux.route=primary'");
  ASSERT_TRUE(conn.ok());
  for (int i = 0; i < 5; ++i) EXPECT_EQ(placement(conn), "f") << "read " << i;
}

TEST_F(RoutingTest, ExtendedProtocolExecParamsGoesToReplica) {
  PgConn conn = start_default();
  ASSERT_TRUE(conn.ok());
  for (int i = 0; i < 5; ++i) {
    PgResult r = conn.exec_params(kWhere, {});
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r.value(), "t") << "execution " << i;
  }
}

TEST_F(RoutingTest, ExtendedProtocolPreparedGoesToReplica) {
  PgConn conn = start_default();
  ASSERT_TRUE(conn.ok());
  PgResult r = conn.prepare("where_am_i", kWhere);
  ASSERT_TRUE(r.ok()) << r.error();
  for (int i = 0; i < 5; ++i) {
    r = conn.exec_prepared("where_am_i", {});
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r.value(), "t") << "execution " << i;
  }
}

// Commits a few rows on the primary every 100 ms (directly, not through pgmux) until destroyed.
class PrimaryWriter {
 public:
  PrimaryWriter() : thread_([this] { run(); }) {}
  ~PrimaryWriter() {
    stop_ = true;
    thread_.join();
  }
  int errors() const { return errors_.load(); }

 private:
  void run() {
    ConnectOutcome c = connect(ReplicaCluster::get().primary_conninfo(kReplDatabase));
    while (!stop_) {
      for (int i = 0; i < 3; ++i) {
        if (!c.conn.exec("INSERT INTO ticks DEFAULT VALUES").ok()) ++errors_;
      }
      std::this_thread::sleep_for(100ms);
    }
  }
  std::atomic<bool> stop_{false};
  std::atomic<int> errors_{0};
  std::thread thread_;
};

TEST_F(RoutingTest, LaggingReplicaReadsMoveToPrimaryAndBack) {
  PgConn conn = start_default();
  ASSERT_TRUE(conn.ok());
  PrimaryWriter writer;
  ASSERT_TRUE(cluster_.pause_replay());
  EXPECT_TRUE(reads_reach(conn, "f", 10s)) << "with replay paused and max_replica_lag 1s";
  for (int i = 0; i < 5; ++i) EXPECT_EQ(placement(conn), "f") << "read " << i << " while lagging";
  ASSERT_TRUE(cluster_.resume_replay());
  EXPECT_TRUE(reads_reach(conn, "t", 10s)) << "after pg_wal_replay_resume()";
  EXPECT_EQ(writer.errors(), 0);
}

// With fallback_to_primary off, a read with no usable replica is refused (57P03) without
// ending the session: writes still run on the primary, and reads go to the replica again
// once it has caught up.
TEST_F(RoutingTest, LaggingReplicaWithoutFallbackRefusesReads) {
  RoutedConfig config;
  config.routing.fallback_to_primary = false;
  PgConn conn = start(config);
  ASSERT_TRUE(conn.ok());
  PrimaryWriter writer;
  ASSERT_TRUE(cluster_.pause_replay());
  std::string last;
  EXPECT_TRUE(wait_until([&] { return (last = placement(conn)).rfind("error: 57P03", 0) == 0; }, 10s, 20ms))
      << "with replay paused and max_replica_lag 1s, a read answered: " << last;
  EXPECT_NE(last.find("no replica of database \"" + std::string(kReplDatabase) +
                      "\" is healthy and fallback_to_primary is off"),
            std::string::npos)
      << last;
  EXPECT_EQ(placement(conn, "SELECT pg_is_in_recovery(), nextval('s')"), "f")
      << "a write while reads are refused";
  ASSERT_TRUE(cluster_.resume_replay());
  EXPECT_TRUE(reads_reach(conn, "t", 10s)) << "after pg_wal_replay_resume()";
  EXPECT_EQ(PQstatus(conn.get()), CONNECTION_OK);
  EXPECT_EQ(writer.errors(), 0);
}

// One client of the replica-stop test: loops reads on its own connection and logs each outcome.
class ReadLoopClient {
 public:
  struct Event {
    Clock::time_point at;
    char outcome;  // 't', 'f' or 'e' (error)
  };
  explicit ReadLoopClient(std::string conninfo) : conninfo_(std::move(conninfo)) {
    thread_ = std::thread([this] { run(); });
  }
  ~ReadLoopClient() { join(); }
  void join() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // Successes answered after `since` with `outcome` ('t' or 'f'); thread-safe.
  int count_after(Clock::time_point since, char outcome) const {
    std::lock_guard lock(mutex_);
    int n = 0;
    for (const Event& e : events_) n += e.at > since && e.outcome == outcome;
    return n;
  }
  // After join(): the whole log and the error messages.
  const std::vector<Event>& events() const { return events_; }
  const std::vector<std::string>& errors() const { return errors_; }
  bool connection_lost() const { return lost_; }

 private:
  void run() {
    ConnectOutcome c = connect(conninfo_);
    if (!c.ok) {
      record('e', "connect: " + c.error);
      lost_ = true;
      return;
    }
    while (!stop_) {
      PgResult r = c.conn.exec("SELECT pg_is_in_recovery(), count(*) FROM pgbench_branches", 10s);
      if (r.ok()) {
        record(r.value() == "t" ? 't' : 'f', "");
      } else {
        record('e', r.sqlstate() + " " + r.error());
      }
      if (PQstatus(c.conn.get()) != CONNECTION_OK) {
        lost_ = true;
        return;
      }
    }
  }
  void record(char outcome, std::string error) {
    std::lock_guard lock(mutex_);
    events_.push_back({Clock::now(), outcome});
    if (outcome == 'e') errors_.push_back(std::move(error));
  }
  std::string conninfo_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> lost_{false};
  mutable std::mutex mutex_;
  std::vector<Event> events_;
  std::vector<std::string> errors_;
  std::thread thread_;
};

// Waits until every client has `n` answers `outcome` after `since`; gives up early when a client
// has lost its connection (it will answer nothing more).
::testing::AssertionResult all_clients_answer(const std::vector<std::unique_ptr<ReadLoopClient>>& clients,
                                              Clock::time_point since, char outcome, int n, Millis timeout) {
  auto answered = [&] {
    for (const auto& c : clients) if (c->count_after(since, outcome) < n) return false;
    return true;
  };
  auto any_lost = [&] {
    for (const auto& c : clients) if (c->connection_lost()) return true;
    return false;
  };
  if (wait_until([&] { return answered() || any_lost(); }, timeout, 20ms) && answered()) {
    return ::testing::AssertionSuccess();
  }
  ::testing::AssertionResult failure = ::testing::AssertionFailure();
  failure << "not every client got " << n << " answers '" << outcome << "' within " << timeout.count()
          << " ms" << (any_lost() ? " (a client lost its connection)" : "") << "; per client:";
  for (const auto& c : clients) failure << " " << c->count_after(since, outcome);
  return failure;
}

TEST_F(RoutingTest, StoppedReplicaReadsFailOverToPrimaryAndBack) {
  constexpr int kClients = 20;
  PgConn conn = start_default();
  ASSERT_TRUE(conn.ok());
  PrimaryWriter writer;  // a live primary, as in production (see RestartedReplicaOnQuietPrimary...)
  std::vector<std::unique_ptr<ReadLoopClient>> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(std::make_unique<ReadLoopClient>(pgmux_->conninfo()));
  auto begin = Clock::now();
  EXPECT_TRUE(all_clients_answer(clients, begin, 't', 5, 10s)) << "before the stop";

  auto stop_requested = Clock::now();
  ASSERT_TRUE(cluster_.stop_replica(20s));
  auto stopped = Clock::now();
  EXPECT_TRUE(all_clients_answer(clients, stopped, 'f', 20, 15s)) << "after the replica stopped";

  ASSERT_TRUE(cluster_.start_replica(30s));
  auto restarted = Clock::now();
  EXPECT_TRUE(all_clients_answer(clients, restarted, 't', 5, 15s)) << "after the replica came back";
  for (auto& c : clients) c->join();

  for (int i = 0; i < kClients; ++i) {
    const ReadLoopClient& c = *clients[i];
    std::ostringstream errors;
    for (const auto& e : c.errors()) errors << "\n  " << e;
    EXPECT_FALSE(c.connection_lost()) << "client " << i << " lost its connection to pgmux:" << errors.str();
    EXPECT_LE(c.errors().size(), 1u) << "client " << i << " errors:" << errors.str();
    ASSERT_FALSE(c.events().empty());
    EXPECT_NE(c.events().back().outcome, 'e') << "client " << i << " did not continue after its error";
    for (const auto& e : c.events()) {
      if (e.outcome != 'e') continue;
      auto ms = std::chrono::duration_cast<Millis>(e.at - stop_requested).count();
      EXPECT_TRUE(e.at >= stop_requested && e.at <= stopped + 2s)
          << "client " << i << " error " << ms << " ms after the stop was requested (stop took "
          << std::chrono::duration_cast<Millis>(stopped - stop_requested).count() << " ms):" << errors.str();
    }
  }
}

// A replica restarted while the primary writes nothing: its WAL receiver reports the segment start
// as received LSN (behind the replayed LSN) until new WAL comes, and its last replayed commit (made
// just before the stop) grows old, yet it is fully caught up. (The primary's background writer logs
// a standby snapshot now and then, which ends that state early: then this passes either way.)
TEST_F(RoutingTest, RestartedReplicaOnQuietPrimaryServesReads) {
  PgConn conn = start_default();
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(cluster_.exec_primary(kReplDatabase, "INSERT INTO ticks DEFAULT VALUES").ok());
  ASSERT_TRUE(cluster_.wait_replica_caught_up());
  ASSERT_TRUE(cluster_.stop_replica(20s));
  EXPECT_TRUE(reads_reach(conn, "f", 10s)) << "with the replica stopped";
  ASSERT_TRUE(cluster_.start_replica(30s, /*settle=*/false));
  std::string primary_lsn = cluster_.exec_primary("postgres", "SELECT pg_current_wal_lsn()").value();
  PgResult replica = cluster_.exec_replica("postgres", "SELECT pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()");
  std::cout << "[ quiet restart ] primary at " << primary_lsn << "; replica received " << replica.value(0, 0)
            << ", replayed " << replica.value(0, 1) << "\n";
  EXPECT_TRUE(reads_reach(conn, "t", 4s))
      << "after the replica came back with nothing new to replay (primary at " << primary_lsn
      << "; replica received " << replica.value(0, 0) << ", replayed " << replica.value(0, 1) << ")";
  EXPECT_TRUE(reads_stay(conn, "t", 2500ms)) << "the replica stays caught up while the primary is quiet";
}

// 1,000 rounds of INSERT (autocommit) then an immediate SELECT of that row through pgmux.
void expect_reads_see_own_writes(PgConn& conn) {
  constexpr int kRounds = 1000;
  std::string tag = unique_tag("ryw");
  int found = 0, on_replica = 0;
  auto deadline = Clock::now() + 50s;
  for (int i = 0; i < kRounds && Clock::now() < deadline; ++i) {
    PgResult w = conn.exec("INSERT INTO items (tag, v) VALUES ('" + tag + "', " + std::to_string(i) +
                           ") RETURNING id");
    ASSERT_TRUE(w.ok()) << "round " << i << ": " << w.error();
    PgResult r = conn.exec("SELECT v, pg_is_in_recovery() FROM items WHERE id = " + w.value());
    ASSERT_TRUE(r.ok()) << "round " << i << ": " << r.error();
    if (r.rows() == 1 && r.value(0, 0) == std::to_string(i)) ++found;
    if (r.value(0, 1) == "t") ++on_replica;
  }
  EXPECT_EQ(found, kRounds) << "rows read back right after their INSERT";
  std::cout << "[ read-your-writes ] " << found << "/" << kRounds << " found, " << on_replica
            << " read on the replica\n";
  ::testing::Test::RecordProperty("reads_on_replica", on_replica);
}

TEST_F(RoutingTest, ReadYourWritesLsn) {
  RoutedConfig config;
  config.routing.read_your_writes = "lsn";
  PgConn conn = start(config);
  ASSERT_TRUE(conn.ok());
  expect_reads_see_own_writes(conn);
}

TEST_F(RoutingTest, ReadYourWritesWindow) {
  RoutedConfig config;
  config.routing.read_your_writes = "window";
  config.routing.read_your_writes_window = "2s";
  PgConn conn = start(config);
  ASSERT_TRUE(conn.ok());
  expect_reads_see_own_writes(conn);
}

TEST_F(RoutingTest, WithoutReplicasEverythingOnPrimary) {
  RoutedConfig config;
  config.with_replicas = false;
  config.health_check.clear();
  PgConn conn = start(config, false);
  ASSERT_TRUE(conn.ok());
  std::string tag = unique_tag("plain");
  PgResult r = conn.exec("INSERT INTO items (tag, v) VALUES ('" + tag + "', 42)");
  ASSERT_TRUE(r.ok()) << r.error();
  r = conn.exec("SELECT v, pg_is_in_recovery() FROM items WHERE tag = '" + tag + "'");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value(0, 0), "42");
  EXPECT_EQ(r.value(0, 1), "f");
}

}  // namespace
}  // namespace pgmux::itest
