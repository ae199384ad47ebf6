// The pg_replica fixture itself, without pgmux: the replica streams, refuses writes, replays what
// the primary commits, and the harness can pause replay and stop/start it. When these fail, the
// routing tests' failures say nothing about pgmux. Thread-safety: single-threaded tests.
#include "replica_harness.hpp"

namespace pgmux::itest {
namespace {

class ReplicaFixtureTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(cluster_.wait_streaming()); }
  const ReplicaCluster& cluster_ = ReplicaCluster::get();
  ReplicaGuard guard_;
};

TEST_F(ReplicaFixtureTest, PrimaryIsNotInRecoveryReplicaIs) {
  EXPECT_EQ(cluster_.exec_primary(kReplDatabase, "SELECT pg_is_in_recovery()").value(), "f");
  EXPECT_EQ(cluster_.exec_replica(kReplDatabase, "SELECT pg_is_in_recovery()").value(), "t");
  PgResult r = cluster_.exec_replica("postgres", "SELECT status FROM pg_stat_wal_receiver");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value(), "streaming");
}

TEST_F(ReplicaFixtureTest, RolesAndTablesReplicated) {
  ConnectOutcome c = connect("host=127.0.0.1 port=" + std::to_string(cluster_.replica_port()) +
                             " dbname=" + kReplDatabase + " user=" + kScramUser + " password=" +
                             kScramPassword + " connect_timeout=5");
  ASSERT_TRUE(c.ok) << c.error;
  PgResult r = c.conn.exec("SELECT (SELECT count(*) FROM items WHERE tag = 'seed'), "
                           "(SELECT count(*) FROM pgbench_accounts)");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value(0, 0), "100");
  EXPECT_EQ(r.value(0, 1), "100000");
}

TEST_F(ReplicaFixtureTest, ReplicaRefusesInsertWith25006) {
  PgResult r = cluster_.exec_replica(kReplDatabase, "INSERT INTO items (tag) VALUES ('on_replica')");
  EXPECT_EQ(r.sqlstate(), "25006") << r.error();
}

TEST_F(ReplicaFixtureTest, ReplicaRefusesNextvalWith25006) {
  PgResult r = cluster_.exec_replica(kReplDatabase, "SELECT nextval('s')");
  EXPECT_EQ(r.sqlstate(), "25006") << r.error();
}

TEST_F(ReplicaFixtureTest, ReplicaRefusesSelectForUpdateWith25006) {
  PgResult r = cluster_.exec_replica(kReplDatabase, "SELECT id FROM items WHERE id = 1 FOR UPDATE");
  EXPECT_EQ(r.sqlstate(), "25006") << r.error();
}

TEST_F(ReplicaFixtureTest, CommitOnPrimaryIsReplayedOnReplica) {
  std::string tag = unique_tag("replayed");
  PgResult r = cluster_.exec_primary(kReplDatabase, "INSERT INTO items (tag) VALUES ('" + tag + "')");
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_TRUE(cluster_.wait_replica_caught_up(10s));
  EXPECT_EQ(cluster_.exec_replica(kReplDatabase, "SELECT count(*) FROM items WHERE tag = '" + tag + "'")
                .value(),
            "1");
}

TEST_F(ReplicaFixtureTest, PausedReplayHoldsBackCommitsUntilResumed) {
  ASSERT_TRUE(cluster_.pause_replay());
  std::string tag = unique_tag("paused");
  ASSERT_TRUE(cluster_.exec_primary(kReplDatabase, "INSERT INTO items (tag) VALUES ('" + tag + "')").ok());
  std::string count_sql = "SELECT count(*) FROM items WHERE tag = '" + tag + "'";
  EXPECT_FALSE(cluster_.wait_replica_caught_up(500ms));
  EXPECT_EQ(cluster_.exec_replica(kReplDatabase, count_sql).value(), "0");
  ASSERT_TRUE(cluster_.resume_replay());
  ASSERT_TRUE(cluster_.wait_replica_caught_up(10s));
  EXPECT_EQ(cluster_.exec_replica(kReplDatabase, count_sql).value(), "1");
}

TEST_F(ReplicaFixtureTest, StopAndStartReplica) {
  ASSERT_TRUE(cluster_.stop_replica());
  EXPECT_FALSE(cluster_.replica_running());
  EXPECT_FALSE(tcp_connectable(cluster_.replica_port(), 200ms));
  ASSERT_TRUE(cluster_.start_replica());
  EXPECT_TRUE(cluster_.replica_running());
  EXPECT_EQ(cluster_.exec_replica(kReplDatabase, "SELECT pg_is_in_recovery()").value(), "t");
  EXPECT_TRUE(cluster_.wait_replica_caught_up(10s));
}

}  // namespace
}  // namespace pgmux::itest
