// TLS from pgmux to PostgreSQL (`server_tls:`): the test cluster has ssl = on and a
// database, pgmux_tls, that takes TLS connections only (pg_cluster.sh); its certificate,
// for 127.0.0.1 only, is signed by the cluster's test CA (tls/ca.crt). Each mode against
// it, certificate checks that fail, large values both ways through the relay, servers
// moving between workers, and a server connection that PostgreSQL ends.
// Thread-safety: single-threaded tests.
#include <set>

#include "harness.hpp"

namespace pgmux::itest {
namespace {

constexpr const char* kTlsDb = "pgmux_tls";

std::string cluster_ca() { return PgCluster::get().dir() + "/tls/ca.crt"; }

PgmuxConfig server_tls_config(const std::string& server_tls, const std::string& host = "") {
  PgmuxConfig config;
  config.databases = {{.name = kTlsDb, .host = host}, {.name = "pgmux_test", .host = host}};
  config.extra = server_tls;
  return config;
}

std::string mode_yaml(const std::string& mode, const std::string& ca = "") {
  return "server_tls:\n  mode: " + mode + "\n" + (ca.empty() ? "" : "  ca_file: " + ca + "\n");
}

// The error a client of `db` gets where pgmux cannot reach the server: at login (pgmux
// logs in to a server first to learn its settings) or at its first query; "" if none.
std::string first_error(const PgmuxProcess& pgmux, const std::string& db) {
  ConnectOutcome c = connect(pgmux.conninfo(db));
  if (!c.ok) return c.error;
  PgResult r = c.conn.exec("SELECT 1");
  return r.ok() ? "" : r.sqlstate() + " " + r.error();
}

// Whether the server connection serving `conn` uses TLS, as PostgreSQL sees it.
std::string server_ssl(PgConn& conn) {
  PgResult r = conn.exec("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
  EXPECT_TRUE(r.ok()) << r.error();
  return r.value();
}

// Through `pgmux` to `db`: "t" or "f" as server_ssl says, or the login's error.
std::string ssl_through(const PgmuxProcess& pgmux, const std::string& db) {
  ConnectOutcome c = connect(pgmux.conninfo(db));
  return c.ok ? server_ssl(c.conn) : c.error;
}

TEST(ServerTlsTest, TlsOnlyDatabaseIsRefusedWithoutServerTls) {
  PgmuxProcess pgmux(server_tls_config(""));
  ASSERT_TRUE(pgmux.start());
  EXPECT_PRED2(contains, first_error(pgmux, kTlsDb), "no encryption");
  EXPECT_EQ(ssl_through(pgmux, "pgmux_test"), "f");
}

TEST(ServerTlsTest, RequireServesTlsOnlyDatabase) {
  PgmuxProcess pgmux(server_tls_config(mode_yaml("require")));
  ASSERT_TRUE(pgmux.start());
  ConnectOutcome c = connect(pgmux.conninfo(kTlsDb));
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_EQ(server_ssl(c.conn), "t");
  // Megabytes both ways through the server's relay.
  std::string big(2'000'000, 'z');
  PgResult r = c.conn.exec_params("SELECT length($1), md5($1), repeat($1, 2)", {big});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value(0, 0), "2000000");
  EXPECT_EQ(r.value(0, 2).size(), 4'000'000u);
  EXPECT_EQ(r.value(0, 1), c.conn.exec("SELECT md5(repeat('z', 2000000))").value());
  EXPECT_EQ(ssl_through(pgmux, "pgmux_test"), "t");  // every database goes over TLS
}

TEST(ServerTlsTest, PreferUsesTlsWhereOffered) {
  PgmuxProcess pgmux(server_tls_config(mode_yaml("prefer")));
  ASSERT_TRUE(pgmux.start());
  EXPECT_EQ(ssl_through(pgmux, kTlsDb), "t");
}

TEST(ServerTlsTest, VerifyFullAcceptsTheClusterCertificate) {
  PgmuxProcess pgmux(server_tls_config(mode_yaml("verify-full", cluster_ca())));
  ASSERT_TRUE(pgmux.start());
  EXPECT_EQ(ssl_through(pgmux, kTlsDb), "t");
}

// The certificate names 127.0.0.1, not localhost: verify-full refuses it there, where
// verify-ca (which does not look at the name) takes it.
TEST(ServerTlsTest, VerifyFullRefusesAnotherHostName) {
  PgmuxProcess full(server_tls_config(mode_yaml("verify-full", cluster_ca()), "localhost"));
  ASSERT_TRUE(full.start());
  std::string error = first_error(full, kTlsDb);
  EXPECT_PRED2(contains, error, "08006");
  EXPECT_PRED2(contains, error, "TLS handshake failed");

  PgmuxProcess ca_only(server_tls_config(mode_yaml("verify-ca", cluster_ca()), "localhost"));
  ASSERT_TRUE(ca_only.start());
  EXPECT_EQ(ssl_through(ca_only, kTlsDb), "t");
}

// A CA that did not sign the server's certificate: the connection is refused, with why.
TEST(ServerTlsTest, VerifyCaRefusesAnUnknownSigner) {
  TempDir dir;
  std::string ca = dir.path() + "/other-ca.crt";
  CommandResult made =
      run_command({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                   "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=other-ca",
                   "-keyout", dir.path() + "/other-ca.key", "-out", ca});
  ASSERT_EQ(made.exit_code, 0) << made.describe();
  PgmuxProcess pgmux(server_tls_config(mode_yaml("verify-ca", ca)));
  ASSERT_TRUE(pgmux.start());
  std::string error = first_error(pgmux, kTlsDb);
  EXPECT_PRED2(contains, error, "08006");
  EXPECT_PRED2(contains, error, "certificate verify failed");
  EXPECT_TRUE(pgmux.running());
}

// Transactions of many clients on a pool of two, on two workers: the TLS server
// connections change hands and workers (their relays stay where they were opened).
TEST(ServerTlsTest, ServersMoveBetweenWorkersAndClients) {
  PgmuxConfig config = server_tls_config(mode_yaml("require"));
  config.pool_size = 2;
  config.workers = 2;
  PgmuxProcess pgmux(config);
  ASSERT_TRUE(pgmux.start());
  std::vector<PgConn> clients;
  for (int i = 0; i < 8; ++i) {
    ConnectOutcome c = connect(pgmux.conninfo(kTlsDb));
    ASSERT_TRUE(c.ok) << c.error;
    clients.push_back(std::move(c.conn));
  }
  std::set<std::string> pids;
  for (int round = 0; round < 20; ++round) {
    for (PgConn& conn : clients) {
      PgResult r = conn.exec(
          "SELECT pg_backend_pid(), ssl FROM pg_stat_ssl "
          "WHERE pid = pg_backend_pid()");
      ASSERT_TRUE(r.ok()) << r.error();
      EXPECT_EQ(r.value(0, 1), "t");
      pids.insert(r.value(0, 0));
    }
  }
  EXPECT_LE(pids.size(), 2u);
}

// PostgreSQL ends an idle server connection: pgmux finds it closed (through the relay)
// and the client's next query gets another one.
TEST(ServerTlsTest, TerminatedServerIsReplaced) {
  PgmuxProcess pgmux(
      server_tls_config(mode_yaml("require") + "admin:\n  admin_users: [" + kScramUser + "]\n"));
  ASSERT_TRUE(pgmux.start());
  ConnectOutcome c = connect(pgmux.conninfo(kTlsDb));
  ASSERT_TRUE(c.ok) << c.error;
  std::string pid = c.conn.exec("SELECT pg_backend_pid()").value();
  ASSERT_FALSE(pid.empty());
  PgResult killed = PgCluster::get().exec("postgres", "SELECT pg_terminate_backend(" + pid + ")");
  ASSERT_EQ(killed.value(), "t") << killed.error();
  ASSERT_TRUE(wait_until(
      [&] {
        return PgCluster::get()
                   .exec("postgres", "SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid)
                   .value() == "0";
      },
      5s));
  // Idle for more than half a second (SHOW POOLS says sv_used), a server is checked
  // before it is used again: through the relay, that check sees the closed connection.
  EXPECT_TRUE(wait_until([&] { return pools_column(pgmux, kTlsDb, "sv_used") == 1; }, 5s));
  PgResult r = c.conn.exec("SELECT pg_backend_pid()");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_NE(r.value(), pid);
  EXPECT_EQ(server_ssl(c.conn), "t");
}

// A cancel request reaches a query on a TLS server connection (pgmux sends it to the
// server on a connection of its own, without TLS, as libpq does).
TEST(ServerTlsTest, CancelReachesQueryOnTlsServer) {
  PgmuxProcess pgmux(server_tls_config(mode_yaml("verify-full", cluster_ca())));
  ASSERT_TRUE(pgmux.start());
  ConnectOutcome c = connect(pgmux.conninfo(kTlsDb));
  ASSERT_TRUE(c.ok) << c.error;
  PgResult r = sleep_and_cancel(c.conn, "server_tls_cancel");
  EXPECT_EQ(r.sqlstate(), "57014") << r.error();
  EXPECT_EQ(server_ssl(c.conn), "t");
}

TEST(ServerTlsTest, UnreadableCaFileIsAConfigError) {
  PgmuxConfig config = server_tls_config(mode_yaml("verify-ca", "/nonexistent/ca.crt"));
  config.port = free_port();
  TempDir dir;
  std::string path = dir.write("server_tls.yaml", config.yaml());
  CommandResult r = run_command({pgmux_bin(), "--check", "-c", path}, {}, 20s);
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_PRED2(contains, r.err, "server_tls.yaml:") << r.describe();
  EXPECT_PRED2(contains, r.err, "server_tls.ca_file") << r.describe();
  EXPECT_PRED2(contains, r.err, "/nonexistent/ca.crt") << r.describe();
}

}  // namespace
}  // namespace pgmux::itest
