// Tests for literal redaction and UTF-8-safe truncation of logged SQL.
// Single-threaded.
#include "pgmux/sql/redact.hpp"

#include <string>

#include <gtest/gtest.h>

namespace pgmux::sql {
namespace {

constexpr size_t kNoLimit = 1 << 20;

std::string redact(std::string_view sql) { return redact_literals(sql, kNoLimit); }

TEST(Redact, StringAndNumberBecomePlaceholders) {
  EXPECT_EQ(redact("SELECT * FROM t WHERE a = 'x' AND b = 42"),
            "SELECT * FROM t WHERE a = $1 AND b = $2");
}

TEST(Redact, EscapeString) { EXPECT_EQ(redact("SELECT E'it\\'s secret'"), "SELECT $1"); }

TEST(Redact, UnicodeString) { EXPECT_EQ(redact("SELECT U&'\\0041bc'"), "SELECT $1"); }

TEST(Redact, DollarStrings) {
  EXPECT_EQ(redact("SELECT $$secret$$, $tag$more ' secret$tag$"), "SELECT $1, $2");
}

TEST(Redact, BitHexAndNationalStrings) {
  EXPECT_EQ(redact("SELECT B'101', X'FF', N'name'"), "SELECT $1, $2, $3");
}

TEST(Redact, DoubledQuoteInsideString) {
  EXPECT_EQ(redact("SELECT 'it''s' || 'x'"), "SELECT $1 || $2");
}

TEST(Redact, DecimalsExponentsAndHex) {
  EXPECT_EQ(redact("SELECT 1.5, .5, 1e-3, 0x1F, 1_000"), "SELECT $1, $2, $3, $4, $5");
}

TEST(Redact, NegativeNumberKeepsMinusAsOperator) {
  EXPECT_EQ(redact("SELECT a FROM t WHERE b = -5"), "SELECT a FROM t WHERE b = -$1");
}

TEST(Redact, TypedLiteralKeepsTypeName) {
  EXPECT_EQ(redact("SELECT DATE '2020-01-01'"), "SELECT DATE $1");
}

TEST(Redact, DigitsInIdentifiersKept) {
  EXPECT_EQ(redact("SELECT col1 FROM t2 JOIN \"3x\" USING (id)"),
            "SELECT col1 FROM t2 JOIN \"3x\" USING (id)");
}

TEST(Redact, CommentsAndWhitespaceKeptByteForByte) {
  EXPECT_EQ(redact("/* pgmux:primary */\n\tSELECT  1 -- one\n"),
            "/* pgmux:primary */\n\tSELECT  $1 -- one\n");
}

TEST(Redact, ExistingParametersKeptAndNumberingContinues) {
  EXPECT_EQ(redact("SELECT $2, $1, 'x', 7"), "SELECT $2, $1, $3, $4");
}

TEST(Redact, UnterminatedStringIsRedacted) {
  EXPECT_EQ(redact("SELECT 'secret password"), "SELECT $1");
}

TEST(Redact, UnterminatedDollarStringIsRedacted) {
  EXPECT_EQ(redact("SELECT $q$secret"), "SELECT $1");
}

TEST(Redact, CastOperatorKept) { EXPECT_EQ(redact("SELECT '1'::int"), "SELECT $1::int"); }

TEST(Redact, EmptyInput) { EXPECT_EQ(redact(""), ""); }

TEST(Redact, TruncatesAfterRedaction) {
  EXPECT_EQ(redact_literals("SELECT 'a long secret literal' FROM t", 10), "SELECT $1 ...");
}

TEST(Redact, NoEllipsisAtExactLength) { EXPECT_EQ(redact_literals("SELECT 'x'", 9), "SELECT $1"); }

TEST(Redact, SecretNeverSurvivesTruncation) {
  std::string out = redact_literals("INSERT INTO u VALUES ('hunter2hunter2')", 30);
  EXPECT_EQ(out.find("hunter2"), std::string::npos) << out;
}

TEST(TruncateUtf8, ShortTextUnchanged) { EXPECT_EQ(truncate_utf8("abc", 3), "abc"); }

TEST(TruncateUtf8, CutsAndAppendsEllipsis) { EXPECT_EQ(truncate_utf8("abcdef", 4), "abcd..."); }

TEST(TruncateUtf8, ZeroLength) { EXPECT_EQ(truncate_utf8("abc", 0), "..."); }

TEST(TruncateUtf8, DoesNotSplitTwoByteSequence) {
  // "aé" is 61 C3 A9: a cut after two bytes would split é.
  EXPECT_EQ(truncate_utf8("a\xC3\xA9z", 2), "a...");
}

TEST(TruncateUtf8, DoesNotSplitFourByteSequence) {
  // U+1F600 is F0 9F 98 80.
  std::string text = "ab\xF0\x9F\x98\x80";
  for (size_t cut = 3; cut <= 5; ++cut) EXPECT_EQ(truncate_utf8(text + "z", cut), "ab...") << cut;
  EXPECT_EQ(truncate_utf8(text + "z", 6), text + "...");
}

TEST(TruncateUtf8, RunOfContinuationBytesCutWhereAsked) {
  // Not UTF-8: more continuation bytes than any sequence has; the cut stays put.
  std::string text = "a\x80\x80\x80\x80\x80\x80";
  EXPECT_EQ(truncate_utf8(text, 5), text.substr(0, 5) + "...");
}

TEST(TruncateUtf8, RedactionKeepsMultibyteIdentifiersWhole) {
  std::string out = redact_literals("SELECT \xC3\xA9\xC3\xA9\xC3\xA9 FROM t", 9);
  EXPECT_EQ(out, "SELECT \xC3\xA9...");
}

}  // namespace
}  // namespace pgmux::sql
