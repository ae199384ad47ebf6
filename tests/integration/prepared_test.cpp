// Protocol-level prepared statements in transaction mode: a statement prepared once follows its
// client across server connections, clients' names and texts never mix, Describe works anywhere,
// and Close / DEALLOCATE ALL free a name for a new text.
// Thread-safety: each test's thread owns its connections; a Churner owns its own.
#include <set>

#include "harness.hpp"

namespace pgmux::itest {
namespace {

constexpr const char* kDb = "pgmux_test";
constexpr Oid kInt4 = 23;
constexpr Oid kText = 25;

// One worker, so every client shares one idle list and consecutive transactions of a client
// really change servers while another client churns.
PgmuxConfig tx_config(int pool_size, std::string users = "") {
  return PgmuxConfig::transaction(kDb, pool_size, std::move(users));
}

PgConn must_connect(const PgmuxProcess& pgmux) {
  ConnectOutcome c = connect(pgmux.conninfo(kDb));
  EXPECT_TRUE(c.ok) << c.error;
  return std::move(c.conn);
}

// Prepared once; each of 100 executions (half in BEGIN/COMMIT, half autocommit) is forced onto
// the other server than the one before, while another client churns the pool.
TEST(PreparedTest, PreparedOnceExecutedInHundredTransactionsAcrossServers) {
  PgmuxProcess pgmux(tx_config(2));
  ASSERT_TRUE(pgmux.start());
  PgConn conn = must_connect(pgmux);
  ASSERT_TRUE(conn.ok());
  Churner churn(pgmux.conninfo(kDb));
  ASSERT_TRUE(churn.wait_for(3)) << churn.stop();
  ServerRotation rotation(pgmux.conninfo(kDb));
  PgResult r = conn.prepare("double_it", "SELECT $1::int * 2, pg_backend_pid()");
  ASSERT_TRUE(r.ok()) << r.error();
  std::string last_pid;
  std::set<std::string> pids;
  for (int i = 0; i < 100 && !HasFailure(); ++i) {
    ASSERT_EQ(rotation.free_other_than(last_pid), "") << "execution " << i;
    const bool explicit_tx = i % 2 == 0;
    ASSERT_TRUE(!explicit_tx || conn.exec("BEGIN").ok()) << "execution " << i;
    r = conn.exec_prepared("double_it", {std::to_string(i)});
    ASSERT_TRUE(r.ok()) << "execution " << i << ": " << r.error();
    EXPECT_EQ(r.value(0, 0), std::to_string(2 * i)) << "execution " << i;
    EXPECT_NE(r.value(0, 1), last_pid) << "execution " << i << " did not change servers";
    last_pid = r.value(0, 1);
    pids.insert(last_pid);
    ASSERT_TRUE(!explicit_tx || conn.exec("COMMIT").ok()) << "execution " << i;
    ASSERT_EQ(rotation.release(), "") << "execution " << i;
  }
  EXPECT_EQ(pids.size(), 2u);
  EXPECT_EQ(churn.stop(), "");
}

// One client's prepared statement: what it was prepared as and what it must answer.
struct Statement {
  PgConn* conn;
  std::string who;  // for failure messages
  std::string name;
  std::string sql;
  int nparams;  // 1: ($1 = round), 2: ($1 = round, $2 = 3)
  Oid param_type;
  Oid result_type;
  std::function<std::string(int)> expected;
};

std::vector<std::string> params_for(const Statement& s, int round) {
  if (s.nparams == 1) return {std::to_string(round)};
  return {std::to_string(round), "3"};
}

// Three clients: the same name `stmt` with three texts, and two other names with B's text.
std::vector<Statement> colliding_statements(PgConn& a, PgConn& b, PgConn& c) {
  const std::string b_text = "SELECT $1::int + 1000, pg_backend_pid()";
  auto plus = [](int r) { return std::to_string(r + 1000); };
  return {
      {&a, "A", "stmt", "SELECT 'a:' || $1::text, pg_backend_pid()", 1, kText, kText,
       [](int r) { return "a:" + std::to_string(r); }},
      {&b, "B", "stmt", b_text, 1, kInt4, kInt4, plus},
      {&a, "A", "a_plus", b_text, 1, kInt4, kInt4, plus},
      {&c, "C", "stmt", "SELECT $1::int * $2::int, pg_backend_pid()", 2, kInt4, kInt4,
       [](int r) { return std::to_string(r * 3); }},
      {&c, "C", "c_plus", b_text, 1, kInt4, kInt4, plus},
  };
}

std::string describe_problem(const Statement& s) {
  PgResult d = s.conn->describe_prepared(s.name);
  if (!d.ok()) return s.who + " describe " + s.name + ": " + d.error();
  const PGresult* res = d.get();
  if (PQnparams(res) != s.nparams || PQparamtype(res, 0) != s.param_type || PQnfields(res) != 2 ||
      PQftype(res, 0) != s.result_type) {
    return s.who + " describe " + s.name + ": nparams " + std::to_string(PQnparams(res)) +
           ", param type " + std::to_string(PQparamtype(res, 0)) + ", nfields " +
           std::to_string(PQnfields(res)) + ", column type " + std::to_string(PQftype(res, 0));
  }
  return "";
}

// Executes (and every fourth round first describes) every statement, in an order that changes
// each round. With a rotation, each round of a client runs on the other server than its
// previous one.
void run_rounds(std::vector<Statement>& statements, int rounds, ServerRotation* rotation) {
  std::map<std::string, std::string> last_pid;  // client -> server pid of its last execution
  for (int round = 0; round < rounds && !::testing::Test::HasFailure(); ++round) {
    for (size_t k = 0; k < statements.size(); ++k) {
      const Statement& s = statements[(k + round) % statements.size()];
      const std::string where = s.who + " " + s.name + " round " + std::to_string(round);
      if (rotation) {
        ASSERT_EQ(rotation->free_other_than(last_pid[s.who]), "") << where;
      }
      if (round % 4 == 1) {  // first thing on the new server, before the statement ran there
        EXPECT_EQ(describe_problem(s), "") << where;
      }
      const bool explicit_tx = (round + k) % 3 == 0;
      ASSERT_TRUE(!explicit_tx || s.conn->exec("BEGIN").ok()) << where;
      PgResult r = s.conn->exec_prepared(s.name, params_for(s, round));
      ASSERT_TRUE(r.ok()) << where << ": " << r.error();
      EXPECT_EQ(r.value(0, 0), s.expected(round)) << where;
      if (rotation) {
        EXPECT_NE(r.value(0, 1), last_pid[s.who]) << where << ": same server";
      }
      last_pid[s.who] = r.value(0, 1);
      ASSERT_TRUE(!explicit_tx || s.conn->exec("COMMIT").ok()) << where;
      if (rotation) {
        ASSERT_EQ(rotation->release(), "") << where;
      }
    }
  }
}

// Prepares in an interleaved order: A and B's `stmt` exist before anybody executes either.
void prepare_interleaved(std::vector<Statement>& statements) {
  for (size_t order : {0, 1, 3, 2, 4}) {
    const Statement& s = statements[order];
    PgResult r = s.conn->prepare(s.name, s.sql);
    ASSERT_TRUE(r.ok()) << s.who << " prepare " << s.name << ": " << r.error();
    if (order == 1) {  // A executes between B's and C's Parse
      PgResult e = statements[0].conn->exec_prepared("stmt", {"7"});
      ASSERT_TRUE(e.ok()) << e.error();
      EXPECT_EQ(e.value(), "a:7");
    }
  }
}

// Pool of 1: all statements share one server. Pool of 2: executions alternate servers.
void same_names_different_texts(int pool_size) {
  PgmuxProcess pgmux(tx_config(pool_size));
  ASSERT_TRUE(pgmux.start());
  PgConn a = must_connect(pgmux), b = must_connect(pgmux), c = must_connect(pgmux);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  std::unique_ptr<ServerRotation> rotation;
  if (pool_size == 2) rotation = std::make_unique<ServerRotation>(pgmux.conninfo(kDb));
  std::vector<Statement> statements = colliding_statements(a, b, c);
  prepare_interleaved(statements);
  if (::testing::Test::HasFatalFailure()) return;
  run_rounds(statements, 12, rotation.get());
}

TEST(PreparedTest, SameNameDifferentTextsPoolOfOne) { same_names_different_texts(1); }

TEST(PreparedTest, SameNameDifferentTextsPoolOfTwoAcrossServers) { same_names_different_texts(2); }

// The prepared statement of another client is invisible: B never prepared `a_plus`.
TEST(PreparedTest, OtherClientsStatementIsInvisible) {
  PgmuxProcess pgmux(tx_config(1));
  ASSERT_TRUE(pgmux.start());
  PgConn a = must_connect(pgmux), b = must_connect(pgmux);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(a.prepare("a_only", "SELECT 1").ok());
  ASSERT_TRUE(a.exec_prepared("a_only", {}).ok());
  PgResult r = b.exec_prepared("a_only", {});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.sqlstate(), "26000") << r.error();
  r = b.describe_prepared("a_only");
  EXPECT_EQ(r.sqlstate(), "26000") << r.error();
  // Preparing an existing name again is an error, as on PostgreSQL.
  r = a.prepare("a_only", "SELECT 2");
  EXPECT_EQ(r.sqlstate(), "42P05") << r.error();
  EXPECT_EQ(a.exec_prepared("a_only", {}).value(), "1");
}

// Runs `step` on the other server than `*last_pid` (updated from the pid column `pid_col` of
// its result, when there is one).
PgResult on_other_server(ServerRotation& rotation, std::string* last_pid,
                         const std::function<PgResult()>& step, int pid_col = -1) {
  std::string problem = rotation.free_other_than(*last_pid);
  if (!problem.empty()) return PgResult(nullptr, "rotation: " + problem);
  PgResult r = step();
  problem = rotation.release();
  if (!problem.empty()) return PgResult(nullptr, "rotation: " + problem);
  if (pid_col >= 0 && r.ok()) {
    EXPECT_NE(r.value(0, pid_col), *last_pid) << "did not change servers";
    *last_pid = r.value(0, pid_col);
  }
  return r;
}

TEST(PreparedTest, DeallocateAllThenPrepareSameNameWithAnotherText) {
  PgmuxProcess pgmux(tx_config(2));
  ASSERT_TRUE(pgmux.start());
  PgConn conn = must_connect(pgmux);
  ASSERT_TRUE(conn.ok());
  ServerRotation rotation(pgmux.conninfo(kDb));
  std::string last_pid;
  for (int round = 0; round < 10 && !HasFailure(); ++round) {
    const std::string text = "SELECT " + std::to_string(round) + "::int, pg_backend_pid()";
    PgResult r = conn.prepare("s", text);
    ASSERT_TRUE(r.ok()) << "round " << round << " prepare: " << r.error();
    r = on_other_server(
        rotation, &last_pid, [&] { return conn.exec_prepared("s", {}); }, 1);
    ASSERT_TRUE(r.ok()) << "round " << round << ": " << r.error();
    EXPECT_EQ(r.value(), std::to_string(round));
    r = conn.exec("DEALLOCATE ALL");
    ASSERT_TRUE(r.ok()) << "round " << round << " DEALLOCATE ALL: " << r.error();
    r = on_other_server(rotation, &last_pid, [&] { return conn.exec_prepared("s", {}); });
    EXPECT_EQ(r.sqlstate(), "26000")
        << "round " << round
        << ": executing a deallocated statement: " << (r.ok() ? "succeeded" : r.error());
  }
}

// Raw protocol: Parse, Bind/Execute, Close, then the name is free again (also within one Sync).
class RawStatementRound {
 public:
  explicit RawStatementRound(RawConn& raw) : raw_(raw) {}

