// Unit tests for refused configurations: one test per kind of mistake, checking the
// reported file, line, key and message, and that no secret appears in the error.
#include "pgmux/config/config.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <gtest/gtest.h>

#include "config_test_util.hpp"

namespace pgmux::config {
namespace {

using testing::fake_env;
using testing::kMd5Hash;
using testing::kMinimal;
using testing::kScramSecret;
using testing::parse_error;

// kMinimal's user, with extra lines in its mapping.
std::string with_user(const std::string& user_lines) {
  return "users:\n  app:\n" + user_lines + "databases:\n  appdb:\n    host: h\n";
}

// kMinimal's database, with extra lines in its mapping (the first on line 6).
std::string with_database(const std::string& db_lines) { return kMinimal + db_lines; }

// --- ConfigError::to_string --------------------------------------------------------

TEST(ConfigErrorTest, ToStringHasAllParts) {
  ConfigError e{"pgmux.yaml", 12, "databases.appdb.pool_size", "must be between 1 and 10000, got 0"};
  EXPECT_EQ(e.to_string(),
            "pgmux.yaml:12: databases.appdb.pool_size: must be between 1 and 10000, got 0");
}

TEST(ConfigErrorTest, ToStringLeavesOutUnknownLine) {
  ConfigError e{"pgmux.yaml", 0, "users", "required key is missing"};
  EXPECT_EQ(e.to_string(), "pgmux.yaml: users: required key is missing");
}

TEST(ConfigErrorTest, ToStringLeavesOutEmptyKey) {
  ConfigError e{"pgmux.yaml", 3, "", "invalid YAML: end of map not found"};
  EXPECT_EQ(e.to_string(), "pgmux.yaml:3: invalid YAML: end of map not found");
}

TEST(ConfigErrorTest, ToStringLeavesOutEmptyFile) {
  ConfigError e{"", 0, "", "oops"};
  EXPECT_EQ(e.to_string(), "oops");
}

// --- Reading the file --------------------------------------------------------------

TEST(ConfigErrorsTest, MissingFile) {
  LoadResult result = load_config_file("/nonexistent/pgmux.yaml", fake_env());
  ASSERT_TRUE(std::holds_alternative<ConfigError>(result));
  const ConfigError& e = std::get<ConfigError>(result);
  EXPECT_EQ(e.file, "/nonexistent/pgmux.yaml");
  EXPECT_EQ(e.line, 0);
  EXPECT_NE(e.message.find(std::strerror(ENOENT)), std::string::npos) << e.message;
}

TEST(ConfigErrorsTest, DirectoryInsteadOfFile) {
  std::string dir = std::filesystem::temp_directory_path().string();
  LoadResult result = load_config_file(dir, fake_env());
  ASSERT_TRUE(std::holds_alternative<ConfigError>(result));
  const ConfigError& e = std::get<ConfigError>(result);
  EXPECT_EQ(e.line, 0);
  EXPECT_NE(e.message.find(std::strerror(EISDIR)), std::string::npos) << e.message;
}

// --- YAML structure ----------------------------------------------------------------

TEST(ConfigErrorsTest, YamlSyntaxError) {
  ConfigError e = parse_error("pool_size: 5\nlisten: [1, 2\nworkers: 2\n");
  EXPECT_EQ(e.file, "test.yaml");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.key, "");
  EXPECT_EQ(e.message.rfind("invalid YAML: ", 0), 0u) << e.message;
}

TEST(ConfigErrorsTest, BadIndentation) {
  ConfigError e = parse_error("listen:\n  host: a\n port: 1\n");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.message.rfind("invalid YAML: ", 0), 0u) << e.message;
}

TEST(ConfigErrorsTest, EmptyDocumentLacksUsers) {
  ConfigError e = parse_error("");
  EXPECT_EQ(e.key, "users");
  EXPECT_EQ(e.line, 0);
  EXPECT_NE(e.message.find("required key is missing"), std::string::npos);
}

TEST(ConfigErrorsTest, ScalarAtTopLevel) {
  ConfigError e = parse_error("just text\n");
  EXPECT_EQ(e.line, 1);
  EXPECT_EQ(e.message, "expected a mapping, got a scalar value");
}

TEST(ConfigErrorsTest, MultipleDocuments) {
  ConfigError e = parse_error(kMinimal + "---\n" + kMinimal);
  EXPECT_EQ(e.line, 8);
  EXPECT_EQ(e.message, "expected one YAML document, found 2");
}

