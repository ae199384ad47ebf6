// Transaction pooling's one-coroutine round trip (request out, answer back, the client
// read only while the server owes nothing) and the exchanges it must hand to full-duplex
// forwarding: a Flush answered before any Sync, COPY inside a transaction, and a server
// that dies while its client is idle in a transaction.
// Thread-safety: each test's thread owns its connections.
#include "harness.hpp"

namespace pgmux::itest {
namespace {

constexpr const char* kDb = "pgmux_test";

PgmuxConfig tx_config(int pool_size, std::string users = "") {
  return PgmuxConfig::transaction(kDb, pool_size, std::move(users));
}

std::string flush_message() { return std::string("H\0\0\0\4", 5); }

// The client asks for answers with Flush and waits for them before it sends its Sync (as
// drivers do to learn a statement's parameter types). The server owes answers without a
// ReadyForQuery coming: pgmux must read it while the client is silent.
TEST(RelayTest, FlushIsAnsweredBeforeTheSync) {
  PgmuxProcess pgmux(tx_config(1, PgmuxConfig::trust_users()));
  ASSERT_TRUE(pgmux.start());
  RawConn raw;
  ASSERT_TRUE(raw.login(pgmux.port(), {{"user", kScramUser}, {"database", kDb}})) << raw.problem();
  ASSERT_TRUE(raw.send(fe::parse("", "SELECT $1::int + 1") + fe::describe('S', "") +
                       flush_message()));
  std::string seen;
  for (int i = 0; i < 3; ++i) {  // ParseComplete, ParameterDescription, RowDescription
    auto m = raw.read(5s);
    ASSERT_TRUE(m) << "answer " << i << " to the Flush did not come (got \"" << seen << "\")";
    seen += m->type;
  }
  EXPECT_EQ(seen, "1tT");
  ASSERT_TRUE(raw.send(fe::bind("", "", {"41"}) + fe::execute("") + fe::sync()));
  auto rest = raw.read_until_ready();
  EXPECT_EQ(message_types(rest), "2DCZ");
  for (const auto& m : rest) {
    if (m.type == 'D') {
      EXPECT_EQ(data_row_values(m.body), std::vector<std::string>{"42"});
    }
  }
}

// Every statement of an explicit transaction runs on the one server it started on, and the
// server goes back to the pool at COMMIT: with a pool of one, a second client waits for it.
TEST(RelayTest, ExplicitTransactionKeepsItsServerUntilCommit) {
  PgmuxProcess pgmux(tx_config(1));
  ASSERT_TRUE(pgmux.start());
  ConnectOutcome a = connect(pgmux.conninfo(kDb));
  ConnectOutcome b = connect(pgmux.conninfo(kDb));
  ASSERT_TRUE(a.ok) << a.error;
  ASSERT_TRUE(b.ok) << b.error;
  ASSERT_TRUE(a.conn.exec("BEGIN").ok());
  std::string pid = a.conn.exec("SELECT pg_backend_pid()").value();
  ASSERT_TRUE(b.conn.send("SELECT pg_backend_pid()"));
  for (int i = 0; i < 20; ++i) {
    PgResult r = a.conn.exec("SELECT pg_backend_pid(), " + std::to_string(i));
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r.value(), pid) << "statement " << i;
  }
  // b is still waiting for the only server.
  EXPECT_EQ(PQisBusy(b.conn.get()), 1);
  ASSERT_TRUE(a.conn.exec("COMMIT").ok());
  PgResult other = b.conn.wait_result(10s);
  ASSERT_TRUE(other.ok()) << other.error();
  EXPECT_EQ(other.value(), pid);
}

// COPY FROM STDIN in the middle of a transaction: the client streams while the server
// waits, then the transaction goes on and commits what was copied.
TEST(RelayTest, CopyInsideATransaction) {
  PgmuxProcess pgmux(tx_config(2));
  ASSERT_TRUE(pgmux.start());
  ConnectOutcome c = connect(pgmux.conninfo(kDb));
  ASSERT_TRUE(c.ok) << c.error;
  std::string table = unique_tag("relay_copy");
  ASSERT_TRUE(c.conn.exec("CREATE TABLE " + table + " (n int)").ok());
  ASSERT_TRUE(c.conn.exec("BEGIN").ok());
  ASSERT_TRUE(c.conn.exec("INSERT INTO " + table + " VALUES (0)").ok());
  PGresult* start = PQexec(c.conn.get(), ("COPY " + table + " FROM STDIN").c_str());
  ASSERT_EQ(PQresultStatus(start), PGRES_COPY_IN) << c.conn.error();
  PQclear(start);
  std::string rows;
  for (int i = 1; i <= 1000; ++i) rows += std::to_string(i) + "\n";
  ASSERT_EQ(PQputCopyData(c.conn.get(), rows.data(), static_cast<int>(rows.size())), 1);
  ASSERT_EQ(PQputCopyEnd(c.conn.get(), nullptr), 1);
  PGresult* done = PQgetResult(c.conn.get());
  EXPECT_EQ(PQresultStatus(done), PGRES_COMMAND_OK) << c.conn.error();
  PQclear(done);
  while (PGresult* r = PQgetResult(c.conn.get())) PQclear(r);
  PgResult sum = c.conn.exec("SELECT count(*), sum(n) FROM " + table);
  ASSERT_TRUE(sum.ok()) << sum.error();
  EXPECT_EQ(sum.value(0, 0), "1001");
  ASSERT_TRUE(c.conn.exec("COMMIT").ok());
  ConnectOutcome d = connect(pgmux.conninfo(kDb));
  ASSERT_TRUE(d.ok) << d.error;
  EXPECT_EQ(d.conn.exec("SELECT sum(n) FROM " + table).value(), "500500");
  d.conn.exec("DROP TABLE " + table);
}

// The server dies while its client is idle in a transaction: the client's next statement
// fails with a connection error, and the next transaction gets a working server.
TEST(RelayTest, ServerKilledWhileClientIdleInTransaction) {
  PgmuxProcess pgmux(tx_config(1));
  ASSERT_TRUE(pgmux.start());
  ConnectOutcome c = connect(pgmux.conninfo(kDb));
  ASSERT_TRUE(c.ok) << c.error;
  ASSERT_TRUE(c.conn.exec("BEGIN").ok());
  std::string pid = c.conn.exec("SELECT pg_backend_pid()").value();
  ASSERT_FALSE(pid.empty());
  PgConn admin = PgCluster::get().superuser(kDb);
  ASSERT_TRUE(admin.exec("SELECT pg_terminate_backend(" + pid + ")").ok());
  PgResult next = c.conn.exec("SELECT 1");
  EXPECT_FALSE(next.ok());
  // The server's own FATAL reaches the client, then pgmux's.
  EXPECT_PRED2(contains, next.error(), "57P01");
  EXPECT_PRED2(contains, next.error(), "08006");
  ConnectOutcome again = connect(pgmux.conninfo(kDb));
  ASSERT_TRUE(again.ok) << again.error;
  PgResult fresh = again.conn.exec("SELECT pg_backend_pid()");
  ASSERT_TRUE(fresh.ok()) << fresh.error();
  EXPECT_NE(fresh.value(), pid);
}

}  // namespace
}  // namespace pgmux::itest