  // Parse `s` as "SELECT <round>", executes it and returns the server pid ("" on failure).
  std::string prepare_and_run(int round, bool close_first) {
    std::string batch = close_first ? fe::close('S', "s") : "";
    batch += fe::parse("s", "SELECT " + std::to_string(round) + "::int, pg_backend_pid()");
    batch += fe::bind("", "s", {}) + fe::execute("") + fe::sync();
    EXPECT_TRUE(raw_.send(batch));
    std::vector<RawMessage> got = raw_.read_until_ready();
    const std::string want = close_first ? "312DCZ" : "12DCZ";
    EXPECT_EQ(message_types(got), want) << "round " << round << ": " << first_error(got);
    if (message_types(got) != want) return "";
    std::vector<std::string> row = data_row_values(got[got.size() - 3].body);
    EXPECT_EQ(row.at(0), std::to_string(round));
    return row.at(1);
  }

  void close_and_expect_gone(int round) {
    EXPECT_TRUE(raw_.send(fe::close('S', "s") + fe::sync()));
    EXPECT_EQ(message_types(raw_.read_until_ready()), "3Z") << "round " << round;
    EXPECT_TRUE(raw_.send(fe::bind("", "s", {}) + fe::execute("") + fe::sync()));
    std::vector<RawMessage> got = raw_.read_until_ready();
    ASSERT_EQ(message_types(got), "EZ") << "round " << round << ": Bind to a closed statement";
    EXPECT_EQ(error_fields(got[0].body)['C'], "26000") << error_fields(got[0].body)['M'];
  }

