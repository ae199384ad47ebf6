// pgbench through pgmux in transaction mode: no failed transactions, every one processed.
// Thread-safety: single-threaded tests.
#include "harness.hpp"

namespace pgmux::itest {
namespace {

constexpr int kClients = 20;
constexpr int kTransactionsPerClient = 100;

void run_pgbench(const std::string& protocol) {
  PgmuxConfig config;
  config.pool_mode = "transaction";
  config.pool_size = 8;
  config.databases = {{.name = "pgbench_db"}};
  PgmuxProcess pgmux(config);
  ASSERT_TRUE(pgmux.start());
  CommandResult r = run_command(
      {"pgbench", "-n", "-M", protocol, "-c", std::to_string(kClients), "-j", "2", "-t",
       std::to_string(kTransactionsPerClient), "-h", "127.0.0.1", "-p", std::to_string(pgmux.port()),
       "-U", kScramUser, "pgbench_db"},
      {{"PGPASSWORD", kScramPassword}, {"PGCONNECT_TIMEOUT", "10"}}, 90s);
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const int expected = kClients * kTransactionsPerClient;
  EXPECT_PRED2(contains, r.out, "number of failed transactions: 0 ") << r.describe();
  EXPECT_PRED2(contains, r.out,
               "number of transactions actually processed: " + std::to_string(expected) + "/" +
                   std::to_string(expected))
      << r.describe();
}

TEST(PgbenchTest, SimpleProtocolTransactionMode) { run_pgbench("simple"); }

TEST(PgbenchTest, ExtendedProtocolTransactionMode) { run_pgbench("extended"); }

}  // namespace
}  // namespace pgmux::itest
