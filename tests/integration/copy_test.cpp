// COPY through pgmux in transaction mode: a million rows in and out with matching checksums,
// and CopyFail rolling back while the connection stays usable.
// Thread-safety: each test's thread owns its connections; a Churner owns its own.
#include <poll.h>

#include "harness.hpp"

namespace pgmux::itest {
namespace {

constexpr const char* kDb = "pgmux_copy";
constexpr int kRows = 1'000'000;

PgmuxConfig copy_config() {
  PgmuxConfig config;
  config.pool_mode = "transaction";
  config.pool_size = 2;
  config.workers = 1;
  config.databases = {{.name = kDb}};
  return config;
}

uint64_t mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t fnv1a(const char* data, size_t size) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < size; ++i)
    h = (h ^ static_cast<unsigned char>(data[i])) * 0x100000001b3ull;
  return h;
}

// Row i as COPY text: "i<TAB>32 hex digits<LF>".
std::string row_line(int i) {
  char hex[33];
  snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(mix(i)),
           static_cast<unsigned long long>(mix(i + 0x5bd1e995ull)));
  return std::to_string(i) + "\t" + hex + "\n";
}

// Order-independent checksum of a set of lines: count, sum of line hashes, and the sums the
// server can compute itself (sum(i), sum of the first 8 hex digits of t).
struct Checksum {
  long long rows = 0;
  uint64_t line_hash_sum = 0;
  long long i_sum = 0;
  unsigned long long hex_prefix_sum = 0;
  void add(const char* line, size_t size) {
    ++rows;
    line_hash_sum += fnv1a(line, size);
    const char* tab = static_cast<const char*>(memchr(line, '\t', size));
    i_sum += atoll(line);
    if (tab) hex_prefix_sum += strtoull(std::string(tab + 1, 8).c_str(), nullptr, 16);
  }
};

// Waits for the result that starts a COPY (or the error instead).
PgResult start_copy(PgConn& conn, const std::string& sql) {
  PGconn* c = conn.get();
  if (!PQsendQuery(c, sql.c_str())) return PgResult(nullptr, conn.error());
  auto deadline = Clock::now() + 10s;
  while (PQisBusy(c)) {
    pollfd p{PQsocket(c), POLLIN, 0};
    if (poll(&p, 1, remaining_ms(deadline)) <= 0 || !PQconsumeInput(c)) {
      return PgResult(nullptr, "no COPY response: " + conn.error());
    }
  }
  return PgResult(PQgetResult(c), "");
}

// Calls `put` (PQputCopyData/PQputCopyEnd in non-blocking mode) until libpq queues it, waiting
// (bounded) for the socket while libpq's buffer is full.
bool until_queued(PGconn* c, Clock::time_point deadline, const std::function<int()>& put) {
  while (true) {
    int queued = put();
    if (queued != 0) return queued == 1;
    pollfd p{PQsocket(c), POLLOUT | POLLIN, 0};
    if (poll(&p, 1, remaining_ms(deadline)) <= 0) return false;
    if ((p.revents & POLLIN) && !PQconsumeInput(c)) return false;
    if (PQflush(c) < 0) return false;
  }
}

bool flush_all(PGconn* c, Clock::time_point deadline) {
  while (true) {
    int pending = PQflush(c);
    if (pending <= 0) return pending == 0;
    pollfd p{PQsocket(c), POLLOUT | POLLIN, 0};
    if (poll(&p, 1, remaining_ms(deadline)) <= 0) return false;
    if ((p.revents & POLLIN) && !PQconsumeInput(c)) return false;
  }
}

