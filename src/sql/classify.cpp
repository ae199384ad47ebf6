// The read/write classifier (see classify.hpp): one pass over the tokens, one statement
// at a time, with a fixed-size stack for parentheses. Reentrant; allocates nothing.
#include "pgmux/sql/classify.hpp"

#include "pgmux/sql/lexer.hpp"

namespace pgmux::sql {
namespace {

// How far a statement is from running on a replica. kUnlisted is a call of a function
// missing from the strict-mode read-only list, which a replica hint may override.
enum class Level : uint8_t { kReplica, kUnlisted, kPrimary };

struct Verdict {
  Level level = Level::kReplica;
  std::string_view reason = reason::kReadOnly;

  // Keeps the first reason of the highest level.
  void raise(Level l, std::string_view why) {
    if (l > level) {
      level = l;
      reason = why;
    }
  }
  void raise(const Verdict& other) { raise(other.level, other.reason); }
};

// Where a parenthesis level stands in a WITH clause that opened at that level.
enum class WithState : uint8_t {
  kNone,          // no WITH list here, or its main statement has started
  kCteList,       // inside "WITH [RECURSIVE] name [(cols)] AS [NOT] [MATERIALIZED] (...)"
  kAfterCte,      // just after a CTE body: ",", SEARCH, CYCLE or the main statement
  kSearch,        // in "SEARCH ... SET column"
  kCycle,         // in "CYCLE ... USING column"
  kClauseColumn,  // the column that ends a SEARCH or CYCLE clause
};

constexpr int kMaxDepth = 64;

bool is_write_keyword(const Token& t) {
  return t.is_keyword("INSERT") || t.is_keyword("UPDATE") || t.is_keyword("DELETE") ||
         t.is_keyword("MERGE");
}

bool is_read_keyword(const Token& t) {
  return t.is_keyword("SELECT") || t.is_keyword("VALUES") || t.is_keyword("TABLE") ||
         t.is_keyword("WITH");
}

// PostgreSQL's boolean spellings of "true": on, 1, and prefixes of true and yes.
bool is_true_value(const Token& t) {
  std::string_view v;
  if (t.kind == TokenKind::kIdentifier || t.kind == TokenKind::kNumber) {
    v = t.text;
  } else if (t.kind == TokenKind::kString || t.kind == TokenKind::kEscapeString) {
    v = quoted_body(t);
  } else {
    return false;
  }
  if (v.empty()) return false;
  return equals_ci(v, "on") || v == "1" ||
         equals_ci(v, std::string_view("true").substr(0, v.size())) ||
         equals_ci(v, std::string_view("yes").substr(0, v.size()));
}

bool has_upper(std::string_view s) {
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') return true;
  }
  return false;
}

// Scans one statement: from its first token through its ';' (or the end of the text),
// recording the statement's effects in the Classification.
class StatementScanner {
 public:
  StatementScanner(Lexer& lexer, const ClassifyOptions& options, Classification& out)
      : lexer_(lexer), options_(options), out_(out) {}

  Verdict scan(Token first);
  bool saw_error() const { return error_; }
  bool saw_end() const { return end_; }

 private:
  Token advance();
  bool is_terminator(const Token& t) const {
    return t.kind == TokenKind::kEnd || t.kind == TokenKind::kError || t.is_char(';');
  }
  void skip_rest(Token t) {
    while (!is_terminator(t)) t = advance();
  }
  Verdict primary(Token t, std::string_view why) {
    skip_rest(t);
    return Verdict{Level::kPrimary, why};
  }
  bool skip_to_read_only_mode(Token t);

  Verdict scan_read(Token t, int depth);
  Verdict scan_explain();
  Verdict scan_begin(Token t);
  Verdict scan_end_transaction();
  Verdict scan_set();
  void step(const Token& t);
  void track_with(const Token& t, bool first);
  void open_paren();
  void close_paren();
  void check_call();

  Lexer& lexer_;
  const ClassifyOptions& options_;
  Classification& out_;
  bool error_ = false;
  bool end_ = false;

