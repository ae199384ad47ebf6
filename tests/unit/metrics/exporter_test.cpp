// Tests for the exposition: the metric table, the exact text of a hand-built snapshot,
// promtool's verdict on it, /proc/self readings, and the HTTP endpoint.
#include "pgmux/metrics/exporter.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace pgmux::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

PoolSnapshot app_pool() {
  PoolSnapshot p;
  p.database = "app";
  p.user = "u";
  p.node = "127.0.0.1:5432";
  p.role = "primary";
  p.pool_mode = "transaction";
  p.pool_size = 20;
  p.paused = true;
  p.clients_active = 3;
  p.clients_waiting = 2;
  p.servers_active = 5;
  p.longest_wait_seconds = 1.5;
  p.totals.queries = 7;
  p.totals.bytes_received = 1234;
  p.totals.statements_to_replica = 11;
  p.totals.errors[error_class_index("42P01")] = 2;
  p.totals.wait_duration.buckets[0] = 1;
  p.totals.wait_duration.buckets[3] = 2;
  p.totals.wait_duration.buckets[kLatencyBuckets.size()] = 1;
  p.totals.wait_duration.count = 4;
  p.totals.wait_duration.sum_seconds = 12.25;
  return p;
}

Snapshot rich_snapshot() {
  Snapshot s;
  s.process.version = "1.2.3";
  s.process.workers = 4;
  s.process.start_time = 1700000000;
  s.process.accepted = 100;
  s.process.clients = 9;
  s.process.rejected[static_cast<size_t>(Reject::kAuthFailed)] = 3;
  s.pools.push_back(app_pool());
  PoolSnapshot replica = app_pool();
  replica.node = "10.0.0.2:5432";
  replica.role = "replica";
  s.pools.push_back(replica);
  s.nodes.push_back({"app", "127.0.0.1:5432", "primary", true, false, 0, 0, 4});
  s.nodes.push_back({"app", "10.0.0.2:5432", "replica", false, false, 2.5, 65536, 1});
  return s;
}

const std::string kPool = R"(database="app",node="127.0.0.1:5432",role="primary",user="u")";

// ---- the table ----

TEST(MetricTable, NamesAreUnique) {
  std::set<std::string_view> names;
  for (const MetricDef& d : kMetrics) EXPECT_TRUE(names.insert(d.name).second) << d.name;
  EXPECT_EQ(names.size(), static_cast<size_t>(MetricId::kCount));
}

TEST(MetricTable, LookupById) {
  EXPECT_EQ(metric_def(MetricId::kPoolQueries).name, "pgmux_pool_queries_total");
  EXPECT_EQ(metric_def(MetricId::kProcessStartTime).name, "process_start_time_seconds");
  EXPECT_EQ(metric_def(MetricId::kPoolErrors).labels.size(), 5u);
}

// ---- the text of a snapshot ----

TEST(RenderText, PoolCounterLineWithSortedLabels) {
  EXPECT_THAT(render_text(rich_snapshot()),
              HasSubstr("\npgmux_pool_queries_total{" + kPool + "} 7\n"));
}

TEST(RenderText, HelpAndTypeLines) {
  const std::string text = render_text(rich_snapshot());
  EXPECT_THAT(text, HasSubstr("# HELP pgmux_pool_queries_total Requests answered"));
  EXPECT_THAT(text, HasSubstr("# TYPE pgmux_pool_queries_total counter\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE pgmux_pool_clients_waiting gauge\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE pgmux_pool_wait_duration_seconds histogram\n"));
}

TEST(RenderText, PoolGauges) {
  const std::string text = render_text(rich_snapshot());
  EXPECT_THAT(text, HasSubstr("\npgmux_pool_clients_active{" + kPool + "} 3\n"));
  EXPECT_THAT(text, HasSubstr("\npgmux_pool_size{" + kPool + "} 20\n"));
  EXPECT_THAT(text, HasSubstr("\npgmux_pool_paused{" + kPool + "} 1\n"));
  EXPECT_THAT(text, HasSubstr("\npgmux_pool_max_wait_seconds{" + kPool + "} 1.5\n"));
  EXPECT_THAT(text, HasSubstr("\npgmux_pool_received_bytes_total{" + kPool + "} 1234\n"));
}

TEST(RenderText, ErrorsOnlyForNonzeroClasses) {
  const std::string text = render_text(rich_snapshot());
  EXPECT_THAT(text, HasSubstr("\npgmux_pool_errors_total{class=\"42\"," + kPool + "} 2\n"));
  EXPECT_THAT(text, Not(HasSubstr("class=\"08\"")));
  EXPECT_THAT(text, Not(HasSubstr("class=\"other\"")));
}

