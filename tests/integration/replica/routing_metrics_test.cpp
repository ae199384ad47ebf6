// Routing metrics and SHOW NODES against the real primary + streaming replica: routed-statement
// and fallback counters move by exactly what clients sent, node gauges and the console tell health.
// Thread-safety: each test owns its pgmux and connections and runs on one thread.
#include <optional>
#include <sstream>

#include "metrics_util.hpp"
#include "replica_harness.hpp"

namespace pgmux::itest {
namespace {

namespace mu = metrics_util;
using Labels = std::map<std::string, std::string>;

constexpr const char* kRouted = "pgmux_pool_routed_statements_total";
constexpr const char* kFallbacks = "pgmux_pool_fallbacks_to_primary_total";
constexpr const char* kHealthy = "pgmux_node_healthy";

// Labels of the routed database's series, with `role` (primary | replica) and more pairs.
Labels repl(const std::string& role, Labels more = {}) {
  more["database"] = kReplDatabase;
  more["role"] = role;
  return more;
}

// Sum of every series `name` whose labels include `labels` (0 when there is none).
double sum(const std::string& text, const std::string& name, const Labels& labels) {
  double total = 0;
  for (double v : mu::values(text, name, labels)) total += v;
  return total;
}

double moved(const std::string& before, const std::string& after, const std::string& name,
             const Labels& labels) {
  return sum(after, name, labels) - sum(before, name, labels);
}

// "t" (replica) or "f" (primary) for `sql`'s first column, else "error: ...".
std::string placement(PgConn& conn, const std::string& sql = "SELECT pg_is_in_recovery()") {
  PgResult r = conn.exec(sql);
  if (!r.ok()) return "error: " + r.sqlstate() + " " + r.error();
  return r.value();
}

class RoutingMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(cluster_.wait_streaming());
    ASSERT_TRUE(cluster_.settle_replica());
    ASSERT_TRUE(cluster_.wait_replica_caught_up());
  }
  void TearDown() override {
    if (!tag_.empty()) cluster_.exec_primary(kReplDatabase, "DELETE FROM items WHERE tag = '" + tag_ + "'");
  }

  // Starts pgmux (routing on, metrics on a free port, kScramUser an admin) and opens one client.
  PgConn start() {
    metrics_port_ = free_port();
    RoutedConfig config;
    config.extra = "metrics:\n  listen: \"127.0.0.1:" + std::to_string(metrics_port_) +
                   "\"\nadmin:\n  admin_users: [pgmux_scram]\n";
    pgmux_ = std::make_unique<RoutedPgmux>(config);
    EXPECT_TRUE(pgmux_->start());
    ConnectOutcome c = connect(pgmux_->conninfo());
    EXPECT_TRUE(c.ok) << c.error;
    return std::move(c.conn);
  }

  std::string scrape() { return mu::scrape(metrics_port_); }

  // Waits until pgmux_node_healthy of the routed database's `role` node is `want`.
  ::testing::AssertionResult node_healthy_becomes(const std::string& role, double want,
                                                  Millis timeout = 10s) {
    std::string last;
    if (wait_until([&] { return mu::value(last = scrape(), kHealthy, repl(role)) == want; }, timeout,
                   20ms)) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << kHealthy << "{role=\"" << role << "\"} did not become " << want
                                         << " within " << timeout.count() << " ms; last scrape:\n"
                                         << last;
  }

  // Waits until plain reads through `conn` answer pg_is_in_recovery() = `want`.
  ::testing::AssertionResult reads_reach(PgConn& conn, const std::string& want, Millis timeout = 10s) {
    std::string last;
    if (wait_until([&] { return (last = placement(conn)) == want; }, timeout, 20ms)) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "reads did not answer " << want << " within " << timeout.count()
                                         << " ms; last answer: " << last;
  }

  // Runs SHOW NODES through psql on the admin console.
  CommandResult show_nodes() {
    std::string conninfo = "host=127.0.0.1 port=" + std::to_string(pgmux_->process().port()) +
                           " dbname=pgmux user=" + kScramUser + " password=" + kScramPassword +
                           " connect_timeout=10";
    return run_command({"psql", "-X", "-A", "-F", "|", "-P", "footer=off", "-v", "ON_ERROR_STOP=1", "-d",
                        conninfo, "-c", "SHOW NODES"},
                       {}, 30s);
  }

  const ReplicaCluster& cluster_ = ReplicaCluster::get();
  ReplicaGuard guard_;
  std::unique_ptr<RoutedPgmux> pgmux_;
  uint16_t metrics_port_ = 0;
  std::string tag_;
};

