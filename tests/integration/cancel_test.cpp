// Query cancellation through pgmux: PQcancel stops a running query (57014) and the connection
// lives on; a CancelRequest with a wrong secret does nothing.
// Thread-safety: the canceller thread only uses its PGcancel object and a superuser connection.
#include "harness.hpp"

namespace pgmux::itest {
namespace {

constexpr const char* kDb = "pgmux_cancel";

PgmuxConfig cancel_config(std::string users = "") {
  PgmuxConfig config;
  config.pool_mode = "transaction";
  config.pool_size = 2;
  config.users = std::move(users);
  config.databases = {{.name = kDb}};
  return config;
}

// True while a backend other than the caller runs a query containing `tag` (state 'active').
bool query_active(PgConn& super, const std::string& tag) {
  PgResult r = super.exec_params(
      "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND state = 'active'"
      " AND query LIKE '%' || $2 || '%' AND pid <> pg_backend_pid()",
      {kDb, tag});
  return r.ok() && r.int_value() == 1;
}

TEST(CancelTest, PqcancelStopsRunningQueryAndConnectionLivesOn) {
  PgmuxProcess pgmux(cancel_config());
  ASSERT_TRUE(pgmux.start());
  ConnectOutcome c = connect(pgmux.conninfo(kDb));
  ASSERT_TRUE(c.ok) << c.error;
  const std::string tag = unique_tag("cancel_me");
  ASSERT_TRUE(c.conn.send("SELECT pg_sleep(30) /* " + tag + " */"));

  std::unique_ptr<PGcancel, void (*)(PGcancel*)> cancel(PQgetCancel(c.conn.get()), PQfreeCancel);
  ASSERT_NE(cancel, nullptr);
  std::string cancel_problem;
  Clock::time_point cancelled_at{};
  std::thread canceller([&] {
    PgConn super = PgCluster::get().superuser(kDb);
    if (!wait_until([&] { return query_active(super, tag); }, 5s)) {
      cancel_problem = "the query never showed up as active in pg_stat_activity";
    }
    char err[256] = "";
    cancelled_at = Clock::now();
    if (!PQcancel(cancel.get(), err, sizeof err))
      cancel_problem += std::string(" PQcancel: ") + err;
  });
  PgResult r = c.conn.wait_result(15s);
  auto finished_at = Clock::now();
  canceller.join();
  ASSERT_EQ(cancel_problem, "");
  EXPECT_EQ(r.sqlstate(), "57014") << (r.ok() ? "the query was not cancelled" : r.error());
  EXPECT_LT(finished_at - cancelled_at, 2s) << "the cancel took effect too late";
  PgResult after = c.conn.exec("SELECT 1");
  ASSERT_TRUE(after.ok()) << after.error();
  EXPECT_EQ(after.value(), "1");
}

// Raw client: the pid/secret pgmux gave it in BackendKeyData; secret+1 must not cancel.
TEST(CancelTest, CancelWithWrongSecretDoesNothing) {
  PgmuxProcess pgmux(cancel_config(PgmuxConfig::trust_users()));
  ASSERT_TRUE(pgmux.start());
  RawConn raw;
  ASSERT_TRUE(raw.login(pgmux.port(), {{"user", kScramUser}, {"database", kDb}})) << raw.problem();
  ASSERT_NE(raw.backend_pid(), 0u) << "no BackendKeyData";
  const std::string tag = unique_tag("do_not_cancel");
  ASSERT_TRUE(raw.send(fe::query("SELECT pg_sleep(30) /* " + tag + " */")));
  PgConn super = PgCluster::get().superuser(kDb);
  ASSERT_TRUE(wait_until([&] { return query_active(super, tag); }, 5s));

  ASSERT_TRUE(send_cancel_request(pgmux.port(), raw.backend_pid(), raw.backend_secret() + 1));
  // Deliberately wait a second: nothing may happen (a RowDescription alone would be fine).
  std::vector<RawMessage> early = raw.read_until_ready(1000ms);
  EXPECT_EQ(message_types(early).find_first_of("EZ"), std::string::npos)
      << "got '" << message_types(early) << "' after a cancel with a wrong secret";
  EXPECT_TRUE(query_active(super, tag)) << "the query stopped after a cancel with a wrong secret";

  ASSERT_TRUE(send_cancel_request(pgmux.port(), raw.backend_pid(), raw.backend_secret()));
  std::vector<RawMessage> got = raw.read_until_ready(2s);
  ASSERT_FALSE(got.empty() || got.back().type != 'Z') << "the right key did not cancel within 2 s";
  // RowDescription may come first: PostgreSQL sends it before the query starts sleeping.
  ASSERT_PRED2(contains, message_types(got), "E");
  const RawMessage& error = got[message_types(got).find('E')];
  EXPECT_EQ(error_fields(error.body)['C'], "57014") << error_fields(error.body)['M'];
  EXPECT_EQ(got.back().type, 'Z');
  ASSERT_TRUE(raw.send(fe::query("SELECT 'alive'")));
  got = raw.read_until_ready();
  ASSERT_EQ(message_types(got), "TDCZ");
  EXPECT_EQ(data_row_values(got[1].body).at(0), "alive");
}

}  // namespace
}  // namespace pgmux::itest