 private:
  static std::string first_error(const std::vector<RawMessage>& got) {
    for (const auto& m : got)
      if (m.type == 'E') return error_fields(m.body)['M'];
    return "";
  }
  RawConn& raw_;
};

TEST(PreparedTest, RawCloseThenPrepareSameNameWithAnotherText) {
  PgmuxProcess pgmux(tx_config(2, PgmuxConfig::trust_users()));
  ASSERT_TRUE(pgmux.start());
  RawConn raw;
  ASSERT_TRUE(raw.login(pgmux.port(), {{"user", kScramUser}, {"database", kDb}})) << raw.problem();
  ServerRotation rotation(pgmux.conninfo(kDb));
  RawStatementRound step(raw);
  std::string last_pid;
  for (int round = 0; round < 10 && !HasFailure(); ++round) {
    ASSERT_EQ(rotation.free_other_than(last_pid), "") << "round " << round;
    std::string pid;
    if (round % 2 == 0) {
      pid = step.prepare_and_run(round, false);
      step.close_and_expect_gone(round);
    } else {  // Close the old and Parse the new text in the same batch
      ASSERT_TRUE(raw.send(fe::parse("s", "SELECT 'old'") + fe::sync()));
      ASSERT_EQ(message_types(raw.read_until_ready()), "1Z");
      pid = step.prepare_and_run(round, true);
      ASSERT_TRUE(raw.send(fe::close('S', "s") + fe::sync()));
      ASSERT_EQ(message_types(raw.read_until_ready()), "3Z");
    }
    ASSERT_EQ(rotation.release(), "") << "round " << round;
    EXPECT_NE(pid, last_pid) << "round " << round << " did not change servers";
    last_pid = pid;
  }
}

// Raw protocol: Describe and Close of a portal (named or unnamed) of a renamed statement
// pass through as they are, with their replies in order: RowDescription for the
// Describe, CloseComplete for the Close (its reply counted like a statement's), and a
// named portal closed mid-batch is gone for the Execute after it.
TEST(PreparedTest, RawPortalDescribeAndClosePassThrough) {
  PgmuxProcess pgmux(tx_config(2, PgmuxConfig::trust_users()));
  ASSERT_TRUE(pgmux.start());
  RawConn raw;
  ASSERT_TRUE(raw.login(pgmux.port(), {{"user", kScramUser}, {"database", kDb}})) << raw.problem();
  ASSERT_TRUE(raw.send(fe::parse("s", "SELECT $1::int * 2 AS doubled") + fe::sync()));
  ASSERT_EQ(message_types(raw.read_until_ready()), "1Z");
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(raw.send(fe::bind("", "s", {"21"}) + fe::describe('P', "") + fe::execute("") +
                         fe::close('P', "") + fe::sync()));
    std::vector<RawMessage> got = raw.read_until_ready();
    ASSERT_EQ(message_types(got), "2TDC3Z") << "round " << round;
    EXPECT_EQ(data_row_values(got[2].body).at(0), "42");
  }
  // In one transaction (one server): a named portal, closed, then executed.
  ASSERT_TRUE(raw.send(fe::query("BEGIN")));
  ASSERT_EQ(message_types(raw.read_until_ready()), "CZ");
  ASSERT_TRUE(raw.send(fe::bind("p", "s", {"5"}) + fe::describe('P', "p") + fe::close('P', "p") +
                       fe::execute("p") + fe::sync()));
  std::vector<RawMessage> got = raw.read_until_ready();
  ASSERT_EQ(message_types(got), "2T3EZ");
  EXPECT_EQ(error_fields(got[3].body)['C'], "34000") << error_fields(got[3].body)['M'];
  ASSERT_TRUE(raw.send(fe::query("ROLLBACK")));
  ASSERT_EQ(message_types(raw.read_until_ready()), "CZ");
  // The statement itself is untouched by all of it.
  ASSERT_TRUE(raw.send(fe::bind("", "s", {"4"}) + fe::execute("") + fe::sync()));
  got = raw.read_until_ready();
  ASSERT_EQ(message_types(got), "2DCZ");
  EXPECT_EQ(data_row_values(got[1].body).at(0), "8");
}