TEST(ConfigErrorsTest, DuplicateTopLevelKey) {
  ConfigError e = parse_error("pool_size: 5\n" + kMinimal + "pool_size: 6\n");
  EXPECT_EQ(e.key, "pool_size");
  EXPECT_EQ(e.line, 8);
  EXPECT_EQ(e.message, "duplicate key (first defined on line 1)");
}

TEST(ConfigErrorsTest, DuplicateUser) {
  ConfigError e = parse_error(with_user("    password: a\n  app:\n    password: b\n"));
  EXPECT_EQ(e.key, "users.app");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.message, "duplicate key (first defined on line 2)");
}

TEST(ConfigErrorsTest, DuplicateDatabaseKey) {
  ConfigError e = parse_error(with_database("    host: other\n"));
  EXPECT_EQ(e.key, "databases.appdb.host");
  EXPECT_EQ(e.line, 7);
  EXPECT_EQ(e.message, "duplicate key (first defined on line 6)");
}

TEST(ConfigErrorsTest, DuplicatePasswordDoesNotShowIt) {
  ConfigError e = parse_error(with_user("    password: hunter2\n    password: hunter3\n"));
  EXPECT_EQ(e.key, "users.app.password");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.to_string().find("hunter"), std::string::npos) << e.to_string();
}

TEST(ConfigErrorsTest, SequenceAsKey) {
  ConfigError e = parse_error(kMinimal + "? [a, b]\n: 1\n");
  EXPECT_EQ(e.line, 7);
  EXPECT_EQ(e.message, "expected a key name, got a sequence");
}

// --- Unknown keys ------------------------------------------------------------------

TEST(ConfigErrorsTest, UnknownTopLevelKeySuggestsClosest) {
  ConfigError e = parse_error(kMinimal + "pool_sise: 5\n");
  EXPECT_EQ(e.key, "pool_sise");
  EXPECT_EQ(e.line, 7);
  EXPECT_EQ(e.message, "unknown key; did you mean \"pool_size\"?");
  EXPECT_EQ(e.to_string(), "test.yaml:7: pool_sise: unknown key; did you mean \"pool_size\"?");
}

TEST(ConfigErrorsTest, UnknownKeyFarFromAnyKnownKey) {
  ConfigError e = parse_error("frobnicate: 1\n" + kMinimal);
  EXPECT_EQ(e.key, "frobnicate");
  EXPECT_EQ(e.line, 1);
  EXPECT_EQ(e.message, "unknown key");
}

TEST(ConfigErrorsTest, UnknownListenKey) {
  ConfigError e = parse_error("listen:\n  host: a\n  prot: 1\n" + kMinimal);
  EXPECT_EQ(e.key, "listen.prot");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.message, "unknown key; did you mean \"port\"?");
}

TEST(ConfigErrorsTest, UnknownUserKey) {
  ConfigError e = parse_error(with_user("    pasword: hunter2\n"));
  EXPECT_EQ(e.key, "users.app.pasword");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.message, "unknown key; did you mean \"password\"?");
  EXPECT_EQ(e.to_string().find("hunter2"), std::string::npos);
}

TEST(ConfigErrorsTest, UnknownDatabaseKey) {
  ConfigError e = parse_error(with_database("    pool_szie: 3\n"));
  EXPECT_EQ(e.key, "databases.appdb.pool_szie");
  EXPECT_EQ(e.line, 7);
  EXPECT_EQ(e.message, "unknown key; did you mean \"pool_size\"?");
}

// --- Wrong types -------------------------------------------------------------------

TEST(ConfigErrorsTest, IntegerExpected) {
  ConfigError e = parse_error(kMinimal + "pool_size: abc\n");
  EXPECT_EQ(e.key, "pool_size");
  EXPECT_EQ(e.line, 7);
  EXPECT_EQ(e.message, "expected an integer, got \"abc\"");
}

TEST(ConfigErrorsTest, FractionalInteger) {
  ConfigError e = parse_error(kMinimal + "max_client_connections: 1.5\n");
  EXPECT_EQ(e.message, "expected an integer, got \"1.5\"");
}

TEST(ConfigErrorsTest, IntegerFromEnvShowsReference) {
  ConfigError e = parse_error(with_database("    port: ${PG_PORT}\n"), fake_env({{"PG_PORT", "abc"}}));
  EXPECT_EQ(e.key, "databases.appdb.port");
  EXPECT_EQ(e.line, 7);
  EXPECT_EQ(e.message, "expected an integer, got \"abc\" (from \"${PG_PORT}\")");
}

