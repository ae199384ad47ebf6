// Tests for the admin console command parser: every command, and one test per
// malformed input. Single-threaded.
#include "pgmux/admin/command.hpp"

#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace pgmux::admin {
namespace {

using Kind = Command::Kind;

Command parse_ok(std::string_view sql) {
  auto r = parse_command(sql);
  EXPECT_TRUE(r.ok()) << sql << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? r.value() : Command{};
}

util::Error parse_error(std::string_view sql) {
  auto r = parse_command(sql);
  EXPECT_FALSE(r.ok()) << sql << " parsed as " << (r.ok() ? r.value().text : "");
  return r.ok() ? util::Error{} : r.error();
}

TEST(ParseCommand, EveryShowTarget) {
  const std::vector<std::pair<std::string, Kind>> cases = {
      {"POOLS", Kind::kShowPools},         {"STATS", Kind::kShowStats},
      {"CLIENTS", Kind::kShowClients},     {"SERVERS", Kind::kShowServers},
      {"DATABASES", Kind::kShowDatabases}, {"CONFIG", Kind::kShowConfig},
      {"VERSION", Kind::kShowVersion},     {"HELP", Kind::kShowHelp},
      {"NODES", Kind::kShowNodes},         {"USERS", Kind::kShowUsers},
      {"LISTS", Kind::kShowLists}};
  for (const auto& [target, kind] : cases) {
    Command c = parse_ok("SHOW " + target);
    EXPECT_EQ(c.kind, kind) << target;
    EXPECT_EQ(c.text, "SHOW " + target);
    EXPECT_TRUE(c.argument.empty());
  }
}

TEST(ParseCommand, KeywordsAreCaseInsensitive) {
  Command c = parse_ok("sHoW pOoLs");
  EXPECT_EQ(c.kind, Kind::kShowPools);
  EXPECT_EQ(c.text, "SHOW POOLS");
}

TEST(ParseCommand, TrailingSemicolonsWhitespaceAndComments) {
  Command c = parse_ok("  /* psql */ show\n\tstats -- please\n;;  ");
  EXPECT_EQ(c.kind, Kind::kShowStats);
}

TEST(ParseCommand, PauseWithoutDatabaseMeansAll) {
  Command c = parse_ok("PAUSE;");
  EXPECT_EQ(c.kind, Kind::kPause);
  EXPECT_EQ(c.argument, "");
  EXPECT_EQ(c.text, "PAUSE");
}

TEST(ParseCommand, PauseDatabase) {
  Command c = parse_ok("pause appdb");
  EXPECT_EQ(c.kind, Kind::kPause);
  EXPECT_EQ(c.argument, "appdb");
  EXPECT_EQ(c.text, "PAUSE appdb");
}

TEST(ParseCommand, UnquotedDatabaseKeepsItsCase) {
  Command c = parse_ok("RESUME AppDb");
  EXPECT_EQ(c.kind, Kind::kResume);
  EXPECT_EQ(c.argument, "AppDb");
  EXPECT_EQ(c.text, "RESUME \"AppDb\"");
}

TEST(ParseCommand, QuotedDatabaseWithDoubledQuote) {
  Command c = parse_ok("RECONNECT \"my \"\"db\"\"\"");
  EXPECT_EQ(c.kind, Kind::kReconnect);
  EXPECT_EQ(c.argument, "my \"db\"");
  EXPECT_EQ(c.text, "RECONNECT \"my \"\"db\"\"\"");
}

TEST(ParseCommand, ReconnectAll) { EXPECT_EQ(parse_ok("reconnect").kind, Kind::kReconnect); }

TEST(ParseCommand, KillDatabase) {
  Command c = parse_ok("KILL appdb;");
  EXPECT_EQ(c.kind, Kind::kKill);
  EXPECT_EQ(c.argument, "appdb");
  EXPECT_EQ(c.text, "KILL appdb");
}

TEST(ParseCommand, ReloadAndShutdown) {
  EXPECT_EQ(parse_ok("reload").kind, Kind::kReload);
  EXPECT_EQ(parse_ok("SHUTDOWN;").kind, Kind::kShutdown);
}

TEST(ParseCommand, SetIsAcceptedAndIgnored) {
  Command c = parse_ok("SET extra_float_digits = 3");
  EXPECT_EQ(c.kind, Kind::kSet);
  EXPECT_EQ(c.text, "SET extra_float_digits = 3");
  EXPECT_EQ(parse_ok("set application_name to 'psql'").kind, Kind::kSet);
}

TEST(ParseCommand, EmptyQuery) {
  EXPECT_EQ(parse_ok("").kind, Kind::kEmpty);
  EXPECT_EQ(parse_ok("   \n").kind, Kind::kEmpty);
}

TEST(ParseCommand, OnlySemicolonsIsEmpty) { EXPECT_EQ(parse_ok(" ; ;").kind, Kind::kEmpty); }

TEST(ParseCommand, OnlyCommentIsEmpty) { EXPECT_EQ(parse_ok("-- nothing").kind, Kind::kEmpty); }

// ---- malformed commands ----

TEST(ParseCommand, UnknownShowTarget) {
  util::Error e = parse_error("show foo");
  EXPECT_EQ(e.code, "42601");
  EXPECT_EQ(e.message, "unknown command \"SHOW FOO\"; SHOW HELP lists the commands");
}

TEST(ParseCommand, QuotedShowTarget) { EXPECT_EQ(parse_error("SHOW \"pools\"").code, "42601"); }

TEST(ParseCommand, ShowWithoutTarget) {
  util::Error e = parse_error("SHOW;");
  EXPECT_EQ(e.code, "42601");
  EXPECT_NE(e.message.find("SHOW HELP"), std::string::npos) << e.message;
}

TEST(ParseCommand, UnknownCommand) {
  util::Error e = parse_error("SELECT 1");
  EXPECT_EQ(e.code, "42601");
  EXPECT_EQ(e.message, "unknown command \"SELECT 1\"; SHOW HELP lists the commands");
}

TEST(ParseCommand, UnknownCommandIsShortenedInMessage) {
  util::Error e = parse_error("FOO " + std::string(500, 'x'));
  EXPECT_EQ(e.code, "42601");
  EXPECT_LT(e.message.size(), 150u);
}

TEST(ParseCommand, KillWithoutDatabase) {
  util::Error e = parse_error("KILL");
  EXPECT_EQ(e.code, "42601");
  EXPECT_NE(e.message.find("database"), std::string::npos) << e.message;
}

TEST(ParseCommand, TwoStatements) {
  util::Error e = parse_error("SHOW POOLS; SHOW STATS");
  EXPECT_EQ(e.code, "0A000");
}

TEST(ParseCommand, TwoStatementsOneUnknown) {
  EXPECT_EQ(parse_error("SHOW POOLS; DROP TABLE t").code, "0A000");
}

TEST(ParseCommand, TrailingGarbage) {
  util::Error e = parse_error("SHOW POOLS extra");
  EXPECT_EQ(e.code, "42601");
  EXPECT_EQ(e.message, "syntax error at or near \"extra\"; SHOW HELP lists the commands");
}

TEST(ParseCommand, ReloadWithArgument) { EXPECT_EQ(parse_error("RELOAD now").code, "42601"); }

TEST(ParseCommand, ShutdownWithArgument) {
  EXPECT_EQ(parse_error("SHUTDOWN WAIT_FOR_CLIENTS").code, "42601");
}

TEST(ParseCommand, PauseTwoDatabases) { EXPECT_EQ(parse_error("PAUSE a b").code, "42601"); }

TEST(ParseCommand, PauseNumberArgument) {
  util::Error e = parse_error("PAUSE 42");
  EXPECT_EQ(e.code, "42601");
  EXPECT_NE(e.message.find("database name"), std::string::npos) << e.message;
}

TEST(ParseCommand, KillStringArgument) { EXPECT_EQ(parse_error("KILL 'appdb'").code, "42601"); }

TEST(ParseCommand, EmptyQuotedDatabase) { EXPECT_EQ(parse_error("PAUSE \"\"").code, "42601"); }

TEST(ParseCommand, UnterminatedQuotedDatabase) {
  EXPECT_EQ(parse_error("PAUSE \"appdb").code, "42601");
}

TEST(ParseCommand, UnterminatedComment) { EXPECT_EQ(parse_error("SHOW POOLS /* x").code, "42601"); }

TEST(ParseCommand, SetWithoutName) { EXPECT_EQ(parse_error("SET").code, "42601"); }

TEST(ParseCommand, LeadingPunctuation) { EXPECT_EQ(parse_error("(SHOW POOLS)").code, "42601"); }

TEST(RequiresAdmin, ShowSetAndEmptyDoNot) {
  for (Kind k : {Kind::kShowPools, Kind::kShowStats, Kind::kShowClients, Kind::kShowServers,
                 Kind::kShowDatabases, Kind::kShowConfig, Kind::kShowVersion, Kind::kShowHelp,
                 Kind::kShowNodes, Kind::kShowUsers, Kind::kShowLists, Kind::kSet, Kind::kEmpty}) {
    EXPECT_FALSE(requires_admin(k)) << static_cast<int>(k);
  }
}

TEST(RequiresAdmin, EveryOtherCommandDoes) {
  for (Kind k : {Kind::kPause, Kind::kResume, Kind::kReload, Kind::kKill, Kind::kReconnect,
                 Kind::kShutdown}) {
    EXPECT_TRUE(requires_admin(k)) << static_cast<int>(k);
  }
}

}  // namespace
}  // namespace pgmux::admin
