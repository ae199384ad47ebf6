// pgmux's /metrics endpoint tells the truth: counters move by exactly what clients did, gauges
// match what is observably held or blocked, and the exposition passes promtool's checks.
// Thread-safety: each test owns its pgmux; load threads own their connections and report
// through atomics or a mutex.
#include <sys/stat.h>

#include <atomic>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "harness.hpp"
#include "metrics_util.hpp"

namespace pgmux::itest {
namespace {

namespace mu = metrics_util;
using Labels = std::map<std::string, std::string>;

constexpr const char* kDb = "pgmux_metrics";  // only the metrics tests use this database
constexpr const char* kPromtool = "/usr/bin/promtool";

Labels pool_labels(const std::string& user = kScramUser) {
  return {{"database", kDb}, {"user", user}, {"role", "primary"}};
}

Labels with(Labels labels, const std::string& key, const std::string& value) {
  labels[key] = value;
  return labels;
}

// The value of one series, NaN (and a test failure naming it) when missing or ambiguous.
double metric(const std::string& text, const std::string& name, const Labels& labels = {},
              std::optional<double> absent = std::nullopt) {
  auto v = absent ? mu::value_or(text, name, labels, *absent) : mu::value(text, name, labels);
  if (!v) {
    ADD_FAILURE() << "no single series " << name << " with the given labels in:\n" << text;
    return std::nan("");
  }
  return *v;
}

// How much a series moved between two scrapes (a missing labelled counter counts as 0).
double delta(const std::string& before, const std::string& after, const std::string& name,
             const Labels& labels, bool may_be_absent = false) {
  std::optional<double> absent = may_be_absent ? std::optional<double>(0) : std::nullopt;
  return metric(after, name, labels, absent) - metric(before, name, labels, absent);
}

// A pgmux with its metrics endpoint on a free port, serving kDb.
class MetricsTest : public ::testing::Test {
 protected:
  // Starts pgmux and waits until its endpoint answers a scrape showing no client.
  void start(int pool_size = 5, int workers = 2, const std::string& extra = "") {
    metrics_port_ = free_port();
    PgmuxConfig config;
    config.pool_mode = "transaction";
    config.pool_size = pool_size;
    config.workers = workers;
    config.databases = {{.name = kDb}};
    config.extra =
        extra + "metrics:\n  listen: \"127.0.0.1:" + std::to_string(metrics_port_) + "\"\n";
    pgmux_ = std::make_unique<PgmuxProcess>(config);
    ASSERT_TRUE(pgmux_->start());
    // Settled: start()'s probe connection has been accepted and has gone again.
    ASSERT_TRUE(wait_until(
        [&] {
          std::string t = scrape();
          return mu::value(t, "pgmux_client_connections_accepted_total").value_or(0) >= 1 &&
                 mu::value(t, "pgmux_client_connections") == 0;
        },
        10s, 20ms))
        << "no settled scrape on 127.0.0.1:" << metrics_port_ << ":\n"
        << scrape();
  }

  std::string scrape() { return mu::scrape(metrics_port_); }

  // A logged-in client of kDb (a test failure when it cannot connect).
  PgConn client(const std::string& user = kScramUser,
                const std::string& password = kScramPassword) {
    ConnectOutcome c = connect(pgmux_->conninfo(kDb, user, password));
    EXPECT_TRUE(c.ok) << c.error;
    return std::move(c.conn);
  }

  // Waits until the scrape satisfies `check`; returns the last scrape seen.
  std::string scrape_until(const std::function<bool(const std::string&)>& check,
                           Millis timeout = 10s) {
    std::string text;
    wait_until([&] { return check(text = scrape()); }, timeout, 20ms);
    return text;
  }

