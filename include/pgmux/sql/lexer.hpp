// A small PostgreSQL SQL lexer for routing decisions: splits text into tokens that are
// views into the caller's string, never allocating. A Lexer is not thread-safe; the free
// functions are pure and thread-safe.
//
// It follows PostgreSQL's scan.l closely enough that a keyword it reports is a keyword
// PostgreSQL sees: strings, quoted identifiers and comments are whole tokens, so their
// contents never look like SQL. It does not decode escapes, check UTF-8 or reject
// numbers with trailing junk; the server does that.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pgmux::sql {

enum class TokenKind : uint8_t {
  kEnd,                // no more input; text is empty
  kError,              // unterminated string, identifier or comment; text runs to the end
  kWhitespace,         // spaces, tabs, newlines, carriage returns, form and vertical feeds
  kLineComment,        // "-- ..." up to (not including) the line break
  kBlockComment,       // "/* ... */"; nested comments are part of it
  kIdentifier,         // unquoted identifier or keyword: letters, digits, _, $, bytes >= 0x80
  kQuotedIdentifier,   // "..." where "" stands for one double quote
  kUnicodeIdentifier,  // U&"..." (escapes not decoded)
  kString,             // '...' where '' stands for one quote; also N'...', B'...', X'...'
  kEscapeString,       // E'...' where a backslash escapes the next byte
  kUnicodeString,      // U&'...'
  kDollarString,       // $$...$$ or $tag$...$tag$
  kNumber,             // 42, 3.14, .5, 1e-3, 0x1F, 1_000
  kParameter,          // $1, $2, ...
  kOperator,           // runs of + - * / < > = ~ ! @ # % ^ & | ` ?, and :: and :=
  kPunctuation,        // one of ( ) [ ] , . :
  kSemicolon,          // ;
  kOther,              // a byte no token starts with (a lone $, a backslash, ...)
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string_view text;  // the token's bytes in the input, prefixes and delimiters included
  size_t offset = 0;      // where `text` starts in the input

  // Whitespace or a comment.
  bool is_trivia() const {
    return kind == TokenKind::kWhitespace || kind == TokenKind::kLineComment ||
           kind == TokenKind::kBlockComment;
  }
  // An unquoted identifier equal to `keyword`, ignoring ASCII case ("select" is SELECT;
  // "select" in double quotes is not a keyword).
  bool is_keyword(std::string_view keyword) const;  // defined below
  // A punctuation or semicolon token that is exactly `c`.
  bool is_char(char c) const {
    return (kind == TokenKind::kPunctuation || kind == TokenKind::kSemicolon) && text[0] == c;
  }
};

struct LexerOptions {
  // PostgreSQL's standard_conforming_strings. When off, a backslash escapes the next
  // byte in plain '...' strings too, as it always does in E'...' strings.
  bool standard_conforming_strings = true;
};

class Lexer {
 public:
  explicit Lexer(std::string_view input, LexerOptions options = {})
      : input_(input), options_(options) {}

  // The next token, whitespace and comments included. After a kEnd or kError token,
  // every call returns kEnd (a kError token covers the rest of the input).
  Token next_raw();
  // The next token that is neither whitespace nor a comment.
  Token next();

  // Why the kError token was produced ("unterminated quoted string", ...), or empty.
  std::string_view error() const { return error_; }
  // Offset of the first byte not yet tokenized.
  size_t position() const { return pos_; }
  std::string_view input() const { return input_; }

 private:
  Token make(TokenKind kind, size_t begin, size_t end);
  Token fail(size_t begin, std::string_view why);
  Token scan_quoted(size_t begin, size_t body, char quote, bool backslash, TokenKind kind);
  Token scan_block_comment(size_t begin);
  Token scan_line_comment(size_t begin);
  Token scan_dollar(size_t begin);
  Token scan_number(size_t begin);
  Token scan_operator(size_t begin);
  Token scan_identifier(size_t begin);
  // Strings and identifiers with a prefix (E'', U&'', U&"", N'', B'', X''), or nothing.
  bool scan_prefixed(size_t begin, Token& out);

  std::string_view input_;
  LexerOptions options_;
  size_t pos_ = 0;
  bool done_ = false;
  std::string_view error_;
};

// ASCII case-insensitive equality.
inline bool equals_ci(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

inline bool Token::is_keyword(std::string_view keyword) const {
  return kind == TokenKind::kIdentifier && equals_ci(text, keyword);
}

// The first token of `text` when it is an unquoted identifier or keyword with nothing
// but white space before it: "select" for " select 1". Empty when the first token is
// anything else (a comment, a string such as E'..', a quoted identifier, a symbol),
// where only a Lexer tells what comes first. Callers that look for a few leading
// keywords ask this before making a Lexer: most statements start with a plain word.
std::string_view leading_word(std::string_view text);

// The text between a comment's delimiters: " x " for "/* x */", " x" for "-- x".
// Empty for other tokens.
std::string_view comment_body(const Token& comment);

// The text between the quotes of a string, quoted identifier or dollar-quoted string,
// with escapes left as written: abc for "abc", E'abc', U&'abc' or $t$abc$t$. Other
// tokens are returned whole.
std::string_view quoted_body(const Token& token);

// Calls visit(body) with comment_body() of each comment before the first token of
// `sql`, in order, until visit returns false. Routing hints such as
// "/* pgmux:primary */" are read this way.
template <class Visit>
void for_each_leading_comment(std::string_view sql, Visit&& visit) {
  Lexer lexer(sql);
  for (Token t = lexer.next_raw(); t.is_trivia(); t = lexer.next_raw()) {
    if (t.kind != TokenKind::kWhitespace && !visit(comment_body(t))) return;
  }
}

// The body of the first comment before the first token of `sql`, or empty if the text
// does not start (after whitespace) with a comment.
std::string_view first_leading_comment(std::string_view sql);

}  // namespace pgmux::sql