// Sends rows [0, kRows) in ~64 kB CopyData messages; returns their checksum.
::testing::AssertionResult copy_in(PgConn& conn, Checksum* sent) {
  PGconn* c = conn.get();
  auto deadline = Clock::now() + 40s;
  PQsetnonblocking(c, 1);
  std::string chunk;
  for (int i = 0; i < kRows; ++i) {
    std::string line = row_line(i);
    sent->add(line.data(), line.size());
    chunk += line;
    if (chunk.size() < 65536 && i + 1 < kRows) continue;
    if (!until_queued(c, deadline, [&] {
          return PQputCopyData(c, chunk.data(), static_cast<int>(chunk.size()));
        })) {
      return ::testing::AssertionFailure() << "PQputCopyData at row " << i << ": " << conn.error();
    }
    chunk.clear();
  }
  if (!until_queued(c, deadline, [&] { return PQputCopyEnd(c, nullptr); }) ||
      !flush_all(c, deadline)) {
    return ::testing::AssertionFailure() << "PQputCopyEnd: " << conn.error();
  }
  PQsetnonblocking(c, 0);
  PgResult done = conn.wait_result(30s);
  if (!done.ok()) return ::testing::AssertionFailure() << "COPY FROM STDIN: " << done.error();
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult copy_out(PgConn& conn, Checksum* got) {
  PGconn* c = conn.get();
  auto deadline = Clock::now() + 40s;
  while (true) {
    char* buf = nullptr;
    int n = PQgetCopyData(c, &buf, 1);
    if (n > 0) {
      got->add(buf, n);
      PQfreemem(buf);
      continue;
    }
    if (n == -1) break;
    if (n == -2) return ::testing::AssertionFailure() << "PQgetCopyData: " << conn.error();
    pollfd p{PQsocket(c), POLLIN, 0};
    if (poll(&p, 1, remaining_ms(deadline)) <= 0 || !PQconsumeInput(c)) {
      return ::testing::AssertionFailure()
             << "COPY TO STDOUT stalled after " << got->rows << " rows";
    }
  }
  PgResult done = conn.wait_result(10s);
  if (!done.ok()) return ::testing::AssertionFailure() << "COPY TO STDOUT: " << done.error();
  return ::testing::AssertionSuccess();
}

TEST(CopyTest, MillionRowsInAndOutChecksumsMatch) {
  ASSERT_TRUE(PgCluster::get().exec(kDb, "TRUNCATE copy_rows").ok());
  PgmuxProcess pgmux(copy_config());
  ASSERT_TRUE(pgmux.start());
  ConnectOutcome c = connect(pgmux.conninfo(kDb));
  ASSERT_TRUE(c.ok) << c.error;
  Churner churn(pgmux.conninfo(kDb), {}, 5ms);  // the other server keeps changing hands meanwhile

  PgResult r = start_copy(c.conn, "COPY copy_rows (i, t) FROM STDIN");
  ASSERT_EQ(r.status(), PGRES_COPY_IN) << r.error();
  Checksum sent;
  ASSERT_TRUE(copy_in(c.conn, &sent));

  r = start_copy(c.conn, "COPY copy_rows (i, t) TO STDOUT");
  ASSERT_EQ(r.status(), PGRES_COPY_OUT) << r.error();
  Checksum back;
  ASSERT_TRUE(copy_out(c.conn, &back));
  EXPECT_EQ(back.rows, kRows);
  EXPECT_EQ(back.line_hash_sum, sent.line_hash_sum) << "the rows that came back differ";

  PgResult direct = PgCluster::get().exec(
      kDb,
      "SELECT count(*), sum(i), sum(('x' || substr(t, 1, 8))::bit(32)::bigint) FROM copy_rows");
  ASSERT_TRUE(direct.ok()) << direct.error();
  EXPECT_EQ(direct.value(0, 0), std::to_string(kRows));
  EXPECT_EQ(direct.value(0, 1), std::to_string(sent.i_sum));
  EXPECT_EQ(direct.value(0, 2), std::to_string(sent.hex_prefix_sum));
  EXPECT_EQ(c.conn.exec("SELECT 'after copy'").value(), "after copy");
  EXPECT_EQ(churn.stop(), "");
}

std::string fail_table_summary() {
  return PgCluster::get().exec(kDb, "SELECT count(*) || ':' || sum(i) FROM copy_fail_rows").value();
}

// Starts COPY copy_fail_rows FROM STDIN, sends 1,000 rows, then CopyFail.
void copy_then_fail(PgConn& conn) {
  PgResult r = start_copy(conn, "COPY copy_fail_rows (i, t) FROM STDIN");
  ASSERT_EQ(r.status(), PGRES_COPY_IN) << r.error();
  std::string rows;
  for (int i = 100; i < 1100; ++i) rows += row_line(i);
  ASSERT_EQ(PQputCopyData(conn.get(), rows.data(), static_cast<int>(rows.size())), 1);
  ASSERT_EQ(PQputCopyEnd(conn.get(), "client gave up"), 1);
  r = conn.wait_result();
  EXPECT_EQ(r.status(), PGRES_FATAL_ERROR);
  EXPECT_EQ(r.sqlstate(), "57014") << r.error();
  EXPECT_PRED2(contains, r.error(), "client gave up");
}

TEST(CopyTest, CopyFailRollsBackAndConnectionStaysUsable) {
  const std::string before = fail_table_summary();
  ASSERT_NE(before, "");
  PgmuxProcess pgmux(copy_config());
  ASSERT_TRUE(pgmux.start());
  ConnectOutcome c = connect(pgmux.conninfo(kDb));
  ASSERT_TRUE(c.ok) << c.error;
  copy_then_fail(c.conn);
  EXPECT_EQ(fail_table_summary(), before) << "the failed COPY left rows behind";
  PgResult r = c.conn.exec("SELECT count(*) FROM copy_fail_rows");
  ASSERT_TRUE(r.ok()) << "connection unusable after CopyFail: " << r.error();
  EXPECT_EQ(r.value(), before.substr(0, before.find(':')));

  // Inside an explicit transaction the failure aborts it, as on PostgreSQL.
  ASSERT_TRUE(c.conn.exec("BEGIN").ok());
  copy_then_fail(c.conn);
  EXPECT_EQ(c.conn.exec("SELECT 1").sqlstate(), "25P02");
  ASSERT_TRUE(c.conn.exec("ROLLBACK").ok());
  EXPECT_EQ(c.conn.exec("SELECT 'usable'").value(), "usable");
  EXPECT_EQ(fail_table_summary(), before);
  // The server went back to the pool clean: another client gets work done on a pool of 2.
  ConnectOutcome other = connect(pgmux.conninfo(kDb));
  ASSERT_TRUE(other.ok) << other.error;
  for (int i = 0; i < 4; ++i) EXPECT_EQ(other.conn.exec("SELECT 'other'").value(), "other");
}

}  // namespace
}  // namespace pgmux::itest