  uint16_t metrics_port_ = 0;
  std::unique_ptr<PgmuxProcess> pgmux_;
};

// Value of a series or -1, for wait conditions (no failure recorded).
double peek(const std::string& text, const std::string& name, const Labels& labels) {
  return mu::value(text, name, labels).value_or(-1);
}

TEST_F(MetricsTest, SimpleQueriesAndTransactionsCountedExactly) {
  ASSERT_NO_FATAL_FAILURE(start());
  PgConn c = client();
  ASSERT_TRUE(c.ok());
  const Labels pool = pool_labels();
  std::string s0 = scrape();
  constexpr int kQueries = 37;
  double request_bytes = 0, answer_bytes = 0;
  for (int i = 0; i < kQueries; ++i) {
    std::string sql = "SELECT " + std::to_string(i);
    ASSERT_TRUE(c.exec(sql).ok());
    request_bytes += 1 + 4 + sql.size() + 1;  // Query: type, length, text, NUL
    // RowDescription of one "?column?" int4 (34) + DataRow (11 + digits) + CommandComplete
    // "SELECT 1" (14) + ReadyForQuery (6).
    answer_bytes += 34 + 11 + std::to_string(i).size() + 14 + 6;
  }
  std::string s1 = scrape();
  EXPECT_EQ(delta(s0, s1, "pgmux_pool_queries_total", pool), kQueries);
  EXPECT_EQ(delta(s0, s1, "pgmux_pool_transactions_total", pool), kQueries);
  EXPECT_EQ(delta(s0, s1, "pgmux_pool_query_duration_seconds_count", pool), kQueries);
  EXPECT_GT(delta(s0, s1, "pgmux_pool_query_duration_seconds_sum", pool), 0);
  EXPECT_EQ(delta(s0, s1, "pgmux_pool_received_bytes_total", pool), request_bytes);
  EXPECT_EQ(delta(s0, s1, "pgmux_pool_sent_bytes_total", pool), answer_bytes);
  EXPECT_EQ(metric(s1, "pgmux_pool_query_duration_seconds_bucket", with(pool, "le", "+Inf")),
            metric(s1, "pgmux_pool_query_duration_seconds_count", pool));

  for (const char* sql : {"BEGIN", "SELECT 1", "SELECT 2", "COMMIT"}) ASSERT_TRUE(c.exec(sql).ok());
  std::string s2 = scrape();
  EXPECT_EQ(delta(s1, s2, "pgmux_pool_queries_total", pool), 4);
  EXPECT_EQ(delta(s1, s2, "pgmux_pool_transactions_total", pool), 1);
  EXPECT_EQ(delta(s1, s2, "pgmux_pool_query_duration_seconds_count", pool), 4);
  EXPECT_EQ(delta(s1, s2, "pgmux_pool_transaction_duration_seconds_count", pool), 1);

  // Several statements in one Query message: one request, one ReadyForQuery.
  ASSERT_TRUE(c.exec("SELECT 1; SELECT 2; SELECT 3").ok());
  std::string s3 = scrape();
  EXPECT_EQ(delta(s2, s3, "pgmux_pool_queries_total", pool), 1);
  EXPECT_EQ(delta(s2, s3, "pgmux_pool_transactions_total", pool), 1);
}

// The le bounds pgmux's latency histograms use (kLatencyBuckets), then +Inf.
const std::vector<std::string> kBucketBounds = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
    "0.1",    "0.25",    "0.5",    "1",     "2.5",    "5",     "10",   "+Inf"};

TEST_F(MetricsTest, QueryDurationsLandInTheRightBuckets) {
  ASSERT_NO_FATAL_FAILURE(start());
  PgConn c = client();
  ASSERT_TRUE(c.ok());
  const Labels pool = pool_labels();
  const std::string bucket = "pgmux_pool_query_duration_seconds_bucket";
  std::string s0 = scrape();
  constexpr int kSleeps = 3;
  auto started = Clock::now();
  for (int i = 0; i < kSleeps; ++i) ASSERT_TRUE(c.exec("SELECT pg_sleep(0.15)").ok());
  double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  std::string s1 = scrape();
  EXPECT_EQ(delta(s0, s1, bucket, with(pool, "le", "0.1")), 0);
  EXPECT_EQ(delta(s0, s1, bucket, with(pool, "le", "0.25")), kSleeps);
  EXPECT_EQ(delta(s0, s1, bucket, with(pool, "le", "+Inf")), kSleeps);
  double sum = delta(s0, s1, "pgmux_pool_query_duration_seconds_sum", pool);
  EXPECT_GE(sum, 0.15 * kSleeps);
  EXPECT_LE(sum, elapsed) << "pgmux timed more than the client waited";
  // Cumulative buckets, in order, ending with +Inf == count.
  double previous = 0;
  for (const std::string& le : kBucketBounds) {
    double v = metric(s1, bucket, with(pool, "le", le));
    EXPECT_GE(v, previous) << "le=" << le;
    previous = v;
  }
  EXPECT_EQ(mu::values(s1, bucket, pool).size(), kBucketBounds.size());
  EXPECT_EQ(previous, metric(s1, "pgmux_pool_query_duration_seconds_count", pool));
}

TEST_F(MetricsTest, ExtendedProtocolCountedOncePerSync) {
  ASSERT_NO_FATAL_FAILURE(start());
  PgConn c = client();
  ASSERT_TRUE(c.ok());
  const Labels pool = pool_labels();
  std::string s0 = scrape();
  constexpr int kParams = 11;
  for (int i = 0; i < kParams; ++i) {
    PgResult r = c.exec_params("SELECT $1::int + 1", {std::to_string(i)});
    ASSERT_TRUE(r.ok()) << r.error();
    ASSERT_EQ(r.int_value(), i + 1);
  }
  std::string s1 = scrape();
  EXPECT_EQ(delta(s0, s1, "pgmux_pool_queries_total", pool), kParams);
  EXPECT_EQ(delta(s0, s1, "pgmux_pool_transactions_total", pool), kParams);
  EXPECT_EQ(delta(s0, s1, "pgmux_pool_query_duration_seconds_count", pool), kParams);

  // A prepared statement: Parse+Sync, then Bind/Execute+Sync per run.
  constexpr int kRuns = 5;
  ASSERT_TRUE(c.prepare("metrics_stmt", "SELECT $1::text").ok());
  for (int i = 0; i < kRuns; ++i) ASSERT_TRUE(c.exec_prepared("metrics_stmt", {"x"}).ok());
  std::string s2 = scrape();
  EXPECT_EQ(delta(s1, s2, "pgmux_pool_queries_total", pool), 1 + kRuns);
  EXPECT_EQ(delta(s1, s2, "pgmux_pool_transactions_total", pool), 1 + kRuns);

  // An error in an extended-protocol request: still one request, and one error counted.
  EXPECT_EQ(c.exec_params("SELECT 1 / $1::int", {"0"}).sqlstate(), "22012");
  std::string s3 = scrape();
  EXPECT_EQ(delta(s2, s3, "pgmux_pool_queries_total", pool), 1);
  EXPECT_EQ(delta(s2, s3, "pgmux_pool_errors_total", with(pool, "class", "22"), true), 1);
}

TEST_F(MetricsTest, ServersActiveNeverAbovePoolSizeUnderLoad) {
  constexpr int kPoolSize = 3, kClients = 12, kSleepsPerClient = 3;
  ASSERT_NO_FATAL_FAILURE(start(kPoolSize));
  const Labels pool = pool_labels();
  std::atomic<int> finished{0};
  std::mutex mutex;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  std::string conninfo = pgmux_->conninfo(kDb);
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&] {
      std::string failure;
      ConnectOutcome c = connect(conninfo, 30s);
      for (int n = 0; c.ok && failure.empty() && n < kSleepsPerClient; ++n) {
        PgResult r = c.conn.exec("SELECT pg_sleep(0.2)", 30s);
        if (!r.ok()) failure = r.error();
      }
      if (!c.ok) failure = c.error;
      if (!failure.empty()) {
        std::lock_guard lock(mutex);
        failures.push_back(failure);
      }
      ++finished;
    });
  }
  int samples = 0, failed_scrapes = 0;
  double max_active = 0, max_waiting = 0;
  while (finished < kClients) {
    std::this_thread::sleep_for(5ms);  // sampling cadence, not synchronisation
    std::string text = scrape();
    auto active = mu::value(text, "pgmux_pool_servers_active", pool);
    auto waiting = mu::value(text, "pgmux_pool_clients_waiting", pool);
    if (!active || !waiting) {
      ++failed_scrapes;  // the pool may not exist before the first login
      continue;
    }
    ++samples;
    EXPECT_LE(*active, kPoolSize) << "sample " << samples << ":\n" << text;
    max_active = std::max(max_active, *active);
    max_waiting = std::max(max_waiting, *waiting);
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(failures.empty()) << failures.size() << " clients failed; first: "
                                << (failures.empty() ? "" : failures.front());
  EXPECT_GE(samples, 5) << failed_scrapes << " scrapes without the pool";
  EXPECT_EQ(max_active, kPoolSize) << "the pool was never seen full";
  EXPECT_GT(max_waiting, 0) << "12 clients on 3 servers, yet no sample showed a waiting client";
  std::string last = scrape();
  EXPECT_EQ(metric(last, "pgmux_pool_queries_total", pool), kClients * kSleepsPerClient);
  EXPECT_EQ(metric(last, "pgmux_pool_server_connections_opened_total", pool), kPoolSize);
  EXPECT_EQ(metric(last, "pgmux_pool_size", pool), kPoolSize);
}

