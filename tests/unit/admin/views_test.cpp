// Tests for the admin console's SHOW tables and the SHOW STATS averaging period.
// Single-threaded.
#include "pgmux/admin/views.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace pgmux::admin {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> names(const Table& t) {
  std::vector<std::string> out;
  for (const Column& c : t.columns) out.push_back(c.name);
  return out;
}

// The value in `row` under column `name` ("<null>" for NULL); fails on a bad name.
std::string cell(const Table& t, size_t row, std::string_view name) {
  for (size_t i = 0; i < t.columns.size(); ++i) {
    if (t.columns[i].name != name) continue;
    EXPECT_LT(row, t.rows.size());
    if (row >= t.rows.size()) return "<no row>";
    EXPECT_EQ(t.rows[row].size(), t.columns.size());
    const auto& v = t.rows[row].at(i);
    return v ? *v : "<null>";
  }
  ADD_FAILURE() << "no column " << name;
  return "";
}

void expect_rectangular(const Table& t) {
  for (const auto& row : t.rows) EXPECT_EQ(row.size(), t.columns.size());
}

metrics::PoolSnapshot pool(std::string database, std::string user, uint64_t xacts) {
  metrics::PoolSnapshot p;
  p.database = std::move(database);
  p.user = std::move(user);
  p.node = "10.0.0.1:5432";
  p.role = "primary";
  p.pool_mode = "transaction";
  p.totals.transactions = xacts;
  return p;
}

TEST(PoolsTable, PgBouncerColumnsFirstInOrder) {
  const std::vector<std::string> expected = {"database",
                                             "user",
                                             "cl_active",
                                             "cl_waiting",
                                             "cl_active_cancel_req",
                                             "cl_waiting_cancel_req",
                                             "sv_active",
                                             "sv_active_cancel",
                                             "sv_being_canceled",
                                             "sv_idle",
                                             "sv_used",
                                             "sv_tested",
                                             "sv_login",
                                             "maxwait",
                                             "maxwait_us",
                                             "pool_mode",
                                             "node",
                                             "role",
                                             "pool_size",
                                             "paused"};
  EXPECT_EQ(names(pools_table({})), expected);
}

TEST(PoolsTable, RowValues) {
  metrics::PoolSnapshot p = pool("appdb", "app", 0);
  p.clients_active = 3;
  p.clients_waiting = 2;
  p.servers_active = 4;
  p.servers_idle = 5;
  p.servers_used = 6;
  p.servers_login = 1;
  p.longest_wait_seconds = 2.5;
  p.pool_size = 20;
  p.paused = true;
  Table t = pools_table({p});
  ASSERT_EQ(t.rows.size(), 1u);
  expect_rectangular(t);
  EXPECT_EQ(cell(t, 0, "cl_active"), "3");
  EXPECT_EQ(cell(t, 0, "cl_waiting"), "2");
  EXPECT_EQ(cell(t, 0, "cl_active_cancel_req"), "0");
  EXPECT_EQ(cell(t, 0, "sv_active"), "4");
  EXPECT_EQ(cell(t, 0, "sv_idle"), "5");
  EXPECT_EQ(cell(t, 0, "sv_used"), "6");
  EXPECT_EQ(cell(t, 0, "sv_login"), "1");
  EXPECT_EQ(cell(t, 0, "maxwait"), "2");
  EXPECT_EQ(cell(t, 0, "maxwait_us"), "500000");
  EXPECT_EQ(cell(t, 0, "pool_mode"), "transaction");
  EXPECT_EQ(cell(t, 0, "node"), "10.0.0.1:5432");
  EXPECT_EQ(cell(t, 0, "pool_size"), "20");
  EXPECT_EQ(cell(t, 0, "paused"), "1");
}

TEST(PoolsTable, MaxwaitRoundsToTheMicrosecond) {
  metrics::PoolSnapshot p = pool("appdb", "app", 0);
  p.longest_wait_seconds = 0.9999996;
  Table t = pools_table({p});
  EXPECT_EQ(cell(t, 0, "maxwait"), "1");
  EXPECT_EQ(cell(t, 0, "maxwait_us"), "0");
}

TEST(StatsTable, PgBouncerColumns) {
  const std::vector<std::string> expected = {
      "database",       "total_xact_count", "total_query_count", "total_received",
      "total_sent",     "total_xact_time",  "total_query_time",  "total_wait_time",
      "avg_xact_count", "avg_query_count",  "avg_recv",          "avg_sent",
      "avg_xact_time",  "avg_query_time",   "avg_wait_time"};
  EXPECT_EQ(names(stats_table({}, {})), expected);
}