TEST(ConfigErrorsTest, MappingWhereScalarExpected) {
  ConfigError e = parse_error(kMinimal + "pool_size:\n  a: 1\n");
  EXPECT_EQ(e.key, "pool_size");
  EXPECT_EQ(e.line, 8);
  EXPECT_EQ(e.message, "expected an integer, got a mapping");
}

TEST(ConfigErrorsTest, SequenceWhereScalarExpected) {
  ConfigError e = parse_error(kMinimal + "server_reset_query: [a, b]\n");
  EXPECT_EQ(e.message, "expected a string, got a sequence");
}

TEST(ConfigErrorsTest, EmptyValueWhereScalarExpected) {
  ConfigError e = parse_error(kMinimal + "log_level:\n");
  EXPECT_EQ(e.key, "log_level");
  EXPECT_EQ(e.line, 7);
  EXPECT_EQ(e.message,
            "expected trace, debug, info, warn, error, critical or off, got an empty value");
}

TEST(ConfigErrorsTest, SequenceWhereMappingExpected) {
  ConfigError e = parse_error("listen: [a, b]\n" + kMinimal);
  EXPECT_EQ(e.key, "listen");
  EXPECT_EQ(e.line, 1);
  EXPECT_EQ(e.message, "expected a mapping, got a sequence");
}

TEST(ConfigErrorsTest, ScalarWhereMappingExpected) {
  ConfigError e = parse_error("users: {app: {password: x}}\ndatabases: appdb\n");
  EXPECT_EQ(e.key, "databases");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.message, "expected a mapping, got a scalar value");
}

TEST(ConfigErrorsTest, PasswordAsMapping) {
  ConfigError e = parse_error(with_user("    password: {a: 1}\n"));
  EXPECT_EQ(e.key, "users.app.password");
  EXPECT_EQ(e.message, "expected a string, got a mapping");
}

// --- Missing required keys ---------------------------------------------------------

TEST(ConfigErrorsTest, MissingUsers) {
  ConfigError e = parse_error("databases: {appdb: {host: h}}\n");
  EXPECT_EQ(e.key, "users");
  EXPECT_EQ(e.line, 0);
  EXPECT_EQ(e.to_string(),
            "test.yaml: users: required key is missing: at least one user is required");
}

TEST(ConfigErrorsTest, EmptyUsers) {
  ConfigError e = parse_error("users: {}\ndatabases: {appdb: {host: h}}\n");
  EXPECT_EQ(e.key, "users");
  EXPECT_EQ(e.line, 1);
  EXPECT_EQ(e.message, "at least one user is required");
}

TEST(ConfigErrorsTest, MissingDatabases) {
  ConfigError e = parse_error("users: {app: {password: x}}\n");
  EXPECT_EQ(e.key, "databases");
  EXPECT_EQ(e.message, "required key is missing: at least one database is required");
}

TEST(ConfigErrorsTest, EmptyDatabases) {
  ConfigError e = parse_error("users: {app: {password: x}}\ndatabases:\n");
  EXPECT_EQ(e.key, "databases");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.message, "at least one database is required");
}

TEST(ConfigErrorsTest, MissingDatabaseHost) {
  ConfigError e = parse_error("users: {app: {password: x}}\ndatabases:\n  appdb:\n    port: 5\n");
  EXPECT_EQ(e.key, "databases.appdb.host");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.message, "required key is missing");
}

TEST(ConfigErrorsTest, EmptyDatabaseHost) {
  ConfigError e = parse_error("users: {app: {password: x}}\ndatabases:\n  appdb:\n    host: ''\n");
  EXPECT_EQ(e.key, "databases.appdb.host");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.message, "must not be empty");
}

TEST(ConfigErrorsTest, MissingPassword) {
  ConfigError e = parse_error(with_user("    auth: md5\n"));
  EXPECT_EQ(e.key, "users.app.password");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.message, "required key is missing (only auth: trust users may omit it)");
}

TEST(ConfigErrorsTest, UserWithoutSettings) {
  ConfigError e = parse_error("users:\n  app:\ndatabases: {appdb: {host: h}}\n");
  EXPECT_EQ(e.key, "users.app.password");
  EXPECT_EQ(e.line, 2);
}

TEST(ConfigErrorsTest, EmptyPassword) {
  ConfigError e = parse_error(with_user("    password: ''\n"));
  EXPECT_EQ(e.key, "users.app.password");
  EXPECT_EQ(e.message, "must not be empty");
}

