// Unit tests for refused read/write-splitting settings: one test per kind of mistake
// in primary, replicas, routing and health_check, checking line, key and message.
#include <gtest/gtest.h>

#include "config_test_util.hpp"
#include "pgmux/config/config.hpp"

namespace pgmux::config {
namespace {

using testing::fake_env;
using testing::kMinimal;
using testing::kScramSecret;
using testing::parse_error;

// One user "app" and a database "appdb" whose mapping is `db_lines` (from line 6).
std::string with_db(const std::string& db_lines) {
  return "users:\n  app:\n    password: secret\ndatabases:\n  appdb:\n" + db_lines;
}

// A database on host p with replicas r1 (line 8) and r2 (line 9), then `db_lines`
// (from line 10).
std::string with_replicas(const std::string& db_lines) {
  return with_db("    host: p\n    replicas:\n      - {host: r1}\n      - {host: r2}\n" + db_lines);
}

// --- Primary -----------------------------------------------------------------------

TEST(RoutingConfigErrorsTest, HostAndPrimaryBoth) {
  ConfigError e = parse_error(with_db("    host: a\n    primary: {host: b}\n"));
  EXPECT_EQ(e.line, 7);
  EXPECT_EQ(e.key, "databases.appdb.primary");
  EXPECT_EQ(e.message, "host and primary both given");
}

TEST(RoutingConfigErrorsTest, PrimaryThenHost) {
  ConfigError e = parse_error(with_db("    primary: {host: b}\n    host: a\n"));
  EXPECT_EQ(e.line, 7);
  EXPECT_EQ(e.key, "databases.appdb.host");
  EXPECT_EQ(e.message, "host and primary both given");
}

TEST(RoutingConfigErrorsTest, PortAndPrimaryBoth) {
  ConfigError e = parse_error(with_db("    primary: {host: b}\n    port: 5433\n"));
  EXPECT_EQ(e.line, 7);
  EXPECT_EQ(e.key, "databases.appdb.port");
  EXPECT_EQ(e.message, "port and primary both given");
}

TEST(RoutingConfigErrorsTest, PrimaryWithoutHost) {
  ConfigError e = parse_error(with_db("    primary:\n      port: 5433\n"));
  EXPECT_EQ(e.line, 6);
  EXPECT_EQ(e.key, "databases.appdb.primary.host");
  EXPECT_EQ(e.message, "required key is missing");
}

TEST(RoutingConfigErrorsTest, PrimaryNotAMapping) {
  ConfigError e = parse_error(with_db("    primary: db.example\n"));
  EXPECT_EQ(e.line, 6);
  EXPECT_EQ(e.key, "databases.appdb.primary");
  EXPECT_EQ(e.message, "expected a mapping, got a scalar value");
}

TEST(RoutingConfigErrorsTest, PrimaryUnknownKey) {
  ConfigError e = parse_error(with_db("    primary:\n      host: a\n      prot: 1\n"));
  EXPECT_EQ(e.line, 8);
  EXPECT_EQ(e.key, "databases.appdb.primary.prot");
  EXPECT_EQ(e.message, "unknown key; did you mean \"port\"?");
}

TEST(RoutingConfigErrorsTest, PrimaryBadPort) {
  ConfigError e = parse_error(with_db("    primary: {host: a, port: 0}\n"));
  EXPECT_EQ(e.key, "databases.appdb.primary.port");
  EXPECT_EQ(e.message, "must be between 1 and 65535, got 0");
}

TEST(RoutingConfigErrorsTest, DatabaseKeyTypoSuggestsReplicas) {
  ConfigError e = parse_error(with_db("    host: p\n    replica: []\n"));
  EXPECT_EQ(e.line, 7);
  EXPECT_EQ(e.message, "unknown key; did you mean \"replicas\"?");
}

// --- Replicas ----------------------------------------------------------------------

TEST(RoutingConfigErrorsTest, ReplicasNotASequence) {
  ConfigError e = parse_error(with_db("    host: p\n    replicas:\n      host: r\n"));
  EXPECT_EQ(e.line, 8);
  EXPECT_EQ(e.key, "databases.appdb.replicas");
  EXPECT_EQ(e.message, "expected a sequence of mappings, got a mapping");
}

TEST(RoutingConfigErrorsTest, ReplicasScalar) {
  ConfigError e = parse_error(with_db("    host: p\n    replicas: r1\n"));
  EXPECT_EQ(e.line, 7);
  EXPECT_EQ(e.message, "expected a sequence of mappings, got a scalar value");
}

TEST(RoutingConfigErrorsTest, ReplicaNotAMapping) {
  ConfigError e =
      parse_error(with_db("    host: p\n    replicas:\n      - {host: r1}\n      - r2\n"));
  EXPECT_EQ(e.line, 9);
  EXPECT_EQ(e.key, "databases.appdb.replicas[1]");
  EXPECT_EQ(e.message, "expected a mapping, got a scalar value");
}

TEST(RoutingConfigErrorsTest, ReplicaWithoutHost) {
  ConfigError e = parse_error(
      with_db("    host: p\n    replicas:\n      - {host: r1}\n      - {port: 5433}\n"));
  EXPECT_EQ(e.line, 9);
  EXPECT_EQ(e.key, "databases.appdb.replicas[1].host");
  EXPECT_EQ(e.message, "required key is missing");
}

TEST(RoutingConfigErrorsTest, ReplicaBlockWithoutHost) {
  ConfigError e = parse_error(with_db(
      "    host: p\n    replicas:\n      - host: r1\n      - port: 5433\n        weight: 2\n"));
  EXPECT_EQ(e.line, 9);
  EXPECT_EQ(e.key, "databases.appdb.replicas[1].host");
}

TEST(RoutingConfigErrorsTest, ReplicaEmptyHost) {
  ConfigError e = parse_error(with_db("    host: p\n    replicas: [{host: ''}]\n"));
  EXPECT_EQ(e.line, 7);
  EXPECT_EQ(e.key, "databases.appdb.replicas[0].host");
  EXPECT_EQ(e.message, "must not be empty");
}

TEST(RoutingConfigErrorsTest, ReplicaWeightZero) {
  ConfigError e = parse_error(
      with_db("    host: p\n    replicas:\n      - {host: r1}\n      - {host: r2, weight: 0}\n"));
  EXPECT_EQ(e.line, 9);
  EXPECT_EQ(e.key, "databases.appdb.replicas[1].weight");
  EXPECT_EQ(e.message, "must be between 1 and 1000, got 0");
}

TEST(RoutingConfigErrorsTest, ReplicaWeightTooLarge) {
  ConfigError e = parse_error(with_db("    host: p\n    replicas: [{host: r, weight: 1001}]\n"));
  EXPECT_EQ(e.key, "databases.appdb.replicas[0].weight");
  EXPECT_EQ(e.message, "must be between 1 and 1000, got 1001");
}

TEST(RoutingConfigErrorsTest, ReplicaWeightNotANumber) {
  ConfigError e = parse_error(with_db("    host: p\n    replicas: [{host: r, weight: heavy}]\n"));
  EXPECT_EQ(e.key, "databases.appdb.replicas[0].weight");
  EXPECT_EQ(e.message, "expected an integer, got \"heavy\"");
}

TEST(RoutingConfigErrorsTest, ReplicaBadPort) {
  ConfigError e = parse_error(with_db("    host: p\n    replicas: [{host: r, port: 70000}]\n"));
  EXPECT_EQ(e.key, "databases.appdb.replicas[0].port");
  EXPECT_EQ(e.message, "must be between 1 and 65535, got 70000");
}

TEST(RoutingConfigErrorsTest, ReplicaUnknownKey) {
  ConfigError e =
      parse_error(with_db("    host: p\n    replicas:\n      - host: r1\n        wieght: 2\n"));
  EXPECT_EQ(e.line, 9);
  EXPECT_EQ(e.key, "databases.appdb.replicas[0].wieght");
  EXPECT_EQ(e.message, "unknown key; did you mean \"weight\"?");
}

TEST(RoutingConfigErrorsTest, ReplicaIsThePrimary) {
  ConfigError e =
      parse_error(with_db("    primary: {host: p, port: 5433}\n    replicas:\n      - {host: r1}\n"
                          "      - {host: p, port: 5433}\n"));
  EXPECT_EQ(e.line, 9);
  EXPECT_EQ(e.key, "databases.appdb.replicas[1]");
  EXPECT_EQ(e.message, "replica p:5433 is the primary");
}

TEST(RoutingConfigErrorsTest, ReplicaListedTwice) {
  ConfigError e =
      parse_error(with_db("    host: p\n    replicas:\n      - {host: r1}\n      - {host: r2}\n"
                          "      - {host: r1, port: 5432}\n"));
  EXPECT_EQ(e.line, 10);
  EXPECT_EQ(e.key, "databases.appdb.replicas[2]");
  EXPECT_EQ(e.message, "replica r1:5432 is listed twice (first on line 8)");
}

TEST(RoutingConfigErrorsTest, ReplicaEnvironmentVariableUnset) {
  ConfigError e = parse_error(with_db("    host: p\n    replicas: [{host: '${REPLICA}'}]\n"));
  EXPECT_EQ(e.key, "databases.appdb.replicas[0].host");
  EXPECT_EQ(e.message, "environment variable REPLICA is not set");
}

// --- Routing -----------------------------------------------------------------------

TEST(RoutingConfigErrorsTest, RoutingNotAMapping) {
  ConfigError e = parse_error(with_replicas("    routing: [strict]\n"));
  EXPECT_EQ(e.line, 10);
  EXPECT_EQ(e.key, "databases.appdb.routing");
  EXPECT_EQ(e.message, "expected a mapping, got a sequence");
}

TEST(RoutingConfigErrorsTest, RoutingUnknownKey) {
  ConfigError e = parse_error(with_replicas("    routing:\n      stirct: true\n"));
  EXPECT_EQ(e.line, 11);
  EXPECT_EQ(e.key, "databases.appdb.routing.stirct");
  EXPECT_EQ(e.message, "unknown key; did you mean \"strict\"?");
}

TEST(RoutingConfigErrorsTest, RoutingDuplicateKey) {
  ConfigError e = parse_error(with_replicas("    routing:\n      strict: on\n      strict: off\n"));
  EXPECT_EQ(e.line, 12);
  EXPECT_EQ(e.message, "duplicate key (first defined on line 11)");
}

TEST(RoutingConfigErrorsTest, ReadYourWritesUnknownValue) {
  ConfigError e = parse_error(with_replicas("    routing:\n      read_your_writes: windw\n"));
  EXPECT_EQ(e.line, 11);
  EXPECT_EQ(e.key, "databases.appdb.routing.read_your_writes");
  EXPECT_EQ(e.message, "expected off, window or lsn, got \"windw\"; did you mean \"window\"?");
}

TEST(RoutingConfigErrorsTest, ReadYourWritesBoolean) {
  ConfigError e = parse_error(with_replicas("    routing: {read_your_writes: true}\n"));
  EXPECT_EQ(e.key, "databases.appdb.routing.read_your_writes");
  EXPECT_EQ(e.message, "expected off, window or lsn, got \"true\"");
}

TEST(RoutingConfigErrorsTest, BoolNotABool) {
  ConfigError e = parse_error(with_replicas("    routing:\n      strict: maybe\n"));
  EXPECT_EQ(e.line, 11);
  EXPECT_EQ(e.key, "databases.appdb.routing.strict");
  EXPECT_EQ(e.message, "expected a boolean (true or false), got \"maybe\"");
}

TEST(RoutingConfigErrorsTest, BoolNumber) {
  ConfigError e = parse_error(with_replicas("    routing: {fallback_to_primary: 1}\n"));
  EXPECT_EQ(e.key, "databases.appdb.routing.fallback_to_primary");
  EXPECT_EQ(e.message, "expected a boolean (true or false), got \"1\"");
}

TEST(RoutingConfigErrorsTest, BoolFromEnvironmentNotABool) {
  ConfigError e = parse_error(with_replicas("    routing: {read_write_split: '${SPLIT}'}\n"),
                              fake_env({{"SPLIT", "sometimes"}}));
  EXPECT_EQ(e.message, "expected a boolean (true or false), got \"sometimes\" (from \"${SPLIT}\")");
}

TEST(RoutingConfigErrorsTest, BoolMapping) {
  ConfigError e = parse_error(with_replicas("    routing: {strict: {a: 1}}\n"));
  EXPECT_EQ(e.message, "expected a boolean (true or false), got a mapping");
}

TEST(RoutingConfigErrorsTest, MaxReplicaLagZero) {
  ConfigError e = parse_error(with_replicas("    routing: {max_replica_lag: 0s}\n"));
  EXPECT_EQ(e.key, "databases.appdb.routing.max_replica_lag");
  EXPECT_EQ(e.message, "must be greater than zero, got \"0s\"");
}

TEST(RoutingConfigErrorsTest, ReadYourWritesWindowNegative) {
  ConfigError e = parse_error(with_replicas("    routing: {read_your_writes_window: -2s}\n"));
  EXPECT_EQ(e.key, "databases.appdb.routing.read_your_writes_window");
  EXPECT_EQ(e.message, "must be greater than zero, got \"-2s\"");
}

TEST(RoutingConfigErrorsTest, MaxReplicaLagBytesNotASize) {
  ConfigError e = parse_error(with_replicas("    routing: {max_replica_lag_bytes: lots}\n"));
  EXPECT_EQ(e.key, "databases.appdb.routing.max_replica_lag_bytes");
  EXPECT_EQ(e.message.rfind("expected a size such as", 0), 0u) << e.message;
}

TEST(RoutingConfigErrorsTest, MaxReplicaLagBytesTooLarge) {
  ConfigError e = parse_error(with_replicas("    routing: {max_replica_lag_bytes: 2TB}\n"));
  EXPECT_EQ(e.message, "must be between 0B and 1TB, got \"2TB\"");
}

TEST(RoutingConfigErrorsTest, FunctionNameWithSemicolon) {
  ConfigError e =
      parse_error(with_replicas("    routing:\n      write_functions: [nextval, 'f;drop']\n"));
  EXPECT_EQ(e.line, 11);
  EXPECT_EQ(e.key, "databases.appdb.routing.write_functions");
  EXPECT_EQ(e.message,
            "\"f;drop\" is not a function name (letters, digits, '_', '.' and '*' wildcards)");
}

TEST(RoutingConfigErrorsTest, FunctionNameWithSpace) {
  ConfigError e =
      parse_error(with_replicas("    routing: {read_only_functions: 'count, my func'}\n"));
  EXPECT_EQ(e.key, "databases.appdb.routing.read_only_functions");
  EXPECT_EQ(e.message.rfind("\"my func\" is not a function name", 0), 0u) << e.message;
}

TEST(RoutingConfigErrorsTest, FunctionNameLeadingDot) {
  ConfigError e = parse_error(with_replicas("    routing: {extra_write_functions: [.bump]}\n"));
  EXPECT_EQ(e.key, "databases.appdb.routing.extra_write_functions");
  EXPECT_EQ(e.message.rfind("\".bump\" is not a function name", 0), 0u) << e.message;
}

TEST(RoutingConfigErrorsTest, FunctionNameDoubleDot) {
  ConfigError e = parse_error(with_replicas("    routing: {extra_write_functions: [a..b]}\n"));
  EXPECT_EQ(e.message.rfind("\"a..b\" is not a function name", 0), 0u) << e.message;
}

TEST(RoutingConfigErrorsTest, FunctionListNested) {
  ConfigError e = parse_error(with_replicas("    routing: {write_functions: [[nextval]]}\n"));
  EXPECT_EQ(e.key, "databases.appdb.routing.write_functions");
  EXPECT_EQ(e.message, "expected a list of names, but an item is a sequence");
}

TEST(RoutingConfigErrorsTest, ParameterListRefusesWildcard) {
  ConfigError e = parse_error("track_extra_parameters: ['search_*']\n" + kMinimal);
  EXPECT_EQ(e.key, "track_extra_parameters");
  EXPECT_EQ(e.message, "\"search_*\" is not a parameter name");
}

// --- Health checks -----------------------------------------------------------------

TEST(RoutingConfigErrorsTest, HealthCheckNotAMapping) {
  ConfigError e = parse_error("health_check: 1s\n" + kMinimal);
  EXPECT_EQ(e.line, 1);
  EXPECT_EQ(e.key, "health_check");
  EXPECT_EQ(e.message, "expected a mapping, got a scalar value");
}

TEST(RoutingConfigErrorsTest, HealthCheckUnknownKey) {
  ConfigError e = parse_error("health_check:\n  intervall: 1s\n" + kMinimal);
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.key, "health_check.intervall");
  EXPECT_EQ(e.message, "unknown key; did you mean \"interval\"?");
}

TEST(RoutingConfigErrorsTest, HealthCheckIntervalZero) {
  ConfigError e = parse_error("health_check:\n  interval: 0\n" + kMinimal);
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.key, "health_check.interval");
  EXPECT_EQ(e.message, "must be greater than zero, got \"0\"");
}