TEST(StatsTable, OneRowPerDatabaseSummingUsersAndNodes) {
  metrics::PoolSnapshot a1 = pool("appdb", "app", 10);
  metrics::PoolSnapshot a2 = pool("appdb", "report", 5);
  a2.node = "10.0.0.2:5432";
  a1.totals.query_time_us = 100;
  a2.totals.query_time_us = 50;
  metrics::PoolSnapshot b = pool("billing", "app", 7);
  StatsAverages averages;
  averages["billing"].xact_count = 3;
  Table t = stats_table({b, a1, a2}, averages);
  ASSERT_EQ(t.rows.size(), 2u);
  expect_rectangular(t);
  EXPECT_EQ(cell(t, 0, "database"), "appdb");
  EXPECT_EQ(cell(t, 0, "total_xact_count"), "15");
  EXPECT_EQ(cell(t, 0, "total_query_time"), "150");
  EXPECT_EQ(cell(t, 0, "avg_xact_count"), "0");
  EXPECT_EQ(cell(t, 1, "database"), "billing");
  EXPECT_EQ(cell(t, 1, "total_xact_count"), "7");
  EXPECT_EQ(cell(t, 1, "avg_xact_count"), "3");
}

TEST(StatsPeriod, EmptyBeforeSecondSample) {
  StatsPeriod period;
  EXPECT_TRUE(period.averages().empty());
  period.sample(std::chrono::steady_clock::time_point{} + 1s, {pool("appdb", "app", 5)});
  EXPECT_TRUE(period.averages().empty());
}

TEST(StatsPeriod, AveragesFromTwoSamples) {
  metrics::PoolSnapshot before = pool("appdb", "app", 1000);
  before.totals.queries = 3000;
  before.totals.bytes_received = 1'000'000;
  before.totals.bytes_sent = 2'000'000;
  before.totals.xact_time_us = 9'000'000;
  before.totals.query_time_us = 8'000'000;
  before.totals.wait_time_us = 7'000'000;
  metrics::PoolSnapshot after = before;
  after.totals.transactions += 100;
  after.totals.queries += 250;
  after.totals.bytes_received += 10'000;
  after.totals.bytes_sent += 50'000;
  after.totals.xact_time_us += 200'000;
  after.totals.query_time_us += 250'000;
  after.totals.wait_time_us += 5'000;
  StatsPeriod period;
  auto t0 = std::chrono::steady_clock::time_point{} + 100s;
  period.sample(t0, {before});
  period.sample(t0 + 10s, {after});
  StatsAverages averages = period.averages();
  ASSERT_EQ(averages.count("appdb"), 1u);
  const DatabaseAverages& a = averages.at("appdb");
  EXPECT_EQ(a.xact_count, 10u);
  EXPECT_EQ(a.query_count, 25u);
  EXPECT_EQ(a.recv, 1000u);
  EXPECT_EQ(a.sent, 5000u);
  EXPECT_EQ(a.xact_time, 2000u);
  EXPECT_EQ(a.query_time, 1000u);
  EXPECT_EQ(a.wait_time, 50u);
}

TEST(StatsPeriod, UsesOnlyTheLastTwoSamples) {
  StatsPeriod period;
  auto t0 = std::chrono::steady_clock::time_point{} + 100s;
  period.sample(t0, {pool("appdb", "app", 0)});
  period.sample(t0 + 1s, {pool("appdb", "app", 1000)});
  period.sample(t0 + 3s, {pool("appdb", "app", 1010)});
  EXPECT_EQ(period.averages().at("appdb").xact_count, 5u);
}

TEST(StatsPeriod, NoTransactionsGivesZeroTimes) {
  metrics::PoolSnapshot before = pool("appdb", "app", 10);
  metrics::PoolSnapshot after = before;
  after.totals.wait_time_us += 1000;
  after.totals.xact_time_us += 1000;
  StatsPeriod period;
  auto t0 = std::chrono::steady_clock::time_point{} + 100s;
  period.sample(t0, {before});
  period.sample(t0 + 1s, {after});
  const DatabaseAverages a = period.averages().at("appdb");
  EXPECT_EQ(a.xact_count, 0u);
  EXPECT_EQ(a.xact_time, 0u);
  EXPECT_EQ(a.wait_time, 0u);
  EXPECT_EQ(a.query_time, 0u);
}

