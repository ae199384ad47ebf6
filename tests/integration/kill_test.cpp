// A client that vanishes mid-transaction: its transaction is rolled back, its locks released,
// and no server is left `idle in transaction`.
// Thread-safety: single-threaded tests.
#include "harness.hpp"

namespace pgmux::itest {
namespace {

// Each mode has its own database so the `idle in transaction` count is this test's alone.
void client_killed_mid_transaction(const std::string& mode, const std::string& db) {
  const PgCluster& cluster = PgCluster::get();
  PgConn super = cluster.superuser(db);
  const std::string before = super.exec("SELECT v FROM t WHERE id = 1").value();
  ASSERT_NE(before, "");
  PgmuxConfig config;
  config.pool_mode = mode;
  config.pool_size = 2;
  config.databases = {{.name = db}};
  PgmuxProcess pgmux(config);
  ASSERT_TRUE(pgmux.start());

  ConnectOutcome victim = connect(pgmux.conninfo(db));
  ASSERT_TRUE(victim.ok) << victim.error;
  ASSERT_TRUE(victim.conn.exec("BEGIN").ok());
  PgResult r = victim.conn.exec("UPDATE t SET v = v + 1 WHERE id = 1");
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(cluster.backends(super, db, kScramUser, "idle in transaction%"), 1)
      << "the victim's server should be idle in transaction before the kill";
  victim.conn.kill_socket();

  EXPECT_TRUE(wait_until([&] { return cluster.backends(super, db, "", "idle in transaction%") == 0; }, 5s))
      << "a server is still idle in transaction after its client vanished";
  EXPECT_EQ(super.exec("SELECT v FROM t WHERE id = 1").value(), before) << "the update was not rolled back";

  ConnectOutcome next = connect(pgmux.conninfo(db));
  ASSERT_TRUE(next.ok) << next.error;
  ASSERT_TRUE(next.conn.exec("BEGIN").ok());
  ASSERT_TRUE(next.conn.exec("SET LOCAL lock_timeout = '2s'").ok());
  r = next.conn.exec("UPDATE t SET v = v + 1 WHERE id = 1 RETURNING v");
  ASSERT_TRUE(r.ok()) << "row still locked? " << r.error();
  EXPECT_EQ(r.value(), std::to_string(std::stoll(before) + 1));
  ASSERT_TRUE(next.conn.exec("COMMIT").ok());
  EXPECT_EQ(super.exec("SELECT v FROM t WHERE id = 1").value(), std::to_string(std::stoll(before) + 1));
  EXPECT_TRUE(pgmux.running());
}

TEST(KillTest, TransactionModeClientKilledMidTransaction) {
  client_killed_mid_transaction("transaction", "pgmux_kill_tx");
}

TEST(KillTest, SessionModeClientKilledMidTransaction) {
  client_killed_mid_transaction("session", "pgmux_kill_session");
}

}  // namespace
}  // namespace pgmux::itest