TEST(ConfigErrorsTest, PasswordFromEmptyEnvVariable) {
  ConfigError e = parse_error(with_user("    password: ${PW}\n"), fake_env({{"PW", ""}}));
  EXPECT_EQ(e.key, "users.app.password");
  EXPECT_EQ(e.message, "must not be empty");
}

// --- Impossible values -------------------------------------------------------------

TEST(ConfigErrorsTest, ListenPortZero) {
  ConfigError e = parse_error("listen:\n  port: 0\n" + kMinimal);
  EXPECT_EQ(e.key, "listen.port");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.message, "must be between 1 and 65535, got 0");
}

TEST(ConfigErrorsTest, DatabasePortTooLarge) {
  ConfigError e = parse_error(with_database("    port: 65536\n"));
  EXPECT_EQ(e.key, "databases.appdb.port");
  EXPECT_EQ(e.line, 7);
  EXPECT_EQ(e.message, "must be between 1 and 65535, got 65536");
}

TEST(ConfigErrorsTest, NegativePort) {
  ConfigError e = parse_error("listen: {port: -1}\n" + kMinimal);
  EXPECT_EQ(e.message, "must be between 1 and 65535, got -1");
}

TEST(ConfigErrorsTest, IntegerOverflow) {
  ConfigError e = parse_error(kMinimal + "pool_size: 99999999999999999999\n");
  EXPECT_EQ(e.message, "expected an integer, got \"99999999999999999999\"");
}

TEST(ConfigErrorsTest, PoolSizeZero) {
  ConfigError e = parse_error(kMinimal + "pool_size: 0\n");
  EXPECT_EQ(e.key, "pool_size");
  EXPECT_EQ(e.message, "must be between 1 and 10000, got 0");
}

TEST(ConfigErrorsTest, DatabasePoolSizeZero) {
  ConfigError e = parse_error(with_database("    pool_size: 0\n"));
  EXPECT_EQ(e.key, "databases.appdb.pool_size");
  EXPECT_EQ(e.message, "must be between 1 and 10000, got 0");
}

TEST(ConfigErrorsTest, MaxClientConnectionsZero) {
  ConfigError e = parse_error(kMinimal + "max_client_connections: 0\n");
  EXPECT_EQ(e.message, "must be between 1 and 1000000, got 0");
}

TEST(ConfigErrorsTest, MinPoolSizeAbovePoolSize) {
  ConfigError e = parse_error("pool_size: 4\nmin_pool_size: 5\n" + kMinimal);
  EXPECT_EQ(e.key, "min_pool_size");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.message, "must not exceed pool_size (5 > 4)");
}

TEST(ConfigErrorsTest, DatabaseMinPoolSizeAboveInheritedPoolSize) {
  ConfigError e = parse_error(with_database("    min_pool_size: 30\n"));
  EXPECT_EQ(e.key, "databases.appdb.min_pool_size");
  EXPECT_EQ(e.line, 7);
  EXPECT_EQ(e.message, "must not exceed pool_size (30 > 20)");
}

TEST(ConfigErrorsTest, DatabasePoolSizeBelowInheritedMinPoolSize) {
  ConfigError e = parse_error("min_pool_size: 5\n" + with_database("    pool_size: 3\n"));
  EXPECT_EQ(e.key, "databases.appdb.pool_size");
  EXPECT_EQ(e.line, 8);
  EXPECT_EQ(e.message, "must not be below min_pool_size (3 < 5)");
}

TEST(ConfigErrorsTest, WorkersZero) {
  ConfigError e = parse_error("workers: 0\n" + kMinimal);
  EXPECT_EQ(e.key, "workers");
  EXPECT_EQ(e.line, 1);
  EXPECT_EQ(e.message, "must be between 1 and 256, got 0");
}

TEST(ConfigErrorsTest, WorkersTooMany) {
  ConfigError e = parse_error("workers: 257\n" + kMinimal);
  EXPECT_EQ(e.message, "must be between 1 and 256, got 257");
}

TEST(ConfigErrorsTest, WorkersNeitherAutoNorInteger) {
  ConfigError e = parse_error("workers: many\n" + kMinimal);
  EXPECT_EQ(e.message, "expected \"auto\" or an integer, got \"many\"");
}

TEST(ConfigErrorsTest, NegativeDuration) {
  ConfigError e = parse_error(kMinimal + "server_lifetime: -5s\n");
  EXPECT_EQ(e.key, "server_lifetime");
  EXPECT_EQ(e.line, 7);
  EXPECT_EQ(e.message, "must be greater than zero, got \"-5s\"");
}

