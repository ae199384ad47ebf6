// Function-name lists and keyword tables for the classifier (see classify.hpp), and the
// small value helpers of classify.hpp. Pure and thread-safe: the tables are constants.
#include <algorithm>
#include <array>

#include "pgmux/sql/classify.hpp"
#include "pgmux/sql/lexer.hpp"

namespace pgmux::sql {
namespace {

using namespace std::string_view_literals;

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

// clang-format off
constexpr std::array kWriteFunctions = {
    // Sequences; currval and lastval read session state only the primary session has.
    "nextval"sv, "setval"sv, "currval"sv, "lastval"sv,
    // Advisory locks: pg_advisory_lock, _unlock, _xact_lock, _lock_shared, ...
    "pg_advisory_*lock*"sv, "pg_try_advisory_*lock*"sv,
    // Large objects (lo_create, lo_import, lo_open, lo_put, lo_from_bytea, ...).
    "lo_*"sv, "loread"sv, "lowrite"sv,
    // Settings, notifications and transaction ids that assign one.
    "set_config"sv, "pg_notify"sv, "txid_current"sv, "txid_current_if_assigned"sv,
    "pg_current_xact_id"sv, "pg_current_xact_id_if_assigned"sv,
    // Server administration.
    "pg_switch_wal"sv, "pg_create_restore_point"sv, "pg_terminate_backend"sv, "pg_cancel_backend"sv,
    "pg_reload_conf"sv, "pg_rotate_logfile"sv, "pg_stat_reset*"sv, "pg_backup_start"sv,
    "pg_backup_stop"sv, "pg_start_backup"sv, "pg_stop_backup"sv, "pg_create_*_replication_slot"sv,
    "pg_drop_replication_slot"sv, "pg_logical_emit_message"sv, "pg_promote"sv,
    // Remote writes through extensions.
    "dblink_exec"sv,
};
// clang-format on

// clang-format off
constexpr std::array kReadOnlyFunctions = {
    // Aggregates and window functions.
    "count"sv, "sum"sv, "avg"sv, "min"sv, "max"sv, "every"sv, "bool_and"sv, "bool_or"sv,
    "array_agg"sv, "string_agg"sv, "json_agg"sv, "jsonb_agg"sv, "json_object_agg"sv,
    "jsonb_object_agg"sv, "stddev"sv, "stddev_pop"sv, "stddev_samp"sv, "variance"sv, "var_pop"sv,
    "var_samp"sv, "percentile_cont"sv, "percentile_disc"sv, "mode"sv, "row_number"sv, "rank"sv,
    "dense_rank"sv, "percent_rank"sv, "cume_dist"sv, "ntile"sv, "lag"sv, "lead"sv, "first_value"sv,
    "last_value"sv, "nth_value"sv,
    // Function-like syntax (strict mode also knows these as syntax keywords).
    "coalesce"sv, "nullif"sv, "greatest"sv, "least"sv, "substring"sv, "position"sv, "trim"sv,
    "extract"sv, "overlay"sv,
    // Date and time.
    "now"sv, "current_timestamp"sv, "clock_timestamp"sv, "statement_timestamp"sv,
    "transaction_timestamp"sv, "timeofday"sv, "date_trunc"sv, "date_part"sv, "age"sv, "make_date"sv,
    "make_time"sv, "make_timestamp"sv, "make_timestamptz"sv, "make_interval"sv, "to_char"sv,
    "to_date"sv, "to_timestamp"sv, "to_number"sv, "justify_days"sv, "justify_hours"sv,
    "justify_interval"sv, "isfinite"sv,
    // Strings.
    "lower"sv, "upper"sv, "initcap"sv, "length"sv, "char_length"sv, "character_length"sv,
    "octet_length"sv, "bit_length"sv, "substr"sv, "strpos"sv, "btrim"sv, "ltrim"sv, "rtrim"sv,
    "replace"sv, "translate"sv, "concat"sv, "concat_ws"sv, "format"sv, "left"sv, "right"sv,
    "lpad"sv, "rpad"sv, "repeat"sv, "reverse"sv, "split_part"sv, "starts_with"sv,
    "regexp_replace"sv, "regexp_match"sv, "regexp_matches"sv, "regexp_split_to_array"sv,
    "regexp_split_to_table"sv, "md5"sv, "encode"sv, "decode"sv, "quote_ident"sv, "quote_literal"sv,
    "quote_nullable"sv, "ascii"sv, "chr"sv,
    // Numbers.
    "abs"sv, "round"sv, "ceil"sv, "ceiling"sv, "floor"sv, "trunc"sv, "mod"sv, "power"sv, "sqrt"sv,
    "exp"sv, "ln"sv, "log"sv, "sign"sv, "random"sv, "width_bucket"sv,
    // Arrays, sets, JSON.
    "array_length"sv, "array_to_string"sv, "string_to_array"sv, "array_position"sv,
    "array_append"sv, "array_prepend"sv, "array_cat"sv, "array_remove"sv, "array_upper"sv,
    "array_lower"sv, "cardinality"sv, "unnest"sv, "generate_series"sv, "generate_subscripts"sv,
    "json_build_object"sv, "jsonb_build_object"sv, "json_build_array"sv, "jsonb_build_array"sv,
    "to_json"sv, "to_jsonb"sv, "row_to_json"sv, "json_object"sv, "jsonb_object"sv, "jsonb_set"sv,
    "jsonb_insert"sv, "jsonb_pretty"sv, "json_array_length"sv, "jsonb_array_length"sv,
    "json_each"sv, "jsonb_each"sv, "json_each_text"sv, "jsonb_each_text"sv,
    "jsonb_array_elements"sv, "json_array_elements"sv, "jsonb_path_query"sv, "jsonb_path_exists"sv,
    "jsonb_typeof"sv, "json_typeof"sv, "jsonb_strip_nulls"sv, "json_extract_path"sv,
    "jsonb_extract_path"sv, "json_extract_path_text"sv, "jsonb_extract_path_text"sv,
    // System information.
    "pg_is_in_recovery"sv, "version"sv, "current_setting"sv, "current_database"sv,
    "current_schema"sv, "current_schemas"sv, "pg_backend_pid"sv, "inet_server_addr"sv,
    "inet_server_port"sv, "pg_postmaster_start_time"sv, "pg_conf_load_time"sv, "pg_size_pretty"sv,
    "pg_relation_size"sv, "pg_total_relation_size"sv, "pg_table_size"sv, "pg_indexes_size"sv,
    "pg_database_size"sv, "pg_typeof"sv, "has_table_privilege"sv, "has_schema_privilege"sv,
    "has_database_privilege"sv, "has_column_privilege"sv, "has_function_privilege"sv,
    "pg_has_role"sv, "pg_get_viewdef"sv, "pg_get_indexdef"sv, "pg_get_constraintdef"sv,
    "pg_get_functiondef"sv, "pg_get_expr"sv, "pg_get_userbyid"sv, "format_type"sv,
    "obj_description"sv, "col_description"sv, "pg_table_is_visible"sv, "pg_last_wal_receive_lsn"sv,
    "pg_last_wal_replay_lsn"sv, "pg_last_xact_replay_timestamp"sv, "pg_wal_lsn_diff"sv,
    "pg_sleep"sv,
    // Table-sampling methods (TABLESAMPLE SYSTEM (10)).
    "system"sv, "bernoulli"sv,
};
// clang-format on

// Upper-case and sorted (checked below) for binary search.
// clang-format off
constexpr std::array kCallSyntaxKeywords = {
    "ALL"sv, "AND"sv, "ANY"sv, "ARRAY"sv, "AS"sv, "ASC"sv, "AT"sv, "BETWEEN"sv, "BIT"sv, "BY"sv,
    "CASE"sv, "CAST"sv, "CHAR"sv, "CHARACTER"sv, "COALESCE"sv, "COLLATE"sv, "COLLATION"sv,
    "CROSS"sv, "CUBE"sv, "CURRENT_TIME"sv, "CURRENT_TIMESTAMP"sv, "DEC"sv, "DECIMAL"sv, "DEFAULT"sv,
    "DESC"sv, "DISTINCT"sv, "DO"sv, "ELSE"sv, "END"sv, "ESCAPE"sv, "EXCEPT"sv, "EXISTS"sv,
    "EXTRACT"sv, "FETCH"sv, "FILTER"sv, "FIRST"sv, "FLOAT"sv, "FOR"sv, "FROM"sv, "FULL"sv,
    "GREATEST"sv, "GROUP"sv, "GROUPING"sv, "GROUPS"sv, "HAVING"sv, "ILIKE"sv, "IN"sv, "INNER"sv,
    "INTERSECT"sv, "INTERVAL"sv, "IS"sv, "JOIN"sv, "LATERAL"sv, "LEAST"sv, "LEFT"sv, "LIKE"sv,
    "LIMIT"sv, "LOCALTIME"sv, "LOCALTIMESTAMP"sv, "MATERIALIZED"sv, "NATURAL"sv, "NORMALIZE"sv,
    "NOT"sv, "NULLIF"sv, "NUMERIC"sv, "OF"sv, "OFFSET"sv, "ON"sv, "OR"sv, "ORDER"sv, "OUTER"sv,
    "OVER"sv, "OVERLAPS"sv, "OVERLAY"sv, "PARTITION"sv, "POSITION"sv, "RANGE"sv, "RECURSIVE"sv,
    "REPEATABLE"sv, "RETURNING"sv, "RIGHT"sv, "ROLLUP"sv, "ROW"sv, "ROWS"sv, "SELECT"sv, "SET"sv,
    "SETS"sv, "SIMILAR"sv, "SOME"sv, "SUBSTRING"sv, "TABLE"sv, "TABLESAMPLE"sv, "THEN"sv, "TIME"sv,
    "TIMESTAMP"sv, "TO"sv, "TREAT"sv, "TRIM"sv, "UNION"sv, "USING"sv, "VALUES"sv, "VARCHAR"sv,
    "VARYING"sv, "WHEN"sv, "WHERE"sv, "WINDOW"sv, "WITH"sv, "WITHIN"sv, "XMLATTRIBUTES"sv,
    "XMLCONCAT"sv, "XMLELEMENT"sv, "XMLEXISTS"sv, "XMLFOREST"sv, "XMLPARSE"sv, "XMLPI"sv,
    "XMLROOT"sv, "XMLSERIALIZE"sv, "ZONE"sv,
};
// clang-format on
static_assert(std::is_sorted(kCallSyntaxKeywords.begin(), kCallSyntaxKeywords.end()));

// Compares `word` upper-cased with `keyword` (already upper case), like operator<=>.
int compare_upper(std::string_view word, std::string_view keyword) {
  const size_t n = std::min(word.size(), keyword.size());
  for (size_t i = 0; i < n; ++i) {
    const char a = upper(word[i]);
    if (a != keyword[i]) return a < keyword[i] ? -1 : 1;
  }
  if (word.size() == keyword.size()) return 0;
  return word.size() < keyword.size() ? -1 : 1;
}

bool matches_any(std::string_view name, const std::vector<std::string>& patterns) {
  for (const std::string& p : patterns) {
    if (glob_match_ci(p, name)) return true;
  }
  return false;
}

}  // namespace

std::string_view to_string(Route route) { return route == Route::kReplica ? "replica" : "primary"; }

std::string_view to_string(Hint hint) {
  switch (hint) {
    case Hint::kPrimary:
      return "primary";
    case Hint::kReplica:
      return "replica";
    default:
      return "none";
  }
}

std::span<const std::string_view> default_write_functions() { return kWriteFunctions; }
std::span<const std::string_view> default_read_only_functions() { return kReadOnlyFunctions; }

ClassifyOptions::ClassifyOptions()
    : write_functions(kWriteFunctions.begin(), kWriteFunctions.end()),
      read_only_functions(kReadOnlyFunctions.begin(), kReadOnlyFunctions.end()) {}

void Classification::set_first_keyword(std::string_view word) {
  const size_t n = std::min(word.size(), kMaxKeywordSize);
  for (size_t i = 0; i < n; ++i) first_keyword_[i] = upper(word[i]);
  first_keyword_size_ = static_cast<uint8_t>(n);
}

bool glob_match_ci(std::string_view pattern, std::string_view name) {
  size_t p = 0;
  size_t n = 0;
  size_t star = std::string_view::npos;  // position of the last '*' seen in pattern
  size_t resume = 0;                     // where in name that '*' match would grow next
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (p < pattern.size() && lower(pattern[p]) == lower(name[n])) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool is_write_function(std::string_view name, const ClassifyOptions& options) {
  return matches_any(name, options.write_functions);
}

bool is_read_only_function(std::string_view name, const ClassifyOptions& options) {
  return matches_any(name, options.read_only_functions);
}

bool is_call_syntax_keyword(std::string_view word) {
  auto it = std::lower_bound(
      kCallSyntaxKeywords.begin(), kCallSyntaxKeywords.end(), word,
      [](std::string_view keyword, std::string_view w) { return compare_upper(w, keyword) > 0; });
  return it != kCallSyntaxKeywords.end() && compare_upper(word, *it) == 0;
}

Hint parse_hint(std::string_view sql) {
  Hint hint = Hint::kNone;
  for_each_leading_comment(sql, [&](std::string_view body) {
    const size_t first = body.find_first_not_of(" \t\r\n\f\v");
    if (first == std::string_view::npos) return true;
    body = body.substr(first, body.find_last_not_of(" \t\r\n\f\v") + 1 - first);
    if (equals_ci(body, "pgmux:primary")) hint = Hint::kPrimary;
    if (equals_ci(body, "pgmux:replica")) hint = Hint::kReplica;
    return hint == Hint::kNone;
  });
  return hint;
}

}  // namespace pgmux::sql