  // State of scan_read().
  Verdict verdict_;
  int depth_ = 0;
  bool first_in_paren_ = false;  // the next token is the first one inside a parenthesis
  bool after_for_ = false;       // the previous token was FOR
  Token prev_;                   // the two tokens before the current one
  Token prev2_;
  WithState with_[kMaxDepth] = {};
  bool cte_body_[kMaxDepth] = {};  // the parenthesis opened into this depth is a CTE body
};

Token StatementScanner::advance() {
  Token t = lexer_.next();
  if (t.kind == TokenKind::kError) error_ = true;
  if (t.kind == TokenKind::kEnd) end_ = true;
  return t;
}

Verdict StatementScanner::scan(Token t) {
  int leading = 0;  // "(SELECT 1) UNION (SELECT 2)" starts with parentheses
  while (t.is_char('(')) {
    ++leading;
    t = advance();
  }
  if (t.kind == TokenKind::kIdentifier && out_.statement_count == 1) out_.set_first_keyword(t.text);
  if (is_read_keyword(t)) return scan_read(t, leading);
  if (leading > 0) return primary(t, reason::kNotReadOnly);
  if (t.is_keyword("SHOW")) {
    skip_rest(t);
    return Verdict{};
  }
  if (t.is_keyword("EXPLAIN")) return scan_explain();
  if (t.is_keyword("BEGIN")) return scan_begin(advance());
  if (t.is_keyword("START")) {
    t = advance();
    if (t.is_keyword("TRANSACTION")) return scan_begin(advance());
    return primary(t, reason::kNotReadOnly);
  }
  if (t.is_keyword("COMMIT") || t.is_keyword("END") || t.is_keyword("ROLLBACK") ||
      t.is_keyword("ABORT")) {
    return scan_end_transaction();
  }
  if (t.is_keyword("PREPARE")) {
    t = advance();
    if (!t.is_keyword("TRANSACTION")) return primary(t, reason::kNotReadOnly);
    out_.ends_transaction = true;
    return primary(t, reason::kTransactionControl);
  }
  if (t.is_keyword("SET")) return scan_set();
  if (t.is_keyword("RESET")) {
    out_.is_set = true;
    return primary(t, reason::kSet);
  }
  return primary(t, reason::kNotReadOnly);
}

// Consumes the rest of the statement; true if it contained READ ONLY.
bool StatementScanner::skip_to_read_only_mode(Token t) {
  bool read_only = false;
  bool after_read = false;
  for (; !is_terminator(t); t = advance()) {
    if (after_read && t.is_keyword("ONLY")) read_only = true;
    after_read = t.is_keyword("READ");
  }
  return read_only;
}

// BEGIN [WORK | TRANSACTION] [modes] / START TRANSACTION [modes]; `t` follows the keyword.
Verdict StatementScanner::scan_begin(Token t) {
  out_.begins_transaction = true;
  if (skip_to_read_only_mode(t)) out_.begin_read_only = true;
  return Verdict{Level::kPrimary, reason::kTransactionControl};
}

// COMMIT / END / ROLLBACK / ABORT, after the keyword.
Verdict StatementScanner::scan_end_transaction() {
  Token t = advance();
  if (t.is_keyword("PREPARED")) return primary(t, reason::kTransactionControl);
  if (t.is_keyword("WORK") || t.is_keyword("TRANSACTION")) t = advance();
  if (t.is_keyword("TO")) return primary(t, reason::kTransactionControl);  // TO SAVEPOINT
  out_.ends_transaction = true;
  bool after_and = false;
  for (; !is_terminator(t); t = advance()) {
    if (after_and && t.is_keyword("CHAIN")) out_.begins_transaction = true;
    after_and = t.is_keyword("AND");
  }
  return Verdict{Level::kPrimary, reason::kTransactionControl};
}

// SET [SESSION | LOCAL] ..., after the keyword.
Verdict StatementScanner::scan_set() {
  out_.is_set = true;
  Token t = advance();
  if (t.is_keyword("SESSION")) {
    t = advance();
    if (t.is_keyword("CHARACTERISTICS")) {
      if (skip_to_read_only_mode(t)) out_.set_transaction_read_only = true;
      return Verdict{Level::kPrimary, reason::kSet};
    }
  } else if (t.is_keyword("LOCAL")) {
    t = advance();
  }
  if (t.is_keyword("TRANSACTION")) {
    if (skip_to_read_only_mode(t)) out_.set_transaction_read_only = true;
    return Verdict{Level::kPrimary, reason::kSet};
  }
  const bool default_ro = t.is_keyword("default_transaction_read_only");
  const bool transaction_ro = t.is_keyword("transaction_read_only");
  if (default_ro || transaction_ro) {
    t = advance();
    if ((t.kind == TokenKind::kOperator && t.text == "=") || t.is_keyword("TO")) {
      t = advance();
      if (is_true_value(t)) {
        (default_ro ? out_.sets_default_read_only : out_.set_transaction_read_only) = true;
      }
    }
  }
  return primary(t, reason::kSet);
}

// EXPLAIN [(options)] [ANALYZE] [VERBOSE] statement, after the keyword.
Verdict StatementScanner::scan_explain() {
  Token t = advance();
  if (t.is_char('(')) {
    for (int depth = 1; depth > 0;) {
      t = advance();
      if (is_terminator(t)) return Verdict{Level::kPrimary, reason::kExplainNonRead};
      if (t.is_char('(')) ++depth;
      if (t.is_char(')')) --depth;
    }
    t = advance();
  }
  while (t.is_keyword("ANALYZE") || t.is_keyword("ANALYSE") || t.is_keyword("VERBOSE")) {
    t = advance();
  }
  int leading = 0;
  while (t.is_char('(')) {
    ++leading;
    t = advance();
  }
  if (is_read_keyword(t)) return scan_read(t, leading);
  return primary(t, reason::kExplainNonRead);
}

// A SELECT / VALUES / TABLE / WITH statement whose first keyword `t` sits `depth`
// parentheses deep.
Verdict StatementScanner::scan_read(Token t, int depth) {
  if (depth >= kMaxDepth) return primary(t, reason::kTooDeep);
  depth_ = depth;
  for (int i = 0; i <= depth; ++i) {
    with_[i] = WithState::kNone;
    cte_body_[i] = false;
  }
  first_in_paren_ = true;
  for (; !is_terminator(t); t = advance()) {
    step(t);
    if (verdict_.level == Level::kPrimary) return primary(t, verdict_.reason);
    prev2_ = prev_;
    prev_ = t;
  }
  return verdict_;
}

void StatementScanner::step(const Token& t) {
  const bool first = first_in_paren_;
  first_in_paren_ = false;
  if (t.kind == TokenKind::kIdentifier) {
    if (after_for_ && (t.is_keyword("UPDATE") || t.is_keyword("SHARE") || t.is_keyword("NO") ||
                       t.is_keyword("KEY"))) {
      verdict_.raise(Level::kPrimary, reason::kLockingClause);
    }
    after_for_ = t.is_keyword("FOR");
    if (t.is_keyword("INTO")) verdict_.raise(Level::kPrimary, reason::kSelectInto);
    if (first && cte_body_[depth_] && is_write_keyword(t)) {
      verdict_.raise(Level::kPrimary, reason::kDataModifyingWith);
    }
  } else {
    after_for_ = false;
  }
  if (first || with_[depth_] != WithState::kNone) track_with(t, first);
  if (t.is_char('(')) open_paren();
  if (t.is_char(')')) close_paren();
}

void StatementScanner::track_with(const Token& t, bool first) {
  WithState& state = with_[depth_];
  switch (state) {
    case WithState::kNone:
      if (first && t.is_keyword("WITH")) state = WithState::kCteList;
      return;
    case WithState::kCteList:  // bodies are handled by open_paren / close_paren
      return;
    case WithState::kAfterCte:
      if (t.is_char(',')) {
        state = WithState::kCteList;
      } else if (t.is_keyword("SEARCH")) {
        state = WithState::kSearch;
      } else if (t.is_keyword("CYCLE")) {
        state = WithState::kCycle;
      } else {  // the main statement
        state = WithState::kNone;
        if (is_write_keyword(t)) verdict_.raise(Level::kPrimary, reason::kDataModifyingWith);
      }
      return;
    case WithState::kSearch:
      if (t.is_keyword("SET")) state = WithState::kClauseColumn;
      return;
    case WithState::kCycle:
      if (t.is_keyword("USING")) state = WithState::kClauseColumn;
      return;
    case WithState::kClauseColumn:
      state = WithState::kAfterCte;
      return;
  }
}

void StatementScanner::open_paren() {
  check_call();
  const bool body = with_[depth_] == WithState::kCteList &&
                    (prev_.is_keyword("AS") || prev_.is_keyword("MATERIALIZED"));
  if (depth_ + 1 >= kMaxDepth) {
    verdict_.raise(Level::kPrimary, reason::kTooDeep);
    return;
  }
  ++depth_;
  with_[depth_] = WithState::kNone;
  cte_body_[depth_] = body;
  first_in_paren_ = true;
}

void StatementScanner::close_paren() {
  if (depth_ == 0) {
    verdict_.raise(Level::kPrimary, reason::kUnbalanced);
    return;
  }
  const bool body = cte_body_[depth_];
  --depth_;
  if (body && with_[depth_] == WithState::kCteList) with_[depth_] = WithState::kAfterCte;
}

// The current token is "(": is the token before it a function name?
void StatementScanner::check_call() {
  std::string_view name;
  if (prev_.kind == TokenKind::kIdentifier) {
    name = prev_.text;
  } else if (prev_.kind == TokenKind::kQuotedIdentifier) {
    name = quoted_body(prev_);
  } else if (prev_.kind != TokenKind::kUnicodeIdentifier) {
    return;
  }
  // Not calls: a type modifier (x::numeric(10, 2), CAST(x AS numeric(10, 2))), column
  // aliases (AS t(a, b), f() t(a, b)), a CTE's column list (WITH t(a, b) AS ...).
  const bool not_call = (prev2_.kind == TokenKind::kOperator && prev2_.text == "::") ||
                        prev2_.is_keyword("AS") || prev2_.is_char(')') ||
                        with_[depth_] == WithState::kCteList;
  if (prev_.kind == TokenKind::kUnicodeIdentifier) {
    if (!not_call) verdict_.raise(Level::kPrimary, reason::kEscapedFunction);
    return;
  }
  if (is_write_function(name, options_)) {
    verdict_.raise(Level::kPrimary, reason::kWriteFunction);
    return;
  }
  if (!options_.strict || not_call) return;
  if (prev_.kind == TokenKind::kIdentifier && is_call_syntax_keyword(name)) return;
  const bool allowed = is_read_only_function(name, options_) &&
                       (prev_.kind == TokenKind::kIdentifier || !has_upper(name));
  if (!allowed) verdict_.raise(Level::kUnlisted, reason::kUnlistedFunction);
}

// The route once every statement has been scanned.
void decide(Classification& out, const Verdict& verdict, bool lex_error) {
  out.route = Route::kPrimary;
  if (lex_error) {
    out.reason = reason::kLexError;
  } else if (out.statement_count == 0) {
    out.reason = reason::kEmpty;
  } else if (out.hint == Hint::kPrimary) {
    out.reason = reason::kHintPrimary;
  } else if (verdict.level == Level::kReplica) {
    out.route = Route::kReplica;
    out.reason = verdict.reason;
  } else if (verdict.level == Level::kUnlisted && out.hint == Hint::kReplica) {
    out.route = Route::kReplica;
    out.reason = reason::kHintReplica;
  } else {
    out.reason = verdict.reason;
  }
}

}  // namespace

Classification classify(std::string_view sql, const ClassifyOptions& options) {
  Classification out;
  out.hint = parse_hint(sql);
  Lexer lexer(sql, LexerOptions{options.standard_conforming_strings});
  Verdict verdict;
  bool lex_error = false;
  for (;;) {
    const Token t = lexer.next();
    if (t.kind == TokenKind::kError) lex_error = true;
    if (t.kind == TokenKind::kEnd || t.kind == TokenKind::kError) break;
    if (t.is_char(';')) continue;  // an empty statement
    ++out.statement_count;
    StatementScanner scanner(lexer, options, out);
    verdict.raise(scanner.scan(t));
    lex_error = scanner.saw_error();
    if (scanner.saw_error() || scanner.saw_end()) break;
  }
  decide(out, verdict, lex_error);
  return out;
}

Classification classify(std::string_view sql) {
  static const ClassifyOptions defaults;
  return classify(sql, defaults);
}

}  // namespace pgmux::sql