TEST_F(MetricsTest, WaitingClientsEqualTheNumberBlocked) {
  constexpr int kPoolSize = 3, kBlocked = 4;
  ASSERT_NO_FATAL_FAILURE(start(kPoolSize));
  const Labels pool = pool_labels();
  std::vector<PgConn> holders;
  for (int i = 0; i < kPoolSize; ++i) {
    holders.push_back(client());
    ASSERT_TRUE(holders.back().exec("BEGIN").ok());
    ASSERT_TRUE(holders.back().exec("SELECT 1").ok());
  }
  std::string held = scrape();
  EXPECT_EQ(metric(held, "pgmux_pool_servers_active", pool), kPoolSize);
  EXPECT_EQ(metric(held, "pgmux_pool_clients_waiting", pool), 0);
  EXPECT_EQ(metric(held, "pgmux_pool_max_wait_seconds", pool), 0);

  std::vector<PgConn> blocked;
  for (int i = 0; i < kBlocked; ++i) {
    blocked.push_back(client());
    ASSERT_TRUE(blocked.back().send("SELECT " + std::to_string(100 + i)));
  }
  std::string waiting = scrape_until([&](const std::string& t) {
    return peek(t, "pgmux_pool_clients_waiting", pool) == kBlocked &&
           peek(t, "pgmux_pool_max_wait_seconds", pool) > 0;
  });
  EXPECT_EQ(metric(waiting, "pgmux_pool_clients_waiting", pool), kBlocked) << waiting;
  EXPECT_EQ(metric(waiting, "pgmux_pool_servers_active", pool), kPoolSize);
  EXPECT_GT(metric(waiting, "pgmux_pool_max_wait_seconds", pool), 0);
  EXPECT_EQ(metric(waiting, "pgmux_pool_clients_active", pool), kPoolSize);
  for (auto& b : blocked) EXPECT_EQ(PQisBusy(b.get()), 1) << "a blocked query already finished";

  for (auto& h : holders) ASSERT_TRUE(h.exec("COMMIT").ok());
  for (int i = 0; i < kBlocked; ++i) {
    PgResult r = blocked[i].wait_result();
    EXPECT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r.int_value(), 100 + i);
  }
  std::string after = scrape_until([&](const std::string& t) {
    return peek(t, "pgmux_pool_clients_waiting", pool) == 0 &&
           peek(t, "pgmux_pool_servers_active", pool) == 0;
  });
  EXPECT_EQ(metric(after, "pgmux_pool_clients_waiting", pool), 0);
  EXPECT_EQ(metric(after, "pgmux_pool_servers_active", pool), 0);
  EXPECT_EQ(metric(after, "pgmux_pool_max_wait_seconds", pool), 0);
  // One wait observed per server checkout: the blocked clients' (the holders kept theirs).
  EXPECT_EQ(delta(held, after, "pgmux_pool_wait_duration_seconds_count", pool), kBlocked);
  EXPECT_GT(delta(held, after, "pgmux_pool_wait_duration_seconds_sum", pool), 0);
}

