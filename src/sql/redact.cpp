// Literal redaction and UTF-8-safe truncation of SQL text for logs. Pure; thread-safe.
#include "pgmux/sql/redact.hpp"

#include "pgmux/sql/lexer.hpp"

namespace pgmux::sql {
namespace {

// Tokens whose bytes are data, not SQL: replaced by a placeholder. kError is an
// unterminated string, identifier or comment running to the end: its bytes may be
// data too.
bool is_literal(TokenKind kind) {
  switch (kind) {
    case TokenKind::kString:
    case TokenKind::kEscapeString:
    case TokenKind::kUnicodeString:
    case TokenKind::kDollarString:
    case TokenKind::kNumber:
    case TokenKind::kError:
      return true;
    default:
      return false;
  }
}

// The largest $n parameter number in `sql` (0 when none), so placeholders can
// continue after it as pg_stat_statements does.
unsigned highest_parameter(std::string_view sql) {
  unsigned highest = 0;
  Lexer lexer(sql);
  for (Token t = lexer.next(); t.kind != TokenKind::kEnd; t = lexer.next()) {
    if (t.kind != TokenKind::kParameter) continue;
    unsigned n = 0;
    for (char c : t.text.substr(1)) n = n < 100000 ? n * 10 + static_cast<unsigned>(c - '0') : n;
    if (n > highest) highest = n;
  }
  return highest;
}

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

}  // namespace

std::string redact_literals(std::string_view sql, size_t max_length) {
  std::string out;
  out.reserve(sql.size() < max_length ? sql.size() : max_length);
  Lexer lexer(sql);
  unsigned placeholder = highest_parameter(sql);
  for (Token t = lexer.next_raw(); t.kind != TokenKind::kEnd; t = lexer.next_raw()) {
    if (is_literal(t.kind)) {
      out += '$';
      out += std::to_string(++placeholder);
    } else {
      out += t.text;
    }
    if (out.size() > max_length) break;  // the rest would be cut anyway
  }
  return truncate_utf8(out, max_length);
}

std::string truncate_utf8(std::string_view text, size_t max_length) {
  if (text.size() <= max_length) return std::string(text);
  size_t cut = max_length;
  // Step back over at most three continuation bytes to the start of the sequence the
  // cut falls into (a UTF-8 sequence is at most four bytes).
  for (int i = 0; i < 3 && cut > 0 && is_continuation(text[cut]); ++i) --cut;
  if (is_continuation(text[cut])) cut = max_length;  // not UTF-8: cut where asked
  std::string out(text.substr(0, cut));
  out += "...";
  return out;
}

}  // namespace pgmux::sql