TEST(RenderText, NoErrorFamilyWithoutErrors) {
  Snapshot s = rich_snapshot();
  for (PoolSnapshot& p : s.pools) p.totals.errors = {};
  EXPECT_THAT(render_text(s), Not(HasSubstr("pgmux_pool_errors_total")));
}

TEST(RenderText, RoutedStatementsByTarget) {
  const std::string text = render_text(rich_snapshot());
  EXPECT_THAT(text, HasSubstr("\npgmux_pool_routed_statements_total{database=\"app\","
                              "node=\"127.0.0.1:5432\",role=\"primary\",target=\"replica\","
                              "user=\"u\"} 11\n"));
  EXPECT_THAT(text, HasSubstr("\npgmux_pool_routed_statements_total{database=\"app\","
                              "node=\"127.0.0.1:5432\",role=\"primary\",target=\"primary\","
                              "user=\"u\"} 0\n"));
}

TEST(RenderText, HistogramBucketsAreCumulative) {
  const std::string text = render_text(rich_snapshot());
  const std::string b = "\npgmux_pool_wait_duration_seconds_bucket{" + kPool;
  EXPECT_THAT(text, HasSubstr(b + ",le=\"0.0001\"} 1\n"));
  EXPECT_THAT(text, HasSubstr(b + ",le=\"0.0005\"} 1\n"));
  EXPECT_THAT(text, HasSubstr(b + ",le=\"0.001\"} 3\n"));
  EXPECT_THAT(text, HasSubstr(b + ",le=\"10\"} 3\n"));
}

TEST(RenderText, HistogramInfBucketEqualsCount) {
  const std::string text = render_text(rich_snapshot());
  const std::string h = "\npgmux_pool_wait_duration_seconds";
  EXPECT_THAT(text, HasSubstr(h + "_bucket{" + kPool + ",le=\"+Inf\"} 4\n"));
  EXPECT_THAT(text, HasSubstr(h + "_count{" + kPool + "} 4\n"));
  EXPECT_THAT(text, HasSubstr(h + "_sum{" + kPool + "} 12.25\n"));
}

TEST(RenderText, EmptyHistogramHasAllBucketsAtZero) {
  const std::string text = render_text(rich_snapshot());
  const std::string b = "\npgmux_pool_query_duration_seconds_bucket{" + kPool;
  EXPECT_THAT(text, HasSubstr(b + ",le=\"0.00025\"} 0\n"));
  EXPECT_THAT(text, HasSubstr(b + ",le=\"+Inf\"} 0\n"));
}

TEST(RenderText, LabelValuesEscaped) {
  Snapshot s;
  PoolSnapshot p = app_pool();
  p.database = "a\"b\\c";
  p.user = "line\nbreak";
  s.pools.push_back(p);
  EXPECT_THAT(render_text(s),
              HasSubstr("\npgmux_pool_queries_total{database=\"a\\\"b\\\\c\","
                        "node=\"127.0.0.1:5432\",role=\"primary\",user=\"line\\nbreak\"} 7\n"));
}

TEST(RenderText, NodeMetrics) {
  const std::string text = render_text(rich_snapshot());
  const std::string r = R"({database="app",node="10.0.0.2:5432",role="replica"})";
  EXPECT_THAT(text, HasSubstr("\npgmux_node_healthy" + r + " 0\n"));
  EXPECT_THAT(text, HasSubstr("\npgmux_node_replication_lag_seconds" + r + " 2.5\n"));
  EXPECT_THAT(text, HasSubstr("\npgmux_node_replication_lag_bytes" + r + " 65536\n"));
  EXPECT_THAT(text, HasSubstr("\npgmux_node_clients_in_flight" + r + " 1\n"));
  EXPECT_THAT(text, HasSubstr("\npgmux_node_healthy{database=\"app\",node=\"127.0.0.1:5432\","
                              "role=\"primary\"} 1\n"));
}

TEST(RenderText, RejectedHasEveryReasonZerosIncluded) {
  const std::string text = render_text(rich_snapshot());
  const std::string r = "\npgmux_client_connections_rejected_total{reason=";
  EXPECT_THAT(text, HasSubstr(r + "\"auth_failed\"} 3\n"));
  EXPECT_THAT(text, HasSubstr(r + "\"too_many_clients\"} 0\n"));
  EXPECT_THAT(text, HasSubstr(r + "\"unknown_database\"} 0\n"));
  EXPECT_THAT(text, HasSubstr(r + "\"login_timeout\"} 0\n"));
  EXPECT_THAT(text, HasSubstr(r + "\"protocol_error\"} 0\n"));
}