TEST(RoutingConfigErrorsTest, HealthCheckTimeoutNotADuration) {
  ConfigError e = parse_error("health_check: {timeout: soon}\n" + kMinimal);
  EXPECT_EQ(e.key, "health_check.timeout");
  EXPECT_EQ(e.message.rfind("expected a duration such as", 0), 0u) << e.message;
}

TEST(RoutingConfigErrorsTest, HealthCheckUserEmpty) {
  ConfigError e = parse_error("health_check: {user: ''}\n" + kMinimal);
  EXPECT_EQ(e.key, "health_check.user");
  EXPECT_EQ(e.message, "must not be empty");
}

TEST(RoutingConfigErrorsTest, HealthCheckUserUnknown) {
  ConfigError e = parse_error(kMinimal + "health_check:\n  user: ap\n");
  EXPECT_EQ(e.line, 8);
  EXPECT_EQ(e.key, "health_check.user");
  EXPECT_EQ(e.message, "unknown user \"ap\"; did you mean \"app\"?");
}

TEST(RoutingConfigErrorsTest, HealthCheckUserUnknownFarFromAny) {
  ConfigError e = parse_error("health_check: {user: monitoring}\n" + kMinimal);
  EXPECT_EQ(e.line, 1);
  EXPECT_EQ(e.message, "unknown user \"monitoring\"");
}

