// Session parameters in transaction mode: a client's SET (and its startup settings) hold in every
// later transaction whichever server runs it, never leak to another client, SET LOCAL and rolled
// back SETs do not persist, and ParameterStatus tells the client the truth.
// Thread-safety: each test's thread owns its connection; a Churner owns its own.
#include "harness.hpp"

namespace pgmux::itest {
namespace {

constexpr const char* kDb = "pgmux_params";
using Settings = std::map<std::string, std::string>;  // parameter -> value SHOW must give

PgmuxConfig params_config() {
  PgmuxConfig config;
  config.pool_mode = "transaction";
  config.pool_size = 2;
  config.workers = 1;  // one idle list: the client's transactions really change servers
  config.databases = {{.name = kDb}};
  return config;
}

std::string show(PgConn& conn, const std::string& name) {
  PgResult r = conn.exec("SHOW " + name);
  return r.ok() ? r.value() : "<error: " + r.error() + ">";
}

Settings show_all(PgConn& conn, const Settings& names) {
  Settings now;
  for (const auto& [name, unused] : names) now[name] = show(conn, name);
  return now;
}

// A check for other clients' transactions: they still see `defaults`.
Churner::Check sees(Settings defaults) {
  return [defaults](PgConn& c) -> std::string {
    for (const auto& [name, value] : defaults) {
      std::string seen = show(c, name);
      if (seen != value) return "another client sees " + name + " = " + seen + ", not " + value;
    }
    return "";
  };
}

// pgmux with a pool of two, the client under test, a churning client and a ServerRotation
// whose holders are two more clients; all the others must keep seeing the defaults.
struct ParamsFixture {
  PgmuxProcess pgmux{params_config()};
  PgConn conn;
  Settings defaults;
  std::unique_ptr<Churner> churn;
  std::unique_ptr<ServerRotation> rotation;

  // `names`: the parameters whose defaults the other clients check; `client_options`: extra
  // conninfo of the client under test.
  ::testing::AssertionResult start(const Settings& names, const std::string& client_options = "") {
    if (auto started = pgmux.start(); !started) return started;
    ConnectOutcome plain = connect(pgmux.conninfo(kDb));
    if (!plain.ok) return ::testing::AssertionFailure() << plain.error;
    defaults = show_all(plain.conn, names);
    ConnectOutcome c = connect(pgmux.conninfo(kDb) + client_options);
    if (!c.ok) return ::testing::AssertionFailure() << c.error;
    conn = std::move(c.conn);
    churn = std::make_unique<Churner>(pgmux.conninfo(kDb), sees(defaults));
    rotation = std::make_unique<ServerRotation>(pgmux.conninfo(kDb), sees(defaults));
    if (!churn->wait_for(3)) return ::testing::AssertionFailure() << churn->stop();
    return ::testing::AssertionSuccess();
  }

  // 10 transactions, each on a different server than the one before (alternately BEGIN/SHOW/
  // COMMIT and autocommit SHOWs), each checking every setting in `want`.
  void expect_in_every_transaction(const Settings& want) {
    std::string last_pid;
    for (int i = 0; i < 10 && !::testing::Test::HasFailure(); ++i) {
      ASSERT_EQ(rotation->free_other_than(last_pid), "") << "transaction " << i;
      const bool explicit_tx = i % 2 == 0;
      ASSERT_TRUE(!explicit_tx || conn.exec("BEGIN").ok());
      for (const auto& [name, value] : want) {
        EXPECT_EQ(show(conn, name), value) << "transaction " << i;
      }
      PgResult pid = conn.exec("SELECT pg_backend_pid()");
      ASSERT_TRUE(pid.ok()) << pid.error();
      EXPECT_NE(pid.value(), last_pid) << "transaction " << i << " did not change servers";
      last_pid = pid.value();
      ASSERT_TRUE(!explicit_tx || conn.exec("COMMIT").ok());
      ASSERT_EQ(rotation->release(), "") << "transaction " << i;
    }
  }

