// A small PostgreSQL SQL lexer for routing decisions: splits text into tokens that are
// views into the caller's string, never allocating. A Lexer is not thread-safe; the free
// functions are pure and thread-safe.
//
// It follows PostgreSQL's scan.l closely enough that a keyword it reports is a keyword
// PostgreSQL sees: strings, quoted identifiers and comments are whole tokens, so their
// contents never look like SQL. It does not decode escapes, check UTF-8 or reject
// numbers with trailing junk; the server does that.
#pragma once

#include <array>
#include <bit>
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

// A few keywords (letters only, up to 10 of them) a statement's first word is checked
// against on every Query: `SET`/`RESET` (pgmux.route), the statements transaction
// pooling refuses. may_lead(text) is false when the first token of `text` is certainly
// none of them: a plain word compared with the keywords starting with its first letter,
// eight letters in one 64-bit compare each (no word scan, no per-letter loop). True when
// it is one of them or may be (a comment, a quote or a symbol first): the caller then
// asks a Lexer.
class LeadingKeywords {
 public:
  template <typename... Words>
  consteval explicit LeadingKeywords(Words... words) : count_(sizeof...(words)) {
    static_assert(sizeof...(words) <= kMax);
    size_t i = 0;
    ((entries_[i++] = entry(std::string_view(words))), ...);
    for (size_t k = 0; k < count_; ++k) {
      by_letter_[((entries_[k].pattern >> first_shift()) & 0xff) - 'a'] |=
          static_cast<uint16_t>(1u << k);
    }
  }
  bool may_lead(std::string_view text) const;
  // Whether every keyword of `other` is one of these: then "none of these may lead"
  // answers for `other` too.
  consteval bool covers(const LeadingKeywords& other) const {
    for (size_t k = 0; k < other.count_; ++k) {
      bool found = false;
      for (size_t j = 0; j < count_; ++j) {
        found = found || (entries_[j].pattern == other.entries_[k].pattern &&
                          entries_[j].mask == other.entries_[k].mask &&
                          entries_[j].size == other.entries_[k].size);
      }
      if (!found) return false;
    }
    return true;
  }

 private:
  static constexpr size_t kMax = 10;
  struct Entry {
    uint64_t pattern = 0;  // the first (up to) eight letters, lower case, in memory order
    uint64_t mask = 0;     // the bytes of `pattern` that count
    uint8_t size = 0;      // the whole keyword's length
  };
  static consteval Entry entry(std::string_view word) {
    Entry e;
    e.size = static_cast<uint8_t>(word.size());
    for (size_t i = 0; i < word.size() && i < 8; ++i) {
      char c = word[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c < 'a' || c > 'z') throw "LeadingKeywords: letters only";
      const unsigned shift = std::endian::native == std::endian::little ? 8 * i : 56 - 8 * i;
      e.pattern |= uint64_t{static_cast<unsigned char>(c)} << shift;
      e.mask |= uint64_t{0xff} << shift;
    }
    return e;
  }
  static constexpr unsigned first_shift() {
    return std::endian::native == std::endian::little ? 0 : 56;
  }
  std::array<Entry, kMax> entries_{};
  std::array<uint16_t, 26> by_letter_{};  // per first letter: the entries starting with it
  size_t count_ = 0;
};

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