TEST(RoutingConfigErrorsTest, HealthCheckUserWithoutServerPassword) {
  ConfigError e = parse_error(
      "health_check:\n"
      "  user: viewer\n"
      "users:\n"
      "  app: {password: secret}\n"
      "  viewer: {password: '" +
      kScramSecret +
      "'}\n"
      "databases:\n"
      "  appdb: {host: p, replicas: [{host: r}]}\n");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.key, "health_check.user");
  EXPECT_EQ(e.message,
            "user \"viewer\" has no server password to log in with (set "
            "users.viewer.server_password)");
}

TEST(RoutingConfigErrorsTest, NoHealthCheckUserForReplicas) {
  ConfigError e = parse_error(
      "users:\n"
      "  app: {password: '" +
      kScramSecret +
      "'}\n"
      "  ops: {auth: trust}\n"
      "databases:\n"
      "  plain: {host: p}\n"
      "  split:\n"
      "    host: p\n"
      "    replicas:\n"
      "      - {host: r}\n");
  EXPECT_EQ(e.line, 8);
  EXPECT_EQ(e.key, "databases.split.replicas");
  EXPECT_EQ(e.message,
            "health checks of replicas need a user with a server password, and no user has one "
            "(set a server_password, or name a user in health_check.user)");
}

}  // namespace
}  // namespace pgmux::config