TEST(ConfigErrorsTest, ZeroDuration) {
  ConfigError e = parse_error(kMinimal + "query_wait_timeout: 0ms\n");
  EXPECT_EQ(e.key, "query_wait_timeout");
  EXPECT_EQ(e.message, "must be greater than zero, got \"0ms\"");
}

TEST(ConfigErrorsTest, DurationWithUnknownUnit) {
  ConfigError e = parse_error(kMinimal + "shutdown_timeout: 5 weeks\n");
  EXPECT_EQ(e.key, "shutdown_timeout");
  EXPECT_EQ(e.message,
            "expected a duration such as \"250ms\", \"5s\", \"2m\", \"1h\" or \"1d\", "
            "got \"5 weeks\"");
}

TEST(ConfigErrorsTest, UnknownPoolModeSuggestsClosest) {
  ConfigError e = parse_error(kMinimal + "pool_mode: transactoin\n");
  EXPECT_EQ(e.key, "pool_mode");
  EXPECT_EQ(e.line, 7);
  EXPECT_EQ(e.message,
            "expected session, transaction or statement, got \"transactoin\"; "
            "did you mean \"transaction\"?");
}

TEST(ConfigErrorsTest, UnknownDatabasePoolMode) {
  ConfigError e = parse_error(with_database("    pool_mode: batch\n"));
  EXPECT_EQ(e.key, "databases.appdb.pool_mode");
  EXPECT_EQ(e.message, "expected session, transaction or statement, got \"batch\"");
}

TEST(ConfigErrorsTest, UnknownAuthMethod) {
  ConfigError e = parse_error(with_user("    auth: password\n    password: x\n"));
  EXPECT_EQ(e.key, "users.app.auth");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.message, "expected scram-sha-256, md5 or trust, got \"password\"");
}

TEST(ConfigErrorsTest, UnknownLogLevel) {
  ConfigError e = parse_error("log_level: verbose\n" + kMinimal);
  EXPECT_EQ(e.key, "log_level");
  EXPECT_EQ(e.message,
            "expected trace, debug, info, warn, error, critical or off, got \"verbose\"");
}

TEST(ConfigErrorsTest, MessageSizeTooSmall) {
  ConfigError e = parse_error(kMinimal + "max_message_size: 1000\n");
  EXPECT_EQ(e.key, "max_message_size");
  EXPECT_EQ(e.message, "must be between 1kB and 1GB, got \"1000\"");
}

TEST(ConfigErrorsTest, MessageSizeTooLarge) {
  ConfigError e = parse_error(kMinimal + "max_message_size: 2GB\n");
  EXPECT_EQ(e.message, "must be between 1kB and 1GB, got \"2GB\"");
}

TEST(ConfigErrorsTest, MessageSizeWithUnknownUnit) {
  ConfigError e = parse_error(kMinimal + "max_message_size: 16 megs\n");
  EXPECT_EQ(e.message,
            "expected a size such as \"65536\", \"64kB\", \"16MB\" or \"1GB\", got \"16 megs\"");
}

// --- Passwords and secrets ---------------------------------------------------------

TEST(ConfigErrorsTest, Md5AuthWithScramSecret) {
  ConfigError e = parse_error(with_user("    auth: md5\n    password: '" + kScramSecret + "'\n"));
  EXPECT_EQ(e.key, "users.app.password");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.message, "md5 authentication needs a plain password or an md5 hash");
  EXPECT_EQ(e.to_string().find(kScramSecret), std::string::npos);
}

TEST(ConfigErrorsTest, ScramAuthWithMd5Hash) {
  ConfigError e = parse_error(with_user("    password: " + kMd5Hash + "\n"));
  EXPECT_EQ(e.key, "users.app.password");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.message, "scram-sha-256 authentication needs a plain password or a SCRAM secret");
  EXPECT_EQ(e.to_string().find(kMd5Hash), std::string::npos);
}

TEST(ConfigErrorsTest, MalformedScramSecretIsNotShown) {
  std::string bad = "SCRAM-SHA-256$4096:c2FsdA==$notbase64!!:alsobad";
  ConfigError e = parse_error(with_user("    password: '" + bad + "'\n"));
  EXPECT_EQ(e.key, "users.app.password");
  EXPECT_EQ(e.line, 3);
  EXPECT_NE(e.message.find("malformed SCRAM secret"), std::string::npos);
  EXPECT_EQ(e.to_string().find("notbase64"), std::string::npos) << e.to_string();
  EXPECT_EQ(e.to_string().find("c2FsdA"), std::string::npos) << e.to_string();
}

