// Checks that the example configurations shipped in conf/ load, with the environment
// variables they reference provided.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "config_test_util.hpp"
#include "pgmux/config/config.hpp"

namespace pgmux::config {
namespace {

using testing::fake_env;

std::string conf_path(const std::string& name) {
  return (std::filesystem::path(__FILE__).parent_path() / "../../../conf" / name)
      .lexically_normal()
      .string();
}

Config load_ok(const std::string& name, const EnvLookup& env) {
  LoadResult result = load_config_file(conf_path(name), env);
  if (const auto* error = std::get_if<ConfigError>(&result)) {
    ADD_FAILURE() << error->to_string();
    return Config{};
  }
  return std::get<Config>(std::move(result));
}

TEST(ExampleConfigsTest, PgmuxYamlLoads) {
  Config config = load_ok("pgmux.yaml", fake_env({{"APP_PASSWORD", "app-secret"},
                                                 {"APP_SERVER_PASSWORD", "server-secret"}}));
  EXPECT_EQ(config.listen.port, 6432);
  ASSERT_NE(config.find_user("app"), nullptr);
  EXPECT_EQ(config.find_user("app")->password, "app-secret");
  EXPECT_EQ(config.find_user("app")->server_password, "server-secret");
  ASSERT_NE(config.find_database("appdb"), nullptr);
  EXPECT_EQ(config.find_database("appdb")->dbname, "app");
}

TEST(ExampleConfigsTest, PgmuxYamlNeedsItsEnvironment) {
  LoadResult result = load_config_file(conf_path("pgmux.yaml"), fake_env());
  ASSERT_TRUE(std::holds_alternative<ConfigError>(result));
  EXPECT_EQ(std::get<ConfigError>(result).message,
            "environment variable APP_PASSWORD is not set");
}

TEST(ExampleConfigsTest, PgmuxYamlHealthCheckDefaults) {
  using namespace std::chrono_literals;
  Config config = load_ok("pgmux.yaml", fake_env({{"APP_PASSWORD", "app-secret"},
                                                 {"APP_SERVER_PASSWORD", "server-secret"}}));
  EXPECT_EQ(config.health_check.interval, 1s);
  EXPECT_EQ(config.health_check.timeout, 2s);
  EXPECT_EQ(config.health_check.user, "app");
  EXPECT_TRUE(config.find_database("appdb")->replicas.empty());
}

// pgmux.yaml ends with a commented-out database with replicas; with its "# " markers
// removed it must load too, so that the documentation stays true.
TEST(ExampleConfigsTest, PgmuxYamlReplicaExampleLoadsWhenUncommented) {
  std::ifstream file(conf_path("pgmux.yaml"));
  std::stringstream text;
  std::string line;
  bool in_example = false;
  while (std::getline(file, line)) {
    in_example = in_example || line == "  # reports:";
    if (in_example && line.rfind("  # ", 0) == 0) line = "  " + line.substr(4);
    text << line << "\n";
  }
  ASSERT_TRUE(in_example) << "no commented-out \"reports:\" database in pgmux.yaml";
  LoadResult result = parse_config(text.str(), "pgmux.yaml",
                                   fake_env({{"APP_PASSWORD", "a"}, {"APP_SERVER_PASSWORD", "s"}}));
  if (const auto* error = std::get_if<ConfigError>(&result)) FAIL() << error->to_string();
  const DatabaseConfig* db = std::get<Config>(result).find_database("reports");
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->host, "10.0.0.1");
  ASSERT_EQ(db->replicas.size(), 2u);
  EXPECT_EQ(db->replicas[1].weight, 2u);
  ASSERT_TRUE(db->routing.write_functions.has_value());
  EXPECT_EQ(db->routing.write_functions->size(), 5u);
  EXPECT_EQ(db->routing.extra_write_functions, std::vector<std::string>{"bump"});
  EXPECT_EQ(db->routing.max_replica_lag_bytes, 16u << 20);
  EXPECT_EQ(db->routing.read_your_writes, ReadYourWrites::kOff);
}

TEST(ExampleConfigsTest, ReplicasYamlLoads) {
  using namespace std::chrono_literals;
  Config config = load_ok("replicas.yaml", fake_env({{"APP_PASSWORD", "app-secret"},
                                                    {"MONITOR_PASSWORD", "monitor-secret"}}));
  EXPECT_EQ(config.pool_mode, PoolMode::kTransaction);
  EXPECT_EQ(config.health_check.user, "monitor");
  EXPECT_EQ(config.find_user("monitor")->server_password, "monitor-secret");
  EXPECT_EQ(config.find_user("app")->password, "app-secret");
  const DatabaseConfig* db = config.find_database("appdb");
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->dbname, "app");
  EXPECT_EQ(db->host, "10.0.0.1");
  EXPECT_EQ(db->port, 5432);
  ASSERT_EQ(db->replicas.size(), 2u);
  EXPECT_EQ(db->replicas[0].host, "10.0.0.2");
  EXPECT_EQ(db->replicas[0].weight, 1u);
  EXPECT_EQ(db->replicas[1].host, "10.0.0.3");
  EXPECT_EQ(db->replicas[1].weight, 2u);
  EXPECT_TRUE(db->routing.read_write_split);
  EXPECT_EQ(db->routing.max_replica_lag, 500ms);
  EXPECT_EQ(db->routing.max_replica_lag_bytes, 16u << 20);
  EXPECT_FALSE(db->routing.write_functions.has_value());
  EXPECT_EQ(db->routing.extra_write_functions,
            (std::vector<std::string>{"bump_counter", "audit_*"}));
  EXPECT_EQ(db->routing.read_your_writes, ReadYourWrites::kLsn);
}

TEST(ExampleConfigsTest, ReplicasYamlNeedsItsEnvironment) {
  LoadResult result =
      load_config_file(conf_path("replicas.yaml"), fake_env({{"APP_PASSWORD", "a"}}));
  ASSERT_TRUE(std::holds_alternative<ConfigError>(result));
  EXPECT_EQ(std::get<ConfigError>(result).message,
            "environment variable MONITOR_PASSWORD is not set");
}

TEST(ExampleConfigsTest, DemoYamlLoads) {
  Config config = load_ok("demo.yaml", fake_env({{"PGMUX_DEMO_PG_PORT", "54329"},
                                                {"PGMUX_DEMO_PASSWORD", "demo-secret"}}));
  EXPECT_EQ(config.listen.host, "127.0.0.1");
  EXPECT_EQ(config.listen.port, 6432);
  EXPECT_EQ(config.log_level, "info");
  EXPECT_EQ(config.pool_mode, PoolMode::kTransaction);
  EXPECT_EQ(config.pool_size, 5u);
  const UserConfig* user = config.find_user("demo");
  ASSERT_NE(user, nullptr);
  EXPECT_EQ(user->auth, AuthMethod::kScramSha256);
  EXPECT_EQ(user->password, "demo-secret");
  EXPECT_EQ(user->server_password, "demo-secret");
  const DatabaseConfig* db = config.find_database("demo");
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->host, "127.0.0.1");
  EXPECT_EQ(db->port, 54329);
  EXPECT_EQ(db->dbname, "demo");
  EXPECT_EQ(db->pool_size, 5u);
}

}  // namespace
}  // namespace pgmux::config
