// Read/write classification of simple-query SQL text for routing: says whether the text
// may run on a streaming replica or must go to the primary, and reports the transaction
// and session effects a pooler tracks. Pure: classify() is reentrant and thread-safe, and
// one ClassifyOptions may be shared read-only by any number of threads.
//
// The rule is "replica only when sure": a statement goes to a replica only if its first
// keyword is SELECT, VALUES, TABLE, SHOW or WITH (or it is EXPLAIN of one of those) and
// nothing in it can write or lock: no data-modifying WITH, no FOR UPDATE / FOR NO KEY
// UPDATE / FOR SHARE / FOR KEY SHARE at any depth, no SELECT ... INTO, no call of a write
// function, and in strict mode no call of a function missing from the read-only list.
// Text with several statements goes to a replica only if every statement may. Anything
// else goes to the primary: other statements, empty text, text that cannot be tokenized.
// Keywords are only ever recognized as tokens, so 'INSERT', "update", $$DELETE$$ and
// comments decide nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pgmux::sql {

enum class Route : uint8_t { kReplica, kPrimary };

// A routing hint given by a comment before the first token: "/* pgmux:primary */" or
// "/* pgmux:replica */" ("--" comments too; ASCII case and surrounding blanks ignored).
enum class Hint : uint8_t { kNone, kPrimary, kReplica };

std::string_view to_string(Route route);  // "replica" or "primary"
std::string_view to_string(Hint hint);    // "none", "primary" or "replica"

// Why a text was routed the way it was; Classification::reason is one of these.
namespace reason {
inline constexpr std::string_view kReadOnly = "read-only statement";
inline constexpr std::string_view kEmpty = "empty query";
inline constexpr std::string_view kLexError = "cannot tokenize";
inline constexpr std::string_view kNotReadOnly = "not a read-only statement";
inline constexpr std::string_view kTransactionControl = "transaction control";
inline constexpr std::string_view kSet = "SET or RESET";
inline constexpr std::string_view kExplainNonRead = "EXPLAIN of a non-read statement";
inline constexpr std::string_view kDataModifyingWith = "data-modifying WITH";
inline constexpr std::string_view kLockingClause = "locking clause";
inline constexpr std::string_view kSelectInto = "SELECT INTO";
inline constexpr std::string_view kWriteFunction = "write function call";
inline constexpr std::string_view kEscapedFunction = "function name with Unicode escapes";
inline constexpr std::string_view kUnlistedFunction = "function not on the read-only list";
inline constexpr std::string_view kTooDeep = "parentheses nested too deep";
inline constexpr std::string_view kUnbalanced = "unbalanced parentheses";
inline constexpr std::string_view kHintPrimary = "hint: primary";
inline constexpr std::string_view kHintReplica = "hint: replica";
}  // namespace reason

// Function-name patterns: ASCII case-insensitive, '*' matches any run of characters
// ("lo_*", "pg_advisory_*lock*"). A schema qualifier never matters: pg_catalog.nextval(
// is nextval(. A name in double quotes matches the same patterns, so "nextval"(...) is a
// write; for the read-only list a quoted name must also be all lower case to match. A
// call through a U&"..." name cannot be checked and sends the text to the primary.
struct ClassifyOptions {
  // Fills both lists with the defaults below.
  ClassifyOptions();

  // Calls to these always send the text to the primary: they write, lock, or depend on
  // session state that only the primary connection has (currval, lastval).
  std::vector<std::string> write_functions;
  // Strict mode: a call of any function not matching read_only_functions also sends the
  // text to the primary (a "/* pgmux:replica */" hint overrides this, and only this).
  bool strict = false;
  std::vector<std::string> read_only_functions;
  // The server's standard_conforming_strings setting (see LexerOptions).
  bool standard_conforming_strings = true;
};

// The built-in lists ClassifyOptions() starts from.
std::span<const std::string_view> default_write_functions();
std::span<const std::string_view> default_read_only_functions();

struct Classification {
  static constexpr size_t kMaxKeywordSize = 63;  // PostgreSQL's NAMEDATALEN - 1

  Route route = Route::kPrimary;
  std::string_view reason = reason::kEmpty;  // one of the reason:: constants
  int statement_count = 0;                   // non-empty statements seen
  Hint hint = Hint::kNone;

  // The flags below are set if any statement of the text has the effect.
  // BEGIN / START TRANSACTION, or COMMIT / ROLLBACK ... AND CHAIN.
  bool begins_transaction = false;
  // A BEGIN / START TRANSACTION that said READ ONLY.
  bool begin_read_only = false;
  // COMMIT, END, ROLLBACK, ABORT (not ROLLBACK TO SAVEPOINT), PREPARE TRANSACTION. Not
  // COMMIT PREPARED / ROLLBACK PREPARED, which act on another, prepared transaction.
  bool ends_transaction = false;
  // SET TRANSACTION ... READ ONLY, SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY,
  // SET transaction_read_only = on.
  bool set_transaction_read_only = false;
  // SET [SESSION | LOCAL] default_transaction_read_only {= | TO} on / true / yes / 1.
  bool sets_default_read_only = false;
  // A SET or RESET statement.
  bool is_set = false;

  // The first statement's first keyword (after any opening parentheses), upper-cased
  // and cut to kMaxKeywordSize bytes; empty if it does not start with an identifier.
  std::string_view first_keyword() const { return {first_keyword_, first_keyword_size_}; }
  void set_first_keyword(std::string_view word);

 private:
  char first_keyword_[kMaxKeywordSize] = {};
  uint8_t first_keyword_size_ = 0;
};

// Classifies `sql`, one simple-query string (possibly several statements). Does not
// allocate.
Classification classify(std::string_view sql, const ClassifyOptions& options);
// The same with default options (built once, on first use; thread-safe).
Classification classify(std::string_view sql);

// The hint given by the leading comments of `sql`; the first comment that is a hint wins.
Hint parse_hint(std::string_view sql);

// `name` (unqualified, without quotes) matches options.write_functions.
bool is_write_function(std::string_view name, const ClassifyOptions& options);
// `name` matches options.read_only_functions.
bool is_read_only_function(std::string_view name, const ClassifyOptions& options);
// Keywords that may stand before "(" without being a function call (IN, EXISTS, OVER,
// VALUES, AS, ...), and function-like syntax (CAST, COALESCE, EXTRACT, ...) or type names
// taking modifiers (NUMERIC, VARCHAR, ...). Strict mode does not treat these as calls.
bool is_call_syntax_keyword(std::string_view word);
// `name` matches `pattern` as described above ClassifyOptions.
bool glob_match_ci(std::string_view pattern, std::string_view name);

}  // namespace pgmux::sql