TEST(StatsPeriod, SampleNotLaterIsIgnored) {
  StatsPeriod period;
  auto t0 = std::chrono::steady_clock::time_point{} + 100s;
  period.sample(t0, {pool("appdb", "app", 0)});
  period.sample(t0, {pool("appdb", "app", 500)});
  EXPECT_TRUE(period.averages().empty());
  period.sample(t0 + 2s, {pool("appdb", "app", 100)});
  EXPECT_EQ(period.averages().at("appdb").xact_count, 50u);
}

TEST(StatsPeriod, CounterGoingDownCountsAsZero) {
  StatsPeriod period;
  auto t0 = std::chrono::steady_clock::time_point{} + 100s;
  period.sample(t0, {pool("appdb", "app", 500)});
  period.sample(t0 + 1s, {pool("appdb", "app", 100)});
  EXPECT_EQ(period.averages().at("appdb").xact_count, 0u);
}

TEST(StatsPeriod, NewDatabaseCountsFromZero) {
  StatsPeriod period;
  auto t0 = std::chrono::steady_clock::time_point{} + 100s;
  period.sample(t0, {pool("appdb", "app", 0)});
  period.sample(t0 + 2s, {pool("appdb", "app", 0), pool("newdb", "app", 8)});
  EXPECT_EQ(period.averages().at("newdb").xact_count, 4u);
}

metrics::ClientSnapshot client(std::string address) {
  metrics::ClientSnapshot c;
  c.user = "app";
  c.database = "appdb";
  c.address = std::move(address);
  c.state = "active";
  c.pid = 3'000'000'000u;
  c.connect_time = 1700000000.75;
  c.server = "10.0.0.1:5432 pid 4242";
  c.application_name = "psql";
  return c;
}

TEST(ClientsTable, ColumnsPgBouncerThenPgmux) {
  const std::vector<std::string> expected = {
      "type",       "user",       "database",         "state",        "addr",
      "port",       "local_addr", "local_port",       "connect_time", "request_time",
      "wait",       "wait_us",    "close_needed",     "ptr",          "link",
      "remote_pid", "tls",        "application_name", "pgmux_pid"};
  EXPECT_EQ(names(clients_table({})), expected);
}

TEST(ClientsTable, Ipv6AddressSplitAtLastColon) {
  Table t = clients_table({client("2001:db8::1:54321"), client("::1:6000")});
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(cell(t, 0, "addr"), "2001:db8::1");
  EXPECT_EQ(cell(t, 0, "port"), "54321");
  EXPECT_EQ(cell(t, 1, "addr"), "::1");
  EXPECT_EQ(cell(t, 1, "port"), "6000");
}

TEST(ClientsTable, Ipv4AddressAndRowValues) {
  Table t = clients_table({client("192.168.1.20:40000")});
  expect_rectangular(t);
  EXPECT_EQ(cell(t, 0, "type"), "C");
  EXPECT_EQ(cell(t, 0, "addr"), "192.168.1.20");
  EXPECT_EQ(cell(t, 0, "port"), "40000");
  EXPECT_EQ(cell(t, 0, "connect_time"), "2023-11-14 22:13:20 UTC");
  EXPECT_EQ(cell(t, 0, "request_time"), "");
  EXPECT_EQ(cell(t, 0, "ptr"), "3000000000");
  EXPECT_EQ(cell(t, 0, "pgmux_pid"), "3000000000");
  EXPECT_EQ(cell(t, 0, "link"), "10.0.0.1:5432 pid 4242");
  EXPECT_EQ(cell(t, 0, "application_name"), "psql");
}

TEST(ClientsTable, AddressWithoutPort) {
  Table t = clients_table({client("unix")});
  EXPECT_EQ(cell(t, 0, "addr"), "unix");
  EXPECT_EQ(cell(t, 0, "port"), "0");
}

TEST(ServersTable, RowValues) {
  metrics::ServerSnapshot s;
  s.user = "app";
  s.database = "appdb";
  s.node = "fd00::7:5433";
  s.role = "replica";
  s.state = "idle";
  s.pid = 4242;
  s.connect_time = 86400;
  s.idle_seconds = 1.25;
  s.prepared_statements = 3;
  Table t = servers_table({s});
  ASSERT_EQ(t.rows.size(), 1u);
  expect_rectangular(t);
  EXPECT_EQ(names(t).at(17), "application_name");
  EXPECT_EQ(cell(t, 0, "type"), "S");
  EXPECT_EQ(cell(t, 0, "addr"), "fd00::7");
  EXPECT_EQ(cell(t, 0, "port"), "5433");
  EXPECT_EQ(cell(t, 0, "connect_time"), "1970-01-02 00:00:00 UTC");
  EXPECT_EQ(cell(t, 0, "remote_pid"), "4242");
  EXPECT_EQ(cell(t, 0, "role"), "replica");
  EXPECT_EQ(cell(t, 0, "idle_seconds"), "1.25");
  EXPECT_EQ(cell(t, 0, "prepared_statements"), "3");
}

