// What pgmux refuses, and how: SQL PREPARE and LISTEN in transaction mode (0A000, while session
// mode runs PREPARE normally; each of several Queries sent together), a client message over
// max_message_size (08P01, only that connection closes) and replication connections.
// Thread-safety: single-threaded tests.
#include "harness.hpp"

namespace pgmux::itest {
namespace {

constexpr const char* kDb = "pgmux_test";

PgmuxConfig config_for(const std::string& mode, const std::string& extra = "") {
  PgmuxConfig config;
  config.pool_mode = mode;
  config.pool_size = 2;
  config.extra = extra;
  config.databases = {{.name = kDb}};
  return config;
}

PgConn must_connect(const PgmuxProcess& pgmux) {
  ConnectOutcome c = connect(pgmux.conninfo(kDb));
  EXPECT_TRUE(c.ok) << c.error;
  return std::move(c.conn);
}

TEST(RefusalTest, SqlPrepareRefusedInTransactionMode) {
  PgmuxProcess pgmux(config_for("transaction"));
  ASSERT_TRUE(pgmux.start());
  PgConn conn = must_connect(pgmux);
  ASSERT_TRUE(conn.ok());
  PgResult r = conn.exec("PREPARE p (int) AS SELECT $1 + 1");
  ASSERT_FALSE(r.ok()) << "PREPARE succeeded in transaction mode";
  EXPECT_EQ(r.sqlstate(), "0A000") << r.error();
  EXPECT_PRED2(contains, r.error(), "PREPARE");
  EXPECT_PRED2(contains, lower(r.error()), "transaction pooling");
  EXPECT_EQ(conn.exec("SELECT 'usable'").value(), "usable");
}

TEST(RefusalTest, SqlPrepareExecuteDeallocateWorkInSessionMode) {
  PgmuxProcess pgmux(config_for("session"));
  ASSERT_TRUE(pgmux.start());
  PgConn conn = must_connect(pgmux);
  ASSERT_TRUE(conn.ok());
  PgResult r = conn.exec("PREPARE p (int) AS SELECT $1 + 1");
  ASSERT_TRUE(r.ok()) << r.error();
  r = conn.exec("EXECUTE p(41)");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value(), "42");
  ASSERT_TRUE(conn.exec("DEALLOCATE p").ok());
  EXPECT_EQ(conn.exec("EXECUTE p(1)").sqlstate(), "26000");
}

TEST(RefusalTest, ListenRefusedInTransactionMode) {
  PgmuxProcess pgmux(config_for("transaction"));
  ASSERT_TRUE(pgmux.start());
  PgConn conn = must_connect(pgmux);
  ASSERT_TRUE(conn.ok());
  PgResult r = conn.exec("LISTEN some_channel");
  ASSERT_FALSE(r.ok()) << "LISTEN succeeded in transaction mode";
  EXPECT_EQ(r.sqlstate(), "0A000") << r.error();
  EXPECT_PRED2(contains, lower(r.error()), "listen");
}

// Queries that arrive together (one write, one read) are each checked: the first word
// of the Query at the head is looked at while the session is idle and that answer
// serves the relay only for that Query, not for the ones behind it.
TEST(RefusalTest, EveryQueryOfOneWriteIsChecked) {
  PgmuxConfig config = config_for("transaction");
  config.users = PgmuxConfig::trust_users();
  PgmuxProcess pgmux(config);
  ASSERT_TRUE(pgmux.start());
  RawConn raw;
  ASSERT_TRUE(raw.login(pgmux.port(), {{"user", kScramUser}, {"database", kDb}})) << raw.problem();
  ASSERT_TRUE(raw.send(fe::query("SELECT 1") + fe::query("PREPARE p (int) AS SELECT $1") +
                       fe::query("LISTEN some_channel") + fe::query("SELECT 2")));
  std::vector<RawMessage> first = raw.read_until_ready(5s);
  EXPECT_EQ(message_types(first), "TDCZ");
  for (const char* refused : {"PREPARE", "LISTEN"}) {
    std::vector<RawMessage> answer = raw.read_until_ready(5s);
    ASSERT_EQ(message_types(answer), "EZ") << refused << " was not refused";
    EXPECT_EQ(error_fields(answer[0].body)['C'], "0A000");
    EXPECT_PRED2(contains, error_fields(answer[0].body)['M'], refused);
  }
  std::vector<RawMessage> last = raw.read_until_ready(5s);
  ASSERT_EQ(message_types(last), "TDCZ");
  EXPECT_EQ(data_row_values(last[1].body), std::vector<std::string>{"2"});
  // And a refused Query at the head, with a plain one behind it.
  ASSERT_TRUE(raw.send(fe::query("PREPARE q (int) AS SELECT $1") + fe::query("SELECT 3")));
  EXPECT_EQ(message_types(raw.read_until_ready(5s)), "EZ");
  EXPECT_EQ(message_types(raw.read_until_ready(5s)), "TDCZ");
}

TEST(RefusalTest, OversizedMessageClosesOnlyThatConnection) {
  PgmuxProcess pgmux(config_for("transaction", "max_message_size: 1MB\n"));
  ASSERT_TRUE(pgmux.start());
  PgConn big = must_connect(pgmux), bystander = must_connect(pgmux);
  ASSERT_TRUE(big.ok() && bystander.ok());
  ASSERT_TRUE(bystander.exec("BEGIN").ok());  // mid-transaction while the other one misbehaves
  PgResult r = big.exec("SELECT '" + std::string(2u << 20, 'x') + "'");
  ASSERT_FALSE(r.ok()) << "a 2 MB query passed max_message_size: 1MB";
  EXPECT_PRED2(contains, r.sqlstate() + " " + r.error(), "08P01");
  EXPECT_TRUE(wait_until(
      [&] { return PQstatus(big.get()) == CONNECTION_BAD || !big.exec("SELECT 1").ok(); }, 5s))
      << "the connection that sent the oversized message is still open";
  EXPECT_EQ(PQstatus(big.get()), CONNECTION_BAD);
  PgResult ok = bystander.exec("SELECT 'unaffected'");
  ASSERT_TRUE(ok.ok()) << ok.error();
  EXPECT_EQ(ok.value(), "unaffected");
  ASSERT_TRUE(bystander.exec("COMMIT").ok());
  EXPECT_TRUE(pgmux.running());
}

// The same with a raw client, so libpq's handling of a failed send cannot hide the error.
TEST(RefusalTest, OversizedMessageRawClientGets08P01) {
  PgmuxConfig config = config_for("transaction", "max_message_size: 1MB\n");
  config.users = PgmuxConfig::trust_users();
  PgmuxProcess pgmux(config);
  ASSERT_TRUE(pgmux.start());
  RawConn raw;
  ASSERT_TRUE(raw.login(pgmux.port(), {{"user", kScramUser}, {"database", kDb}})) << raw.problem();
  raw.send(fe::query("SELECT '" + std::string(2u << 20, 'x') + "'"));  // may fail part-way
  std::optional<RawMessage> m = raw.read(5s);
  ASSERT_TRUE(m.has_value()) << "no ErrorResponse before the connection ended";
  ASSERT_EQ(m->type, 'E');
  EXPECT_EQ(error_fields(m->body)['C'], "08P01") << error_fields(m->body)['M'];
  EXPECT_FALSE(raw.read(5s).has_value());
  EXPECT_TRUE(raw.closed()) << "the connection stayed open";
}

TEST(RefusalTest, ReplicationConnectionRefused) {
  PgmuxProcess pgmux(config_for("transaction"));
  ASSERT_TRUE(pgmux.start());
  ConnectOutcome c = connect(pgmux.conninfo(kDb) + " replication=database");
  EXPECT_FALSE(c.ok) << "a replication connection was accepted";
  EXPECT_PRED2(contains, lower(c.error), "replication");
}

}  // namespace
}  // namespace pgmux::itest