TEST_F(RoutingMetricsTest, RoutedStatementsCountReadsOnReplicaAndWritesOnPrimary) {
  constexpr int kReads = 25, kWrites = 7;
  PgConn conn = start();
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(node_healthy_becomes("replica", 1));
  ASSERT_TRUE(reads_reach(conn, "t"));  // the replica is within max_replica_lag

  std::string before = scrape();
  ASSERT_FALSE(before.empty());
  int on_replica = 0;
  for (int i = 0; i < kReads; ++i) on_replica += placement(conn) == "t";
  tag_ = unique_tag("routed_metrics");
  for (int i = 0; i < kWrites; ++i) {
    EXPECT_EQ(placement(conn, "INSERT INTO items (tag, v) VALUES ('" + tag_ + "', " + std::to_string(i) +
                                  ") RETURNING pg_is_in_recovery()"),
              "f")
        << "write " << i;
  }
  std::string after = scrape();
  ASSERT_FALSE(after.empty());
  ASSERT_EQ(on_replica, kReads) << "reads answered on the replica";

  EXPECT_EQ(moved(before, after, kRouted, repl("replica", {{"target", "replica"}})), kReads) << after;
  EXPECT_EQ(moved(before, after, kRouted, repl("primary", {{"target", "primary"}})), kWrites) << after;
  // Each request counts once, on the pool that served it.
  EXPECT_EQ(moved(before, after, kRouted, repl("replica", {{"target", "primary"}})), 0) << after;
  EXPECT_EQ(moved(before, after, kRouted, repl("primary", {{"target", "replica"}})), 0) << after;
  EXPECT_EQ(moved(before, after, kFallbacks, {{"database", kReplDatabase}}), 0) << after;
  EXPECT_FALSE(mu::values(after, kRouted, repl("replica", {{"user", kScramUser}})).empty())
      << "no replica pool series of user " << kScramUser << ":\n"
      << after;
}

TEST_F(RoutingMetricsTest, NodeGaugesAndShowNodesReportBothNodesHealthy) {
  PgConn conn = start();
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(node_healthy_becomes("primary", 1));
  ASSERT_TRUE(node_healthy_becomes("replica", 1));

  std::string text = scrape();
  const std::string primary_node = "127.0.0.1:" + std::to_string(cluster_.primary_port());
  const std::string replica_node = "127.0.0.1:" + std::to_string(cluster_.replica_port());
  EXPECT_EQ(mu::value(text, kHealthy, repl("primary", {{"node", primary_node}})), 1.0) << text;
  EXPECT_EQ(mu::value(text, kHealthy, repl("replica", {{"node", replica_node}})), 1.0) << text;
  for (const char* lag : {"pgmux_node_replication_lag_bytes", "pgmux_node_replication_lag_seconds"}) {
    std::optional<double> v = mu::value(text, lag, repl("replica", {{"node", replica_node}}));
    ASSERT_TRUE(v.has_value()) << "no single " << lag << " series for the replica:\n" << text;
    EXPECT_GE(*v, 0.0) << lag;
  }

  CommandResult r = show_nodes();
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  PsqlTable t = parse_psql_table(r.out);
  int db = t.column("database"), node = t.column("node"), role = t.column("role"),
      healthy = t.column("healthy"), lag_bytes = t.column("lag_bytes"), lag_seconds = t.column("lag_seconds");
  ASSERT_TRUE(db >= 0 && node >= 0 && role >= 0 && healthy >= 0 && lag_bytes >= 0 && lag_seconds >= 0)
      << r.out;
  std::map<std::string, std::vector<std::string>> by_role;
  for (const auto& row : t.rows) {
    ASSERT_EQ(row.size(), t.header.size()) << r.out;
    if (row[db] == kReplDatabase) by_role[row[role]] = row;
  }
  ASSERT_EQ(by_role.size(), 2u) << r.out;
  ASSERT_TRUE(by_role.count("primary") && by_role.count("replica")) << r.out;
  EXPECT_EQ(by_role["primary"][node], primary_node) << r.out;
  EXPECT_EQ(by_role["replica"][node], replica_node) << r.out;
  EXPECT_EQ(by_role["primary"][healthy], "t") << r.out;
  EXPECT_EQ(by_role["replica"][healthy], "t") << r.out;
  EXPECT_GE(std::stod(by_role["replica"][lag_bytes]), 0.0) << r.out;
  EXPECT_GE(std::stod(by_role["replica"][lag_seconds]), 0.0) << r.out;
}

TEST_F(RoutingMetricsTest, StoppedReplicaReadsCountAsFallbacksToPrimary) {
  constexpr int kReads = 15;
  PgConn conn = start();
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(node_healthy_becomes("replica", 1));
  ASSERT_TRUE(reads_reach(conn, "t"));

  ASSERT_TRUE(cluster_.stop_replica(20s));
  ASSERT_TRUE(node_healthy_becomes("replica", 0));
  std::string before = scrape();
  ASSERT_FALSE(before.empty());
  for (int i = 0; i < kReads; ++i) EXPECT_EQ(placement(conn), "f") << "read " << i << " with the replica stopped";
  std::string after = scrape();
  ASSERT_FALSE(after.empty());

  EXPECT_EQ(moved(before, after, kFallbacks, repl("primary", {{"user", kScramUser}})), kReads) << after;
  EXPECT_EQ(moved(before, after, kFallbacks, {{"database", kReplDatabase}}), kReads) << "over all pools";
  EXPECT_EQ(moved(before, after, kRouted, repl("primary", {{"target", "primary"}})), kReads) << after;
  EXPECT_EQ(moved(before, after, kRouted, {{"database", kReplDatabase}, {"target", "replica"}}), 0) << after;
  EXPECT_EQ(mu::value(after, kHealthy, repl("primary")), 1.0) << after;

  ASSERT_TRUE(cluster_.start_replica(30s));
  EXPECT_TRUE(node_healthy_becomes("replica", 1)) << "after the replica came back";
  EXPECT_TRUE(reads_reach(conn, "t")) << "after the replica came back";
}

}  // namespace
}  // namespace pgmux::itest