TEST(RenderText, GlobalMetrics) {
  const std::string text = render_text(rich_snapshot());
  EXPECT_THAT(text, HasSubstr("\npgmux_build_info{version=\"1.2.3\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("\npgmux_client_connections 9\n"));
  EXPECT_THAT(text, HasSubstr("\npgmux_client_connections_accepted_total 100\n"));
  EXPECT_THAT(text, HasSubstr("\npgmux_worker_threads 4\n"));
  EXPECT_THAT(text, HasSubstr("\npgmux_config_reloads_total 0\n"));
  EXPECT_THAT(text, HasSubstr("\nprocess_start_time_seconds 1700000000\n"));
}

TEST(RenderText, EmptySnapshotHasNoPoolFamilies) {
  const std::string text = render_text(Snapshot{});
  EXPECT_THAT(text, Not(HasSubstr("pgmux_pool_")));
  EXPECT_THAT(text, Not(HasSubstr("pgmux_node_")));
  EXPECT_THAT(text, HasSubstr("\npgmux_client_connections 0\n"));
}

TEST(BuildFamilies, PureFormHasNoProcFigures) {
  for (const auto& f : build_families(rich_snapshot())) {
    EXPECT_NE(f.name, "process_cpu_seconds_total");
    EXPECT_NE(f.name, "process_open_fds");
  }
}

TEST(BuildFamilies, ProcessStatsAdded) {
  ProcessStats p;
  p.ok = true;
  p.cpu_seconds = 2.5;
  p.resident_bytes = 4096;
  p.virtual_bytes = 8192;
  p.open_fds = 12;
  p.max_fds = 1024;
  const std::string text = render_text(build_families(Snapshot{}, p));
  EXPECT_THAT(text, HasSubstr("\nprocess_cpu_seconds_total 2.5\n"));
  EXPECT_THAT(text, HasSubstr("\nprocess_resident_memory_bytes 4096\n"));
  EXPECT_THAT(text, HasSubstr("\nprocess_virtual_memory_bytes 8192\n"));
  EXPECT_THAT(text, HasSubstr("\nprocess_open_fds 12\n"));
  EXPECT_THAT(text, HasSubstr("\nprocess_max_fds 1024\n"));
}

TEST(BuildFamilies, FamiliesFollowTableOrder) {
  const auto families = build_families(rich_snapshot(), read_process_stats());
  size_t next = 0;
  for (const auto& f : families) {
    while (next < kMetrics.size() && kMetrics[next].name != f.name) ++next;
    EXPECT_LT(next, kMetrics.size()) << f.name << " out of order or not in the table";
  }
}

// ---- promtool ----

std::string temp_path(const std::string& leaf) {
  return (std::filesystem::temp_directory_path() /
          ("pgmux_metrics_" + std::to_string(getpid()) + "_" + leaf))
      .string();
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Promtool, AcceptsRichExposition) {
  if (access("/usr/bin/promtool", X_OK) != 0) GTEST_SKIP() << "promtool not installed";
  const std::string metrics = temp_path("metrics.txt"), report = temp_path("promtool.txt");
  std::ofstream(metrics) << render_text(build_families(rich_snapshot(), read_process_stats()));
  const std::string cmd = "/usr/bin/promtool check metrics < " + metrics + " > " + report + " 2>&1";
  const int status = std::system(cmd.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << slurp(report);
  std::filesystem::remove(metrics);
  std::filesystem::remove(report);
}

// ---- /proc/self ----

TEST(ProcessStats, ReadsThisProcess) {
  const ProcessStats p = read_process_stats();
  ASSERT_TRUE(p.ok);
  EXPECT_GT(p.resident_bytes, 0u);
  EXPECT_GE(p.virtual_bytes, p.resident_bytes);
  EXPECT_GE(p.open_fds, 3u);
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  EXPECT_EQ(p.max_fds, limit.rlim_cur);
}

TEST(ProcessStats, OpenFdsCountsANewDescriptor) {
  const uint64_t before = read_process_stats().open_fds;
  const int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  const uint64_t during = read_process_stats().open_fds;
  close(fd);
  EXPECT_EQ(during, before + 1);
}

TEST(ProcessStats, CpuSecondsGrowWhileSpinning) {
  const double start = read_process_stats().cpu_seconds;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  volatile uint64_t sink = 0;
  while (read_process_stats().cpu_seconds <= start && std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 1'000'000; ++i) sink = sink + i;
  }
  EXPECT_GT(read_process_stats().cpu_seconds, start);
}

// ---- listen address ----

TEST(ListenAddress, Ipv4HostAndPort) {
  EXPECT_EQ(listen_address("127.0.0.1", 9127), "127.0.0.1:9127");
}

TEST(ListenAddress, Ipv6HostIsBracketed) { EXPECT_EQ(listen_address("::1", 9127), "[::1]:9127"); }

TEST(ListenAddress, BracketedIpv6Kept) { EXPECT_EQ(listen_address("[::1]", 80), "[::1]:80"); }

TEST(ListenAddress, EmptyHostIsAllIpv4) { EXPECT_EQ(listen_address("", 9127), "0.0.0.0:9127"); }

}  // namespace
}  // namespace pgmux::metrics
