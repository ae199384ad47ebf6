// Unit tests for the session parameter helpers: the startup `options` parser, quoting,
// name checks and the SET/RESET statements that bring a server in line with a client.
// Single-threaded.
#include "pgmux/session/params.hpp"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace pgmux::session {
namespace {

using Settings = std::vector<std::pair<std::string, std::string>>;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

Settings parse_ok(std::string_view options) {
  auto parsed = parse_options(options);
  EXPECT_TRUE(parsed.ok()) << options << ": " << (parsed.ok() ? "" : parsed.error().message);
  return parsed.ok() ? *parsed : Settings{};
}

// --- parse_options ----------------------------------------------------------------------

TEST(ParseOptionsTest, Empty) { EXPECT_THAT(parse_ok(""), IsEmpty()); }

TEST(ParseOptionsTest, OnlySpaces) { EXPECT_THAT(parse_ok("   "), IsEmpty()); }

TEST(ParseOptionsTest, DashCWithSpace) {
  EXPECT_THAT(parse_ok("-c a=b"), ElementsAre(std::pair<std::string, std::string>("a", "b")));
}

TEST(ParseOptionsTest, DashCJoined) {
  EXPECT_THAT(parse_ok("-ca=b"), ElementsAre(std::pair<std::string, std::string>("a", "b")));
}

TEST(ParseOptionsTest, DoubleDashTurnsDashesIntoUnderscores) {
  EXPECT_THAT(parse_ok("--a-b=c"), ElementsAre(std::pair<std::string, std::string>("a_b", "c")));
}

TEST(ParseOptionsTest, DashesInValueAreKept) {
  EXPECT_THAT(parse_ok("--statement-timeout=-1"),
              ElementsAre(std::pair<std::string, std::string>("statement_timeout", "-1")));
}

TEST(ParseOptionsTest, EscapedSpaceInValue) {
  EXPECT_THAT(parse_ok("-c search_path=a\\ b"),
              ElementsAre(std::pair<std::string, std::string>("search_path", "a b")));
}

TEST(ParseOptionsTest, EscapedBackslashInValue) {
  EXPECT_THAT(parse_ok("-c x=a\\\\b"),
              ElementsAre(std::pair<std::string, std::string>("x", "a\\b")));
}

TEST(ParseOptionsTest, EqualsSignInValue) {
  EXPECT_THAT(parse_ok("-c application_name=a=b"),
              ElementsAre(std::pair<std::string, std::string>("application_name", "a=b")));
}

TEST(ParseOptionsTest, EmptyValue) {
  EXPECT_THAT(parse_ok("-c search_path="),
              ElementsAre(std::pair<std::string, std::string>("search_path", "")));
}

TEST(ParseOptionsTest, MultipleSettingsInOrder) {
  EXPECT_THAT(parse_ok("  -c geqo=off   -cwork_mem=64MB\t--search-path=x,y "),
              ElementsAre(std::pair<std::string, std::string>("geqo", "off"),
                          std::pair<std::string, std::string>("work_mem", "64MB"),
                          std::pair<std::string, std::string>("search_path", "x,y")));
}

TEST(ParseOptionsTest, UnsupportedSwitch) {
  auto parsed = parse_options("-d 1");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, "0A000");
  EXPECT_THAT(parsed.error().message, HasSubstr("\"-d\""));
}

TEST(ParseOptionsTest, BareWord) {
  auto parsed = parse_options("work_mem=1MB");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, "0A000");
}

TEST(ParseOptionsTest, SettingWithoutValue) {
  auto parsed = parse_options("-c novalue");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, "0A000");
  EXPECT_THAT(parsed.error().message, HasSubstr("novalue"));
}

TEST(ParseOptionsTest, DoubleDashWithoutValue) {
  auto parsed = parse_options("--geqo");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, "0A000");
}

TEST(ParseOptionsTest, SettingWithoutName) {
  auto parsed = parse_options("-c =x");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, "0A000");
}

TEST(ParseOptionsTest, DashCAtEnd) {
  auto parsed = parse_options("-c a=b -c");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, "0A000");
}

TEST(ParseOptionsTest, BareDoubleDash) {
  auto parsed = parse_options("--");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, "0A000");
}

TEST(ParseOptionsTest, ErrorAfterGoodSettingFailsWhole) {
  EXPECT_FALSE(parse_options("-c a=b -d 1").ok());
}

// --- quoting ----------------------------------------------------------------------------

TEST(QuoteLiteralTest, Plain) { EXPECT_EQ(quote_literal("ISO, MDY"), "'ISO, MDY'"); }

TEST(QuoteLiteralTest, Empty) { EXPECT_EQ(quote_literal(""), "''"); }

TEST(QuoteLiteralTest, QuotesDoubled) { EXPECT_EQ(quote_literal("it's"), "'it''s'"); }