TEST_F(MetricsTest, ErrorsCountedBySqlstateClass) {
  ASSERT_NO_FATAL_FAILURE(start());
  PgConn c = client();
  ASSERT_TRUE(c.ok());
  const Labels pool = pool_labels();
  std::string s0 = scrape();
  EXPECT_EQ(c.exec("SELECT 1/0").sqlstate(), "22012");
  EXPECT_EQ(c.exec("SELECT 1/0").sqlstate(), "22012");
  EXPECT_EQ(c.exec("SELECT * FROM metrics_no_such_table").sqlstate(), "42P01");
  std::string s1 = scrape();
  EXPECT_EQ(delta(s0, s1, "pgmux_pool_errors_total", with(pool, "class", "22"), true), 2);
  EXPECT_EQ(delta(s0, s1, "pgmux_pool_errors_total", with(pool, "class", "42"), true), 1);
  EXPECT_EQ(mu::values(s1, "pgmux_pool_errors_total", pool).size(), 2u)
      << "errors of other classes were counted:\n"
      << s1;
  EXPECT_EQ(delta(s0, s1, "pgmux_pool_queries_total", pool), 3);
  EXPECT_EQ(delta(s0, s1, "pgmux_pool_transactions_total", pool), 3);

  // A failed transaction block: three requests, one transaction, one more class 22 error.
  ASSERT_TRUE(c.exec("BEGIN").ok());
  EXPECT_EQ(c.exec("SELECT 1/0").sqlstate(), "22012");
  ASSERT_TRUE(c.exec("ROLLBACK").ok());
  std::string s2 = scrape();
  EXPECT_EQ(delta(s1, s2, "pgmux_pool_queries_total", pool), 3);
  EXPECT_EQ(delta(s1, s2, "pgmux_pool_transactions_total", pool), 1);
  EXPECT_EQ(delta(s1, s2, "pgmux_pool_errors_total", with(pool, "class", "22")), 1);
  EXPECT_EQ(delta(s1, s2, "pgmux_pool_errors_total", with(pool, "class", "42")), 0);
}

