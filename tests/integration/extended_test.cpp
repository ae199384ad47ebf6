// The extended protocol in transaction mode as drivers use it: pgbench -M extended / prepared
// with many clients on a small pool, and libpq pipelines (1,000 queued queries, Syncs, an error
// in the middle) whose result sequence must equal PostgreSQL's own.
// Thread-safety: each test's thread owns its connections; a Churner owns its own.
#include <poll.h>

#include "harness.hpp"

namespace pgmux::itest {
namespace {

constexpr const char* kDb = "pgmux_test";

void run_pgbench(const std::string& protocol) {
  PgmuxConfig config;
  config.pool_mode = "transaction";
  config.pool_size = 5;
  config.databases = {{.name = "pgbench_db"}};
  PgmuxProcess pgmux(config);
  ASSERT_TRUE(pgmux.start());
  CommandResult r =
      run_command({"pgbench", "-n", "-M", protocol, "-c", "50", "-j", "2", "-t", "50", "-h",
                   "127.0.0.1", "-p", std::to_string(pgmux.port()), "-U", kScramUser, "pgbench_db"},
                  {{"PGPASSWORD", kScramPassword}, {"PGCONNECT_TIMEOUT", "10"}}, 55s);
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_PRED2(contains, r.out, "number of failed transactions: 0 ") << r.describe();
  EXPECT_PRED2(contains, r.out, "number of transactions actually processed: 2500/2500")
      << r.describe();
}

TEST(ExtendedTest, PgbenchExtendedFiftyClientsPoolOfFive) { run_pgbench("extended"); }

TEST(ExtendedTest, PgbenchPreparedFiftyClientsPoolOfFive) { run_pgbench("prepared"); }

// ---- pipelines ----

// Query i answers i; even ones go as PQsendQueryParams, odd ones through the prepared `pipe`.
enum class Step { kParams, kPrepared, kDivisionByZero, kSync };

// `count` queries with a Sync after every `sync_every` (0: one Sync at the end), query `error_at`
// dividing by zero (-1: none), then `tail` more queries and a Sync.
std::vector<Step> build_pipeline(int count, int sync_every, int error_at, int tail = 0) {
  std::vector<Step> steps;
  auto query = [&](int i) {
    steps.push_back(i == error_at ? Step::kDivisionByZero
                    : i % 2       ? Step::kPrepared
                                  : Step::kParams);
  };
  for (int i = 0; i < count; ++i) {
    query(i);
    if (sync_every && (i + 1) % sync_every == 0) steps.push_back(Step::kSync);
  }
  if (steps.back() != Step::kSync) steps.push_back(Step::kSync);
  for (int i = count; i < count + tail; ++i) query(i);
  if (tail) steps.push_back(Step::kSync);
  return steps;
}

// What PostgreSQL's pipeline rules predict: an error aborts everything up to the next Sync.
std::vector<std::string> predicted_tokens(const std::vector<Step>& steps) {
  std::vector<std::string> tokens = {"COMMAND_OK"};  // the PQsendPrepare
  bool aborted = false;
  int query = 0;
  for (Step step : steps) {
    if (step == Step::kSync) {
      tokens.push_back("SYNC");
      aborted = false;
      continue;
    }
    if (aborted)
      tokens.push_back("ABORTED");
    else if (step == Step::kDivisionByZero)
      tokens.push_back("ERROR:22012");
    else
      tokens.push_back("OK:" + std::to_string(query));
    aborted = aborted || step == Step::kDivisionByZero;
    ++query;
  }
  return tokens;
}

std::string token_of(const PGresult* r) {
  switch (PQresultStatus(r)) {
    case PGRES_TUPLES_OK:
      return "OK:" + std::string(PQntuples(r) ? PQgetvalue(r, 0, 0) : "<no row>");
    case PGRES_COMMAND_OK:
      return "COMMAND_OK";
    case PGRES_PIPELINE_ABORTED:
      return "ABORTED";
    case PGRES_PIPELINE_SYNC:
      return "SYNC";
    case PGRES_FATAL_ERROR: {
      const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
      return std::string("ERROR:") + (state ? state : PQresultErrorMessage(r));
    }
    default:
      return PQresStatus(PQresultStatus(r));
  }
}

// Flushes libpq's output, reading input meanwhile so that neither side stalls.
bool pump(PGconn* c, Clock::time_point deadline) {
  while (true) {
    int pending = PQflush(c);
    if (pending <= 0) return pending == 0;
    pollfd p{PQsocket(c), POLLIN | POLLOUT, 0};
    if (poll(&p, 1, remaining_ms(deadline)) <= 0) return false;
    if ((p.revents & POLLIN) && !PQconsumeInput(c)) return false;
  }
}

bool send_step(PGconn* c, Step step, int query) {
  const std::string value = step == Step::kDivisionByZero ? "0" : std::to_string(query);
  const char* params[] = {value.c_str()};
  switch (step) {
    case Step::kSync:
      return PQpipelineSync(c) == 1;
    case Step::kPrepared:
      return PQsendQueryPrepared(c, "pipe", 1, params, nullptr, nullptr, 0) == 1;
    case Step::kParams:
      return PQsendQueryParams(c, "SELECT $1::int", 1, nullptr, params, nullptr, nullptr, 0) == 1;
    case Step::kDivisionByZero:
      return PQsendQueryParams(c, "SELECT 1 / $1::int", 1, nullptr, params, nullptr, nullptr, 0) ==
             1;
  }
  return false;
}

// Reads results until `syncs` PIPELINE_SYNC results came; one token per result.
bool collect(PGconn* c, int syncs, Clock::time_point deadline, std::vector<std::string>* tokens) {
  while (syncs > 0) {
    if (Clock::now() >= deadline || PQstatus(c) != CONNECTION_OK) return false;
    if (PQisBusy(c)) {
      pollfd p{PQsocket(c), POLLIN, 0};
      if (poll(&p, 1, remaining_ms(deadline)) <= 0 || !PQconsumeInput(c)) return false;
      continue;
    }
    PGresult* r = PQgetResult(c);
    if (!r) continue;  // the end of one query's results
    tokens->push_back(token_of(r));
    if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) --syncs;
    PQclear(r);
  }
  return true;
}

// Runs `steps` in pipeline mode on a new connection; "" or a problem in *problem.
std::vector<std::string> run_pipeline(const std::string& conninfo, const std::vector<Step>& steps,
                                      std::string* problem) {
  std::vector<std::string> tokens;
  auto fail = [&](const std::string& what) {
    *problem = what;
    return tokens;
  };
  ConnectOutcome conn = connect(conninfo);
  if (!conn.ok) return fail("connect: " + conn.error);
  PGconn* c = conn.conn.get();
  auto deadline = Clock::now() + 30s;
  if (PQsetnonblocking(c, 1) != 0 || !PQenterPipelineMode(c) ||
      !PQsendPrepare(c, "pipe", "SELECT $1::int", 1, nullptr)) {
    return fail("pipeline setup: " + conn.conn.error());
  }
  int query = 0, syncs = 0;
  for (Step step : steps) {
    if (!send_step(c, step, query) || !pump(c, deadline)) {
      return fail("sending query " + std::to_string(query) + ": " + conn.conn.error());
    }
    step == Step::kSync ? ++syncs : ++query;
  }
  if (!collect(c, syncs, deadline, &tokens)) {
    return fail("reading results (got " + std::to_string(tokens.size()) +
                "): " + conn.conn.error());
  }
  if (!PQexitPipelineMode(c)) return fail("PQexitPipelineMode: " + conn.conn.error());
  return tokens;
}

// The first index where the two differ, with what each had from there on (a few results).
std::string first_difference(const std::vector<std::string>& got,
                             const std::vector<std::string>& want) {
  auto from = [](const std::vector<std::string>& v, size_t i) {
    std::string out;
    for (size_t k = i; k < std::min(v.size(), i + 12); ++k) out += v[k] + " ";
    return out;
  };
  for (size_t i = 0; i < std::max(got.size(), want.size()); ++i) {
    std::string g = i < got.size() ? got[i] : "<none>";
    std::string w = i < want.size() ? want[i] : "<none>";
    if (g != w) {
      return "result " + std::to_string(i) + ": got " + from(got, i) + "... expected " +
             from(want, i) + "... (" + std::to_string(got.size()) + " results, expected " +
             std::to_string(want.size()) + ")";
    }
  }
  return "";
}

// The same pipeline through pgmux (pool of 2, optionally with a churning client) and directly.
void pipeline_matches_postgres(const std::vector<Step>& steps, bool churn) {
  PgmuxConfig config;
  config.pool_mode = "transaction";
  config.pool_size = 2;
  config.workers = 1;
  config.databases = {{.name = kDb}};
  PgmuxProcess pgmux(config);
  ASSERT_TRUE(pgmux.start());
  std::unique_ptr<Churner> churner;
  if (churn) churner = std::make_unique<Churner>(pgmux.conninfo(kDb));
  std::string direct_problem, pgmux_problem;
  const PgCluster& cluster = PgCluster::get();
  std::vector<std::string> direct =
      run_pipeline(cluster.tcp_conninfo(kDb, kScramUser, kScramPassword), steps, &direct_problem);
  ASSERT_EQ(direct_problem, "");
  ASSERT_EQ(first_difference(direct, predicted_tokens(steps)), "") << "PostgreSQL itself";
  std::vector<std::string> through = run_pipeline(pgmux.conninfo(kDb), steps, &pgmux_problem);
  EXPECT_EQ(pgmux_problem, "");
  EXPECT_EQ(through.size(), direct.size());
  EXPECT_EQ(first_difference(through, direct), "") << "through pgmux vs directly";
  if (churner) {
    EXPECT_EQ(churner->stop(), "");
  }
}

TEST(ExtendedTest, PipelineThousandQueriesOneSync) {
  pipeline_matches_postgres(build_pipeline(1000, 0, -1), false);
}

TEST(ExtendedTest, PipelineThousandQueriesSyncEveryTenWithChurn) {
  pipeline_matches_postgres(build_pipeline(1000, 10, -1), true);
}

// Query 500 fails; 501..509 are aborted; from 510 (after the Sync) everything succeeds.
TEST(ExtendedTest, PipelineErrorInQuery500SyncEveryTen) {
  std::vector<Step> steps = build_pipeline(1000, 10, 500);
  std::vector<std::string> want = predicted_tokens(steps);
  ASSERT_EQ(want[1 + 500 + 50], "ERROR:22012");  // 1 prepare, 500 queries and 50 Syncs before it
  ASSERT_EQ(want[1 + 501 + 50], "ABORTED");
  pipeline_matches_postgres(steps, true);
}

// One Sync after 1,000 queries with an error at 500: 501..999 aborted, the next batch succeeds.
TEST(ExtendedTest, PipelineErrorInQuery500OneSyncThenNextBatch) {
  pipeline_matches_postgres(build_pipeline(1000, 0, 500, 10), false);
}

}  // namespace
}  // namespace pgmux::itest
