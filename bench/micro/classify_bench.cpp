// Micro-benchmarks of sql::classify, which runs on every simple Query when routing is on:
// a typical point SELECT, a CTE with a join and a subquery, and a write. Single-threaded.
#include <string_view>

#include <benchmark/benchmark.h>

#include "pgmux/sql/classify.hpp"

namespace pgmux::sql {
namespace {

constexpr std::string_view kSelect = "SELECT abalance FROM pgbench_accounts WHERE aid = 48213;";

constexpr std::string_view kCte =
    "WITH recent AS (\n"
    "  SELECT o.customer_id, sum(o.total) AS spent, count(*) AS orders\n"
    "  FROM orders o\n"
    "  WHERE o.created_at > now() - interval '30 days' AND o.status <> 'cancelled'\n"
    "  GROUP BY o.customer_id\n"
    ")\n"
    "SELECT c.id, c.name, r.spent, r.orders,\n"
    "       (SELECT max(p.paid_at) FROM payments p WHERE p.customer_id = c.id) AS last_paid\n"
    "FROM customers c JOIN recent r ON r.customer_id = c.id\n"
    "WHERE c.region IN ('eu', 'us') -- top customers\n"
    "ORDER BY r.spent DESC LIMIT 20;";

constexpr std::string_view kUpdate =
    "UPDATE pgbench_accounts SET abalance = abalance + -4211 WHERE aid = 48213;";

// Classifies `sql` repeatedly; fails the benchmark when the route is not `expected`.
void run(benchmark::State& state, std::string_view sql, Route expected) {
  const ClassifyOptions options;
  for (auto _ : state) {
    Classification c = classify(sql, options);
    benchmark::DoNotOptimize(c);
    if (c.route != expected) {
      state.SkipWithError("unexpected route");
      return;
    }
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(sql.size()));
}

void BM_ClassifySelect(benchmark::State& state) { run(state, kSelect, Route::kReplica); }
void BM_ClassifyCte(benchmark::State& state) { run(state, kCte, Route::kReplica); }
void BM_ClassifyUpdate(benchmark::State& state) { run(state, kUpdate, Route::kPrimary); }

BENCHMARK(BM_ClassifySelect);
BENCHMARK(BM_ClassifyCte);
BENCHMARK(BM_ClassifyUpdate);

}  // namespace
}  // namespace pgmux::sql