// An ErrorResponse far larger than pgmux holds whole (it quotes a 300 kB value) streams
// through intact and is still counted under its class, read from the message's start.
TEST_F(MetricsTest, HugeErrorMessageStreamedAndCounted) {
  ASSERT_NO_FATAL_FAILURE(start());
  PgConn c = client();
  ASSERT_TRUE(c.ok());
  const Labels pool = pool_labels();
  std::string s0 = scrape();
  PgResult r = c.exec("SELECT repeat('7x', 150000)::int");
  EXPECT_EQ(r.sqlstate(), "22P02");
  EXPECT_GT(r.error().size(), 300000u) << "the whole message reached the client";
  std::string s1 = scrape();
  EXPECT_EQ(delta(s0, s1, "pgmux_pool_errors_total", with(pool, "class", "22"), true), 1);
  EXPECT_EQ(delta(s0, s1, "pgmux_pool_errors_total", with(pool, "class", "other"), true), 0);
  EXPECT_TRUE(c.exec("SELECT 1").ok()) << "the connection stays usable";
}

// One refusal of each kind, each counted once under its reason.
TEST_F(MetricsTest, RejectedConnectionsCountedByReason) {
  constexpr int kMaxClients = 3;
  ASSERT_NO_FATAL_FAILURE(start(
      5, 2,
      "max_client_connections: " + std::to_string(kMaxClients) + "\nclient_login_timeout: 1s\n"));
  const std::string rejected = "pgmux_client_connections_rejected_total";
  const std::string clients = "pgmux_client_connections";
  std::string s0 = scrape();
  auto moved = [&](const std::string& reason) {
    return peek(scrape(), rejected, {{"reason", reason}}) -
           peek(s0, rejected, {{"reason", reason}});
  };
  int connections = 0;

  ++connections;
  ConnectOutcome bad_password = connect(pgmux_->conninfo(kDb, kScramUser, "not_the_password"));
  EXPECT_FALSE(bad_password.ok);
  EXPECT_PRED2(contains, bad_password.error, "28P01");
  EXPECT_EQ(moved("auth_failed"), 1);

  ++connections;
  ConnectOutcome bad_db = connect(pgmux_->conninfo("metrics_no_such_db"));
  EXPECT_FALSE(bad_db.ok);
  EXPECT_PRED2(contains, bad_db.error, "3D000");
  EXPECT_EQ(moved("unknown_database"), 1);

  ++connections;  // "GET " read as a startup packet length: a protocol violation
  EXPECT_NE(mu::http_get(pgmux_->port(), "/").status, 200);
  EXPECT_TRUE(wait_until([&] { return moved("protocol_error") == 1; }, 5s, 20ms));

  ++connections;  // connected, then silent past client_login_timeout
  std::string error;
  mu::detail::Fd silent{mu::detail::connect_loopback(pgmux_->port(), Clock::now() + 5s, error)};
  ASSERT_GE(silent.fd, 0) << error;
  EXPECT_TRUE(wait_until([&] { return moved("login_timeout") == 1; }, 10s, 20ms));

  ASSERT_TRUE(wait_until([&] { return peek(scrape(), clients, {}) == 0; }, 10s, 20ms));
  std::vector<PgConn> held;
  for (int i = 0; i < kMaxClients; ++i, ++connections) held.push_back(client());
  ++connections;
  ConnectOutcome too_many = connect(pgmux_->conninfo(kDb));
  EXPECT_FALSE(too_many.ok);
  EXPECT_PRED2(contains, too_many.error, "53300");

  std::string s1 = scrape();
  for (const char* reason :
       {"auth_failed", "unknown_database", "protocol_error", "login_timeout", "too_many_clients"}) {
    EXPECT_EQ(delta(s0, s1, rejected, {{"reason", reason}}), 1) << reason;
  }
  EXPECT_EQ(delta(s0, s1, "pgmux_client_connections_accepted_total", {}), connections);
  EXPECT_EQ(metric(s1, clients), kMaxClients);
}

