// Unit tests for loading valid configurations: values, defaults, inheritance,
// ${ENV} substitution, password classification and lookups.
#include "pgmux/config/config.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <unistd.h>

#include <gtest/gtest.h>

#include "config_test_util.hpp"

namespace pgmux::config {
namespace {

using namespace std::chrono_literals;
using testing::fake_env;
using testing::kMd5Hash;
using testing::kMinimal;
using testing::kScramSecret;
using testing::parse_ok;

TEST(ConfigTest, MinimalConfigTakesDefaults) {
  Config config = parse_ok(kMinimal);
  Config defaults;
  EXPECT_EQ(config.source_path, "test.yaml");
  EXPECT_EQ(config.listen.host, "127.0.0.1");
  EXPECT_EQ(config.listen.port, 6432);
  EXPECT_EQ(config.workers, defaults.workers);
  EXPECT_EQ(config.log_level, "info");
  EXPECT_EQ(config.max_client_connections, 10000u);
  EXPECT_EQ(config.max_message_size, 256u << 20);
  EXPECT_EQ(config.pool_mode, PoolMode::kTransaction);
  EXPECT_EQ(config.pool_size, 20u);
  EXPECT_EQ(config.min_pool_size, 0u);
  EXPECT_EQ(config.server_reset_query, "DISCARD ALL");
  EXPECT_EQ(config.client_login_timeout, 15s);
  EXPECT_EQ(config.server_connect_timeout, 5s);
  EXPECT_EQ(config.server_login_retry, 1s);
  EXPECT_EQ(config.server_idle_timeout, 10min);
  EXPECT_EQ(config.server_lifetime, 1h);
  EXPECT_EQ(config.query_wait_timeout, 2min);
  EXPECT_EQ(config.shutdown_timeout, 30s);
}

TEST(ConfigTest, MinimalUserAndDatabaseDefaults) {
  Config config = parse_ok(kMinimal);
  ASSERT_EQ(config.users.size(), 1u);
  const UserConfig& user = config.users.at("app");
  EXPECT_EQ(user.name, "app");
  EXPECT_EQ(user.auth, AuthMethod::kScramSha256);
  EXPECT_EQ(user.password, "secret");
  EXPECT_EQ(user.server_password, "secret");
  EXPECT_TRUE(user.scram_secret.empty());
  EXPECT_TRUE(user.md5_hash.empty());
  ASSERT_EQ(config.databases.size(), 1u);
  const DatabaseConfig& db = config.databases.at("appdb");
  EXPECT_EQ(db.name, "appdb");
  EXPECT_EQ(db.host, "db.example");
  EXPECT_EQ(db.port, 5432);
  EXPECT_EQ(db.dbname, "appdb");
  EXPECT_EQ(db.pool_mode, PoolMode::kTransaction);
  EXPECT_EQ(db.pool_size, 20u);
  EXPECT_EQ(db.min_pool_size, 0u);
}

TEST(ConfigTest, EveryTopLevelKeyIsRead) {
  Config config = parse_ok(
      "listen: {host: '::', port: 7000}\n"
      "workers: 3\n"
      "log_level: debug\n"
      "max_client_connections: 500\n"
      "max_message_size: 64kB\n"
      "pool_mode: session\n"
      "pool_size: 7\n"
      "min_pool_size: 2\n"
      "server_reset_query: ''\n"
      "client_login_timeout: 250ms\n"
      "server_connect_timeout: 3\n"
      "server_login_retry: 2s\n"
      "server_idle_timeout: 1m\n"
      "server_lifetime: 2h\n"
      "query_wait_timeout: 1d\n"
      "shutdown_timeout: 45s\n" +
      kMinimal);
  EXPECT_EQ(config.listen.host, "::");
  EXPECT_EQ(config.listen.port, 7000);
  EXPECT_EQ(config.workers, 3u);
  EXPECT_EQ(config.log_level, "debug");
  EXPECT_EQ(config.max_client_connections, 500u);
  EXPECT_EQ(config.max_message_size, 64u << 10);
  EXPECT_EQ(config.pool_mode, PoolMode::kSession);
  EXPECT_EQ(config.pool_size, 7u);
  EXPECT_EQ(config.min_pool_size, 2u);
  EXPECT_EQ(config.server_reset_query, "");
  EXPECT_EQ(config.client_login_timeout, 250ms);
  EXPECT_EQ(config.server_connect_timeout, 3s);
  EXPECT_EQ(config.server_login_retry, 2s);
  EXPECT_EQ(config.server_idle_timeout, 1min);
  EXPECT_EQ(config.server_lifetime, 2h);
  EXPECT_EQ(config.query_wait_timeout, 24h);
  EXPECT_EQ(config.shutdown_timeout, 45s);
}

TEST(ConfigTest, DatabaseInheritsTopLevelPoolSettingsWrittenAfterIt) {
  Config config = parse_ok(kMinimal + "pool_mode: statement\npool_size: 9\nmin_pool_size: 4\n");
  const DatabaseConfig& db = config.databases.at("appdb");
  EXPECT_EQ(db.pool_mode, PoolMode::kStatement);
  EXPECT_EQ(db.pool_size, 9u);
  EXPECT_EQ(db.min_pool_size, 4u);
}

TEST(ConfigTest, DatabaseOverridesPoolSettings) {
  Config config = parse_ok(
      "pool_size: 9\n"
      "users: {app: {password: secret}}\n"
      "databases:\n"
      "  appdb:\n"
      "    host: 10.0.0.1\n"
      "    port: 5433\n"
      "    dbname: app\n"
      "    pool_mode: session\n"
      "    pool_size: 3\n"
      "    min_pool_size: 1\n"
      "  other:\n"
      "    host: 10.0.0.2\n");
  const DatabaseConfig& db = config.databases.at("appdb");
  EXPECT_EQ(db.host, "10.0.0.1");
  EXPECT_EQ(db.port, 5433);
  EXPECT_EQ(db.dbname, "app");
  EXPECT_EQ(db.pool_mode, PoolMode::kSession);
  EXPECT_EQ(db.pool_size, 3u);
  EXPECT_EQ(db.min_pool_size, 1u);
  EXPECT_EQ(config.databases.at("other").pool_size, 9u);
  EXPECT_EQ(config.databases.at("other").pool_mode, PoolMode::kTransaction);
}

TEST(ConfigTest, WorkersAutoIsNumberOfCores) {
  Config config = parse_ok("workers: auto\n" + kMinimal);
  EXPECT_EQ(config.workers, std::max(1u, std::thread::hardware_concurrency()));
  EXPECT_GE(config.workers, 1u);
}

TEST(ConfigTest, EnvSubstitutedBeforeTypeConversion) {
  Config config = parse_ok("listen: {port: '${PORT}'}\n" + kMinimal +
                               "    port: ${PG_PORT}\n",
                           fake_env({{"PORT", "7001"}, {"PG_PORT", "5499"}}));
  EXPECT_EQ(config.listen.port, 7001);
  EXPECT_EQ(config.databases.at("appdb").port, 5499);
}

TEST(ConfigTest, EnvSeveralReferencesAndDollarEscape) {
  Config config = parse_ok(
      "server_reset_query: a${X}b${Y}c$$d$$$${Z}e\n" + kMinimal,
      fake_env({{"X", "1"}, {"Y", "2"}, {"Z", "unused"}}));
  EXPECT_EQ(config.server_reset_query, "a1b2c$d$${Z}e");
}

TEST(ConfigTest, EnvValueIsNotSubstitutedAgain) {
  Config config = parse_ok(
      "users: {app: {password: '${P}'}}\ndatabases: {appdb: {host: h}}\n",
      fake_env({{"P", "x${Y}$$"}}));
  EXPECT_EQ(config.users.at("app").password, "x${Y}$$");
}

TEST(ConfigTest, LoneDollarIsKept) {
  Config config = parse_ok(
      "users: {app: {password: 'pa$word$'}}\ndatabases: {appdb: {host: h}}\n");
  EXPECT_EQ(config.users.at("app").password, "pa$word$");
}

TEST(ConfigTest, ScramSecretIsClassified) {
  Config config = parse_ok("users: {app: {password: '" + kScramSecret +
                           "'}}\ndatabases: {appdb: {host: h}}\n");
  const UserConfig& user = config.users.at("app");
  EXPECT_EQ(user.scram_secret, kScramSecret);
  EXPECT_TRUE(user.password.empty());
  EXPECT_TRUE(user.md5_hash.empty());
  EXPECT_TRUE(user.server_password.empty());
}

TEST(ConfigTest, Md5HashIsClassified) {
  Config config = parse_ok("users: {app: {auth: md5, password: " + kMd5Hash +
                           "}}\ndatabases: {appdb: {host: h}}\n");
  const UserConfig& user = config.users.at("app");
  EXPECT_EQ(user.auth, AuthMethod::kMd5);
  EXPECT_EQ(user.md5_hash, kMd5Hash);
  EXPECT_TRUE(user.password.empty());
  EXPECT_TRUE(user.server_password.empty());
}

TEST(ConfigTest, Md5AuthAcceptsPlainPassword) {
  Config config = parse_ok("users: {app: {auth: md5, password: pw}}\ndatabases: {d: {host: h}}\n");
  EXPECT_EQ(config.users.at("app").password, "pw");
}

TEST(ConfigTest, UppercaseMd5LookalikeIsPlainPassword) {
  std::string upper = "md56A422F785C9E20873908CE25D1736AE2";
  Config config = parse_ok("users: {app: {password: " + upper + "}}\ndatabases: {d: {host: h}}\n");
  EXPECT_EQ(config.users.at("app").password, upper);
  EXPECT_TRUE(config.users.at("app").md5_hash.empty());
}

TEST(ConfigTest, ExplicitServerPasswordIsKept) {
  Config config = parse_ok(
      "users:\n"
      "  app: {password: '" + kScramSecret + "', server_password: '${SP}'}\n"
      "  bob: {password: pw, server_password: ''}\n"
      "databases: {d: {host: h}}\n",
      fake_env({{"SP", "server-side"}}));
  EXPECT_EQ(config.users.at("app").server_password, "server-side");
  EXPECT_EQ(config.users.at("bob").password, "pw");
  EXPECT_EQ(config.users.at("bob").server_password, "");
}

TEST(ConfigTest, TrustUserNeedsNoPassword) {
  Config config = parse_ok("users: {app: {auth: trust}}\ndatabases: {d: {host: h}}\n");
  const UserConfig& user = config.users.at("app");
  EXPECT_EQ(user.auth, AuthMethod::kTrust);
  EXPECT_TRUE(user.password.empty());
  EXPECT_TRUE(user.server_password.empty());
}

TEST(ConfigTest, TrustUserMayKeepServerPassword) {
  Config config = parse_ok("users: {app: {auth: trust, password: pw}}\ndatabases: {d: {host: h}}\n");
  EXPECT_EQ(config.users.at("app").server_password, "pw");
}

TEST(ConfigTest, TrustUserWithOnlyServerPassword) {
  Config config =
      parse_ok("users: {app: {auth: trust, server_password: s3}}\ndatabases: {d: {host: h}}\n");
  EXPECT_TRUE(config.users.at("app").password.empty());
  EXPECT_EQ(config.users.at("app").server_password, "s3");
}

TEST(ConfigTest, FindUserAndDatabase) {
  Config config = parse_ok(kMinimal);
  ASSERT_NE(config.find_user("app"), nullptr);
  EXPECT_EQ(config.find_user("app")->name, "app");
  EXPECT_EQ(config.find_user("nobody"), nullptr);
  ASSERT_NE(config.find_database("appdb"), nullptr);
  EXPECT_EQ(config.find_database("appdb")->host, "db.example");
  EXPECT_EQ(config.find_database("app"), nullptr);
}

TEST(ConfigTest, EnumNames) {
  EXPECT_EQ(to_string(PoolMode::kSession), "session");
  EXPECT_EQ(to_string(PoolMode::kTransaction), "transaction");
  EXPECT_EQ(to_string(PoolMode::kStatement), "statement");
  EXPECT_EQ(to_string(AuthMethod::kScramSha256), "scram-sha-256");
  EXPECT_EQ(to_string(AuthMethod::kMd5), "md5");
  EXPECT_EQ(to_string(AuthMethod::kTrust), "trust");
}

TEST(ConfigTest, ProcessEnvReadsEnvironment) {
  ::setenv("PGMUX_CONFIG_TEST_VAR", "42", 1);
  ::unsetenv("PGMUX_CONFIG_TEST_UNSET");
  EnvLookup env = process_env();
  EXPECT_EQ(env("PGMUX_CONFIG_TEST_VAR"), "42");
  EXPECT_EQ(env("PGMUX_CONFIG_TEST_UNSET"), std::nullopt);
}

TEST(ConfigTest, LoadConfigFileReadsFile) {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("pgmux_config_test_" + std::to_string(::getpid()));
  std::ofstream(path) << kMinimal;
  LoadResult result = load_config_file(path.string(), fake_env());
  std::filesystem::remove(path);
  ASSERT_TRUE(std::holds_alternative<Config>(result));
  EXPECT_EQ(std::get<Config>(result).source_path, path.string());
  EXPECT_EQ(std::get<Config>(result).users.at("app").password, "secret");
}

TEST(ConfigTest, EmptyEnvLookupMeansNothingIsSet) {
  Config config = parse_ok(kMinimal, EnvLookup{});
  EXPECT_EQ(config.users.size(), 1u);
}

}  // namespace

TEST(ConfigTest, PreparedStatementAndTrackingDefaults) {
  Config config = parse_ok(kMinimal);
  EXPECT_EQ(config.max_prepared_statements, 200u);
  EXPECT_EQ(config.track_extra_parameters,
            (std::vector<std::string>{"search_path", "statement_timeout", "lock_timeout",
                                      "idle_in_transaction_session_timeout", "role"}));
}

TEST(ConfigTest, TrackExtraParametersAsSequenceOrString) {
  Config a = parse_ok("track_extra_parameters: [search_path, work_mem]\n" + std::string(kMinimal));
  EXPECT_EQ(a.track_extra_parameters, (std::vector<std::string>{"search_path", "work_mem"}));
  Config b = parse_ok("track_extra_parameters: 'search_path, myapp.tenant'\n" + std::string(kMinimal));
  EXPECT_EQ(b.track_extra_parameters, (std::vector<std::string>{"search_path", "myapp.tenant"}));
  Config c = parse_ok("track_extra_parameters: []\n" + std::string(kMinimal));
  EXPECT_TRUE(c.track_extra_parameters.empty());
}

TEST(ConfigTest, MaxPreparedStatementsZeroTurnsRenamingOff) {
  Config config = parse_ok("max_prepared_statements: 0\n" + std::string(kMinimal));
  EXPECT_EQ(config.max_prepared_statements, 0u);
}

}  // namespace pgmux::config