  void expect_others_unaffected() { EXPECT_EQ(churn->stop(), ""); }
};

// SET `name` outside a transaction: it holds in every later transaction; others keep the default.
void setting_follows_client(const std::string& name, const std::string& set_sql,
                            const std::string& want) {
  ParamsFixture f;
  ASSERT_TRUE(f.start({{name, ""}}));
  ASSERT_NE(f.defaults[name], want) << "pick a value that differs from the default";
  PgResult r = f.conn.exec(set_sql);
  ASSERT_TRUE(r.ok()) << set_sql << ": " << r.error();
  f.expect_in_every_transaction({{name, want}});
  f.expect_others_unaffected();
}

TEST(ParamsTest, ClientEncodingFollowsClient) {
  setting_follows_client("client_encoding", "SET client_encoding = 'LATIN1'", "LATIN1");
}

TEST(ParamsTest, DateStyleFollowsClient) {
  setting_follows_client("DateStyle", "SET DateStyle = 'SQL, DMY'", "SQL, DMY");
}

TEST(ParamsTest, TimeZoneFollowsClient) {
  setting_follows_client("TimeZone", "SET TimeZone = 'America/New_York'", "America/New_York");
}

TEST(ParamsTest, IntervalStyleFollowsClient) {
  setting_follows_client("IntervalStyle", "SET IntervalStyle = 'postgres_verbose'",
                         "postgres_verbose");
}

TEST(ParamsTest, StandardConformingStringsFollowsClient) {
  setting_follows_client("standard_conforming_strings", "SET standard_conforming_strings = off",
                         "off");
}

TEST(ParamsTest, ApplicationNameFollowsClient) {
  setting_follows_client("application_name", "SET application_name = 'pgmux-test'", "pgmux-test");
}

TEST(ParamsTest, SearchPathFollowsClient) {
  setting_follows_client("search_path", "SET search_path = itest_schema, public",
                         "itest_schema, public");
}

TEST(ParamsTest, StatementTimeoutFollowsClient) {
  setting_follows_client("statement_timeout", "SET statement_timeout = '1234ms'", "1234ms");
}

TEST(ParamsTest, SetLocalDoesNotPersistAfterCommit) {
  ParamsFixture f;
  ASSERT_TRUE(f.start({{"statement_timeout", ""}, {"TimeZone", ""}}));
  ASSERT_TRUE(f.conn.exec("BEGIN").ok());
  ASSERT_TRUE(f.conn.exec("SET LOCAL statement_timeout = '5s'").ok());
  ASSERT_TRUE(f.conn.exec("SET LOCAL TimeZone = 'Asia/Tokyo'").ok());
  EXPECT_EQ(show(f.conn, "statement_timeout"), "5s");
  EXPECT_EQ(show(f.conn, "TimeZone"), "Asia/Tokyo");
  ASSERT_TRUE(f.conn.exec("COMMIT").ok());
  f.expect_in_every_transaction(f.defaults);
  EXPECT_EQ(std::string(PQparameterStatus(f.conn.get(), "TimeZone")), f.defaults["TimeZone"]);
  f.expect_others_unaffected();
}

TEST(ParamsTest, SetLocalOverSessionSetRevertsToSessionValue) {
  ParamsFixture f;
  ASSERT_TRUE(f.start({{"statement_timeout", ""}}));
  ASSERT_TRUE(f.conn.exec("SET statement_timeout = '1234ms'").ok());
  ASSERT_TRUE(f.conn.exec("BEGIN").ok());
  ASSERT_TRUE(f.conn.exec("SET LOCAL statement_timeout = '5s'").ok());
  EXPECT_EQ(show(f.conn, "statement_timeout"), "5s");
  ASSERT_TRUE(f.conn.exec("COMMIT").ok());
  f.expect_in_every_transaction({{"statement_timeout", "1234ms"}});
  f.expect_others_unaffected();
}

TEST(ParamsTest, SetInRolledBackTransactionDoesNotPersist) {
  ParamsFixture f;
  ASSERT_TRUE(f.start({{"statement_timeout", ""}}));
  ASSERT_TRUE(f.conn.exec("BEGIN").ok());
  ASSERT_TRUE(f.conn.exec("SET statement_timeout = '7s'").ok());
  ASSERT_TRUE(f.conn.exec("ROLLBACK").ok());
  f.expect_in_every_transaction(f.defaults);
  ASSERT_TRUE(f.conn.exec("BEGIN").ok());  // committed, the same SET persists
  ASSERT_TRUE(f.conn.exec("SET statement_timeout = '7s'").ok());
  ASSERT_TRUE(f.conn.exec("COMMIT").ok());
  f.expect_in_every_transaction({{"statement_timeout", "7s"}});
  f.expect_others_unaffected();
}

TEST(ParamsTest, ResetAndResetAllRestoreDefaults) {
  ParamsFixture f;
  ASSERT_TRUE(f.start({{"statement_timeout", ""}, {"DateStyle", ""}, {"TimeZone", ""}}));
  ASSERT_TRUE(f.conn.exec("SET TimeZone = 'America/New_York'").ok());
  ASSERT_TRUE(f.conn.exec("RESET TimeZone").ok());
  f.expect_in_every_transaction({{"TimeZone", f.defaults["TimeZone"]}});
  ASSERT_TRUE(f.conn.exec("SET statement_timeout = '1234ms'").ok());
  ASSERT_TRUE(f.conn.exec("SET DateStyle = 'SQL, DMY'").ok());
  ASSERT_TRUE(f.conn.exec("RESET ALL").ok());
  f.expect_in_every_transaction(f.defaults);
  f.expect_others_unaffected();
}

TEST(ParamsTest, StartupSettingsHonouredInEveryTransaction) {
  ParamsFixture f;
  ASSERT_TRUE(f.start({{"search_path", ""}, {"application_name", ""}},
                      " options='-c search_path=itest_schema' application_name=startup-app"));
  ASSERT_NE(f.defaults["search_path"], "itest_schema");
  f.expect_in_every_transaction(
      {{"search_path", "itest_schema"}, {"application_name", "startup-app"}});
  f.expect_others_unaffected();
}

// A list-valued setting from the startup packet keeps its list meaning on every server.
TEST(ParamsTest, StartupSearchPathListHonouredInEveryTransaction) {
  ParamsFixture f;
  ASSERT_TRUE(f.start({{"search_path", ""}}, " options='-c search_path=itest_schema,public'"));
  f.expect_in_every_transaction({{"search_path", "itest_schema,public"}});
  f.expect_others_unaffected();
}

TEST(ParamsTest, ParameterStatusReflectsSet) {
  ParamsFixture f;
  ASSERT_TRUE(f.start({{"TimeZone", ""}}));
  ASSERT_EQ(std::string(PQparameterStatus(f.conn.get(), "TimeZone")), f.defaults["TimeZone"]);
  ASSERT_TRUE(f.conn.exec("SET TimeZone = 'America/New_York'").ok());
  EXPECT_EQ(std::string(PQparameterStatus(f.conn.get(), "TimeZone")), "America/New_York");
  f.expect_in_every_transaction({{"TimeZone", "America/New_York"}});
  EXPECT_EQ(std::string(PQparameterStatus(f.conn.get(), "TimeZone")), "America/New_York")
      << "a server's TimeZone leaked into the client's ParameterStatus";
  PgResult r = f.conn.exec("SELECT '2020-01-01 12:00+00'::timestamptz::text");
  EXPECT_EQ(r.value(), "2020-01-01 07:00:00-05");
  f.expect_others_unaffected();
}

}  // namespace
}  // namespace pgmux::itest
