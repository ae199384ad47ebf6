// Literal redaction for logged SQL (the slow-query log): string and number literals
// become $1, $2, ... the way pg_stat_statements normalizes a query. Pure; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pgmux::sql {

// `sql` with every string literal (plain, E'', U&'', B'', X'', N'', dollar-quoted) and
// every number literal replaced by $1, $2, ... in order of appearance (numbering
// continues after the largest $n parameter already in the text); everything else
// (keywords, identifiers, comments, whitespace, existing $n parameters) is kept byte for
// byte. An unterminated string or comment is replaced as a literal. The result is then
// shortened with truncate_utf8(result, max_length).
std::string redact_literals(std::string_view sql, size_t max_length);

// `text` when it is at most `max_length` bytes; otherwise its longest prefix of at most
// `max_length` bytes that does not end inside a UTF-8 sequence, followed by "..." (so the
// result may be up to max_length + 3 bytes).
std::string truncate_utf8(std::string_view text, size_t max_length);

}  // namespace pgmux::sql
