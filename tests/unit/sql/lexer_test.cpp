// Tests for the SQL lexer: one test per token kind and per malformed input.
// Single-threaded.
#include "pgmux/sql/lexer.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace pgmux::sql {
namespace {

using Tokens = std::vector<std::pair<TokenKind, std::string>>;

// Every token of `sql` up to (not including) kEnd; trivia too when `raw`.
Tokens lex(std::string_view sql, bool raw = false, LexerOptions options = {}) {
  Lexer lexer(sql, options);
  Tokens out;
  for (;;) {
    Token t = raw ? lexer.next_raw() : lexer.next();
    if (t.kind == TokenKind::kEnd) return out;
    out.emplace_back(t.kind, std::string(t.text));
  }
}

// The single significant token of `sql`.
Token only(std::string_view sql) {
  Lexer lexer(sql);
  Token t = lexer.next();
  EXPECT_EQ(lexer.next().kind, TokenKind::kEnd) << sql;
  return t;
}

TEST(Lexer, EmptyInputIsEnd) {
  Lexer lexer("");
  Token t = lexer.next_raw();
  EXPECT_EQ(t.kind, TokenKind::kEnd);
  EXPECT_TRUE(t.text.empty());
  EXPECT_EQ(t.offset, 0u);
}

TEST(Lexer, EndRepeats) {
  Lexer lexer("x");
  EXPECT_EQ(lexer.next().kind, TokenKind::kIdentifier);
  EXPECT_EQ(lexer.next().kind, TokenKind::kEnd);
  EXPECT_EQ(lexer.next().kind, TokenKind::kEnd);
}

TEST(Lexer, WhitespaceRunIsOneToken) {
  EXPECT_EQ(lex(" \t\r\n\f\v x", true),
            (Tokens{{TokenKind::kWhitespace, " \t\r\n\f\v "}, {TokenKind::kIdentifier, "x"}}));
}

TEST(Lexer, LineCommentStopsBeforeNewline) {
  EXPECT_EQ(lex("a -- c; DELETE\nb", true), (Tokens{{TokenKind::kIdentifier, "a"},
                                                    {TokenKind::kWhitespace, " "},
                                                    {TokenKind::kLineComment, "-- c; DELETE"},
                                                    {TokenKind::kWhitespace, "\n"},
                                                    {TokenKind::kIdentifier, "b"}}));
}

TEST(Lexer, LineCommentStopsBeforeCarriageReturn) {
  EXPECT_EQ(lex("--x\rb", true), (Tokens{{TokenKind::kLineComment, "--x"},
                                         {TokenKind::kWhitespace, "\r"},
                                         {TokenKind::kIdentifier, "b"}}));
}

TEST(Lexer, LineCommentAtEndOfInput) {
  EXPECT_EQ(lex("--", true), (Tokens{{TokenKind::kLineComment, "--"}}));
}

TEST(Lexer, BlockComment) {
  EXPECT_EQ(lex("/* a; b */x", true),
            (Tokens{{TokenKind::kBlockComment, "/* a; b */"}, {TokenKind::kIdentifier, "x"}}));
}

TEST(Lexer, NestedBlockComment) {
  EXPECT_EQ(
      lex("/* a /* b */ c */x", true),
      (Tokens{{TokenKind::kBlockComment, "/* a /* b */ c */"}, {TokenKind::kIdentifier, "x"}}));
}

TEST(Lexer, EmptyBlockComment) {
  EXPECT_EQ(lex("/**/", true), (Tokens{{TokenKind::kBlockComment, "/**/"}}));
}

TEST(Lexer, UnterminatedBlockComment) {
  Lexer lexer("x /* a");
  EXPECT_EQ(lexer.next().kind, TokenKind::kIdentifier);
  Token t = lexer.next();
  EXPECT_EQ(t.kind, TokenKind::kError);
  EXPECT_EQ(t.text, "/* a");
  EXPECT_EQ(t.offset, 2u);
  EXPECT_EQ(lexer.error(), "unterminated /* comment");
  EXPECT_EQ(lexer.next().kind, TokenKind::kEnd);
}

TEST(Lexer, UnterminatedNestedBlockComment) {
  Lexer lexer("/* a /* b */");
  EXPECT_EQ(lexer.next().kind, TokenKind::kError);
}

TEST(Lexer, SlashStarClosingOnlyAtSlash) {
  EXPECT_EQ(lex("/* * / */", true), (Tokens{{TokenKind::kBlockComment, "/* * / */"}}));
}

TEST(Lexer, String) {
  Token t = only("'a; DELETE'");
  EXPECT_EQ(t.kind, TokenKind::kString);
  EXPECT_EQ(t.text, "'a; DELETE'");
}

TEST(Lexer, EmptyString) { EXPECT_EQ(only("''").kind, TokenKind::kString); }

TEST(Lexer, StringDoubledQuote) {
  Token t = only("'it''s'");
  EXPECT_EQ(t.kind, TokenKind::kString);
  EXPECT_EQ(quoted_body(t), "it''s");
}

TEST(Lexer, StringBackslashIsLiteral) {
  EXPECT_EQ(lex(R"('a\' b)"),
            (Tokens{{TokenKind::kString, R"('a\')"}, {TokenKind::kIdentifier, "b"}}));
}

TEST(Lexer, StringBackslashEscapesWhenNotStandardConforming) {
  LexerOptions old_style{.standard_conforming_strings = false};
  EXPECT_EQ(lex(R"('a\' b')", false, old_style), (Tokens{{TokenKind::kString, R"('a\' b')"}}));
}

TEST(Lexer, UnterminatedString) {
  Lexer lexer("SELECT 'abc");
  lexer.next();
  Token t = lexer.next();
  EXPECT_EQ(t.kind, TokenKind::kError);
  EXPECT_EQ(t.text, "'abc");
  EXPECT_EQ(lexer.error(), "unterminated quoted string");
}

TEST(Lexer, UnterminatedStringEndingInDoubledQuote) {
  EXPECT_EQ(Lexer("'abc''").next().kind, TokenKind::kError);
}

TEST(Lexer, EscapeString) {
  Token t = only(R"(E'a\'b')");
  EXPECT_EQ(t.kind, TokenKind::kEscapeString);
  EXPECT_EQ(quoted_body(t), R"(a\'b)");
}

TEST(Lexer, LowercaseEscapeString) { EXPECT_EQ(only(R"(e'\\')").kind, TokenKind::kEscapeString); }

TEST(Lexer, EscapeStringDoubledQuote) { EXPECT_EQ(only("E'a''b'").kind, TokenKind::kEscapeString); }

TEST(Lexer, UnterminatedEscapeStringBackslashAtEnd) {
  Lexer lexer(R"(E'abc\')");
  EXPECT_EQ(lexer.next().kind, TokenKind::kError);
  EXPECT_EQ(lexer.error(), "unterminated quoted string");
}

TEST(Lexer, UnicodeString) {
  Token t = only(R"(U&'d\0061t')");
  EXPECT_EQ(t.kind, TokenKind::kUnicodeString);
  EXPECT_EQ(quoted_body(t), R"(d\0061t)");
}

TEST(Lexer, LowercaseUnicodeString) { EXPECT_EQ(only("u&'x'").kind, TokenKind::kUnicodeString); }

TEST(Lexer, UnicodeIdentifier) {
  Token t = only(R"(U&"d\0061t")");
  EXPECT_EQ(t.kind, TokenKind::kUnicodeIdentifier);
  EXPECT_EQ(quoted_body(t), R"(d\0061t)");
}

TEST(Lexer, UnterminatedUnicodeIdentifier) {
  Lexer lexer("U&\"abc");
  EXPECT_EQ(lexer.next().kind, TokenKind::kError);
  EXPECT_EQ(lexer.error(), "unterminated quoted identifier");
}

TEST(Lexer, UAmpersandWithoutQuoteIsIdentifierThenOperator) {
  EXPECT_EQ(lex("U&x"), (Tokens{{TokenKind::kIdentifier, "U"},
                                {TokenKind::kOperator, "&"},
                                {TokenKind::kIdentifier, "x"}}));
}

TEST(Lexer, NationalBitAndHexStrings) {
  EXPECT_EQ(lex("N'a' B'01' x'1F'"), (Tokens{{TokenKind::kString, "N'a'"},
                                             {TokenKind::kString, "B'01'"},
                                             {TokenKind::kString, "x'1F'"}}));
}

TEST(Lexer, DollarString) {
  Token t = only("$$it's; DELETE$$");
  EXPECT_EQ(t.kind, TokenKind::kDollarString);
  EXPECT_EQ(quoted_body(t), "it's; DELETE");
}

TEST(Lexer, EmptyDollarString) {
  Token t = only("$$$$");
  EXPECT_EQ(t.kind, TokenKind::kDollarString);
  EXPECT_EQ(quoted_body(t), "");
}

TEST(Lexer, TaggedDollarStringContainsOtherTags) {
  Token t = only("$fn$ a $$ b $x$ c $fn$");
  EXPECT_EQ(t.kind, TokenKind::kDollarString);
  EXPECT_EQ(quoted_body(t), " a $$ b $x$ c ");
}

TEST(Lexer, DollarTagWithUnderscoreAndDigits) {
  EXPECT_EQ(only("$_a1$x$_a1$").kind, TokenKind::kDollarString);
}

TEST(Lexer, DollarTagIsCaseSensitive) {
  Lexer lexer("$a$ x $A$");
  EXPECT_EQ(lexer.next().kind, TokenKind::kError);
  EXPECT_EQ(lexer.error(), "unterminated dollar-quoted string");
}

TEST(Lexer, UnterminatedDollarString) {
  Lexer lexer("SELECT $$abc");
  lexer.next();
  Token t = lexer.next();
  EXPECT_EQ(t.kind, TokenKind::kError);
  EXPECT_EQ(t.text, "$$abc");
}

TEST(Lexer, DollarAfterIdentifierIsPartOfIt) {
  EXPECT_EQ(lex("a$b$ c"),
            (Tokens{{TokenKind::kIdentifier, "a$b$"}, {TokenKind::kIdentifier, "c"}}));
}

TEST(Lexer, Parameter) {
  EXPECT_EQ(lex("$1 + $12"), (Tokens{{TokenKind::kParameter, "$1"},
                                     {TokenKind::kOperator, "+"},
                                     {TokenKind::kParameter, "$12"}}));
}

TEST(Lexer, LoneDollarIsOther) {
  EXPECT_EQ(lex("$ x"), (Tokens{{TokenKind::kOther, "$"}, {TokenKind::kIdentifier, "x"}}));
}

TEST(Lexer, DollarDigitTagIsParameterNotString) {
  EXPECT_EQ(lex("$1$"), (Tokens{{TokenKind::kParameter, "$1"}, {TokenKind::kOther, "$"}}));
}

TEST(Lexer, QuotedIdentifier) {
  Token t = only("\"Order Items\"");
  EXPECT_EQ(t.kind, TokenKind::kQuotedIdentifier);
  EXPECT_EQ(quoted_body(t), "Order Items");
}

TEST(Lexer, QuotedIdentifierDoubledQuote) {
  Token t = only("\"a\"\"; DELETE\"");
  EXPECT_EQ(t.kind, TokenKind::kQuotedIdentifier);
  EXPECT_EQ(quoted_body(t), "a\"\"; DELETE");
}

TEST(Lexer, QuotedIdentifierIsNotKeyword) { EXPECT_FALSE(only("\"select\"").is_keyword("SELECT")); }

TEST(Lexer, UnterminatedQuotedIdentifier) {
  Lexer lexer("\"abc");
  EXPECT_EQ(lexer.next().kind, TokenKind::kError);
  EXPECT_EQ(lexer.error(), "unterminated quoted identifier");
}

TEST(Lexer, Numbers) {
  EXPECT_EQ(lex("42 3.14 .5 1. 1e10 2.5E-3 0x1F 0o17 0b101 1_000"),
            (Tokens{{TokenKind::kNumber, "42"},
                    {TokenKind::kNumber, "3.14"},
                    {TokenKind::kNumber, ".5"},
                    {TokenKind::kNumber, "1."},
                    {TokenKind::kNumber, "1e10"},
                    {TokenKind::kNumber, "2.5E-3"},
                    {TokenKind::kNumber, "0x1F"},
                    {TokenKind::kNumber, "0o17"},
                    {TokenKind::kNumber, "0b101"},
                    {TokenKind::kNumber, "1_000"}}));
}

TEST(Lexer, NumberWithoutExponentDigitsStopsBeforeE) {
  EXPECT_EQ(lex("1e"), (Tokens{{TokenKind::kNumber, "1"}, {TokenKind::kIdentifier, "e"}}));
}

TEST(Lexer, NumberDoesNotEatRangeDots) {
  EXPECT_EQ(lex("1..2"), (Tokens{{TokenKind::kNumber, "1"},
                                 {TokenKind::kPunctuation, "."},
                                 {TokenKind::kNumber, ".2"}}));
}

TEST(Lexer, Identifiers) {
  EXPECT_EQ(lex("abc _x1 a$b \xc3\xa9t\xc3\xa9"),
            (Tokens{{TokenKind::kIdentifier, "abc"},
                    {TokenKind::kIdentifier, "_x1"},
                    {TokenKind::kIdentifier, "a$b"},
                    {TokenKind::kIdentifier, "\xc3\xa9t\xc3\xa9"}}));
}

TEST(Lexer, KeywordCompareIgnoresCase) {
  Token t = only("SeLeCt");
  EXPECT_TRUE(t.is_keyword("SELECT"));
  EXPECT_TRUE(t.is_keyword("select"));
  EXPECT_FALSE(t.is_keyword("SELECTS"));
}

TEST(Lexer, Operators) {
  EXPECT_EQ(lex("<= ->> :: := != || @> ="), (Tokens{{TokenKind::kOperator, "<="},
                                                    {TokenKind::kOperator, "->>"},
                                                    {TokenKind::kOperator, "::"},
                                                    {TokenKind::kOperator, ":="},
                                                    {TokenKind::kOperator, "!="},
                                                    {TokenKind::kOperator, "||"},
                                                    {TokenKind::kOperator, "@>"},
                                                    {TokenKind::kOperator, "="}}));
}

TEST(Lexer, OperatorTrailingMinusSplitsOff) {
  EXPECT_EQ(lex("a*-1"), (Tokens{{TokenKind::kIdentifier, "a"},
                                 {TokenKind::kOperator, "*"},
                                 {TokenKind::kOperator, "-"},
                                 {TokenKind::kNumber, "1"}}));
}

TEST(Lexer, OperatorTrailingMinusKeptAfterAt) {
  EXPECT_EQ(lex("@-"), (Tokens{{TokenKind::kOperator, "@-"}}));
}

TEST(Lexer, OperatorStopsAtLineComment) {
  EXPECT_EQ(lex("1+--x", true), (Tokens{{TokenKind::kNumber, "1"},
                                        {TokenKind::kOperator, "+"},
                                        {TokenKind::kLineComment, "--x"}}));
}

TEST(Lexer, OperatorStopsAtBlockComment) {
  EXPECT_EQ(lex("2*/*x*/3", true), (Tokens{{TokenKind::kNumber, "2"},
                                           {TokenKind::kOperator, "*"},
                                           {TokenKind::kBlockComment, "/*x*/"},
                                           {TokenKind::kNumber, "3"}}));
}

TEST(Lexer, Punctuation) {
  EXPECT_EQ(lex("()[],.:;"), (Tokens{{TokenKind::kPunctuation, "("},
                                     {TokenKind::kPunctuation, ")"},
                                     {TokenKind::kPunctuation, "["},
                                     {TokenKind::kPunctuation, "]"},
                                     {TokenKind::kPunctuation, ","},
                                     {TokenKind::kPunctuation, "."},
                                     {TokenKind::kPunctuation, ":"},
                                     {TokenKind::kSemicolon, ";"}}));
}

TEST(Lexer, IsCharMatchesPunctuationOnly) {
  Lexer lexer("( ; +");
  EXPECT_TRUE(lexer.next().is_char('('));
  EXPECT_TRUE(lexer.next().is_char(';'));
  EXPECT_FALSE(lexer.next().is_char('+'));
}

TEST(Lexer, BackslashIsOther) { EXPECT_EQ(only("\\").kind, TokenKind::kOther); }

TEST(Lexer, OffsetsPointIntoInput) {
  std::string_view sql = "SELECT  a,'b'";
  Lexer lexer(sql);
  Token t1 = lexer.next();
  Token t2 = lexer.next();
  Token t3 = lexer.next();
  Token t4 = lexer.next();
  EXPECT_EQ(t1.offset, 0u);
  EXPECT_EQ(t2.offset, 8u);
  EXPECT_EQ(t3.offset, 9u);
  EXPECT_EQ(t4.offset, 10u);
  EXPECT_EQ(t4.text.data(), sql.data() + 10);
  EXPECT_EQ(lexer.position(), sql.size());
}

TEST(Lexer, RawTokensCoverTheInputExactly) {
  std::string_view sql =
      "/* h */ SELECT e'\\'', U&\"x\", $t$ $ $t$, 1.5e3::numeric(3) -- c\n FROM t; $1 <> \\";
  Lexer lexer(sql);
  std::string joined;
  size_t count = 0;
  for (Token t = lexer.next_raw(); t.kind != TokenKind::kEnd; t = lexer.next_raw()) {
    EXPECT_NE(t.kind, TokenKind::kError);
    EXPECT_EQ(t.offset, joined.size());
    joined.append(t.text);
    ++count;
  }
  EXPECT_EQ(joined, sql);
  EXPECT_GT(count, 20u);
}

TEST(Lexer, NextSkipsTrivia) {
  EXPECT_EQ(lex(" /* a */ x -- b\n y "),
            (Tokens{{TokenKind::kIdentifier, "x"}, {TokenKind::kIdentifier, "y"}}));
}

TEST(Lexer, CommentBody) {
  Lexer lexer("/* a */-- b");
  EXPECT_EQ(comment_body(lexer.next_raw()), " a ");
  EXPECT_EQ(comment_body(lexer.next_raw()), " b");
  EXPECT_EQ(comment_body(Token{TokenKind::kIdentifier, "x", 0}), "");
}

TEST(Lexer, QuotedBodyOfOtherTokensIsWholeText) {
  EXPECT_EQ(quoted_body(Token{TokenKind::kIdentifier, "abc", 0}), "abc");
}

TEST(Lexer, FirstLeadingComment) {
  EXPECT_EQ(first_leading_comment("  /* pgmux:primary */ /* b */ SELECT 1"), " pgmux:primary ");
}

TEST(Lexer, FirstLeadingCommentNoneWhenTokenFirst) {
  EXPECT_EQ(first_leading_comment("SELECT /* x */ 1"), "");
}

TEST(Lexer, ForEachLeadingCommentVisitsAllInOrder) {
  std::vector<std::string> seen;
  for_each_leading_comment("/* a */\n-- b\n/* c */ SELECT 1 /* d */", [&](std::string_view body) {
    seen.emplace_back(body);
    return true;
  });
  EXPECT_EQ(seen, (std::vector<std::string>{" a ", " b", " c "}));
}

TEST(Lexer, ForEachLeadingCommentStopsWhenAsked) {
  int calls = 0;
  for_each_leading_comment("/* a */ /* b */", [&](std::string_view) {
    ++calls;
    return false;
  });
  EXPECT_EQ(calls, 1);
}

TEST(Lexer, EqualsCi) {
  EXPECT_TRUE(equals_ci("Select", "SELECT"));
  EXPECT_TRUE(equals_ci("", ""));
  EXPECT_FALSE(equals_ci("select", "selec"));
  EXPECT_FALSE(equals_ci("_", "\x7f"));
}

// may_lead is false only where the Lexer's first token is none of the keywords, and
// true wherever it is one of them (any case, at the end of the text or not).
TEST(LeadingKeywords, AgreesWithTheLexer) {
  static constexpr LeadingKeywords kSet("SET", "RESET");
  static constexpr LeadingKeywords kRefused("PREPARE", "EXECUTE", "DEALLOCATE", "LISTEN",
                                            "BEGIN", "START");
  const std::vector<std::string> cases = {
      "SELECT 1",   "  select\n1", "\t\r\nBEGIN;", "set pgmux.route = replica", "SET",
      "a$b_c9 x",   "_x",         "\xc3\xa9t\xc3\xa9 1",  "E'x'",     "e'x'",
      "N'x'",       "B'01'",      "X'ff'",        "U&'x'",      "U&\"x\"",
      "u&'x'",      "Ex",         "/* c */ SET",  "-- c\nSET", "\"SET\" x",
      "(SELECT 1)", "1",          "",             "   ",        "$1",
      ";",          "'str'",      "SELECT'x'",    "select\"x\"", "U&x",
      "u&",         "E",          "x'",           "reset all", "ReSeT",
      "SETTINGS",   "SET$",       "SET_x",        "SET1",      "SET\xc3\xa9",
      "sets",       "SE",         "S",            "prepare p as select 1", "PREPARED",
      "execute p",  "EXECUTEX",   "deallocate all", "DEALLOCATE", "DEALLOCATED x",
      "DEALLOC",    "listen ch",  "LISTENER",     "begin",     "BEGIN ISOLATION LEVEL SERIALIZABLE",
      "BEGINNING",  "start transaction", "STARTS", "START(",   "\fSTART",
      "\vbegin",    "COMMIT",     "savepoint a", "{SET",      "@SET",
      "[SET",       "`SET",       "SET;",         "START\t",  "Prepare\n"};
  for (const LeadingKeywords* set : {&kSet, &kRefused}) {
    const auto& words = set == &kSet ? std::vector<std::string_view>{"SET", "RESET"}
                                     : std::vector<std::string_view>{"PREPARE", "EXECUTE",
                                                                     "DEALLOCATE", "LISTEN",
                                                                     "BEGIN", "START"};
    for (const auto& sql : cases) {
      SCOPED_TRACE(sql);
      Token first = Lexer(sql).next();
      bool is_one = first.kind == TokenKind::kIdentifier &&
                    std::any_of(words.begin(), words.end(),
                                [&](std::string_view w) { return first.is_keyword(w); });
      if (is_one) {
        EXPECT_TRUE(set->may_lead(sql));
      }
      if (!set->may_lead(sql)) {
        EXPECT_FALSE(is_one);
      }
    }
  }
}

TEST(LeadingKeywords, Examples) {
  static constexpr LeadingKeywords kSet("SET", "RESET");
  EXPECT_TRUE(kSet.may_lead("  Set x = 1"));
  EXPECT_TRUE(kSet.may_lead("reset"));
  EXPECT_FALSE(kSet.may_lead("SELECT 1"));
  EXPECT_FALSE(kSet.may_lead("SETTING"));
  EXPECT_FALSE(kSet.may_lead("SE"));
  EXPECT_FALSE(kSet.may_lead("E'SET'"));          // a string: none of them
  EXPECT_TRUE(kSet.may_lead("/* x */ SET a = 1"));  // a comment first: a Lexer decides
  EXPECT_TRUE(kSet.may_lead("\"SET\""));
  EXPECT_TRUE(kSet.may_lead(""));
  static constexpr LeadingKeywords kLong("DEALLOCATE");
  EXPECT_TRUE(kLong.may_lead("deallocate all"));
  EXPECT_TRUE(kLong.may_lead("DEALLOCATED"));  // past eight letters: a Lexer decides
  EXPECT_FALSE(kLong.may_lead("DEALLOC"));
  EXPECT_FALSE(kLong.may_lead("DEALLOCA"));
}

// covers(): every keyword of the other set is one of these (case aside); a keyword
// sharing only its first eight letters, or a prefix, is another keyword.
TEST(LeadingKeywords, Covers) {
  static constexpr LeadingKeywords kBoth("SET", "RESET", "DEALLOCATE");
  static_assert(kBoth.covers(LeadingKeywords("reset", "SET")));
  static_assert(kBoth.covers(LeadingKeywords("deallocate")));
  static_assert(kBoth.covers(kBoth));
  static_assert(!kBoth.covers(LeadingKeywords("SET", "START")));
  static_assert(!kBoth.covers(LeadingKeywords("SE")));
  static_assert(!kBoth.covers(LeadingKeywords("DEALLOCATES")));
  static_assert(!LeadingKeywords("SET").covers(kBoth));
  // (consteval: a wrong answer fails the build; this test only names the cases.)
  EXPECT_TRUE(kBoth.covers(LeadingKeywords("RESET")));
}

}  // namespace
}  // namespace pgmux::sql
