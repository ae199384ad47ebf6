// TLS for client connections (`tls:`): libpq with sslmode verify-full, require, prefer and
// disable against each tls.mode; large messages both ways through the relay; cancel
// requests; broken and silent handshakes; SHOW CLIENTS; certificate reload; refused files.
// Certificates are made per test with the openssl command.
// Thread-safety: single-threaded tests.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>

#include "harness.hpp"
#include "metrics_util.hpp"

namespace pgmux::itest {
namespace {

// A self-signed certificate for 127.0.0.1 and localhost, and its key, in a temporary
// directory: the certificate is its own root for libpq's sslrootcert.
struct TestCert {
  explicit TestCert(const std::string& name = "pgmux-test") {
    cert = dir.path() + "/" + name + ".crt";
    key = dir.path() + "/" + name + ".key";
    CommandResult r = run_command(
        {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=" + name, "-addext",
         "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key, "-out", cert});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
  }
  TempDir dir;
  std::string cert;
  std::string key;
};

std::string tls_yaml(const std::string& mode, const TestCert& c) {
  return "tls:\n  mode: " + mode + "\n  cert_file: " + c.cert + "\n  key_file: " + c.key + "\n";
}

PgmuxConfig tls_config(const std::string& mode, const TestCert& c) {
  PgmuxConfig config;
  config.databases = {{.name = "pgmux_test"}};
  config.extra = tls_yaml(mode, c) + "admin:\n  admin_users: [" + kScramUser + "]\n";
  return config;
}

std::string verified(const PgmuxProcess& pgmux, const TestCert& root,
                     const std::string& db = "pgmux_test") {
  return pgmux.conninfo(db) + " sslmode=verify-full sslrootcert=" + root.cert;
}

std::string with_sslmode(const PgmuxProcess& pgmux, const std::string& sslmode) {
  return pgmux.conninfo("pgmux_test") + " sslmode=" + sslmode;
}

// SSLRequest: length 8, code 1234/5679.
const std::string kSslRequest("\0\0\0\x08\x04\xd2\x16\x2f", 8);

// A plain TCP connection to 127.0.0.1 driven byte by byte, every call bounded in time.
class RawTcp {
 public:
  explicit RawTcp(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawTcp() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return connected_; }
  bool send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  // One read: the bytes, "" at the end of the stream (or a reset), nullopt on timeout.
  std::optional<std::string> read(Millis timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  }
  // Sends an SSLRequest and reads the answer ("S" or "N"); "" when that failed.
  std::string ask_for_tls() {
    if (!connected_ || !send(kSslRequest)) return "";
    return read(5s).value_or("");
  }
  // Reads until the peer closes; false when it does not within `timeout`.
  bool wait_closed(Millis timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
      auto got = read(Millis(remaining_ms(deadline)));
      if (!got) return false;
      if (got->empty()) return true;
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

bool ssl_in_use(const PgConn& conn) { return PQsslInUse(conn.get()) == 1; }

// The tls column of SHOW CLIENTS for the client whose application_name is `app`.
std::string shown_tls(const PgmuxProcess& pgmux, const TestCert& root, const std::string& app) {
  ConnectOutcome admin = connect(verified(pgmux, root, "pgmux"));
  EXPECT_TRUE(admin.ok) << admin.error;
  if (!admin.ok) return "";
  PgResult r = admin.conn.exec("SHOW CLIENTS");
  EXPECT_TRUE(r.ok()) << r.error();
  int tls_col = PQfnumber(r.get(), "tls");
  int app_col = PQfnumber(r.get(), "application_name");
  EXPECT_GE(tls_col, 0);
  for (int row = 0; row < r.rows(); ++row) {
    if (r.value(row, app_col) == app) return r.value(row, tls_col);
  }
  ADD_FAILURE() << "no client with application_name " << app;
  return "";
}

TEST(TlsTest, RequireServesVerifiedClients) {
  TestCert c;
  PgmuxProcess pgmux(tls_config("require", c));
  ASSERT_TRUE(pgmux.start());
  ConnectOutcome client = connect(verified(pgmux, c) + " application_name=tls_client");
  ASSERT_TRUE(client.ok) << client.error;
  EXPECT_TRUE(ssl_in_use(client.conn));
  PgResult r = client.conn.exec("SELECT current_user, length(repeat('x', 3000000))");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value(0, 0), kScramUser);
  EXPECT_EQ(r.value(0, 1), "3000000");
  // Megabytes both ways: a large parameter in, a large value out.
  std::string big(2'000'000, 'y');
  r = client.conn.exec_params("SELECT length($1), md5($1), repeat($1, 2)", {big});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value(0, 0), "2000000");
  EXPECT_EQ(r.value(0, 2).size(), 4'000'000u);
  PgResult md5 = client.conn.exec("SELECT md5(repeat('y', 2000000))");
  EXPECT_EQ(r.value(0, 1), md5.value());
  EXPECT_EQ(shown_tls(pgmux, c, "tls_client").rfind("TLSv1.3/", 0), 0u);
}

TEST(TlsTest, RequireRefusesLoginsWithoutTls) {
  TestCert c;
  PgmuxProcess pgmux(tls_config("require", c));
  ASSERT_TRUE(pgmux.start());
  ConnectOutcome plain = connect(with_sslmode(pgmux, "disable"));
  EXPECT_FALSE(plain.ok);
  EXPECT_PRED2(contains, plain.error, "28000");
  EXPECT_PRED2(contains, plain.error, "requires TLS");
  EXPECT_PRED2(contains, pgmux.stderr_text(), "a login without TLS");
  // libpq's default (prefer) asks for TLS and gets it.
  ConnectOutcome preferred = connect(with_sslmode(pgmux, "prefer"));
  ASSERT_TRUE(preferred.ok) << preferred.error;
  EXPECT_TRUE(ssl_in_use(preferred.conn));
  EXPECT_EQ(preferred.conn.exec("SELECT 1").value(), "1");
}

// Completed handshakes and refused logins without TLS are counted; a failed handshake is
// not a completed one.
TEST(TlsTest, MetricsCountHandshakesAndRefusals) {
  TestCert c;
  PgmuxConfig config = tls_config("require", c);
  uint16_t metrics_port = free_port();
  config.extra += "metrics:\n  listen: \"127.0.0.1:" + std::to_string(metrics_port) + "\"\n";
  PgmuxProcess pgmux(config);
  ASSERT_TRUE(pgmux.start());
  auto count = [&](const std::string& name, const std::map<std::string, std::string>& labels) {
    return metrics_util::value_or(metrics_util::scrape(metrics_port), name, labels, 0).value_or(-1);
  };
  ConnectOutcome a = connect(verified(pgmux, c));
  ASSERT_TRUE(a.ok) << a.error;
  ConnectOutcome b = connect(with_sslmode(pgmux, "require"));
  ASSERT_TRUE(b.ok) << b.error;
  EXPECT_FALSE(connect(with_sslmode(pgmux, "disable")).ok);
  RawTcp broken(pgmux.port());
  ASSERT_EQ(broken.ask_for_tls(), "S");
  ASSERT_TRUE(broken.send(std::string(64, '\x16')));
  EXPECT_TRUE(broken.wait_closed(5s));
  EXPECT_EQ(count("pgmux_tls_handshakes_total", {}), 2);
  EXPECT_EQ(count("pgmux_client_connections_rejected_total", {{"reason", "tls_required"}}), 1);
}

TEST(TlsTest, AllowServesClientsWithAndWithoutTls) {
  TestCert c;
  PgmuxProcess pgmux(tls_config("allow", c));
  ASSERT_TRUE(pgmux.start());
  ConnectOutcome plain = connect(with_sslmode(pgmux, "disable") + " application_name=plain");
  ASSERT_TRUE(plain.ok) << plain.error;
  EXPECT_FALSE(ssl_in_use(plain.conn));
  ConnectOutcome required = connect(with_sslmode(pgmux, "require"));
  ASSERT_TRUE(required.ok) << required.error;
  EXPECT_TRUE(ssl_in_use(required.conn));
  for (PgConn* conn : {&plain.conn, &required.conn}) {
    PgResult r = conn->exec("SELECT count(*) FROM items");
    EXPECT_TRUE(r.ok()) << r.error();
  }
  EXPECT_EQ(shown_tls(pgmux, c, "plain"), "");
}

// libpq's channel_binding=require logs in only with SCRAM-SHA-256-PLUS, over TLS: pgmux
// offers it to TLS clients (binding to its certificate), and to no one else.
TEST(TlsTest, ScramChannelBindingOverTls) {
  TestCert c;
  PgmuxProcess pgmux(tls_config("allow", c));
  ASSERT_TRUE(pgmux.start());
  ConnectOutcome bound = connect(verified(pgmux, c) + " channel_binding=require");
  ASSERT_TRUE(bound.ok) << bound.error;
  EXPECT_EQ(bound.conn.exec("SELECT current_user").value(), kScramUser);
  ConnectOutcome plain = connect(with_sslmode(pgmux, "disable") + " channel_binding=require");
  EXPECT_FALSE(plain.ok);
  ConnectOutcome md5_user =
      connect(pgmux.conninfo("pgmux_test", kMd5User, kMd5Password) + " sslmode=require");
  ASSERT_TRUE(md5_user.ok) << md5_user.error;  // md5 over TLS: nothing to bind
}

TEST(TlsTest, OffAnswersSslRequestsNo) {
  PgmuxConfig config;
  config.databases = {{.name = "pgmux_test"}};
  PgmuxProcess pgmux(config);
  ASSERT_TRUE(pgmux.start());
  ConnectOutcome required = connect(with_sslmode(pgmux, "require"));
  EXPECT_FALSE(required.ok);
  EXPECT_PRED2(contains, required.error, "server does not support SSL");
  ConnectOutcome preferred = connect(with_sslmode(pgmux, "prefer"));
  ASSERT_TRUE(preferred.ok) << preferred.error;
  EXPECT_FALSE(ssl_in_use(preferred.conn));
}

// libpq 15 sends its cancel requests without TLS: require mode lets them through.
TEST(TlsTest, CancelReachesQueryOfTlsClient) {
  TestCert c;
  PgmuxProcess pgmux(tls_config("require", c));
  ASSERT_TRUE(pgmux.start());
  ConnectOutcome client = connect(verified(pgmux, c));
  ASSERT_TRUE(client.ok) << client.error;
  PgResult r = sleep_and_cancel(client.conn, "tls_cancel");
  EXPECT_EQ(r.sqlstate(), "57014") << r.error();
  EXPECT_EQ(client.conn.exec("SELECT 2").value(), "2");
}

// A client that answers 'S' with something other than a TLS handshake, and one that
// says nothing after it, are closed; the proxy and its other TLS clients go on.
TEST(TlsTest, BrokenAndSilentHandshakesAreClosed) {
  TestCert c;
  PgmuxConfig config = tls_config("require", c);
  config.extra += "client_login_timeout: 1s\n";
  PgmuxProcess pgmux(config);
  ASSERT_TRUE(pgmux.start());
  ConnectOutcome client = connect(verified(pgmux, c));
  ASSERT_TRUE(client.ok) << client.error;

  RawTcp broken(pgmux.port());
  ASSERT_EQ(broken.ask_for_tls(), "S");
  ASSERT_TRUE(broken.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(broken.wait_closed(5s));

  RawTcp silent(pgmux.port());
  ASSERT_EQ(silent.ask_for_tls(), "S");
  EXPECT_TRUE(silent.wait_closed(10s));  // client_login_timeout (1s) ends it

  // Plain bytes straight after the SSLRequest, before the answer, are refused.
  RawTcp early(pgmux.port());
  ASSERT_TRUE(early.connected());
  ASSERT_TRUE(early.send(kSslRequest + "\x16\x03\x01"));
  auto got = early.read(5s);
  ASSERT_TRUE(got.has_value());
  EXPECT_PRED2(contains, *got, "08P01");

  EXPECT_PRED2(contains, pgmux.stderr_text(), "TLS handshake failed");
  EXPECT_TRUE(pgmux.running());
  EXPECT_EQ(client.conn.exec("SELECT 3").value(), "3");
  ConnectOutcome next = connect(verified(pgmux, c));
  ASSERT_TRUE(next.ok) << next.error;
}

// A session that ends (here at client_login_timeout, the client having said nothing
// after the handshake) sends its last message through TLS, then TLS's close_notify.
TEST(TlsTest, SessionEndSendsCloseNotify) {
  TestCert c;
  PgmuxConfig config = tls_config("require", c);
  config.extra += "client_login_timeout: 1s\n";
  PgmuxProcess pgmux(config);
  ASSERT_TRUE(pgmux.start());
  CommandResult r =
      run_command({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(pgmux.port()),
                   "-starttls", "postgres", "-ign_eof", "-msg", "-CAfile", c.cert},
                  {}, 20s);
  EXPECT_FALSE(r.timed_out) << r.describe();
  EXPECT_PRED2(contains, r.out, "Verify return code: 0 (ok)") << r.describe();
  EXPECT_PRED2(contains, r.out, "canceling authentication due to timeout") << r.describe();
  EXPECT_PRED2(contains, r.out, "close_notify") << r.describe();
}

// A client leaving ends its session; the admin console sees it go.
TEST(TlsTest, SessionEndsWithItsClient) {
  TestCert c;
  PgmuxProcess pgmux(tls_config("require", c));
  ASSERT_TRUE(pgmux.start());
  auto clients_named = [&](const std::string& app) {
    ConnectOutcome admin = connect(verified(pgmux, c, "pgmux"));
    if (!admin.ok) return -1;
    PgResult r = admin.conn.exec("SHOW CLIENTS");
    int col = PQfnumber(r.get(), "application_name"), n = 0;
    for (int row = 0; row < r.rows(); ++row) n += r.value(row, col) == app;
    return n;
  };
  {
    ConnectOutcome a = connect(verified(pgmux, c) + " application_name=leaving");
    ASSERT_TRUE(a.ok) << a.error;
    ConnectOutcome b = connect(verified(pgmux, c) + " application_name=leaving");
    ASSERT_TRUE(b.ok) << b.error;
    EXPECT_EQ(clients_named("leaving"), 2);
    b.conn.kill_socket();  // without a Terminate or a close_notify
  }
  EXPECT_TRUE(wait_until([&] { return clients_named("leaving") == 0; }, 5s));
}

// RELOAD reads the files again: a new certificate serves new connections; a reload whose
// key file is broken is refused and changes nothing.
TEST(TlsTest, ReloadTakesRenewedCertificate) {
  TestCert old_cert("old");
  TestCert new_cert("new");
  TempDir live;
  std::string cert = live.path() + "/server.crt", key = live.path() + "/server.key";
  std::filesystem::copy_file(old_cert.cert, cert);
  std::filesystem::copy_file(old_cert.key, key);
  PgmuxConfig config;
  config.databases = {{.name = "pgmux_test"}};
  config.extra = "tls:\n  mode: require\n  cert_file: " + cert + "\n  key_file: " + key +
                 "\nadmin:\n  admin_users: [" + std::string(kScramUser) + "]\n";
  PgmuxProcess pgmux(config);
  ASSERT_TRUE(pgmux.start());
  ConnectOutcome admin = connect(verified(pgmux, old_cert, "pgmux"));
  ASSERT_TRUE(admin.ok) << admin.error;
  EXPECT_FALSE(connect(verified(pgmux, new_cert)).ok);

  auto overwrite = std::filesystem::copy_options::overwrite_existing;
  std::filesystem::copy_file(new_cert.cert, cert, overwrite);
  std::filesystem::copy_file(new_cert.key, key, overwrite);
  PgResult r = admin.conn.exec("RELOAD");
  ASSERT_TRUE(r.ok()) << r.error();
  ConnectOutcome renewed = connect(verified(pgmux, new_cert));
  ASSERT_TRUE(renewed.ok) << renewed.error;
  EXPECT_FALSE(connect(verified(pgmux, old_cert)).ok);
  EXPECT_TRUE(admin.conn.exec("SHOW VERSION").ok());  // the old connection goes on

  std::filesystem::copy_file(old_cert.key, key, overwrite);  // not the certificate's key
  r = admin.conn.exec("RELOAD");
  EXPECT_FALSE(r.ok());
  EXPECT_PRED2(contains, r.error(), "tls.key_file");
  EXPECT_PRED2(contains, r.error(), "does not match");
  ConnectOutcome still = connect(verified(pgmux, new_cert));
  EXPECT_TRUE(still.ok) << still.error;
}

// Files that cannot serve are a configuration error, at --check and at start.
TEST(TlsTest, UnusableFilesAreRefused) {
  TestCert c;
  TestCert other("other");
  auto refused = [&](const std::string& tls, const std::string& key, const std::string& why) {
    PgmuxConfig config;
    config.port = free_port();
    config.databases = {{.name = "pgmux_test"}};
    config.extra = tls;
    TempDir dir;
    std::string path = dir.write("tls.yaml", config.yaml());
    for (bool check : {true, false}) {
      std::vector<std::string> argv = {pgmux_bin(), "-c", path};
      if (check) argv.push_back("--check");
      CommandResult r = run_command(argv, {}, 20s);
      EXPECT_EQ(r.exit_code, 2) << r.describe();
      EXPECT_PRED2(contains, r.err, "tls.yaml:") << r.describe();
      EXPECT_PRED2(contains, r.err, key) << r.describe();
      EXPECT_PRED2(contains, r.err, why) << r.describe();
      EXPECT_FALSE(contains(r.err, "PRIVATE KEY")) << r.describe();
    }
    EXPECT_FALSE(tcp_connectable(config.port));
  };
  refused("tls:\n  mode: require\n  cert_file: " + c.dir.path() +
              "/missing.crt\n  key_file: " + c.key + "\n",
          "tls.cert_file", "missing.crt");
  refused("tls:\n  mode: require\n  cert_file: " + c.cert + "\n  key_file: " + c.cert + "\n",
          "tls.key_file", "cannot load a private key");
  refused("tls:\n  mode: allow\n  cert_file: " + c.cert + "\n  key_file: " + other.key + "\n",
          "tls.key_file", "does not match");
}

}  // namespace
}  // namespace pgmux::itest
