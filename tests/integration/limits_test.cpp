// Limits and failures: max_client_connections, an unreachable server, and the process life cycle
// (listening log line, SIGTERM with and without a transaction in flight).
// Thread-safety: single-threaded tests.
#include "harness.hpp"

#include <signal.h>

namespace pgmux::itest {
namespace {

using Clock = std::chrono::steady_clock;

PgmuxConfig one_db_config(const std::string& extra = "") {
  PgmuxConfig config;
  config.extra = extra;
  config.databases = {{.name = "pgmux_test"}};
  return config;
}

TEST(LimitsTest, MaxClientConnections) {
  PgmuxProcess pgmux(one_db_config("max_client_connections: 2\n"));
  ASSERT_TRUE(pgmux.start());
  // The readiness probe of start() is a client too until pgmux sees it close: await that.
  ConnectOutcome first, second;
  ASSERT_TRUE(wait_until([&] { return (first = connect(pgmux.conninfo("pgmux_test"))).ok; }, 5s)) << first.error;
  ASSERT_TRUE(wait_until([&] { return (second = connect(pgmux.conninfo("pgmux_test"))).ok; }, 5s)) << second.error;
  ASSERT_TRUE(first.conn.exec("SELECT 1").ok());
  ASSERT_TRUE(second.conn.exec("SELECT 1").ok());

  ConnectOutcome third = connect(pgmux.conninfo("pgmux_test"));
  EXPECT_FALSE(third.ok);
  EXPECT_PRED2(contains, third.error, "too many");
  EXPECT_PRED2(contains, third.error, "53300");

  first.conn.close();  // a slot frees up once pgmux sees the client leave
  ConnectOutcome fourth;
  EXPECT_TRUE(wait_until([&] { return (fourth = connect(pgmux.conninfo("pgmux_test"))).ok; }, 5s))
      << fourth.error;
}

// Every server busy for longer than query_wait_timeout: the waiting client's query gets 57014
// (and the wait's length in the message) at the deadline, not later, its session goes on, and a
// server that comes free serves it again. Both workers take part (the waiter may be on either).
TEST(LimitsTest, QueryWaitTimeoutRefusesTheQueryNotTheSession) {
  PgmuxConfig config = one_db_config("query_wait_timeout: 500ms\n");
  config.pool_size = 1;
  PgmuxProcess pgmux(config);
  ASSERT_TRUE(pgmux.start());
  ConnectOutcome holder = connect(pgmux.conninfo("pgmux_test"));
  ConnectOutcome waiter = connect(pgmux.conninfo("pgmux_test"));
  ASSERT_TRUE(holder.ok) << holder.error;
  ASSERT_TRUE(waiter.ok) << waiter.error;
  ASSERT_TRUE(holder.conn.exec("BEGIN").ok());  // holds the only server

  auto start = Clock::now();
  PgResult r = waiter.conn.exec("SELECT 1", 10s);
  auto waited = std::chrono::duration_cast<Millis>(Clock::now() - start);
  EXPECT_FALSE(r.ok()) << "a query ran while the only server was held";
  EXPECT_EQ(r.sqlstate(), "57014") << r.error();
  EXPECT_PRED2(contains, r.error(), "query_wait_timeout");
  EXPECT_PRED2(contains, r.error(), "500 ms");
  EXPECT_GE(waited, 450ms);
  EXPECT_LT(waited, 900ms) << "the wait ran past its deadline (a second wait after it?)";
  EXPECT_EQ(PQstatus(waiter.conn.get()), CONNECTION_OK);

  ASSERT_TRUE(holder.conn.exec("COMMIT").ok());
  PgResult again = waiter.conn.exec("SELECT 2", 10s);
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_EQ(again.value(), "2");
}

// A database whose server does not listen: the client gets 08006 in bounded time; pgmux lives on.
TEST(LimitsTest, ServerDownReportsErrorAndPgmuxStaysUp) {
  PgmuxConfig config = one_db_config("server_connect_timeout: 2s\nserver_login_retry: 250ms\n");
  config.databases.push_back({.name = "down_db", .dbname = "pgmux_test", .port = free_port()});
  PgmuxProcess pgmux(config);
  ASSERT_TRUE(pgmux.start());

  auto start = Clock::now();
  ConnectOutcome c = connect(pgmux.conninfo("down_db"), 8s);
  std::string error = c.error;
  std::string sqlstate_text = error;
  if (c.ok) {  // pgmux may accept the login and connect to the server at the first query
    PgResult r = c.conn.exec("SELECT 1", 8s);
    EXPECT_FALSE(r.ok()) << "a query on a database whose server is down succeeded";
    error = r.error();
    sqlstate_text = r.sqlstate() + " " + error;
  }
  auto elapsed = std::chrono::duration_cast<Millis>(Clock::now() - start);
  EXPECT_LT(elapsed, 5000ms) << "server_connect_timeout is 2s";
  EXPECT_PRED2(contains, sqlstate_text, "08006");
  EXPECT_PRED2(contains, lower(error), "connect");

  EXPECT_TRUE(pgmux.running());
  ConnectOutcome good = connect(pgmux.conninfo("pgmux_test"));
  ASSERT_TRUE(good.ok) << good.error;
  EXPECT_EQ(good.conn.exec("SELECT 'still up'").value(), "still up");
}

// Servers given by host name: resolved off the workers' event loops (which run without
// Asio's locks) and connected from each worker; a name that does not resolve gets 08006
// naming the failure, and pgmux lives on.
TEST(LimitsTest, AServerGivenByHostNameIsResolved) {
  PgmuxConfig config = one_db_config("server_connect_timeout: 3s\nserver_login_retry: 250ms\n");
  config.workers = 2;
  config.databases.push_back({.name = "by_name", .dbname = "pgmux_test", .host = "localhost"});
  config.databases.push_back(
      {.name = "no_such_host", .dbname = "pgmux_test", .host = "no-such-host.invalid"});
  PgmuxProcess pgmux(config);
  ASSERT_TRUE(pgmux.start());

  // Several clients at once (pool_size 5), so that both workers' listeners likely take
  // some (SO_REUSEPORT) and each opens servers of its own.
  std::vector<PgConn> clients;
  for (int i = 0; i < 5; ++i) {
    ConnectOutcome c = connect(pgmux.conninfo("by_name"));
    ASSERT_TRUE(c.ok) << c.error;
    ASSERT_TRUE(c.conn.exec("BEGIN").ok());  // each holds a server of its own
    clients.push_back(std::move(c.conn));
  }
  for (auto& conn : clients) {
    PgResult r = conn.exec("SELECT current_database()");
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r.value(), "pgmux_test");
    ASSERT_TRUE(conn.exec("COMMIT").ok());
  }