TEST(ConfigErrorsTest, ScramSecretWithZeroIterations) {
  std::string bad = kScramSecret;
  bad.replace(bad.find("4096"), 4, "0");
  ConfigError e = parse_error(with_user("    password: '" + bad + "'\n"));
  EXPECT_NE(e.message.find("malformed SCRAM secret"), std::string::npos);
}

TEST(ConfigErrorsTest, ScramSecretWithShortKey) {
  std::string bad = kScramSecret.substr(0, kScramSecret.rfind(':') + 1) + "AAAA";
  ConfigError e = parse_error(with_user("    password: '" + bad + "'\n"));
  EXPECT_NE(e.message.find("malformed SCRAM secret"), std::string::npos);
}

TEST(ConfigErrorsTest, ScramSecretWithoutKeys) {
  ConfigError e = parse_error(with_user("    password: 'SCRAM-SHA-256$4096:c2FsdA=='\n"));
  EXPECT_NE(e.message.find("malformed SCRAM secret"), std::string::npos);
}

// --- ${ENV} substitution -----------------------------------------------------------

TEST(ConfigErrorsTest, UnsetEnvVariable) {
  ConfigError e = parse_error(with_user("    password: ${APP_PASSWORD}\n"));
  EXPECT_EQ(e.key, "users.app.password");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.message, "environment variable APP_PASSWORD is not set");
}

TEST(ConfigErrorsTest, UnterminatedEnvReference) {
  ConfigError e = parse_error(with_user("    password: 'hunter2${APP'\n"));
  EXPECT_EQ(e.key, "users.app.password");
  EXPECT_NE(e.message.find("unterminated \"${\""), std::string::npos) << e.message;
  EXPECT_EQ(e.to_string().find("hunter2"), std::string::npos) << e.to_string();
}

TEST(ConfigErrorsTest, InvalidEnvName) {
  ConfigError e = parse_error(with_user("    password: 'x${hunter 2}y'\n"));
  EXPECT_EQ(e.message, "invalid environment variable name after \"${\"");
  EXPECT_EQ(e.to_string().find("hunter"), std::string::npos) << e.to_string();
}

TEST(ConfigErrorsTest, EmptyEnvName) {
  ConfigError e = parse_error(kMinimal + "server_reset_query: a${}b\n");
  EXPECT_EQ(e.key, "server_reset_query");
  EXPECT_EQ(e.message, "invalid environment variable name after \"${\"");
}

TEST(ConfigErrorsTest, EnvValueNeverShownForPassword) {
  ConfigError e = parse_error(with_user("    auth: md5\n    password: ${PW}\n"),
                              fake_env({{"PW", kScramSecret}}));
  EXPECT_EQ(e.message, "md5 authentication needs a plain password or an md5 hash");
  EXPECT_EQ(e.to_string().find("SCRAM-SHA-256$"), std::string::npos);
}

// --- Order ------------------------------------------------------------------------

TEST(ConfigErrorsTest, FirstErrorInFileOrderWins) {
  ConfigError e = parse_error("workers: 0\npool_size: 0\n" + kMinimal + "bogus: 1\n");
  EXPECT_EQ(e.key, "workers");
  EXPECT_EQ(e.line, 1);
}

TEST(ConfigErrorsTest, KeyErrorsComeBeforeMissingSections) {
  ConfigError e = parse_error("pool_size: 0\n");
  EXPECT_EQ(e.key, "pool_size");
}

}  // namespace

TEST(ConfigErrorsTest, TrackExtraParametersBadName) {
  ConfigError e = parse_error("track_extra_parameters: [search_path, \"bad name;\"]\n" +
                              std::string(kMinimal));
  EXPECT_EQ(e.line, 1);
  EXPECT_EQ(e.key, "track_extra_parameters");
  EXPECT_NE(e.message.find("not a parameter name"), std::string::npos) << e.message;
}

TEST(ConfigErrorsTest, TrackExtraParametersNested) {
  ConfigError e = parse_error("track_extra_parameters: [[a]]\n" + std::string(kMinimal));
  EXPECT_EQ(e.key, "track_extra_parameters");
}

TEST(ConfigErrorsTest, MaxPreparedStatementsNegative) {
  ConfigError e = parse_error("max_prepared_statements: -1\n" + std::string(kMinimal));
  EXPECT_EQ(e.line, 1);
  EXPECT_EQ(e.key, "max_prepared_statements");
}

}  // namespace pgmux::config
