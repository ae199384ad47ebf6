// Checks that the example configurations shipped in conf/ load, with the environment
// variables they reference provided.
#include <filesystem>

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
