// psql through pgmux, in transaction and in session pool mode.
// Thread-safety: single-threaded tests.
#include "harness.hpp"

namespace pgmux::itest {
namespace {

PgmuxConfig psql_config(const std::string& mode) {
  PgmuxConfig config;
  config.pool_mode = mode;
  config.databases = {{.name = "pgmux_test"}};
  return config;
}

// Runs psql (unaligned, tuples only, quiet) against pgmux with one -c per statement.
CommandResult psql(const PgmuxProcess& pgmux, const std::vector<std::string>& statements,
                   const std::string& user = kScramUser, const std::string& password = kScramPassword) {
  std::vector<std::string> argv = {"psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d",
                                   "host=127.0.0.1 port=" + std::to_string(pgmux.port()) +
                                       " dbname=pgmux_test user=" + user + " connect_timeout=10"};
  for (const auto& sql : statements) {
    argv.push_back("-c");
    argv.push_back(sql);
  }
  return run_command(argv, {{"PGPASSWORD", password}, {"PGCONNECT_TIMEOUT", "10"}}, 30s);
}

TEST(PsqlTest, TransactionModeSelect) {
  PgmuxProcess pgmux(psql_config("transaction"));
  ASSERT_TRUE(pgmux.start());
  CommandResult r = psql(pgmux, {"select 1"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.out, "1\n");
  r = psql(pgmux, {"select current_user, current_database()"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.out, "pgmux_scram|pgmux_test\n");
}

TEST(PsqlTest, TransactionModeExplicitTransaction) {
  PgmuxProcess pgmux(psql_config("transaction"));
  ASSERT_TRUE(pgmux.start());
  std::string tag = unique_tag("psql_tx");
  CommandResult r = psql(pgmux, {"BEGIN", "INSERT INTO items (tag, v) VALUES ('" + tag + "', 42)",
                                 "SELECT v FROM items WHERE tag = '" + tag + "'", "COMMIT"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.out, "42\n");
  EXPECT_EQ(PgCluster::get().exec("pgmux_test", "SELECT v FROM items WHERE tag = '" + tag + "'").value(),
            "42");
}

TEST(PsqlTest, SessionModeSelect) {
  PgmuxProcess pgmux(psql_config("session"));
  ASSERT_TRUE(pgmux.start());
  CommandResult r = psql(pgmux, {"select 1", "select 'two'"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.out, "1\ntwo\n");
}

TEST(PsqlTest, SessionModeSettingPersistsWithinSession) {
  PgmuxProcess pgmux(psql_config("session"));
  ASSERT_TRUE(pgmux.start());
  CommandResult r = psql(pgmux, {"SET statement_timeout = '77s'", "SHOW statement_timeout"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.out, "77s\n");
}

TEST(PsqlTest, Md5UserSelect) {
  PgmuxProcess pgmux(psql_config("transaction"));
  ASSERT_TRUE(pgmux.start());
  CommandResult r = psql(pgmux, {"select current_user"}, kMd5User, kMd5Password);
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.out, "pgmux_md5\n");
}

TEST(PsqlTest, SqlErrorIsReportedAndPoolRecovers) {
  PgmuxProcess pgmux(psql_config("transaction"));
  ASSERT_TRUE(pgmux.start());
  CommandResult r = psql(pgmux, {"select 1/0"});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_PRED2(contains, r.err, "division by zero");
  r = psql(pgmux, {"select 3"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.out, "3\n");
}

}  // namespace
}  // namespace pgmux::itest
