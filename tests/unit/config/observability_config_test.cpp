// Unit tests for `metrics:`, `admin:`, `slow_query_threshold` and `log_query_literals`:
// defaults, accepted forms, and one test per kind of mistake (line, key, message).
#include <gtest/gtest.h>

#include "config_test_util.hpp"
#include "pgmux/config/config.hpp"

namespace pgmux::config {
namespace {

using namespace std::chrono_literals;
using testing::kMinimal;
using testing::parse_error;
using testing::parse_ok;

// kMinimal (lines 1-6: user "app", database "appdb") followed by `extra` from line 7.
std::string with(const std::string& extra) { return kMinimal + extra; }

TEST(ObservabilityConfigTest, Defaults) {
  Config c = parse_ok(kMinimal);
  EXPECT_TRUE(c.metrics.enabled);
  EXPECT_EQ(c.metrics.host, "127.0.0.1");
  EXPECT_EQ(c.metrics.port, 9127);
  EXPECT_EQ(c.admin.database, "pgmux");
  EXPECT_TRUE(c.admin.admin_users.empty());
  EXPECT_TRUE(c.admin.stats_users.empty());
  EXPECT_EQ(c.admin.audit_log, "");
  EXPECT_EQ(c.slow_query_threshold, 1s);
  EXPECT_FALSE(c.log_query_literals);
}

TEST(ObservabilityConfigTest, MetricsListen) {
  Config c = parse_ok(with("metrics:\n  listen: \"0.0.0.0:9200\"\n"));
  EXPECT_EQ(c.metrics.host, "0.0.0.0");
  EXPECT_EQ(c.metrics.port, 9200);
}

TEST(ObservabilityConfigTest, MetricsListenIpv6) {
  Config c = parse_ok(with("metrics:\n  listen: \"[::1]:9300\"\n"));
  EXPECT_EQ(c.metrics.host, "::1");
  EXPECT_EQ(c.metrics.port, 9300);
}

TEST(ObservabilityConfigTest, MetricsDisabled) {
  Config c = parse_ok(with("metrics:\n  enabled: false\n"));
  EXPECT_FALSE(c.metrics.enabled);
}

TEST(ObservabilityConfigTest, AdminSection) {
  Config c = parse_ok(
      "users:\n  app: {password: a}\n  ops: {password: b}\n  watch: {password: c}\n"
      "databases:\n  appdb: {host: h}\n"
      "admin:\n  database: console\n  admin_users: [ops]\n  stats_users: [watch, app]\n"
      "  audit_log: /var/log/pgmux/audit.log\n");
  EXPECT_EQ(c.admin.database, "console");
  EXPECT_EQ(c.admin.admin_users, std::vector<std::string>{"ops"});
  EXPECT_EQ(c.admin.stats_users, (std::vector<std::string>{"watch", "app"}));
  EXPECT_EQ(c.admin.audit_log, "/var/log/pgmux/audit.log");
}

TEST(ObservabilityConfigTest, SlowQueryThreshold) {
  EXPECT_EQ(parse_ok(with("slow_query_threshold: 250ms\n")).slow_query_threshold, 250ms);
  EXPECT_EQ(parse_ok(with("slow_query_threshold: 0\n")).slow_query_threshold, 0ms);
  EXPECT_EQ(parse_ok(with("slow_query_threshold: off\n")).slow_query_threshold, 0ms);
  EXPECT_TRUE(parse_ok(with("log_query_literals: true\n")).log_query_literals);
}

TEST(ObservabilityConfigErrorsTest, MetricsListenWithoutPort) {
  ConfigError e = parse_error(with("metrics:\n  listen: localhost\n"));
  EXPECT_EQ(e.line, 8);
  EXPECT_EQ(e.key, "metrics.listen");
  EXPECT_NE(e.message.find("expected \"host:port\""), std::string::npos) << e.message;
}

TEST(ObservabilityConfigErrorsTest, MetricsListenPortOutOfRange) {
  ConfigError e = parse_error(with("metrics:\n  listen: \"127.0.0.1:70000\"\n"));
  EXPECT_EQ(e.key, "metrics.listen");
}

TEST(ObservabilityConfigErrorsTest, MetricsUnknownKey) {
  ConfigError e = parse_error(with("metrics:\n  listne: \"127.0.0.1:1\"\n"));
  EXPECT_EQ(e.line, 8);
  EXPECT_EQ(e.key, "metrics.listne");
}

TEST(ObservabilityConfigErrorsTest, AdminUserNotInUsers) {
  ConfigError e = parse_error(with("admin:\n  admin_users: [app, nobody]\n"));
  EXPECT_EQ(e.line, 8);
  EXPECT_EQ(e.key, "admin.admin_users");
  EXPECT_NE(e.message.find("\"nobody\" is not a key of users:"), std::string::npos) << e.message;
}

TEST(ObservabilityConfigErrorsTest, StatsUserNotInUsers) {
  ConfigError e = parse_error(with("admin:\n  stats_users:\n    - ghost\n"));
  EXPECT_EQ(e.line, 9);
  EXPECT_EQ(e.key, "admin.stats_users");
}

TEST(ObservabilityConfigErrorsTest, AdminDatabaseClashesWithDatabase) {
  ConfigError e = parse_error(with("admin:\n  database: appdb\n"));
  EXPECT_EQ(e.line, 8);
  EXPECT_EQ(e.key, "admin.database");
}

TEST(ObservabilityConfigErrorsTest, AdminUsersNotAList) {
  ConfigError e = parse_error(with("admin:\n  admin_users: {a: b}\n"));
  EXPECT_EQ(e.key, "admin.admin_users");
}

TEST(ObservabilityConfigErrorsTest, SlowQueryThresholdNotADuration) {
  ConfigError e = parse_error(with("slow_query_threshold: soon\n"));
  EXPECT_EQ(e.line, 7);
  EXPECT_EQ(e.key, "slow_query_threshold");
}

TEST(ObservabilityConfigErrorsTest, LogQueryLiteralsNotABool) {
  ConfigError e = parse_error(with("log_query_literals: maybe\n"));
  EXPECT_EQ(e.key, "log_query_literals");
}

}  // namespace
}  // namespace pgmux::config