TEST(QuoteLiteralTest, OnlyQuote) { EXPECT_EQ(quote_literal("'"), "''''"); }

TEST(QuoteLiteralTest, BackslashUsesEscapeString) { EXPECT_EQ(quote_literal("a\\b"), "E'a\\\\b'"); }

TEST(QuoteLiteralTest, BackslashAndQuote) { EXPECT_EQ(quote_literal("\\'"), "E'\\\\'''"); }

TEST(QuoteNameTest, Simple) { EXPECT_EQ(quote_name("work_mem"), "\"work_mem\""); }

TEST(QuoteNameTest, DottedPartsQuotedSeparately) {
  EXPECT_EQ(quote_name("a.b"), "\"a\".\"b\"");
  EXPECT_EQ(quote_name("x.y.z"), "\"x\".\"y\".\"z\"");
}

TEST(QuoteNameTest, CaseKept) { EXPECT_EQ(quote_name("DateStyle"), "\"DateStyle\""); }

TEST(QuoteNameTest, EmbeddedQuoteDoubled) { EXPECT_EQ(quote_name("a\"b"), "\"a\"\"b\""); }

// --- names ------------------------------------------------------------------------------

TEST(ParamNameTest, ValidNames) {
  EXPECT_TRUE(is_valid_param_name("work_mem"));
  EXPECT_TRUE(is_valid_param_name("DateStyle"));
  EXPECT_TRUE(is_valid_param_name("myapp.tenant_id"));
  EXPECT_TRUE(is_valid_param_name("x1"));
}

TEST(ParamNameTest, Empty) { EXPECT_FALSE(is_valid_param_name("")); }
TEST(ParamNameTest, Space) { EXPECT_FALSE(is_valid_param_name("work mem")); }
TEST(ParamNameTest, Quote) { EXPECT_FALSE(is_valid_param_name("a\"b")); }
TEST(ParamNameTest, Semicolon) { EXPECT_FALSE(is_valid_param_name("a;b")); }
TEST(ParamNameTest, Dash) { EXPECT_FALSE(is_valid_param_name("a-b")); }
TEST(ParamNameTest, LeadingDot) { EXPECT_FALSE(is_valid_param_name(".a")); }
TEST(ParamNameTest, TrailingDot) { EXPECT_FALSE(is_valid_param_name("a.")); }
TEST(ParamNameTest, EmptyDottedPart) { EXPECT_FALSE(is_valid_param_name("a..b")); }
TEST(ParamNameTest, NonAscii) { EXPECT_FALSE(is_valid_param_name("caf\xc3\xa9")); }

TEST(ReadOnlyParamTest, ServerOwnedSettings) {
  for (const char* name : {"server_version", "server_encoding", "integer_datetimes", "is_superuser",
                           "session_authorization", "in_hot_standby"}) {
    EXPECT_TRUE(is_read_only_param(name)) << name;
  }
}

TEST(ReadOnlyParamTest, CaseInsensitive) {
  EXPECT_TRUE(is_read_only_param("Server_Version"));
  EXPECT_TRUE(is_read_only_param("IS_SUPERUSER"));
}

TEST(ReadOnlyParamTest, SettableSettings) {
  EXPECT_FALSE(is_read_only_param("DateStyle"));
  EXPECT_FALSE(is_read_only_param("application_name"));
  EXPECT_FALSE(is_read_only_param("server_version_num_x"));
  EXPECT_FALSE(is_read_only_param(""));
}

TEST(CanonicalNameTest, UsesReportedSpelling) {
  Params reported{{"DateStyle", "ISO, MDY"}, {"TimeZone", "UTC"}};
  EXPECT_EQ(canonical_param_name("datestyle", reported), "DateStyle");
  EXPECT_EQ(canonical_param_name("DATESTYLE", reported), "DateStyle");
  EXPECT_EQ(canonical_param_name("timezone", reported), "TimeZone");
}

TEST(CanonicalNameTest, LowerCaseOtherwise) {
  Params reported{{"DateStyle", "ISO, MDY"}};
  EXPECT_EQ(canonical_param_name("Work_Mem", reported), "work_mem");
  EXPECT_EQ(canonical_param_name("DateStyleX", reported), "datestylex");
  EXPECT_EQ(canonical_param_name("Search_Path", {}), "search_path");
}

// --- build_sync_sql ---------------------------------------------------------------------

struct Sync {
  std::string sql;
  std::vector<std::string> changed;
  std::vector<std::string> reset;
};

Sync sync(const Params& desired, const Params& server) {
  Sync out;
  out.sql = build_sync_sql({}, desired, server, out.changed, out.reset);
  return out;
}