config::Config sample_config() {
  config::Config c;
  config::UserConfig scram{
      "alice", config::AuthMethod::kScramSha256, "plainPassw0rd!", "", "", "serverPassw0rd!"};
  config::UserConfig secret{"bob", config::AuthMethod::kScramSha256,
                            "",    "SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy",
                            "",    ""};
  config::UserConfig md5{
      "carol", config::AuthMethod::kMd5, "", "", "md5a3556571e93b0d20722ba62be61e8c2d", ""};
  config::UserConfig trust{"dave", config::AuthMethod::kTrust};
  for (auto* u : {&scram, &secret, &md5, &trust}) c.users[u->name] = *u;
  c.admin.admin_users = {"alice"};
  c.admin.stats_users = {"bob", "carol"};
  c.pool_size = 50;
  c.query_wait_timeout = 30s;
  c.health_check.user = "alice";
  config::DatabaseConfig db;
  db.name = "appdb";
  db.host = "10.0.0.1";
  db.port = 5433;
  db.dbname = "app_production";
  db.pool_size = 15;
  db.replicas = {{"10.0.0.2", 5432, 1}, {"10.0.0.3", 5432, 1}};
  c.databases[db.name] = db;
  config::DatabaseConfig other;
  other.name = "billing";
  other.host = "10.0.0.9";
  other.pool_mode = config::PoolMode::kSession;
  c.databases[other.name] = other;
  return c;
}

TEST(ConfigTable, NoSecretAnywhereInTheBytes) {
  Table t = config_table(sample_config());
  std::string bytes;
  write_table(bytes, t);
  for (std::string_view secret : {"plainPassw0rd!", "serverPassw0rd!", "SCRAM-SHA-256$", "c3RvcmVk",
                                  "a3556571e93b0d20722ba62be61e8c2d", "password"}) {
    EXPECT_EQ(bytes.find(secret), std::string::npos) << secret;
  }
}

TEST(ConfigTable, ValuesDefaultsAndChangeable) {
  Table t = config_table(sample_config());
  expect_rectangular(t);
  EXPECT_EQ(names(t), (std::vector<std::string>{"key", "value", "default", "changeable"}));
  auto row_of = [&t](std::string_view key) -> size_t {
    for (size_t i = 0; i < t.rows.size(); ++i) {
      if (t.rows[i][0] == key) return i;
    }
    ADD_FAILURE() << "no row " << key;
    return 0;
  };
  size_t pool_size = row_of("pool_size");
  EXPECT_EQ(cell(t, pool_size, "value"), "50");
  EXPECT_EQ(cell(t, pool_size, "default"), "20");
  EXPECT_EQ(cell(t, pool_size, "changeable"), "yes");
  EXPECT_EQ(cell(t, row_of("query_wait_timeout"), "value"), "30000");
  EXPECT_EQ(cell(t, row_of("listen.port"), "changeable"), "no");
  EXPECT_EQ(cell(t, row_of("admin.stats_users"), "value"), "bob,carol");
  EXPECT_EQ(cell(t, row_of("log_query_literals"), "value"), "false");
  row_of("metrics.port");
  row_of("health_check.interval");
  row_of("slow_query_threshold");
  row_of("admin.audit_log");
}

TEST(UsersTable, AuthAndRightsWithoutSecrets) {
  Table t = users_table(sample_config());
  ASSERT_EQ(t.rows.size(), 4u);
  expect_rectangular(t);
  EXPECT_EQ(cell(t, 0, "name"), "alice");
  EXPECT_EQ(cell(t, 0, "auth"), "scram-sha-256");
  EXPECT_EQ(cell(t, 0, "admin"), "1");
  EXPECT_EQ(cell(t, 0, "stats"), "0");
  EXPECT_EQ(cell(t, 2, "auth"), "md5");
  EXPECT_EQ(cell(t, 2, "stats"), "1");
  EXPECT_EQ(cell(t, 3, "auth"), "trust");
  std::string bytes;
  write_table(bytes, t);
  EXPECT_EQ(bytes.find("Passw0rd"), std::string::npos);
  EXPECT_EQ(bytes.find("SCRAM-SHA-256$"), std::string::npos);
  EXPECT_EQ(bytes.find("md5a35"), std::string::npos);
}

