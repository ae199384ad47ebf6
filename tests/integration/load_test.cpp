// Many concurrent clients on a small transaction-mode pool: all work completes and the server
// never sees more connections than pool_size.
// Thread-safety: client threads each own their connection; results are merged under a mutex.
#include "harness.hpp"

#include <atomic>
#include <mutex>
#include <thread>

namespace pgmux::itest {
namespace {

constexpr int kClients = 100;
constexpr int kTransactionsPerClient = 20;
constexpr int kPoolSize = 5;
constexpr const char* kDb = "pgmux_load";  // only this test uses it, so its backend count is ours

// One client: connect, then run short transactions that each insert one row.
std::string run_client(const std::string& conninfo, int client) {
  ConnectOutcome c = connect(conninfo, 60s);
  if (!c.ok) return "client " + std::to_string(client) + " connect: " + c.error;
  for (int i = 0; i < kTransactionsPerClient; ++i) {
    for (const std::string& sql :
         {std::string("BEGIN"),
          "INSERT INTO load_log (client, seq) VALUES (" + std::to_string(client) + ", " + std::to_string(i) + ")",
          std::string("SELECT pg_sleep(0.005)"), std::string("COMMIT")}) {
      PgResult r = c.conn.exec(sql, 60s);
      if (!r.ok()) return "client " + std::to_string(client) + " '" + sql + "': " + r.error();
    }
  }
  return "";
}

TEST(LoadTest, HundredClientsOnPoolOfFive) {
  const PgCluster& cluster = PgCluster::get();
  ASSERT_TRUE(cluster.exec(kDb, "TRUNCATE load_log").ok());
  PgmuxConfig config;
  config.pool_mode = "transaction";
  config.pool_size = kPoolSize;
  config.databases = {{.name = kDb}};
  PgmuxProcess pgmux(config);
  ASSERT_TRUE(pgmux.start());

  PgConn super = cluster.superuser(kDb);
  std::atomic<bool> load_done{false};
  long long max_seen = 0, samples = 0, sample_errors = 0;
  std::thread sampler([&] {
    while (!load_done) {
      long long n = cluster.backends(super, kDb, kScramUser);
      if (n < 0) ++sample_errors;
      max_seen = std::max(max_seen, n);
      ++samples;
      std::this_thread::sleep_for(5ms);  // sampling cadence, not synchronisation
    }
  });

  std::mutex mu;
  std::vector<std::string> failures;
  std::vector<std::thread> clients;
  std::string conninfo = pgmux.conninfo(kDb);
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      std::string failure = run_client(conninfo, i);
      if (failure.empty()) return;
      std::lock_guard lock(mu);
      failures.push_back(failure);
    });
  }
  for (auto& t : clients) t.join();
  load_done = true;
  sampler.join();

  EXPECT_TRUE(failures.empty()) << failures.size() << " clients failed; first: " << (failures.empty() ? "" : failures.front());
  EXPECT_EQ(sample_errors, 0);
  EXPECT_GE(samples, 5);
  EXPECT_LE(max_seen, kPoolSize) << "more server connections than pool_size";
  EXPECT_GE(max_seen, 1) << "the sampler never saw a server connection";
  EXPECT_EQ(cluster.exec(kDb, "SELECT count(*) FROM load_log").value(),
            std::to_string(kClients * kTransactionsPerClient));
}

}  // namespace
}  // namespace pgmux::itest
