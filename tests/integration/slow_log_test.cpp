// The slow-query log on pgmux's stderr: threshold, what a line says, literal redaction,
// extended protocol, and switching it off.
// Thread-safety: single-threaded tests.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <regex>
#include <sstream>

#include "harness.hpp"

namespace pgmux::itest {
namespace {

constexpr const char* kDb = "pgmux_admin";
constexpr const char* kSlowSql = "SELECT pg_sleep(0.3), 'very-secret-literal', 42";

PgmuxConfig slow_config(const std::string& extra) {
  PgmuxConfig config;
  config.databases = {{.name = kDb}};
  config.extra = extra;
  return config;
}

std::vector<std::string> slow_lines(const PgmuxProcess& pgmux) {
  std::vector<std::string> out;
  std::stringstream in(pgmux.stderr_text());
  for (std::string line; std::getline(in, line);) {
    if (contains(line, "slow query")) out.push_back(line);
  }
  return out;
}

// Waits (bounded) for at least `n` slow-query lines and returns them all.
std::vector<std::string> wait_slow_lines(const PgmuxProcess& pgmux, size_t n) {
  wait_until([&] { return slow_lines(pgmux).size() >= n; }, 5s);
  return slow_lines(pgmux);
}

std::string local_port(const PgConn& c) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (getsockname(PQsocket(c.get()), reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "?";
  return std::to_string(ntohs(addr.sin_port));
}

PgConn client(const PgmuxProcess& pgmux) {
  ConnectOutcome c = connect(pgmux.conninfo(kDb));
  EXPECT_TRUE(c.ok) << c.error;
  return std::move(c.conn);
}

// Parsed "slow query: <ms> ms database "d" user "u" client <addr> node <addr>: <statement>".
struct SlowLine {
  double ms = -1;
  std::string database, user, client, node, statement;
};

std::optional<SlowLine> parse_slow(const std::string& line) {
  static const std::regex re(R"re(slow query: ([0-9.]+) ms database "([^"]*)" user "([^"]*)" )re"
                             R"re(client (\S+) node (\S+): (.*)$)re");
  std::smatch m;
  if (!std::regex_search(line, m, re)) return std::nullopt;
  return SlowLine{std::stod(m[1]), m[2], m[3], m[4], m[5], m[6]};
}

TEST(SlowLogTest, SlowQueryIsLoggedWithLiteralsRedacted) {
  PgmuxProcess pgmux(slow_config("slow_query_threshold: 200ms\n"));
  ASSERT_TRUE(pgmux.start());
  PgConn c = client(pgmux);
  PgResult r = c.exec(kSlowSql);
  ASSERT_TRUE(r.ok()) << r.error();
  std::vector<std::string> lines = wait_slow_lines(pgmux, 1);
  ASSERT_EQ(lines.size(), 1u) << pgmux.stderr_text();
  auto slow = parse_slow(lines[0]);
  ASSERT_TRUE(slow) << "unexpected format: " << lines[0];
  EXPECT_GE(slow->ms, 200.0) << lines[0];
  EXPECT_EQ(slow->database, kDb);
  EXPECT_EQ(slow->user, kScramUser);
  EXPECT_EQ(slow->client, "127.0.0.1:" + local_port(c));
  EXPECT_EQ(slow->node, "127.0.0.1:" + std::to_string(PgCluster::get().port()));
  EXPECT_PRED2(contains, slow->statement, "pg_sleep($1)");
  EXPECT_EQ(slow->statement, "SELECT pg_sleep($1), $2, $3");
  EXPECT_FALSE(contains(pgmux.stderr_text(), "very-secret-literal")) << pgmux.stderr_text();
}

// A Query's text is read from the client's input only when the query turns out slow, or
// before that input is read into again. In session mode pgmux reads the client again as
// soon as an answer to it has begun (here a notice the server sends at once): a second
// Query arriving then lands where the first one's bytes were, and the first one's line
// must still show the first one's text.
TEST(SlowLogTest, TextOfASlowQueryIsItsOwnWhenTheClientSendsMoreWhileItRuns) {
  PgmuxConfig config = slow_config("slow_query_threshold: 200ms\n");
  config.pool_mode = "session";
  config.users = PgmuxConfig::trust_users();
  PgmuxProcess pgmux(config);
  ASSERT_TRUE(pgmux.start());
  RawConn raw;
  ASSERT_TRUE(raw.login(pgmux.port(), {{"user", kScramUser}, {"database", kDb}})) << raw.problem();
  // A first round trip attaches the server; from then on the client's input is read
  // into a buffer block (not the session's small storage), whole queries at its start.
  ASSERT_TRUE(raw.send(fe::query("SELECT 1")));
  ASSERT_EQ(message_types(raw.read_until_ready(5s)), "TDCZ");
  const std::string first = unique_tag("first_text");
  ASSERT_TRUE(raw.send(fe::query(
      "DO $$BEGIN RAISE NOTICE 'begun'; PERFORM pg_sleep(0.4); END$$ /* " + first + " */")));
  std::optional<RawMessage> notice = raw.read(5s);
  ASSERT_TRUE(notice);
  ASSERT_EQ(notice->type, 'N');
  // Longer than the first one's text, so that it covers all of its bytes.
  ASSERT_TRUE(raw.send(fe::query("SELECT 2 AS second_query /* " + std::string(100, 'x') + " */")));
  EXPECT_EQ(message_types(raw.read_until_ready(5s)), "CZ");
  EXPECT_EQ(message_types(raw.read_until_ready(5s)), "TDCZ");
  std::vector<std::string> lines = wait_slow_lines(pgmux, 1);
  ASSERT_EQ(lines.size(), 1u) << pgmux.stderr_text();
  EXPECT_PRED2(contains, lines[0], first);
  EXPECT_FALSE(contains(lines[0], "second_query")) << lines[0];
}

// A query longer than what the first read of an idle session takes (its small storage,
// 256 bytes) is forwarded in session mode while the rest of it arrives, and one longer
// than a read (16 KiB) in any mode: its line still shows all of it, up to 2,048 bytes.
TEST(SlowLogTest, TextOfALongSlowQueryIsLoggedWhole) {
  PgmuxConfig config = slow_config("slow_query_threshold: 200ms\n");
  config.pool_mode = "session";
  PgmuxProcess pgmux(config);
  ASSERT_TRUE(pgmux.start());
  PgConn c = client(pgmux);
  const std::string tag = unique_tag("tail_of_a_long_query");
  PgResult r = c.exec("SELECT pg_sleep(0.3) /* " + std::string(600, 'x') + " */ AS " + tag);
  ASSERT_TRUE(r.ok()) << r.error();
  std::vector<std::string> lines = wait_slow_lines(pgmux, 1);
  ASSERT_EQ(lines.size(), 1u) << pgmux.stderr_text();
  EXPECT_PRED2(contains, lines[0], tag);
  // Longer than the log keeps: its first 2,048 bytes, the tag among them.
  const std::string head = unique_tag("head_of_a_very_long_query");
  r = c.exec("SELECT pg_sleep(0.3) AS " + head + " /* " + std::string(40000, 'y') + " */");
  ASSERT_TRUE(r.ok()) << r.error();
  lines = wait_slow_lines(pgmux, 2);
  ASSERT_EQ(lines.size(), 2u) << pgmux.stderr_text();
  EXPECT_PRED2(contains, lines[1], head);
  EXPECT_LT(lines[1].size(), 2300u);
}

TEST(SlowLogTest, FastQueryIsNotLogged) {
  PgmuxProcess pgmux(slow_config("slow_query_threshold: 200ms\n"));
  ASSERT_TRUE(pgmux.start());
  PgConn c = client(pgmux);
  ASSERT_TRUE(c.exec("SELECT 1 AS fast_marker").ok());
  ASSERT_TRUE(c.exec("SELECT pg_sleep(0.3) AS slow_marker").ok());
  // The line of the slow query is written before its reply reaches the client; one of the
  // fast query, had there been one, before that.
  std::vector<std::string> lines = wait_slow_lines(pgmux, 1);
  ASSERT_EQ(lines.size(), 1u) << pgmux.stderr_text();
  EXPECT_PRED2(contains, lines[0], "slow_marker");
  EXPECT_FALSE(contains(pgmux.stderr_text(), "fast_marker")) << pgmux.stderr_text();
}

TEST(SlowLogTest, LiteralsShownWhenEnabled) {
  PgmuxProcess pgmux(slow_config("slow_query_threshold: 200ms\nlog_query_literals: true\n"));
  ASSERT_TRUE(pgmux.start());
  PgConn c = client(pgmux);
  ASSERT_TRUE(c.exec(kSlowSql).ok());
  std::vector<std::string> lines = wait_slow_lines(pgmux, 1);
  ASSERT_EQ(lines.size(), 1u) << pgmux.stderr_text();
  auto slow = parse_slow(lines[0]);
  ASSERT_TRUE(slow) << "unexpected format: " << lines[0];
  EXPECT_EQ(slow->statement, kSlowSql);
}

TEST(SlowLogTest, ExtendedProtocolSlowQueryIsLogged) {
  PgmuxProcess pgmux(slow_config("slow_query_threshold: 200ms\n"));
  ASSERT_TRUE(pgmux.start());
  PgConn c = client(pgmux);
  PgResult r = c.exec_params("SELECT pg_sleep($1::float8), 'ext-secret' AS ext_marker", {"0.3"});
  ASSERT_TRUE(r.ok()) << r.error();
  std::vector<std::string> lines = wait_slow_lines(pgmux, 1);
  ASSERT_EQ(lines.size(), 1u) << pgmux.stderr_text();
  auto slow = parse_slow(lines[0]);
  ASSERT_TRUE(slow) << "unexpected format: " << lines[0];
  EXPECT_GE(slow->ms, 200.0);
  EXPECT_EQ(slow->statement, "SELECT pg_sleep($1::float8), $2 AS ext_marker");
  EXPECT_FALSE(contains(pgmux.stderr_text(), "ext-secret"));
}

TEST(SlowLogTest, ExtendedProtocolNamedStatementIsLogged) {
  PgmuxProcess pgmux(slow_config("slow_query_threshold: 200ms\n"));
  ASSERT_TRUE(pgmux.start());
  PgConn c = client(pgmux);
  ASSERT_TRUE(c.prepare("sleeper", "SELECT pg_sleep($1::float8) AS named_marker").ok());
  PgResult r = c.exec_prepared("sleeper", {"0.3"});
  ASSERT_TRUE(r.ok()) << r.error();
  std::vector<std::string> lines = wait_slow_lines(pgmux, 1);
  ASSERT_EQ(lines.size(), 1u) << pgmux.stderr_text();
  auto slow = parse_slow(lines[0]);
  ASSERT_TRUE(slow) << "unexpected format: " << lines[0];
  EXPECT_EQ(slow->statement, "SELECT pg_sleep($1::float8) AS named_marker");
}

TEST(SlowLogTest, ZeroThresholdLogsNothing) {
  PgmuxProcess pgmux(slow_config("slow_query_threshold: 0\n"));
  ASSERT_TRUE(pgmux.start());
  PgConn c = client(pgmux);
  ASSERT_TRUE(c.exec(kSlowSql).ok());
  ASSERT_TRUE(c.exec_params("SELECT pg_sleep($1::float8)", {"0.3"}).ok());
  // A slow-query line is written before the reply reaches the client: none can come later.
  EXPECT_TRUE(slow_lines(pgmux).empty()) << pgmux.stderr_text();
  EXPECT_FALSE(contains(pgmux.stderr_text(), "pg_sleep"));
}

}  // namespace
}  // namespace pgmux::itest