// Backend pids that pg_stat_activity shows for kDb and `user`, sorted.
std::set<std::string> backend_pids(const std::string& user) {
  PgResult r = PgCluster::get().superuser(kDb).exec_params(
      "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND usename = $2", {kDb, user});
  std::set<std::string> pids;
  for (int i = 0; r.ok() && i < r.rows(); ++i) pids.insert(r.value(i));
  return pids;
}

// Uses kMd5User, whom no other test sends to kDb, so pg_stat_activity's count is this pgmux's.
TEST_F(MetricsTest, ServerConnectionsOpenedMatchBackends) {
  ASSERT_NO_FATAL_FAILURE(start());
  const Labels pool = pool_labels(kMd5User);
  PgConn a = client(kMd5User, kMd5Password), b = client(kMd5User, kMd5Password);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(a.exec("BEGIN").ok());
  std::string pid_a = a.exec("SELECT pg_backend_pid()").value();
  std::string pid_b = b.exec("SELECT pg_backend_pid()").value();  // a holds one server
  ASSERT_NE(pid_a, pid_b);
  ASSERT_TRUE(a.exec("COMMIT").ok());
  std::set<std::string> seen = {pid_a, pid_b};
  for (int i = 0; i < 10; ++i) {
    seen.insert(a.exec("SELECT pg_backend_pid()").value());
    seen.insert(b.exec("SELECT pg_backend_pid()").value());
  }
  EXPECT_EQ(seen.size(), 2u) << "the pool opened more servers than two clients needed";

  std::string text = scrape_until(
      [&](const std::string& t) { return peek(t, "pgmux_pool_servers_active", pool) == 0; });
  EXPECT_EQ(metric(text, "pgmux_pool_server_connections_opened_total", pool), seen.size());
  EXPECT_EQ(metric(text, "pgmux_pool_server_connections_closed_total", pool), 0);
  double held = metric(text, "pgmux_pool_servers_idle", pool) +
                metric(text, "pgmux_pool_servers_used", pool) +
                metric(text, "pgmux_pool_servers_active", pool);
  EXPECT_EQ(held, 2);
  EXPECT_EQ(metric(text, "pgmux_pool_servers_login", pool), 0);
  EXPECT_EQ(backend_pids(kMd5User), seen) << "pg_stat_activity disagrees with the pids seen";
}

