// Unit tests for loading the read/write-splitting settings: primary, replicas,
// routing and health_check, with their defaults and overrides.
#include <gtest/gtest.h>

#include "config_test_util.hpp"
#include "pgmux/config/config.hpp"

namespace pgmux::config {
namespace {

using namespace std::chrono_literals;
using testing::fake_env;
using testing::kMd5Hash;
using testing::kMinimal;
using testing::kScramSecret;
using testing::parse_ok;

// One user "app" and a database "appdb" whose mapping is `db_lines`.
std::string with_db(const std::string& db_lines) {
  return "users:\n  app:\n    password: secret\ndatabases:\n  appdb:\n" + db_lines;
}

// A database "appdb" on host p with replicas r1 and r2, plus `db_lines`.
std::string with_replicas(const std::string& db_lines = "") {
  return with_db(
      "    host: p\n"
      "    replicas:\n"
      "      - {host: r1}\n"
      "      - {host: r2}\n" +
      db_lines);
}

// A copy of database "appdb" of `config`; an empty one (failing the test) when absent.
DatabaseConfig appdb(const Config& config) {
  const DatabaseConfig* db = config.find_database("appdb");
  if (db == nullptr) ADD_FAILURE() << "no database appdb";
  return db != nullptr ? *db : DatabaseConfig{};
}

// --- Defaults ----------------------------------------------------------------------

TEST(RoutingConfigTest, NoReplicasByDefault) {
  Config config = parse_ok(kMinimal);
  EXPECT_TRUE(appdb(config).replicas.empty());
  EXPECT_EQ(appdb(config).host, "db.example");
}

TEST(RoutingConfigTest, RoutingDefaults) {
  RoutingConfig r = appdb(parse_ok(with_replicas())).routing;
  EXPECT_TRUE(r.read_write_split);
  EXPECT_EQ(r.max_replica_lag, 1s);
  EXPECT_EQ(r.max_replica_lag_bytes, 0u);
  EXPECT_TRUE(r.fallback_to_primary);
  EXPECT_FALSE(r.strict);
  EXPECT_FALSE(r.write_functions.has_value());
  EXPECT_TRUE(r.extra_write_functions.empty());
  EXPECT_FALSE(r.read_only_functions.has_value());
  EXPECT_EQ(r.read_your_writes, ReadYourWrites::kOff);
  EXPECT_EQ(r.read_your_writes_window, 2s);
}

TEST(RoutingConfigTest, HealthCheckDefaults) {
  Config config = parse_ok(with_replicas());
  EXPECT_EQ(config.health_check.interval, 1s);
  EXPECT_EQ(config.health_check.timeout, 2s);
  EXPECT_EQ(config.health_check.user, "app");
}

// --- Primary -----------------------------------------------------------------------

TEST(RoutingConfigTest, PrimaryMappingEqualsHostAndPort) {
  DatabaseConfig flat = appdb(parse_ok(with_db("    host: p.example\n    port: 6000\n")));
  DatabaseConfig nested = appdb(parse_ok(with_db("    primary: {host: p.example, port: 6000}\n")));
  EXPECT_EQ(nested.host, "p.example");
  EXPECT_EQ(nested.port, 6000);
  EXPECT_EQ(nested.host, flat.host);
  EXPECT_EQ(nested.port, flat.port);
}

TEST(RoutingConfigTest, PrimaryPortDefaults) {
  DatabaseConfig db = appdb(parse_ok(with_db("    primary:\n      host: p\n")));
  EXPECT_EQ(db.host, "p");
  EXPECT_EQ(db.port, 5432);
}

TEST(RoutingConfigTest, PrimaryTakesEnvironment) {
  Config config = parse_ok(with_db("    primary: {host: '${PG_HOST}', port: '${PG_PORT}'}\n"),
                           fake_env({{"PG_HOST", "10.0.0.1"}, {"PG_PORT", "5433"}}));
  EXPECT_EQ(appdb(config).host, "10.0.0.1");
  EXPECT_EQ(appdb(config).port, 5433);
}

// --- Replicas ----------------------------------------------------------------------

TEST(RoutingConfigTest, ReplicasInFileOrderWithDefaults) {
  DatabaseConfig db = appdb(parse_ok(with_replicas()));
  ASSERT_EQ(db.replicas.size(), 2u);
  EXPECT_EQ(db.replicas[0].host, "r1");
  EXPECT_EQ(db.replicas[0].port, 5432);
  EXPECT_EQ(db.replicas[0].weight, 1u);
  EXPECT_EQ(db.replicas[1].host, "r2");
}

TEST(RoutingConfigTest, ReplicaPortsAndWeights) {
  DatabaseConfig db =
      appdb(parse_ok(with_db("    primary: {host: p}\n"
                             "    replicas:\n"
                             "      - host: r1\n"
                             "        port: 5433\n"
                             "        weight: 3\n"
                             "      - {host: r2, weight: 1000}\n"
                             "      - {host: p, port: 5434}\n")));
  ASSERT_EQ(db.replicas.size(), 3u);
  EXPECT_EQ(db.replicas[0].port, 5433);
  EXPECT_EQ(db.replicas[0].weight, 3u);
  EXPECT_EQ(db.replicas[1].port, 5432);
  EXPECT_EQ(db.replicas[1].weight, 1000u);
  EXPECT_EQ(db.replicas[2].host, "p");
  EXPECT_EQ(db.replicas[2].port, 5434);
}

TEST(RoutingConfigTest, EmptyReplicaSequence) {
  EXPECT_TRUE(appdb(parse_ok(with_db("    host: p\n    replicas: []\n"))).replicas.empty());
}

TEST(RoutingConfigTest, ReplicasWithoutValue) {
  EXPECT_TRUE(appdb(parse_ok(with_db("    host: p\n    replicas:\n"))).replicas.empty());
}

TEST(RoutingConfigTest, ReplicaTakesEnvironment) {
  Config config =
      parse_ok(with_db("    host: p\n    replicas:\n      - {host: '${R}', weight: '${W}'}\n"),
               fake_env({{"R", "10.0.0.2"}, {"W", "7"}}));
  ASSERT_EQ(appdb(config).replicas.size(), 1u);
  EXPECT_EQ(appdb(config).replicas[0].host, "10.0.0.2");
  EXPECT_EQ(appdb(config).replicas[0].weight, 7u);
}

TEST(RoutingConfigTest, SameReplicaHostOnAnotherDatabase) {
  Config config = parse_ok(
      "users: {app: {password: x}}\n"
      "databases:\n"
      "  a: {host: p, replicas: [{host: r}]}\n"
      "  b: {host: p, replicas: [{host: r}]}\n");
  EXPECT_EQ(config.find_database("b")->replicas.size(), 1u);
}

// --- Routing -----------------------------------------------------------------------

TEST(RoutingConfigTest, EveryRoutingKeyIsRead) {
  RoutingConfig r = appdb(parse_ok(with_replicas("    routing:\n"
                                                 "      read_write_split: false\n"
                                                 "      max_replica_lag: 250ms\n"
                                                 "      max_replica_lag_bytes: 16MB\n"
                                                 "      fallback_to_primary: no\n"
                                                 "      strict: on\n"
                                                 "      write_functions: [nextval, setval]\n"
                                                 "      extra_write_functions: [my_schema.bump]\n"
                                                 "      read_only_functions: [count, lower]\n"
                                                 "      read_your_writes: window\n"
                                                 "      read_your_writes_window: 5s\n")))
                        .routing;
  EXPECT_FALSE(r.read_write_split);
  EXPECT_EQ(r.max_replica_lag, 250ms);
  EXPECT_EQ(r.max_replica_lag_bytes, 16u << 20);
  EXPECT_FALSE(r.fallback_to_primary);
  EXPECT_TRUE(r.strict);
  EXPECT_EQ(r.write_functions, (std::vector<std::string>{"nextval", "setval"}));
  EXPECT_EQ(r.extra_write_functions, std::vector<std::string>{"bump"});
  EXPECT_EQ(r.read_only_functions, (std::vector<std::string>{"count", "lower"}));
  EXPECT_EQ(r.read_your_writes, ReadYourWrites::kWindow);
  EXPECT_EQ(r.read_your_writes_window, 5s);
}

TEST(RoutingConfigTest, ExtraWriteFunctionsLeaveBuiltInListInUse) {
  RoutingConfig r =
      appdb(parse_ok(with_replicas("    routing: {extra_write_functions: [audit_log, bump]}\n")))
          .routing;
  EXPECT_FALSE(r.write_functions.has_value());
  EXPECT_EQ(r.extra_write_functions, (std::vector<std::string>{"audit_log", "bump"}));
}

TEST(RoutingConfigTest, WriteFunctionsReplaceBuiltInList) {
  RoutingConfig r =
      appdb(parse_ok(with_replicas("    routing: {write_functions: [nextval]}\n"))).routing;
  ASSERT_TRUE(r.write_functions.has_value());
  EXPECT_EQ(*r.write_functions, std::vector<std::string>{"nextval"});
  EXPECT_TRUE(r.extra_write_functions.empty());
}

TEST(RoutingConfigTest, EmptyWriteFunctionsReplaceWithNothing) {
  RoutingConfig r = appdb(parse_ok(with_replicas("    routing: {write_functions: []}\n"))).routing;
  ASSERT_TRUE(r.write_functions.has_value());
  EXPECT_TRUE(r.write_functions->empty());
}

TEST(RoutingConfigTest, FunctionListsTakeWildcardsAndCommaSeparatedText) {
  RoutingConfig r =
      appdb(parse_ok(with_replicas("    routing:\n"
                                   "      write_functions: 'pg_advisory_*lock*, lo_*,nextval'\n"
                                   "      read_only_functions: ['*_count', lower]\n")))
          .routing;
  EXPECT_EQ(r.write_functions, (std::vector<std::string>{"pg_advisory_*lock*", "lo_*", "nextval"}));
  EXPECT_EQ(r.read_only_functions, (std::vector<std::string>{"*_count", "lower"}));
}

// Calls are classified by their unqualified name, so a qualifier in the list is dropped.
TEST(RoutingConfigTest, FunctionSchemaQualifierIsDropped) {
  RoutingConfig r = appdb(parse_ok(with_replicas(
                              "    routing:\n"
                              "      write_functions: [public.nextval]\n"
                              "      extra_write_functions: [my_schema.bump, 'audit_*.log_*']\n"
                              "      read_only_functions: [pg_catalog.lower, a.b.c]\n")))
                        .routing;
  EXPECT_EQ(r.write_functions, std::vector<std::string>{"nextval"});
  EXPECT_EQ(r.extra_write_functions, (std::vector<std::string>{"bump", "log_*"}));
  EXPECT_EQ(r.read_only_functions, (std::vector<std::string>{"lower", "c"}));
}

TEST(RoutingConfigTest, ReadYourWritesModes) {
  const std::pair<std::string, ReadYourWrites> cases[] = {{"off", ReadYourWrites::kOff},
                                                          {"window", ReadYourWrites::kWindow},
                                                          {"lsn", ReadYourWrites::kLsn}};
  for (const auto& [text, mode] : cases) {
    RoutingConfig r =
        appdb(parse_ok(with_replicas("    routing: {read_your_writes: " + text + "}\n"))).routing;
    EXPECT_EQ(r.read_your_writes, mode) << text;
  }
}

TEST(RoutingConfigTest, BooleanSpellings) {
  const std::pair<std::string, bool> cases[] = {
      {"true", true}, {"false", false}, {"on", true},    {"off", false},
      {"yes", true},  {"no", false},    {"True", true},  {"FALSE", false},
      {"On", true},   {"NO", false},    {"'yes'", true}, {"' off '", false}};
  for (const auto& [text, value] : cases) {
    RoutingConfig r =
        appdb(parse_ok(with_replicas("    routing: {strict: " + text + "}\n"))).routing;
    EXPECT_EQ(r.strict, value) << text;
  }
}

TEST(RoutingConfigTest, BooleanFromEnvironment) {
  Config config = parse_ok(with_replicas("    routing: {read_write_split: '${SPLIT}'}\n"),
                           fake_env({{"SPLIT", "off"}}));
  EXPECT_FALSE(appdb(config).routing.read_write_split);
}

TEST(RoutingConfigTest, ZeroLagBytesMeansNotChecked) {
  RoutingConfig r =
      appdb(parse_ok(with_replicas("    routing: {max_replica_lag_bytes: 0}\n"))).routing;
  EXPECT_EQ(r.max_replica_lag_bytes, 0u);
}

TEST(RoutingConfigTest, RoutingWithoutReplicasIsAccepted) {
  DatabaseConfig db = appdb(parse_ok(with_db("    host: p\n    routing: {strict: true}\n")));
  EXPECT_TRUE(db.replicas.empty());
  EXPECT_TRUE(db.routing.strict);
}

TEST(RoutingConfigTest, EmptyRoutingKeepsDefaults) {
  RoutingConfig r = appdb(parse_ok(with_replicas("    routing:\n"))).routing;
  EXPECT_TRUE(r.read_write_split);
  EXPECT_EQ(r.max_replica_lag, 1s);
}

// --- Health checks -----------------------------------------------------------------

TEST(RoutingConfigTest, EveryHealthCheckKeyIsRead) {
  Config config = parse_ok(
      "health_check:\n"
      "  interval: 500ms\n"
      "  timeout: 3s\n"
      "  user: monitor\n"
      "users:\n"
      "  app: {password: secret}\n"
      "  monitor: {auth: trust, server_password: mon}\n"
      "databases:\n"
      "  appdb: {host: p, replicas: [{host: r}]}\n");
  EXPECT_EQ(config.health_check.interval, 500ms);
  EXPECT_EQ(config.health_check.timeout, 3s);
  EXPECT_EQ(config.health_check.user, "monitor");
}

TEST(RoutingConfigTest, HealthCheckUserDefaultsToFirstInFileOrder) {
  // "zed" comes first in the file but last in name order.
  Config config = parse_ok(
      "users:\n"
      "  zed: {password: z}\n"
      "  alice: {password: a}\n"
      "databases:\n"
      "  appdb: {host: p, replicas: [{host: r}]}\n");
  EXPECT_EQ(config.health_check.user, "zed");
}

TEST(RoutingConfigTest, HealthCheckUserDefaultSkipsUsersWithoutServerPassword) {
  Config config = parse_ok(
      "users:\n"
      "  hashed: {auth: md5, password: " +
      kMd5Hash +
      "}\n"
      "  scram: {password: '" +
      kScramSecret +
      "'}\n"
      "  blank: {password: b, server_password: ''}\n"
      "  later: {password: l}\n"
      "databases:\n"
      "  appdb: {host: p, replicas: [{host: r}]}\n");
  EXPECT_EQ(config.health_check.user, "later");
}

TEST(RoutingConfigTest, NoHealthCheckUserNeededWithoutReplicas) {
  Config config =
      parse_ok("users: {app: {password: '" + kScramSecret + "'}}\ndatabases: {appdb: {host: p}}\n");
  EXPECT_EQ(config.health_check.user, "");
}

TEST(RoutingConfigTest, NamedHealthCheckUserWithoutReplicas) {
  Config config = parse_ok("health_check: {user: app}\n" + kMinimal);
  EXPECT_EQ(config.health_check.user, "app");
}

}  // namespace
}  // namespace pgmux::config
