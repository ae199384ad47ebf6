// Client authentication through pgmux: SCRAM and md5 users, stored secrets, trust, and the
// errors for a wrong password, an unknown user and an unknown database (libpq and raw protocol).
// Thread-safety: single-threaded tests.
#include "harness.hpp"

namespace pgmux::itest {
namespace {

PgmuxConfig auth_config(std::string users = "") {
  PgmuxConfig config;
  config.users = std::move(users);
  config.databases = {{.name = "pgmux_test"}};
  return config;
}

std::string stored_secret(const std::string& role) {
  return PgCluster::get().exec("postgres", "SELECT rolpassword FROM pg_authid WHERE rolname = '" + role + "'").value();
}

// Connects and checks that the session runs as `user`.
void expect_login(const PgmuxProcess& pgmux, const std::string& user, const std::string& password) {
  ConnectOutcome c = connect(pgmux.conninfo("pgmux_test", user, password));
  ASSERT_TRUE(c.ok) << c.error;
  PgResult r = c.conn.exec("SELECT current_user, count(*) FROM items");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value(0, 0), user);
}

std::string failed_login(const PgmuxProcess& pgmux, const std::string& db, const std::string& user,
                         const std::string& password) {
  ConnectOutcome c = connect(pgmux.conninfo(db, user, password));
  EXPECT_FALSE(c.ok) << "login of " << user << " to " << db << " should have failed";
  return c.error;
}

// The fixture itself: the cluster asks for SCRAM for one role and md5 for the other.
TEST(AuthTest, ClusterStoresScramAndMd5Secrets) {
  EXPECT_EQ(stored_secret(kScramUser).rfind("SCRAM-SHA-256$", 0), 0u);
  EXPECT_EQ(stored_secret(kMd5User).rfind("md5", 0), 0u);
  EXPECT_EQ(stored_secret(kMd5User).size(), 35u);
  const PgCluster& cluster = PgCluster::get();
  EXPECT_TRUE(connect(cluster.tcp_conninfo("pgmux_test", kScramUser, kScramPassword)).ok);
  EXPECT_TRUE(connect(cluster.tcp_conninfo("pgmux_test", kMd5User, kMd5Password)).ok);
  EXPECT_FALSE(connect(cluster.tcp_conninfo("pgmux_test", kMd5User, "wrong")).ok);
}

TEST(AuthTest, ScramUserLogsIn) {
  PgmuxProcess pgmux(auth_config());
  ASSERT_TRUE(pgmux.start());
  expect_login(pgmux, kScramUser, kScramPassword);
}

TEST(AuthTest, Md5UserLogsIn) {
  PgmuxProcess pgmux(auth_config());
  ASSERT_TRUE(pgmux.start());
  expect_login(pgmux, kMd5User, kMd5Password);
}

// pgmux holds only the server's stored secrets for client auth, plain server_passwords for the server.
TEST(AuthTest, StoredSecretsInConfig) {
  std::string users = std::string("users:\n") +
      "  " + kScramUser + ":\n    auth: scram-sha-256\n    password: \"" + stored_secret(kScramUser) +
      "\"\n    server_password: " + kScramPassword + "\n" +
      "  " + kMd5User + ":\n    auth: md5\n    password: \"" + stored_secret(kMd5User) +
      "\"\n    server_password: " + kMd5Password + "\n";
  PgmuxProcess pgmux(auth_config(users));
  ASSERT_TRUE(pgmux.start());
  expect_login(pgmux, kScramUser, kScramPassword);
  expect_login(pgmux, kMd5User, kMd5Password);
  failed_login(pgmux, "pgmux_test", kScramUser, "wrong");
}

TEST(AuthTest, TrustUserNeedsNoPassword) {
  std::string users = std::string("users:\n  ") + kScramUser +
                      ":\n    auth: trust\n    server_password: " + kScramPassword + "\n";
  PgmuxProcess pgmux(auth_config(users));
  ASSERT_TRUE(pgmux.start());
  ConnectOutcome c = connect("host=127.0.0.1 port=" + std::to_string(pgmux.port()) +
                             " dbname=pgmux_test user=" + kScramUser + " connect_timeout=10");
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_EQ(c.conn.exec("SELECT current_user").value(), kScramUser);
}

TEST(AuthTest, WrongPasswordScramUser) {
  PgmuxProcess pgmux(auth_config());
  ASSERT_TRUE(pgmux.start());
  std::string error = failed_login(pgmux, "pgmux_test", kScramUser, "wrong");
  EXPECT_PRED2(contains, error, "FATAL");
  EXPECT_PRED2(contains, error, "28P01");
  EXPECT_PRED2(contains, error, "password authentication failed for user \"pgmux_scram\"");
}

TEST(AuthTest, WrongPasswordMd5User) {
  PgmuxProcess pgmux(auth_config());
  ASSERT_TRUE(pgmux.start());
  std::string error = failed_login(pgmux, "pgmux_test", kMd5User, "wrong");
  EXPECT_PRED2(contains, error, "FATAL");
  EXPECT_PRED2(contains, error, "28P01");
  EXPECT_PRED2(contains, error, "password authentication failed for user \"pgmux_md5\"");
}

// An unknown user must not be told apart from a wrong password.
TEST(AuthTest, UnknownUserLooksLikeWrongPassword) {
  PgmuxProcess pgmux(auth_config());
  ASSERT_TRUE(pgmux.start());
  std::string unknown = failed_login(pgmux, "pgmux_test", "nobody_here", "wrong");
  std::string wrong = failed_login(pgmux, "pgmux_test", kScramUser, "wrong");
  EXPECT_PRED2(contains, unknown, "28P01");
  EXPECT_PRED2(contains, unknown, "password authentication failed for user \"nobody_here\"");
  std::string normalized = wrong;
  normalized.replace(normalized.find(kScramUser), strlen(kScramUser), "nobody_here");
  EXPECT_EQ(unknown, normalized);
}

TEST(AuthTest, UnknownDatabase) {
  PgmuxProcess pgmux(auth_config());
  ASSERT_TRUE(pgmux.start());
  std::string error = failed_login(pgmux, "nope", kScramUser, kScramPassword);
  EXPECT_PRED2(contains, error, "FATAL");
  EXPECT_PRED2(contains, error, "3D000");
  EXPECT_PRED2(contains, error, "database \"nope\" does not exist");
}

// Raw protocol: a SCRAM exchange with a bogus ClientProof ends in ErrorResponse S=FATAL C=28P01.
TEST(AuthTest, RawWrongScramProof) {
  PgmuxProcess pgmux(auth_config());
  ASSERT_TRUE(pgmux.start());
  RawLoginOutcome r = raw_login_wrong_password(pgmux.port(), kScramUser, "pgmux_test");
  ASSERT_EQ(r.problem, "");
  EXPECT_FALSE(r.authenticated);
  EXPECT_EQ(r.auth_requests, (std::vector<int>{10, 11}));  // SASL, SASLContinue
  EXPECT_EQ(r.error_fields['S'], "FATAL");
  EXPECT_EQ(r.error_fields['C'], "28P01");
  EXPECT_EQ(r.error_fields['M'], "password authentication failed for user \"pgmux_scram\"");
}

TEST(AuthTest, RawWrongMd5Hash) {
  PgmuxProcess pgmux(auth_config());
  ASSERT_TRUE(pgmux.start());
  RawLoginOutcome r = raw_login_wrong_password(pgmux.port(), kMd5User, "pgmux_test");
  ASSERT_EQ(r.problem, "");
  EXPECT_FALSE(r.authenticated);
  EXPECT_EQ(r.auth_requests, (std::vector<int>{5}));  // MD5 password
  EXPECT_EQ(r.error_fields['S'], "FATAL");
  EXPECT_EQ(r.error_fields['C'], "28P01");
  EXPECT_EQ(r.error_fields['M'], "password authentication failed for user \"pgmux_md5\"");
}

TEST(AuthTest, RawUnknownUser) {
  PgmuxProcess pgmux(auth_config());
  ASSERT_TRUE(pgmux.start());
  RawLoginOutcome r = raw_login_wrong_password(pgmux.port(), "nobody_here", "pgmux_test");
  ASSERT_EQ(r.problem, "");
  EXPECT_FALSE(r.authenticated);
  EXPECT_EQ(r.error_fields['S'], "FATAL");
  EXPECT_EQ(r.error_fields['C'], "28P01");
  EXPECT_EQ(r.error_fields['M'], "password authentication failed for user \"nobody_here\"");
}

// client_login_timeout: a client that stops answering during its login is told why
// (FATAL 57014) and closed at its deadline, whether it sent nothing at all or stopped in
// the middle of SCRAM. One timer keeps all of a worker's login deadlines: a login that
// finishes in time, started while those two were pending, leaves their deadlines as
// they were and keeps its session past them; a login started after the timer ran out of
// deadlines arms it again.
TEST(AuthTest, LoginPastClientLoginTimeoutIsCanceledAtItsDeadline) {
  PgmuxConfig config = auth_config();
  config.workers = 1;  // every login below on the same worker's timer
  config.extra = "client_login_timeout: 1s\n";
  PgmuxProcess pgmux(config);
  ASSERT_TRUE(pgmux.start());
  const std::map<std::string, std::string> startup = {{"user", kScramUser},
                                                      {"database", "pgmux_test"}};
  auto expect_timed_out = [](RawConn& conn, const char* who) {
    std::optional<RawMessage> m = conn.read(10s);
    ASSERT_TRUE(m.has_value()) << who << ": no message before the connection ended";
    ASSERT_EQ(m->type, 'E') << who;
    auto fields = error_fields(m->body);
    EXPECT_EQ(fields['S'], "FATAL") << who;
    EXPECT_EQ(fields['C'], "57014") << who;
    EXPECT_EQ(fields['M'], "canceling authentication due to timeout") << who;
    EXPECT_FALSE(conn.read(5s).has_value()) << who;
    EXPECT_TRUE(conn.closed()) << who << ": still open after the error";
  };

  const auto started = Clock::now();
  RawConn silent;  // connects and sends nothing
  ASSERT_TRUE(silent.connect(pgmux.port())) << silent.problem();
  RawConn mid_scram;  // sends its StartupMessage, then nothing after the SASL request
  ASSERT_TRUE(mid_scram.connect(pgmux.port())) << mid_scram.problem();
  ASSERT_TRUE(mid_scram.send_startup(startup));
  std::optional<RawMessage> sasl = mid_scram.read(10s);
  ASSERT_TRUE(sasl.has_value());
  ASSERT_EQ(sasl->type, 'R');

  ConnectOutcome in_time = connect(pgmux.conninfo("pgmux_test", kScramUser, kScramPassword));
  ASSERT_TRUE(in_time.ok) << in_time.error;

  expect_timed_out(silent, "silent client");
  expect_timed_out(mid_scram, "client stopped in SCRAM");
  EXPECT_GE(Clock::now() - started, 900ms) << "canceled before client_login_timeout";
  PgResult r = in_time.conn.exec("SELECT 1");
  EXPECT_TRUE(r.ok()) << "a session logged in before the deadline: " << r.error();

  RawConn later;  // the timer had no deadline left: this one arms it again
  ASSERT_TRUE(later.connect(pgmux.port())) << later.problem();
  expect_timed_out(later, "client connected after the others timed out");
}

}  // namespace
}  // namespace pgmux::itest