// Number of entries of /proc/<pid>/fd, -1 when unreadable.
long long proc_fd_count(pid_t pid) {
  std::error_code ec;
  long long n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return ec ? -1 : n;
}

// One server shared by clients of both workers moves between their event loops, taken from
// the other worker's idle list (it goes on with a duplicate of its descriptor and the old
// worker closes the original) and released to a waiter on the other worker (it leaves its
// loop on the releasing thread): workers run without per-descriptor locks, so only a
// socket's own worker may take it out of its loop. Every query is answered, both kinds of
// move are counted, and no descriptor is left behind: once the clients are gone pgmux
// holds what it held before plus the one server.
TEST_F(MetricsTest, ServerMovedBetweenWorkersKeepsServingAndLeaksNoDescriptor) {
  ASSERT_NO_FATAL_FAILURE(start(/*pool_size=*/1, /*workers=*/2));
  const Labels pool = pool_labels();
  const long long fds_before = proc_fd_count(pgmux_->pid());
  ASSERT_GT(fds_before, 0);
  // 16 clients: all on one worker (SO_REUSEPORT spreads them by address) has odds 2^-15.
  std::vector<PgConn> clients;
  for (int i = 0; i < 16; ++i) {
    clients.push_back(client());
    ASSERT_TRUE(clients.back().ok());
  }
  for (int round = 0; round < 5; ++round) {
    for (size_t i = 0; i < clients.size(); ++i) {
      std::string want = std::to_string(round * 100 + static_cast<int>(i));
      PgResult r = clients[i].exec("SELECT " + want);
      ASSERT_TRUE(r.ok()) << "client " << i << " round " << round << ": " << r.error();
      EXPECT_EQ(r.value(), want);
    }
  }
  std::string text = scrape();
  const double taken_from_other_worker = metric(text, "pgmux_pool_server_moves_total", pool);
  EXPECT_GT(taken_from_other_worker, 0)
      << "the clients all landed on one worker, or moves are not counted";

  // Now released straight to waiters: one client holds the server, the others queue, and
  // the server goes down the queue across both workers.
  ASSERT_TRUE(clients[0].exec("BEGIN").ok());
  ASSERT_TRUE(clients[0].exec("SELECT 1").ok());
  for (size_t i = 1; i < clients.size(); ++i) {
    ASSERT_TRUE(clients[i].send("SELECT " + std::to_string(1000 + i)));
  }
  ASSERT_TRUE(wait_until(
      [&] { return peek(scrape(), "pgmux_pool_clients_waiting", pool) == clients.size() - 1; },
      10s, 20ms));
  ASSERT_TRUE(clients[0].exec("COMMIT").ok());
  for (size_t i = 1; i < clients.size(); ++i) {
    PgResult r = clients[i].wait_result(10s);
    ASSERT_TRUE(r.ok()) << "queued client " << i << ": " << r.error();
    EXPECT_EQ(r.value(), std::to_string(1000 + i));
  }
  text = scrape();
  EXPECT_GT(metric(text, "pgmux_pool_server_moves_total", pool), taken_from_other_worker)
      << "no release went to a waiter on the other worker";
  EXPECT_EQ(metric(text, "pgmux_pool_server_connections_opened_total", pool), 1);
  clients.clear();
  // At most (a scrape's connection may have been open when fds_before was counted): a
  // leaked descriptor per move would be dozens more.
  EXPECT_TRUE(wait_until([&] { return proc_fd_count(pgmux_->pid()) <= fds_before + 1; }, 10s))
      << "pgmux holds " << proc_fd_count(pgmux_->pid()) << " descriptors, " << fds_before
      << " before the clients plus one server expected at most, after "
      << metric(text, "pgmux_pool_server_moves_total", pool) << " moves";
}