TEST(DatabasesTable, RowsPausedConnectionsAndAdminDatabase) {
  Table t = databases_table(sample_config(), {"billing"}, {{"appdb", 7}});
  ASSERT_EQ(t.rows.size(), 3u);
  expect_rectangular(t);
  EXPECT_EQ(names(t).front(), "name");
  EXPECT_EQ(names(t).at(12), "disabled");
  EXPECT_EQ(cell(t, 0, "name"), "appdb");
  EXPECT_EQ(cell(t, 0, "host"), "10.0.0.1");
  EXPECT_EQ(cell(t, 0, "port"), "5433");
  EXPECT_EQ(cell(t, 0, "database"), "app_production");
  EXPECT_EQ(cell(t, 0, "pool_size"), "15");
  EXPECT_EQ(cell(t, 0, "current_connections"), "7");
  EXPECT_EQ(cell(t, 0, "paused"), "0");
  EXPECT_EQ(cell(t, 0, "replicas"), "2");
  EXPECT_EQ(cell(t, 1, "database"), "billing");  // dbname defaults to the name
  EXPECT_EQ(cell(t, 1, "pool_mode"), "session");
  EXPECT_EQ(cell(t, 1, "current_connections"), "0");
  EXPECT_EQ(cell(t, 1, "paused"), "1");
  EXPECT_EQ(cell(t, 2, "name"), "pgmux");
  EXPECT_EQ(cell(t, 2, "host"), "<null>");
}

TEST(VersionTable, OneRow) {
  Table t = version_table("1.2.3");
  EXPECT_EQ(names(t), std::vector<std::string>{"version"});
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_EQ(cell(t, 0, "version"), "pgmux 1.2.3");
}

TEST(HelpTable, ListsEveryCommand) {
  Table t = help_table();
  expect_rectangular(t);
  std::string all;
  for (const auto& row : t.rows) all += *row[0] + "\n";
  for (std::string_view command :
       {"SHOW POOLS", "SHOW STATS", "SHOW CLIENTS", "SHOW SERVERS", "SHOW DATABASES", "SHOW CONFIG",
        "SHOW VERSION", "SHOW HELP", "SHOW NODES", "SHOW USERS", "SHOW LISTS", "PAUSE", "RESUME",
        "RELOAD", "KILL", "RECONNECT", "SHUTDOWN", "SET"}) {
    EXPECT_NE(all.find(command), std::string::npos) << command;
  }
}

TEST(NodesTable, RowValues) {
  metrics::NodeSnapshot n;
  n.database = "appdb";
  n.node = "10.0.0.2:5432";
  n.role = "replica";
  n.healthy = false;
  n.wrong_role = true;
  n.lag_seconds = 0.5;
  n.lag_bytes = 123456;
  n.in_flight = 4;
  Table t = nodes_table({n});
  expect_rectangular(t);
  EXPECT_EQ(t.columns.at(3).type_oid, kBoolOid);
  EXPECT_EQ(cell(t, 0, "healthy"), "f");
  EXPECT_EQ(cell(t, 0, "wrong_role"), "t");
  EXPECT_EQ(cell(t, 0, "lag_seconds"), "0.5");
  EXPECT_EQ(cell(t, 0, "lag_bytes"), "123456");
  EXPECT_EQ(cell(t, 0, "clients_in_flight"), "4");
}

TEST(ListsTable, Counts) {
  ListCounts counts;
  counts.databases = 2;
  counts.users = 4;
  counts.pools = 3;
  counts.used_clients = 100;
  counts.used_servers = 5;
  counts.free_servers = 6;
  Table t = lists_table(counts);
  EXPECT_EQ(names(t), (std::vector<std::string>{"list", "items"}));
  std::map<std::string, std::string> items;
  for (const auto& row : t.rows) items[*row[0]] = *row[1];
  EXPECT_EQ(items.at("databases"), "2");
  EXPECT_EQ(items.at("users"), "4");
  EXPECT_EQ(items.at("pools"), "3");
  EXPECT_EQ(items.at("used_clients"), "100");
  EXPECT_EQ(items.at("free_clients"), "0");
  EXPECT_EQ(items.at("used_servers"), "5");
  EXPECT_EQ(items.at("free_servers"), "6");
}

TEST(FormatUtcTimestamp, ZeroIsEmpty) { EXPECT_EQ(format_utc_timestamp(0), ""); }

}  // namespace
}  // namespace pgmux::admin
