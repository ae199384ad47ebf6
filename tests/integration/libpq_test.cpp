// libpq clients through pgmux: queries, commits, session state and pool sharing in both modes.
// Thread-safety: single-threaded tests.
#include "harness.hpp"

#include <set>

namespace pgmux::itest {
namespace {

PgmuxConfig libpq_config(const std::string& mode, int pool_size = 5) {
  PgmuxConfig config;
  config.pool_mode = mode;
  config.pool_size = pool_size;
  config.databases = {{.name = "pgmux_test"}};
  return config;
}

PgConn must_connect(const PgmuxProcess& pgmux, const std::string& user = kScramUser,
                    const std::string& password = kScramPassword) {
  ConnectOutcome c = connect(pgmux.conninfo("pgmux_test", user, password));
  EXPECT_TRUE(c.ok) << c.error;
  return std::move(c.conn);
}

std::string direct_value(const std::string& sql) { return PgCluster::get().exec("pgmux_test", sql).value(); }

// A committed insert is visible to a direct connection; a rolled-back one is not.
void check_commit_and_rollback(PgConn& conn) {
  PgResult r = conn.exec("SELECT 1 + 1");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value(), "2");
  std::string committed = unique_tag("commit");
  std::string rolled_back = unique_tag("rollback");
  ASSERT_TRUE(conn.exec("BEGIN").ok());
  ASSERT_TRUE(conn.exec("INSERT INTO items (tag, v) VALUES ('" + committed + "', 7)").ok());
  r = conn.exec("COMMIT");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(direct_value("SELECT v FROM items WHERE tag = '" + committed + "'"), "7");
  ASSERT_TRUE(conn.exec("BEGIN").ok());
  ASSERT_TRUE(conn.exec("INSERT INTO items (tag, v) VALUES ('" + rolled_back + "', 8)").ok());
  ASSERT_TRUE(conn.exec("ROLLBACK").ok());
  EXPECT_EQ(direct_value("SELECT count(*) FROM items WHERE tag = '" + rolled_back + "'"), "0");
}

TEST(LibpqTest, TransactionModeQueriesCommitAndRollback) {
  PgmuxProcess pgmux(libpq_config("transaction"));
  ASSERT_TRUE(pgmux.start());
  PgConn conn = must_connect(pgmux);
  ASSERT_TRUE(conn.ok());
  check_commit_and_rollback(conn);
}

TEST(LibpqTest, SessionModeQueriesCommitAndRollback) {
  PgmuxProcess pgmux(libpq_config("session"));
  ASSERT_TRUE(pgmux.start());
  PgConn conn = must_connect(pgmux);
  ASSERT_TRUE(conn.ok());
  check_commit_and_rollback(conn);
}

TEST(LibpqTest, TransactionModeExtendedProtocol) {
  PgmuxProcess pgmux(libpq_config("transaction"));
  ASSERT_TRUE(pgmux.start());
  PgConn conn = must_connect(pgmux);
  ASSERT_TRUE(conn.ok());
  PgResult r = conn.exec_params("SELECT $1::int + 1, $2::text", {"41", "forty-two"});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value(0, 0), "42");
  EXPECT_EQ(r.value(0, 1), "forty-two");
  std::string tag = unique_tag("extended");
  ASSERT_TRUE(conn.exec("BEGIN").ok());
  r = conn.exec_params("INSERT INTO items (tag, v) VALUES ($1, $2)", {tag, "5"});
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_TRUE(conn.exec("COMMIT").ok());
  EXPECT_EQ(direct_value("SELECT v FROM items WHERE tag = '" + tag + "'"), "5");
}

TEST(LibpqTest, ErrorInTransactionThenConnectionStillUsable) {
  PgmuxProcess pgmux(libpq_config("transaction"));
  ASSERT_TRUE(pgmux.start());
  PgConn conn = must_connect(pgmux);
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(conn.exec("BEGIN").ok());
  PgResult r = conn.exec("SELECT 1/0");
  EXPECT_EQ(r.sqlstate(), "22012") << r.error();
  r = conn.exec("SELECT 1");
  EXPECT_EQ(r.sqlstate(), "25P02") << r.error();  // in failed transaction
  ASSERT_TRUE(conn.exec("ROLLBACK").ok());
  r = conn.exec("SELECT 'fine'");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value(), "fine");
}