// Raw protocol: a statement prepared on one server and executed on another gets exactly the
// messages PostgreSQL would send (no trace of re-preparing it there), in batches and pipelined.
TEST(PreparedTest, RawExecuteOnOtherServerSeesOnlyItsOwnMessages) {
  PgmuxProcess pgmux(tx_config(2, PgmuxConfig::trust_users()));
  ASSERT_TRUE(pgmux.start());
  RawConn raw;
  ASSERT_TRUE(raw.login(pgmux.port(), {{"user", kScramUser}, {"database", kDb}})) << raw.problem();
  ServerRotation rotation(pgmux.conninfo(kDb));
  ASSERT_TRUE(raw.send(fe::parse("s", "SELECT $1::int + 1, pg_backend_pid()") + fe::sync()));
  ASSERT_EQ(message_types(raw.read_until_ready()), "1Z");
  std::string last_pid;
  for (int round = 0; round < 6 && !HasFailure(); ++round) {
    ASSERT_EQ(rotation.free_other_than(last_pid), "") << "round " << round;
    const int batches = round % 2 ? 3 : 1;  // one Sync, or three pipelined in one write
    std::string out;
    for (int b = 0; b < batches; ++b) {
      out += fe::bind("", "s", {std::to_string(round)}) + fe::execute("") + fe::sync();
    }
    ASSERT_TRUE(raw.send(out));
    std::vector<RawMessage> got;
    for (int b = 0; b < batches; ++b) {
      std::vector<RawMessage> part = raw.read_until_ready();
      got.insert(got.end(), part.begin(), part.end());
    }
    std::vector<RawMessage> extra = raw.read_until_ready(200ms);
    got.insert(got.end(), extra.begin(), extra.end());
    std::string want;
    for (int b = 0; b < batches; ++b) want += "2DCZ";
    ASSERT_EQ(message_types(got), want) << "round " << round;
    std::vector<std::string> row = data_row_values(got[1].body);
    EXPECT_EQ(row.at(0), std::to_string(round + 1));
    EXPECT_NE(row.at(1), last_pid) << "round " << round << " did not change servers";
    last_pid = row.at(1);
    ASSERT_EQ(rotation.release(), "");
  }
}

