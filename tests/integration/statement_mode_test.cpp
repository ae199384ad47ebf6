// Statement pooling: autocommit statements work, an explicit transaction is refused with an
// error that names statement pooling.
// Thread-safety: single-threaded tests.
#include "harness.hpp"

namespace pgmux::itest {
namespace {

constexpr const char* kDb = "pgmux_test";

PgmuxConfig statement_config() {
  PgmuxConfig config;
  config.pool_mode = "transaction";  // the database's own mode wins
  config.pool_size = 1;
  config.databases = {{.name = kDb, .pool_mode = "statement"}};
  return config;
}

TEST(StatementModeTest, AutocommitStatementsWork) {
  PgmuxProcess pgmux(statement_config());
  ASSERT_TRUE(pgmux.start());
  ConnectOutcome a = connect(pgmux.conninfo(kDb)), b = connect(pgmux.conninfo(kDb));
  ASSERT_TRUE(a.ok && b.ok) << a.error << b.error;
  const std::string tag = unique_tag("statement_mode");
  for (int i = 0; i < 5; ++i) {
    for (PgConn* c : {&a.conn, &b.conn}) {  // two clients take turns on one server
      PgResult r =
          c->exec("INSERT INTO items (tag, v) VALUES ('" + tag + "', " + std::to_string(i) + ")");
      ASSERT_TRUE(r.ok()) << r.error();
      r = c->exec_params("SELECT $1::int * 2", {std::to_string(i)});
      ASSERT_TRUE(r.ok()) << r.error();
      EXPECT_EQ(r.value(), std::to_string(2 * i));
    }
  }
  PgResult count =
      PgCluster::get().exec(kDb, "SELECT count(*) FROM items WHERE tag = '" + tag + "'");
  EXPECT_EQ(count.value(), "10");
}

TEST(StatementModeTest, BeginIsRefusedNamingStatementPooling) {
  PgmuxProcess pgmux(statement_config());
  ASSERT_TRUE(pgmux.start());
  ConnectOutcome c = connect(pgmux.conninfo(kDb));
  ASSERT_TRUE(c.ok) << c.error;
  PgResult r = c.conn.exec("BEGIN");
  ASSERT_FALSE(r.ok()) << "BEGIN succeeded in statement pooling mode";
  EXPECT_PRED2(contains, lower(r.error()), "statement pooling");
  const std::string state = r.sqlstate();
  EXPECT_TRUE(state == "0A000" || state == "25P01" || state == "25001") << "SQLSTATE " << state;
}

// Beyond the refusal itself: the client may go on with autocommit statements.
TEST(StatementModeTest, ConnectionUsableAfterRefusedBegin) {
  PgmuxProcess pgmux(statement_config());
  ASSERT_TRUE(pgmux.start());
  ConnectOutcome c = connect(pgmux.conninfo(kDb));
  ASSERT_TRUE(c.ok) << c.error;
  ASSERT_FALSE(c.conn.exec("BEGIN").ok());
  PgResult r = c.conn.exec("SELECT 'still here'");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value(), "still here");
}

}  // namespace
}  // namespace pgmux::itest
