// A server kept by its client between transactions (transaction mode, while no other
// client waits): another client that needs it gets it at once, on either worker; it
// closes after server_idle_timeout though its client stays; it goes back to the pool
// when its client leaves; closed by PostgreSQL meanwhile, it is not reused.
// Thread-safety: single-threaded tests.
#include "harness.hpp"

namespace pgmux::itest {
namespace {

// A database of each test's own where its backends are counted (ctest runs tests at once).
PgmuxConfig keep_config(const std::string& db, int pool_size, const std::string& extra = "") {
  PgmuxConfig config;
  config.pool_size = pool_size;
  config.workers = 2;
  config.databases = {{.name = db}};
  config.extra = "admin:\n  admin_users: [pgmux_scram]\n" + extra;
  return config;
}

ConnectOutcome client(const PgmuxProcess& pgmux, const std::string& db) {
  return connect(pgmux.conninfo(db));
}

// A pool of one server and eight clients on two workers, each of which ran a transaction
// and stays connected (the last one keeps the server): each client in turn, in both
// orders, gets the server at once. Without the kept server taken back for it, a client
// would wait out query_wait_timeout (2 s) and get 57014.
TEST(KeptServerTest, AServerKeptByAnIdleClientServesTheNextOneOnEitherWorker) {
  const std::string db = "pgmux_keep";
  PgmuxProcess pgmux(keep_config(db, 1, "query_wait_timeout: 2s\n"));
  ASSERT_TRUE(pgmux.start());
  std::vector<ConnectOutcome> clients;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(client(pgmux, db));
    ASSERT_TRUE(clients.back().ok) << clients.back().error;
  }
  std::string pid;
  for (int round = 0; round < 2; ++round) {
    for (int k = 0; k < 8; ++k) {
      auto& c = clients[round == 0 ? k : 7 - k];
      PgResult r = c.conn.exec("SELECT pg_backend_pid()", 10s);
      ASSERT_TRUE(r.ok()) << "client " << k << " of round " << round << ": " << r.error();
      if (pid.empty()) pid = r.value();
      EXPECT_EQ(r.value(), pid) << "a pool of one opened a second server";
    }
  }
  // A transaction of several statements in between keeps its server throughout.
  ASSERT_TRUE(clients[3].conn.exec("BEGIN").ok());
  ASSERT_TRUE(clients[3].conn.exec("CREATE TEMP TABLE kept (n int) ON COMMIT DROP").ok());
  ASSERT_TRUE(clients[3].conn.exec("INSERT INTO kept VALUES (1)").ok());
  EXPECT_EQ(clients[3].conn.exec("SELECT count(*) FROM kept").value(), "1");
  ASSERT_TRUE(clients[3].conn.exec("COMMIT").ok());
  PgResult after = clients[5].conn.exec("SELECT 'after'", 10s);
  ASSERT_TRUE(after.ok()) << after.error();
}

// server_idle_timeout closes a server kept by a client that stays connected and idle; the
// client's next transaction gets a new server.
TEST(KeptServerTest, AKeptServerClosesAfterServerIdleTimeoutWhileItsClientStays) {
  const std::string db = "pgmux_keep_idle";
  const PgCluster& cluster = PgCluster::get();
  PgConn super = cluster.superuser(db);
  PgmuxProcess pgmux(keep_config(db, 2, "server_idle_timeout: 1s\n"));
  ASSERT_TRUE(pgmux.start());
  ConnectOutcome c = client(pgmux, db);
  ASSERT_TRUE(c.ok) << c.error;
  PgResult before = c.conn.exec("SELECT pg_backend_pid()");
  ASSERT_TRUE(before.ok()) << before.error();
  ASSERT_EQ(cluster.backends(super, db, kScramUser), 1);
  EXPECT_TRUE(wait_until([&] { return cluster.backends(super, db, kScramUser) == 0; }, 10s))
      << "the kept server outlived server_idle_timeout";
  PgResult after = c.conn.exec("SELECT pg_backend_pid()");
  ASSERT_TRUE(after.ok()) << after.error();
  EXPECT_NE(after.value(), before.value());
}

// A client that leaves gives its kept server back to the pool: the next client gets the
// same backend, and no server is closed or opened.
TEST(KeptServerTest, AKeptServerGoesBackToThePoolWhenItsClientLeaves) {
  const std::string db = "pgmux_keep_leave";
  const PgCluster& cluster = PgCluster::get();
  PgConn super = cluster.superuser(db);
  PgmuxProcess pgmux(keep_config(db, 2));
  ASSERT_TRUE(pgmux.start());
  std::string pid;
  {
    ConnectOutcome first = client(pgmux, db);
    ASSERT_TRUE(first.ok) << first.error;
    pid = first.conn.exec("SELECT pg_backend_pid()").value();
    ASSERT_FALSE(pid.empty());
  }
  ASSERT_TRUE(wait_until([&] { return pools_column(pgmux, db, "cl_active") == 0; }, 5s))
      << "pgmux did not see the first client leave";
  EXPECT_EQ(pools_column(pgmux, db, "sv_idle") + pools_column(pgmux, db, "sv_used"), 1);
  ConnectOutcome second = client(pgmux, db);
  ASSERT_TRUE(second.ok) << second.error;
  EXPECT_EQ(second.conn.exec("SELECT pg_backend_pid()").value(), pid)
      << "the server was closed when its client left";
  EXPECT_EQ(cluster.backends(super, db, kScramUser), 1);
}

// PostgreSQL closes a kept server (pg_terminate_backend): neither its client's next
// transaction nor another client's is sent to it; both get a new server.
TEST(KeptServerTest, AKeptServerClosedByPostgresIsNotReused) {
  const std::string db = "pgmux_keep_dead";
  const PgCluster& cluster = PgCluster::get();
  PgConn super = cluster.superuser(db);
  PgmuxProcess pgmux(keep_config(db, 1));
  ASSERT_TRUE(pgmux.start());
  ConnectOutcome a = client(pgmux, db), b = client(pgmux, db);
  ASSERT_TRUE(a.ok && b.ok) << a.error << b.error;

  auto terminate_kept = [&](PgConn& holder) {
    std::string pid = holder.exec("SELECT pg_backend_pid()").value();
    EXPECT_FALSE(pid.empty());
    EXPECT_TRUE(super.exec("SELECT pg_terminate_backend(" + pid + ")").ok());
    EXPECT_TRUE(wait_until([&] { return cluster.backends(super, db, kScramUser) == 0; }, 5s));
    // Idle for more than half a second (SHOW POOLS says sv_used), a server is checked
    // before it is used again.
    EXPECT_TRUE(wait_until([&] { return pools_column(pgmux, db, "sv_used") == 1; }, 5s));
    return pid;
  };

  std::string first = terminate_kept(a.conn);
  PgResult own = a.conn.exec("SELECT pg_backend_pid()");  // its own kept server
  ASSERT_TRUE(own.ok()) << own.error();
  EXPECT_NE(own.value(), first);

  std::string second = terminate_kept(a.conn);
  PgResult other = b.conn.exec("SELECT pg_backend_pid()");  // taken back from `a` for `b`
  ASSERT_TRUE(other.ok()) << other.error();
  EXPECT_NE(other.value(), second);
  PgResult again = a.conn.exec("SELECT 1");
  EXPECT_TRUE(again.ok()) << again.error();
}

}  // namespace
}  // namespace pgmux::itest