// Raw protocol: the next batch's Bind/Execute arrive before the previous batch's ReadyForQuery
// and its Sync only later: the server must stay with the client until that Sync (a server
// released at the first ReadyForQuery would still hold the unsynced Bind/Execute).
TEST(PreparedTest, RawUnsyncedMessagesKeepTheServer) {
  PgmuxProcess pgmux(tx_config(2, PgmuxConfig::trust_users()));
  ASSERT_TRUE(pgmux.start());
  RawConn raw;
  ASSERT_TRUE(raw.login(pgmux.port(), {{"user", kScramUser}, {"database", kDb}})) << raw.problem();
  Churner churn(pgmux.conninfo(kDb), {}, 0ms);
  ASSERT_TRUE(churn.wait_for(3)) << churn.stop();
  ASSERT_TRUE(raw.send(fe::parse("s", "SELECT $1::int + 1, pg_backend_pid()") + fe::sync()));
  ASSERT_EQ(message_types(raw.read_until_ready()), "1Z");
  for (int round = 0; round < 20 && !HasFailure(); ++round) {
    const std::string run = fe::bind("", "s", {std::to_string(round)}) + fe::execute("");
    ASSERT_TRUE(raw.send(run + fe::sync() + run));  // batch 1, then batch 2 without its Sync
    std::vector<RawMessage> first = raw.read_until_ready();
    std::vector<RawMessage> early = raw.read_until_ready(20ms);  // batch 2 may have run already
    ASSERT_TRUE(raw.send(fe::sync()));
    std::vector<RawMessage> second = raw.read_until_ready();
    second.insert(second.begin(), early.begin(), early.end());
    std::vector<RawMessage> extra = raw.read_until_ready(20ms);
    EXPECT_EQ(message_types(first), "2DCZ") << "round " << round;
    EXPECT_EQ(message_types(second) + message_types(extra), "2DCZ") << "round " << round;
    if (message_types(first) == "2DCZ" && message_types(second) == "2DCZ") {
      EXPECT_EQ(data_row_values(first[1].body), data_row_values(second[1].body))
          << "round " << round << ": the two halves ran on different servers";
    }
  }
  EXPECT_EQ(churn.stop(), "");
}

}  // namespace
}  // namespace pgmux::itest