TEST(BuildSyncSqlTest, NothingWhenEqual) {
  Params p{{"DateStyle", "ISO, MDY"}, {"application_name", "app"}};
  Sync s = sync(p, p);
  EXPECT_EQ(s.sql, "");
  EXPECT_THAT(s.changed, IsEmpty());
  EXPECT_THAT(s.reset, IsEmpty());
}

TEST(BuildSyncSqlTest, NothingWhenBothEmpty) { EXPECT_EQ(sync({}, {}).sql, ""); }

TEST(BuildSyncSqlTest, SetForDifferingValue) {
  Sync s = sync({{"application_name", "app"}}, {{"application_name", "other"}});
  EXPECT_EQ(s.sql, "SELECT set_config('application_name', 'app', false);");
  EXPECT_THAT(s.changed, ElementsAre("application_name"));
  EXPECT_THAT(s.reset, IsEmpty());
}

TEST(BuildSyncSqlTest, SetForValueServerLacks) {
  Sync s = sync({{"search_path", "a, b"}}, {});
  // A list value goes through set_config() so it stays a list of two schemas.
  EXPECT_EQ(s.sql, "SELECT set_config('search_path', 'a, b', false);");
  EXPECT_THAT(s.changed, ElementsAre("search_path"));
}

TEST(BuildSyncSqlTest, ResetForServerOnlySetting) {
  Sync s = sync({}, {{"work_mem", "64MB"}});
  EXPECT_EQ(s.sql, "RESET \"work_mem\";");
  EXPECT_THAT(s.changed, IsEmpty());
  EXPECT_THAT(s.reset, ElementsAre("work_mem"));
}

TEST(BuildSyncSqlTest, ValuesAreQuoted) {
  Sync s = sync({{"application_name", "it's\\"}, {"myapp.tenant", "7"}}, {});
  EXPECT_EQ(s.sql,
            "SELECT set_config('application_name', E'it''s\\\\', false), "
            "set_config('myapp.tenant', '7', false);");
}

TEST(BuildSyncSqlTest, ReadOnlySkipped) {
  Sync s = sync({{"server_version", "99"}, {"is_superuser", "on"}},
                {{"server_version", "15.4"}, {"in_hot_standby", "off"}});
  EXPECT_EQ(s.sql, "");
  EXPECT_THAT(s.changed, IsEmpty());
  EXPECT_THAT(s.reset, IsEmpty());
}

TEST(BuildSyncSqlTest, InvalidNamesSkipped) {
  Sync s = sync({{"a;DROP TABLE t", "x"}, {"bad name", "y"}}, {{"x\"y", "z"}});
  EXPECT_EQ(s.sql, "");
  EXPECT_THAT(s.changed, IsEmpty());
  EXPECT_THAT(s.reset, IsEmpty());
}

TEST(BuildSyncSqlTest, MixedSetsComeBeforeResets) {
  Params desired{{"DateStyle", "ISO, DMY"}, {"TimeZone", "UTC"}, {"application_name", "a"}};
  Params server{{"DateStyle", "ISO, MDY"},
                {"TimeZone", "UTC"},
                {"work_mem", "1MB"},
                {"server_version", "15.4"}};
  Sync s = sync(desired, server);
  EXPECT_EQ(s.sql,
            "SELECT set_config('DateStyle', 'ISO, DMY', false), "
            "set_config('application_name', 'a', false);RESET \"work_mem\";");
  EXPECT_THAT(s.changed, ElementsAre("DateStyle", "application_name"));
  EXPECT_THAT(s.reset, ElementsAre("work_mem"));
}

TEST(BuildSyncSqlTest, BaselineValuesAreWantedUnlessChanged) {
  Params baseline{{"DateStyle", "ISO, MDY"}, {"TimeZone", "UTC"}};
  std::vector<std::string> changed, reset;
  // The server drifted from the baseline on TimeZone; the client changed DateStyle.
  std::string sql = build_sync_sql(baseline, {{"DateStyle", "SQL, DMY"}},
                                   {{"DateStyle", "ISO, MDY"}, {"TimeZone", "Europe/Paris"},
                                    {"work_mem", "1MB"}},
                                   changed, reset);
  EXPECT_EQ(sql,
            "SELECT set_config('DateStyle', 'SQL, DMY', false), "
            "set_config('TimeZone', 'UTC', false);RESET \"work_mem\";");
  EXPECT_THAT(changed, ElementsAre("DateStyle", "TimeZone"));
  EXPECT_THAT(reset, ElementsAre("work_mem"));
}

TEST(BuildSyncSqlTest, ListsAreAppendedTo) {
  std::vector<std::string> changed{"earlier"};
  std::vector<std::string> reset;
  build_sync_sql({}, {{"a", "1"}}, {}, changed, reset);
  EXPECT_THAT(changed, ElementsAre("earlier", "a"));
}

}  // namespace
}  // namespace pgmux::session