TEST_F(MetricsTest, GlobalAndProcessMetrics) {
  constexpr int kWorkers = 3, kExtra = 5;
  ASSERT_NO_FATAL_FAILURE(start(5, kWorkers));
  const std::string clients = "pgmux_client_connections";
  std::string s0 = scrape();
  double base_clients = metric(s0, clients);
  double base_fds = metric(s0, "process_open_fds");
  std::vector<PgConn> conns;
  for (int i = 0; i < kExtra; ++i) {
    conns.push_back(client());
    ASSERT_TRUE(conns.back().ok());
  }
  std::string s1 = scrape_until(
      [&](const std::string& t) { return peek(t, clients, {}) == base_clients + kExtra; });
  EXPECT_EQ(metric(s1, clients), base_clients + kExtra);
  EXPECT_EQ(metric(s1, "pgmux_pool_clients_active", pool_labels()), kExtra);
  EXPECT_EQ(metric(s1, "pgmux_build_info", {{"version", "0.1.0"}}), 1);
  EXPECT_EQ(metric(s1, "pgmux_worker_threads"), kWorkers);
  EXPECT_GE(metric(s1, "process_open_fds"), base_fds + kExtra) << "a client is a socket";
  long long fds = proc_fd_count(pgmux_->pid());
  EXPECT_NEAR(metric(s1, "process_open_fds"), static_cast<double>(fds), 3);
  long long rss_kb = vm_rss_kb(pgmux_->pid());
  double rss = metric(s1, "process_resident_memory_bytes");
  EXPECT_GT(rss, 0);
  EXPECT_GT(rss, rss_kb * 1024.0 / 2);
  EXPECT_LT(rss, rss_kb * 1024.0 * 2);
  EXPECT_GT(metric(s1, "process_virtual_memory_bytes"), rss);
  EXPECT_GT(metric(s1, "process_max_fds"), metric(s1, "process_open_fds"));
  EXPECT_NEAR(metric(s1, "process_start_time_seconds"), static_cast<double>(std::time(nullptr)),
              60);

  conns.clear();
  std::string s2 =
      scrape_until([&](const std::string& t) { return peek(t, clients, {}) == base_clients; });
  EXPECT_EQ(metric(s2, clients), base_clients) << "closed clients are still counted";
  EXPECT_EQ(metric(s2, "pgmux_pool_clients_active", pool_labels()), 0);
}

TEST_F(MetricsTest, ExpositionPassesPromtool) {
  struct stat st {};
  if (::stat(kPromtool, &st) != 0) GTEST_SKIP() << kPromtool << " is not installed";
  ASSERT_NO_FATAL_FAILURE(start(1));
  const Labels pool = pool_labels();
  // Load that fills every kind of series: errors, a client wait, a rejected login.
  PgConn holder = client(), waiter = client();
  ASSERT_TRUE(holder.ok() && waiter.ok());
  EXPECT_EQ(holder.exec("SELECT 1/0").sqlstate(), "22012");
  ASSERT_TRUE(holder.exec("BEGIN").ok());
  ASSERT_TRUE(holder.exec("SELECT 1").ok());
  ASSERT_TRUE(waiter.send("SELECT 2"));
  scrape_until(
      [&](const std::string& t) { return peek(t, "pgmux_pool_clients_waiting", pool) == 1; });
  ASSERT_TRUE(holder.exec("COMMIT").ok());
  ASSERT_TRUE(waiter.wait_result().ok());
  EXPECT_FALSE(connect(pgmux_->conninfo(kDb, kScramUser, "wrong")).ok);
  std::string text = scrape();
  ASSERT_FALSE(text.empty());
  EXPECT_GE(metric(text, "pgmux_pool_wait_duration_seconds_count", pool), 1);
  EXPECT_EQ(metric(text, "pgmux_pool_errors_total", with(pool, "class", "22")), 1);

  TempDir dir;
  std::string path = dir.write("metrics.prom", text);
  CommandResult r =
      run_command({"/bin/sh", "-c", std::string(kPromtool) + " check metrics < " + path});
  EXPECT_EQ(r.exit_code, 0) << r.describe() << "\nexposition:\n" << text;
  EXPECT_EQ(r.out + r.err, "") << "promtool reported problems";
}

}  // namespace
}  // namespace pgmux::itest