TEST(LibpqTest, SessionModeSetSurvivesTransactions) {
  PgmuxProcess pgmux(libpq_config("session"));
  ASSERT_TRUE(pgmux.start());
  PgConn conn = must_connect(pgmux);
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(conn.exec("SET statement_timeout = '123s'").ok());
  std::string pid = conn.exec("SELECT pg_backend_pid()").value();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(conn.exec("BEGIN").ok());
    EXPECT_EQ(conn.exec("SELECT pg_backend_pid()").value(), pid);
    ASSERT_TRUE(conn.exec("COMMIT").ok());
  }
  EXPECT_EQ(conn.exec("SHOW statement_timeout").value(), "123s");
}

// Session mode with one server: the second client gets the same server, reset by DISCARD ALL.
TEST(LibpqTest, SessionModeResetsServerBetweenClients) {
  PgmuxProcess pgmux(libpq_config("session", 1));
  ASSERT_TRUE(pgmux.start());
  std::string first_pid;
  {
    PgConn a = must_connect(pgmux);
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE(a.exec("SET statement_timeout = '123s'").ok());
    ASSERT_TRUE(a.exec("CREATE TEMP TABLE leftover (x int)").ok());
    first_pid = a.exec("SELECT pg_backend_pid()").value();
  }
  PgConn b = must_connect(pgmux);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b.exec("SELECT pg_backend_pid()").value(), first_pid);
  EXPECT_EQ(b.exec("SHOW statement_timeout").value(), "0");
  EXPECT_EQ(b.exec("SELECT to_regclass('pg_temp.leftover') IS NULL").value(), "t");
}

// Transaction mode with one server: two clients take turns on it.
TEST(LibpqTest, TransactionModePoolOfOneAlternatingClients) {
  PgmuxProcess pgmux(libpq_config("transaction", 1));
  ASSERT_TRUE(pgmux.start());
  PgConn a = must_connect(pgmux);
  PgConn b = must_connect(pgmux);
  ASSERT_TRUE(a.ok() && b.ok());
  std::string tag = unique_tag("alternate");
  std::set<std::string> pids;
  for (int i = 0; i < 10; ++i) {
    for (PgConn* c : {&a, &b}) {
      ASSERT_TRUE(c->exec("BEGIN").ok());
      PgResult r = c->exec("INSERT INTO items (tag, v) VALUES ('" + tag + "', " + std::to_string(i) +
                           ") RETURNING pg_backend_pid()");
      ASSERT_TRUE(r.ok()) << r.error();
      pids.insert(r.value());
      ASSERT_TRUE(c->exec("COMMIT").ok());
    }
  }
  EXPECT_EQ(pids.size(), 1u) << "a pool of one must use one server connection";
  EXPECT_EQ(direct_value("SELECT count(*) FROM items WHERE tag = '" + tag + "'"), "20");
}

// Transaction mode with one server: a client that needs it waits until the holder commits.
TEST(LibpqTest, TransactionModeWaitingClientRunsAfterCommit) {
  PgmuxProcess pgmux(libpq_config("transaction", 1));
  ASSERT_TRUE(pgmux.start());
  PgConn a = must_connect(pgmux);
  PgConn b = must_connect(pgmux);
  ASSERT_TRUE(a.ok() && b.ok());
  std::string tag = unique_tag("waiter");
  ASSERT_TRUE(a.exec("BEGIN").ok());
  ASSERT_TRUE(a.exec("INSERT INTO items (tag, v) VALUES ('" + tag + "', 1)").ok());
  ASSERT_TRUE(b.send("SELECT count(*) FROM items WHERE tag = '" + tag + "'"));
  ASSERT_TRUE(a.exec("COMMIT").ok());
  PgResult r = b.wait_result();
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value(), "1") << "the waiting query must run after the holder's commit";
}

}  // namespace
}  // namespace pgmux::itest
