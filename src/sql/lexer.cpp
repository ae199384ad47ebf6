// The SQL lexer (see lexer.hpp). A Lexer is not thread-safe; nothing here allocates or
// keeps shared state.
#include "pgmux/sql/lexer.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>

namespace pgmux::sql {
namespace {

constexpr bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
constexpr bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
// PostgreSQL's ident_start: letters, underscore and every byte of a multibyte character.
constexpr bool is_ident_start(char c) {
  return is_alpha(c) || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}
constexpr bool is_ident_cont(char c) { return is_ident_start(c) || is_digit(c) || c == '$'; }
// Dollar-quote tags are identifiers without '$'.
bool is_tag_cont(char c) { return is_ident_start(c) || is_digit(c); }
bool is_op_char(char c) {
  return std::string_view("~!@#^&|`?+-*/%<>=").find(c) != std::string_view::npos;
}
// Operator characters that let an operator end in + or - (PostgreSQL's rule, so that
// "a*-1" lexes as "*" then "-1" but "@-" stays one operator).
bool allows_trailing_sign(char c) {
  return std::string_view("~!@#^&|`?%").find(c) != std::string_view::npos;
}
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

Token Lexer::make(TokenKind kind, size_t begin, size_t end) {
  pos_ = end;
  return Token{kind, input_.substr(begin, end - begin), begin};
}

Token Lexer::fail(size_t begin, std::string_view why) {
  done_ = true;
  error_ = why;
  pos_ = input_.size();
  return Token{TokenKind::kError, input_.substr(begin), begin};
}

Token Lexer::next() {
  Token t = next_raw();
  while (t.is_trivia()) t = next_raw();
  return t;
}

Token Lexer::next_raw() {
  const size_t n = input_.size();
  if (done_ || pos_ >= n) {
    done_ = true;
    return Token{TokenKind::kEnd, input_.substr(n), n};
  }
  const size_t begin = pos_;
  const char c = input_[begin];
  const char peek = begin + 1 < n ? input_[begin + 1] : '\0';
  if (is_space(c)) {
    size_t i = begin + 1;
    while (i < n && is_space(input_[i])) ++i;
    return make(TokenKind::kWhitespace, begin, i);
  }
  if (c == '-' && peek == '-') return scan_line_comment(begin);
  if (c == '/' && peek == '*') return scan_block_comment(begin);
  if (c == '\'') {
    return scan_quoted(begin, begin + 1, '\'', !options_.standard_conforming_strings,
                       TokenKind::kString);
  }
  if (c == '"') return scan_quoted(begin, begin + 1, '"', false, TokenKind::kQuotedIdentifier);
  if (Token prefixed; scan_prefixed(begin, prefixed)) return prefixed;
  if (c == '$') return scan_dollar(begin);
  if (is_digit(c) || (c == '.' && is_digit(peek))) return scan_number(begin);
  if (is_ident_start(c)) return scan_identifier(begin);
  if (c == ';') return make(TokenKind::kSemicolon, begin, begin + 1);
  if (c == ':' && (peek == ':' || peek == '=')) return make(TokenKind::kOperator, begin, begin + 2);
  if (std::string_view("()[],.:").find(c) != std::string_view::npos) {
    return make(TokenKind::kPunctuation, begin, begin + 1);
  }
  if (is_op_char(c)) return scan_operator(begin);
  return make(TokenKind::kOther, begin, begin + 1);
}

bool Lexer::scan_prefixed(size_t begin, Token& out) {
  const size_t n = input_.size();
  const char c = lower(input_[begin]);
  const char peek = begin + 1 < n ? input_[begin + 1] : '\0';
  if (c == 'e' && peek == '\'') {
    out = scan_quoted(begin, begin + 2, '\'', true, TokenKind::kEscapeString);
    return true;
  }
  if ((c == 'n' || c == 'b' || c == 'x') && peek == '\'') {
    out = scan_quoted(begin, begin + 2, '\'', c == 'n' && !options_.standard_conforming_strings,
                      TokenKind::kString);
    return true;
  }
  if (c == 'u' && peek == '&' && begin + 2 < n) {
    const char quote = input_[begin + 2];
    if (quote == '\'') {
      out = scan_quoted(begin, begin + 3, quote, false, TokenKind::kUnicodeString);
      return true;
    }
    if (quote == '"') {
      out = scan_quoted(begin, begin + 3, quote, false, TokenKind::kUnicodeIdentifier);
      return true;
    }
  }
  return false;
}

Token Lexer::scan_quoted(size_t begin, size_t body, char quote, bool backslash, TokenKind kind) {
  const size_t n = input_.size();
  size_t i = body;
  while (i < n) {
    const char c = input_[i];
    if (backslash && c == '\\') {
      i += 2;
    } else if (c != quote) {
      ++i;
    } else if (i + 1 < n && input_[i + 1] == quote) {
      i += 2;  // a doubled quote stands for one
    } else {
      return make(kind, begin, i + 1);
    }
  }
  if (quote == '"') return fail(begin, "unterminated quoted identifier");
  return fail(begin, "unterminated quoted string");
}

Token Lexer::scan_block_comment(size_t begin) {
  const size_t n = input_.size();
  size_t depth = 1;
  size_t i = begin + 2;
  while (i + 1 < n) {
    if (input_[i] == '/' && input_[i + 1] == '*') {
      ++depth;
      i += 2;
    } else if (input_[i] == '*' && input_[i + 1] == '/') {
      i += 2;
      if (--depth == 0) return make(TokenKind::kBlockComment, begin, i);
    } else {
      ++i;
    }
  }
  return fail(begin, "unterminated /* comment");
}

Token Lexer::scan_line_comment(size_t begin) {
  const size_t n = input_.size();
  size_t i = begin + 2;
  while (i < n && input_[i] != '\n' && input_[i] != '\r') ++i;
  return make(TokenKind::kLineComment, begin, i);
}

// "$" starts a parameter ($1), a dollar-quoted string ($$...$$, $tag$...$tag$), or
// nothing PostgreSQL accepts.
Token Lexer::scan_dollar(size_t begin) {
  const size_t n = input_.size();
  size_t i = begin + 1;
  if (i < n && is_digit(input_[i])) {
    while (i < n && is_digit(input_[i])) ++i;
    return make(TokenKind::kParameter, begin, i);
  }
  if (i < n && is_ident_start(input_[i])) {
    while (i < n && is_tag_cont(input_[i])) ++i;
  }
  if (i >= n || input_[i] != '$') return make(TokenKind::kOther, begin, begin + 1);
  const std::string_view tag = input_.substr(begin, i + 1 - begin);
  const size_t close = input_.find(tag, i + 1);
  if (close == std::string_view::npos) return fail(begin, "unterminated dollar-quoted string");
  return make(TokenKind::kDollarString, begin, close + tag.size());
}

Token Lexer::scan_number(size_t begin) {
  const size_t n = input_.size();
  auto digits = [&](size_t i) {
    while (i < n && (is_digit(input_[i]) || input_[i] == '_')) ++i;
    return i;
  };
  size_t i = begin;
  const char radix = begin + 1 < n ? lower(input_[begin + 1]) : '\0';
  if (input_[begin] == '0' && (radix == 'x' || radix == 'o' || radix == 'b') && begin + 2 < n &&
      (is_digit(input_[begin + 2]) || is_alpha(input_[begin + 2]))) {
    i = begin + 2;
    while (i < n && (is_digit(input_[i]) || is_alpha(input_[i]) || input_[i] == '_')) ++i;
    return make(TokenKind::kNumber, begin, i);
  }
  i = digits(i);
  if (i < n && input_[i] == '.' && !(i + 1 < n && input_[i + 1] == '.')) i = digits(i + 1);
  if (i < n && lower(input_[i]) == 'e') {
    size_t j = i + 1;
    if (j < n && (input_[j] == '+' || input_[j] == '-')) ++j;
    if (j < n && is_digit(input_[j])) i = digits(j);
  }
  return make(TokenKind::kNumber, begin, i);
}

Token Lexer::scan_operator(size_t begin) {
  const size_t n = input_.size();
  size_t i = begin + 1;
  while (i < n && is_op_char(input_[i])) {
    // A comment start ends the operator ("a+--x" is "+" then a comment).
    if (i + 1 < n && ((input_[i] == '-' && input_[i + 1] == '-') ||
                      (input_[i] == '/' && input_[i + 1] == '*'))) {
      break;
    }
    ++i;
  }
  size_t end = i;
  if (end - begin > 1 && (input_[end - 1] == '+' || input_[end - 1] == '-')) {
    bool keep = false;
    for (size_t k = begin; k < end; ++k) keep = keep || allows_trailing_sign(input_[k]);
    while (!keep && end - begin > 1 && (input_[end - 1] == '+' || input_[end - 1] == '-')) --end;
  }
  return make(TokenKind::kOperator, begin, end);
}

Token Lexer::scan_identifier(size_t begin) {
  const size_t n = input_.size();
  size_t i = begin + 1;
  while (i < n && is_ident_cont(input_[i])) ++i;
  return make(TokenKind::kIdentifier, begin, i);
}

namespace {

// is_space / is_ident_start / is_ident_cont as one table lookup per byte, for
// LeadingKeywords::may_lead (which runs on every Query).
enum : uint8_t { kSpaceBit = 1, kStartBit = 2, kContBit = 4 };
constexpr std::array<uint8_t, 256> kCharBits = [] {
  std::array<uint8_t, 256> bits{};
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    bits[b] = static_cast<uint8_t>((is_space(c) ? kSpaceBit : 0) |
                                   (is_ident_start(c) ? kStartBit : 0) |
                                   (is_ident_cont(c) ? kContBit : 0));
  }
  return bits;
}();
bool has(char c, uint8_t bit) { return (kCharBits[static_cast<unsigned char>(c)] & bit) != 0; }

}  // namespace

bool LeadingKeywords::may_lead(std::string_view text) const {
  const size_t n = text.size();
  size_t i = 0;
  while (i < n && has(text[i], kSpaceBit)) ++i;
  if (i == n || !has(text[i], kStartBit)) return true;  // not a plain word: a Lexer decides
  uint64_t word = 0;  // the next eight bytes (zeros past the end), letters in lower case
  if (n - i >= 8) {
    std::memcpy(&word, text.data() + i, 8);  // one load
  } else {
    std::memcpy(&word, text.data() + i, n - i);
  }
  word |= 0x2020202020202020u;  // maps exactly the letters onto the lower-case letters
  const unsigned letter = static_cast<unsigned>((word >> first_shift()) & 0xff) - 'a';
  if (letter >= by_letter_.size()) return false;  // '_', a digit or a byte >= 0x80 first
  for (unsigned mask = by_letter_[letter]; mask != 0; mask &= mask - 1) {
    const Entry& e = entries_[std::countr_zero(mask)];
    if ((word & e.mask) != e.pattern || n - i < e.size) continue;
    // Longer than eight letters: the prefix matched, a Lexer decides. Else the word
    // must end where the keyword does.
    if (e.size > 8 || i + e.size == n || !has(text[i + e.size], kContBit)) return true;
  }
  return false;  // a plain word, none of them (or a one-letter prefix: E'..', U&"..")
}

std::string_view comment_body(const Token& comment) {
  const std::string_view t = comment.text;
  if (comment.kind == TokenKind::kLineComment) return t.substr(2);
  if (comment.kind == TokenKind::kBlockComment && t.size() >= 4) return t.substr(2, t.size() - 4);
  return {};
}

std::string_view quoted_body(const Token& token) {
  const std::string_view t = token.text;
  switch (token.kind) {
    case TokenKind::kQuotedIdentifier:
      return t.substr(1, t.size() - 2);
    case TokenKind::kUnicodeIdentifier:
    case TokenKind::kUnicodeString:
      return t.substr(3, t.size() - 4);
    case TokenKind::kString:
      return t[0] == '\'' ? t.substr(1, t.size() - 2) : t.substr(2, t.size() - 3);
    case TokenKind::kEscapeString:
      return t.substr(2, t.size() - 3);
    case TokenKind::kDollarString: {
      const size_t tag = t.find('$', 1) + 1;
      return t.substr(tag, t.size() - 2 * tag);
    }
    default:
      return t;
  }
}

std::string_view first_leading_comment(std::string_view sql) {
  std::string_view first;
  for_each_leading_comment(sql, [&](std::string_view body) {
    first = body;
    return false;
  });
  return first;
}

}  // namespace pgmux::sql