  ConnectOutcome c = connect(pgmux.conninfo("no_such_host"), 8s);
  std::string error = c.error;
  std::string sqlstate_text = error;
  if (c.ok) {
    PgResult r = c.conn.exec("SELECT 1", 8s);
    EXPECT_FALSE(r.ok()) << "a query on a database whose host does not resolve succeeded";
    error = r.error();
    sqlstate_text = r.sqlstate() + " " + error;
  }
  EXPECT_PRED2(contains, sqlstate_text, "08006");
  EXPECT_PRED2(contains, error, "no-such-host.invalid");

  EXPECT_TRUE(pgmux.running());
  PgResult again = clients.front().exec("SELECT 'still up'");
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_EQ(again.value(), "still up");
}

TEST(LimitsTest, LogsListeningOn) {
  PgmuxProcess pgmux(one_db_config());
  ASSERT_TRUE(pgmux.start());
  std::string line = "listening on 127.0.0.1:" + std::to_string(pgmux.port());
  EXPECT_TRUE(wait_until([&] { return contains(pgmux.stderr_text(), line); }, 5s))
      << "stderr lacks '" << line << "'";
}

TEST(LimitsTest, SigtermWithIdleClientExitsZero) {
  PgmuxProcess pgmux(one_db_config());
  ASSERT_TRUE(pgmux.start());
  ConnectOutcome c = connect(pgmux.conninfo("pgmux_test"));
  ASSERT_TRUE(c.ok) << c.error;
  ASSERT_TRUE(c.conn.exec("SELECT 1").ok());
  EXPECT_EQ(pgmux.stop(10s), 0);
}

// SIGTERM stops new logins but lets an open transaction commit, then exits 0.
TEST(LimitsTest, SigtermLetsTransactionInFlightFinish) {
  PgmuxProcess pgmux(one_db_config());
  ASSERT_TRUE(pgmux.start());
  ConnectOutcome c = connect(pgmux.conninfo("pgmux_test"));
  ASSERT_TRUE(c.ok) << c.error;
  std::string tag = unique_tag("shutdown");
  ASSERT_TRUE(c.conn.exec("BEGIN").ok());
  ASSERT_TRUE(c.conn.exec("INSERT INTO items (tag, v) VALUES ('" + tag + "', 1)").ok());
  ASSERT_EQ(kill(pgmux.pid(), SIGTERM), 0);
  EXPECT_TRUE(wait_until([&] { return !connect(pgmux.conninfo("pgmux_test"), 2s).ok; }, 5s))
      << "pgmux still accepts logins after SIGTERM";
  PgResult r = c.conn.exec("COMMIT");
  EXPECT_TRUE(r.ok()) << r.error();
  c.conn.close();
  EXPECT_EQ(PgCluster::get().exec("pgmux_test", "SELECT count(*) FROM items WHERE tag = '" + tag + "'").value(), "1");
  EXPECT_EQ(pgmux.wait_exit(10s), 0) << "pgmux should exit 0 once its last transaction ended";
}

}  // namespace
}  // namespace pgmux::itest
