// The command line and configuration checking: --check, refusing a bad file with file:line and
// key, --version/--help, unknown options, ${VAR} substitution, a port already taken.
// Thread-safety: single-threaded tests.
#include "harness.hpp"

namespace pgmux::itest {
namespace {

// A valid config whose line 5 is `pool_size: <pool_size>` and line 9 `pool_mode: <db_mode>`.
std::string numbered_config(uint16_t port, const std::string& pool_size = "5",
                            const std::string& db_mode = "transaction",
                            const std::string& connect_timeout = "5s") {
  return "listen:\n"                                                 // 1
         "  host: 127.0.0.1\n"                                       // 2
         "  port: " + std::to_string(port) + "\n"                    // 3
         "pool_mode: transaction\n"                                  // 4
         "pool_size: " + pool_size + "\n"                            // 5
         "databases:\n"                                              // 6
         "  pgmux_test:\n"                                           // 7
         "    host: 127.0.0.1\n"                                     // 8
         "    pool_mode: " + db_mode + "\n"                          // 9
         "    port: " + std::to_string(PgCluster::get().port()) + "\n"  // 10
         "server_connect_timeout: " + connect_timeout + "\n"         // 11
         "users:\n"                                                  // 12
         "  pgmux_scram:\n"                                          // 13
         "    auth: scram-sha-256\n"                                 // 14
         "    password: scram_pw\n";                                 // 15
}

CommandResult check(const std::string& path) {
  return run_command({pgmux_bin(), "--check", "-c", path}, {}, 20s);
}

// --check exits 2 with one line "pgmux: FILE:LINE: KEY: MESSAGE".
void expect_refused(const std::string& yaml, int line, const std::string& key) {
  TempDir dir;
  std::string path = dir.write("bad.yaml", yaml);
  CommandResult r = check(path);
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_PRED2(contains, r.err, "bad.yaml:" + std::to_string(line) + ":") << r.describe();
  EXPECT_PRED2(contains, r.err, key) << r.describe();
  EXPECT_EQ(r.err.rfind("pgmux: ", 0), 0u) << r.describe();
}

TEST(ConfigTest, CheckAcceptsGoodConfig) {
  TempDir dir;
  std::string path = dir.write("good.yaml", numbered_config(free_port()));
  CommandResult r = check(path);
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_PRED2(contains, r.out, "configuration file " + path + " is valid") << r.describe();
}

TEST(ConfigTest, CheckRefusesBadPoolSize) {
  expect_refused(numbered_config(free_port(), "abc"), 5, "pool_size");
}

TEST(ConfigTest, CheckRefusesBadPoolModeInDatabase) {
  expect_refused(numbered_config(free_port(), "5", "sideways"), 9, "pool_mode");
}

TEST(ConfigTest, CheckRefusesBadDuration) {
  expect_refused(numbered_config(free_port(), "5", "transaction", "soon"), 11, "server_connect_timeout");
}

TEST(ConfigTest, RunRefusesBadConfigWithoutListening) {
  TempDir dir;
  uint16_t port = free_port();
  std::string path = dir.write("bad.yaml", numbered_config(port, "abc"));
  CommandResult r = run_command({pgmux_bin(), "-c", path}, {}, 20s);
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_PRED2(contains, r.err, "bad.yaml:5:") << r.describe();
  EXPECT_PRED2(contains, r.err, "pool_size") << r.describe();
  EXPECT_FALSE(contains(r.err, "listening on")) << r.describe();
  EXPECT_FALSE(tcp_connectable(port));
}

// The workers share their port through SO_REUSEPORT, which the kernel would also grant
// a second pgmux of the same user: it must refuse to start instead of silently taking
// part of the first one's connections.
TEST(ConfigTest, SecondInstanceOnTheSamePortIsRefused) {
  PgmuxConfig config;
  config.databases = {{.name = "pgmux_test"}};
  PgmuxProcess first(config);
  ASSERT_TRUE(first.start());
  PgmuxConfig same = config;
  same.port = first.port();
  TempDir dir;
  std::string path = dir.write("second.yaml", same.yaml());
  CommandResult r = run_command({pgmux_bin(), "-c", path}, {}, 20s);
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_PRED2(contains, r.err, "could not listen on 127.0.0.1:" + std::to_string(first.port()))
      << r.describe();
  EXPECT_PRED2(contains, r.err, "another process listens there") << r.describe();
  EXPECT_FALSE(contains(r.err, "listening on")) << r.describe();
  ASSERT_TRUE(first.running());
  for (int i = 0; i < 8; ++i) {  // spread over the kernel's choice of listener
    ConnectOutcome c = connect(first.conninfo("pgmux_test"));
    ASSERT_TRUE(c.ok) << c.error;
    EXPECT_EQ(c.conn.exec("SELECT 1").value(), "1");
  }
}

TEST(ConfigTest, VersionFlag) {
  CommandResult r = run_command({pgmux_bin(), "--version"}, {}, 10s);
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_PRED2(contains, r.out, "pgmux 0.1.0") << r.describe();
}

TEST(ConfigTest, HelpFlag) {
  CommandResult r = run_command({pgmux_bin(), "--help"}, {}, 10s);
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_PRED2(contains, r.out + r.err, "--check") << r.describe();
}

TEST(ConfigTest, UnknownOptionExitsTwo) {
  CommandResult r = run_command({pgmux_bin(), "--no-such-option"}, {}, 10s);
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_FALSE(r.err.empty()) << "usage should be printed on stderr";
}

TEST(ConfigTest, PasswordFromEnvironment) {
  PgmuxConfig config;
  config.users = std::string("users:\n  ") + kScramUser +
                 ":\n    auth: scram-sha-256\n    password: ${PGMUX_ITEST_SECRET}\n";
  config.databases = {{.name = "pgmux_test"}};
  PgmuxProcess pgmux(config, {{"PGMUX_ITEST_SECRET", kScramPassword}});
  ASSERT_TRUE(pgmux.start());
  ConnectOutcome c = connect(pgmux.conninfo("pgmux_test"));
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_EQ(c.conn.exec("SELECT 1").value(), "1");
  EXPECT_FALSE(contains(pgmux.stderr_text(), kScramPassword)) << "a secret was logged";
}

}  // namespace
}  // namespace pgmux::itest
