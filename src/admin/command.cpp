// Admin console command parser: lexes the query with the SQL lexer and matches the
// first statement against the console grammar. Pure; thread-safe.
#include "pgmux/admin/command.hpp"

#include <array>
#include <span>
#include <vector>

#include "pgmux/sql/lexer.hpp"
#include "pgmux/sql/redact.hpp"

namespace pgmux::admin {
namespace {

using Kind = Command::Kind;
using sql::Token;
using sql::TokenKind;

constexpr const char* kSyntaxError = "42601";
constexpr const char* kFeatureNotSupported = "0A000";
constexpr size_t kMaxQuotedLength = 64;  // of command text quoted in error messages

struct ShowTarget {
  std::string_view name;
  Kind kind;
};
constexpr std::array<ShowTarget, 11> kShowTargets = {{
    {"POOLS", Kind::kShowPools},
    {"STATS", Kind::kShowStats},
    {"CLIENTS", Kind::kShowClients},
    {"SERVERS", Kind::kShowServers},
    {"DATABASES", Kind::kShowDatabases},
    {"CONFIG", Kind::kShowConfig},
    {"VERSION", Kind::kShowVersion},
    {"HELP", Kind::kShowHelp},
    {"NODES", Kind::kShowNodes},
    {"USERS", Kind::kShowUsers},
    {"LISTS", Kind::kShowLists},
}};

enum class Arg { kNone, kOptionalDatabase, kDatabase };
struct Verb {
  std::string_view name;
  Kind kind;
  Arg arg;
};
constexpr std::array<Verb, 6> kVerbs = {{
    {"PAUSE", Kind::kPause, Arg::kOptionalDatabase},
    {"RESUME", Kind::kResume, Arg::kOptionalDatabase},
    {"RECONNECT", Kind::kReconnect, Arg::kOptionalDatabase},
    {"KILL", Kind::kKill, Arg::kDatabase},
    {"RELOAD", Kind::kReload, Arg::kNone},
    {"SHUTDOWN", Kind::kShutdown, Arg::kNone},
}};

using Tokens = std::span<const Token>;

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// The tokens joined by single spaces, unquoted identifiers in upper case, shortened
// for an error message.
std::string display(Tokens tokens) {
  std::string out;
  for (const Token& t : tokens) {
    if (!out.empty()) out += ' ';
    out += t.kind == TokenKind::kIdentifier ? upper(t.text) : std::string(t.text);
  }
  return sql::truncate_utf8(out, kMaxQuotedLength);
}

util::Error syntax_error(std::string message) {
  return util::make_error(kSyntaxError, std::move(message));
}

util::Error unknown_command(Tokens tokens) {
  return syntax_error("unknown command \"" + display(tokens) + "\"; SHOW HELP lists the commands");
}

// PostgreSQL's wording, the unexpected token quoted as it was typed.
util::Error trailing_garbage(const Token& extra) {
  return syntax_error("syntax error at or near \"" +
                      sql::truncate_utf8(extra.text, kMaxQuotedLength) +
                      "\"; SHOW HELP lists the commands");
}

// The argument as the audit text shows it: bare when PostgreSQL would read it back
// unchanged as an unquoted identifier, double-quoted otherwise.
std::string quote_if_needed(std::string_view name) {
  bool plain = !name.empty() && !(name[0] >= '0' && name[0] <= '9') && name[0] != '$';
  for (char c : name) {
    plain = plain && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '$');
  }
  if (plain) return std::string(name);
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

// A database name token: an identifier (kept as written) or a quoted identifier
// (quotes removed, "" -> ").
util::Result<std::string> database_name(std::string_view verb, const Token& t) {
  if (t.kind == TokenKind::kIdentifier) return std::string(t.text);
  if (t.kind != TokenKind::kQuotedIdentifier) {
    return syntax_error("expected a database name after " + std::string(verb) + ", got \"" +
                        display(Tokens(&t, 1)) + "\"");
  }
  std::string_view body = sql::quoted_body(t);
  if (body.empty()) return syntax_error("zero-length delimited identifier");
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    out += body[i];
    if (body[i] == '"') ++i;  // "" stands for one quote
  }
  return out;
}

util::Result<Command> parse_show(Tokens tokens) {
  if (tokens.size() < 2) {
    return syntax_error("incomplete command \"SHOW\"; SHOW HELP lists the commands");
  }
  for (const ShowTarget& target : kShowTargets) {
    if (!tokens[1].is_keyword(target.name)) continue;
    if (tokens.size() > 2) return trailing_garbage(tokens[2]);
    return Command{target.kind, "", "SHOW " + std::string(target.name)};
  }
  return unknown_command(tokens);
}

util::Result<Command> parse_set(Tokens tokens) {
  if (tokens.size() < 2)
    return syntax_error("incomplete command \"SET\"; expected SET name = value");
  std::string text = "SET";
  for (const Token& t : tokens.subspan(1)) {
    text += ' ';
    text += t.text;
  }
  return Command{Kind::kSet, "", std::move(text)};
}

util::Result<Command> parse_verb(const Verb& verb, Tokens tokens) {
  Command command{verb.kind, "", std::string(verb.name)};
  if (tokens.size() == 1) {
    if (verb.arg != Arg::kDatabase) return command;
    return syntax_error(std::string(verb.name) +
                        " needs a database name: " + std::string(verb.name) + " <db>");
  }
  if (verb.arg == Arg::kNone) return trailing_garbage(tokens[1]);
  util::Result<std::string> name = database_name(verb.name, tokens[1]);
  if (!name.ok()) return name.error();
  if (tokens.size() > 2) return trailing_garbage(tokens[2]);
  command.argument = std::move(name.value());
  command.text += ' ' + quote_if_needed(command.argument);
  return command;
}

util::Result<Command> parse_statement(Tokens tokens) {
  const Token& first = tokens[0];
  if (first.is_keyword("SHOW")) return parse_show(tokens);
  if (first.is_keyword("SET")) return parse_set(tokens);
  for (const Verb& verb : kVerbs) {
    if (first.is_keyword(verb.name)) return parse_verb(verb, tokens);
  }
  return unknown_command(tokens);
}

// The significant tokens of `sql`, split into non-empty statements at semicolons.
util::Result<std::vector<std::vector<Token>>> split_statements(std::string_view sql) {
  std::vector<std::vector<Token>> statements(1);
  sql::Lexer lexer(sql);
  for (Token t = lexer.next(); t.kind != TokenKind::kEnd; t = lexer.next()) {
    if (t.kind == TokenKind::kError) return syntax_error(std::string(lexer.error()));
    if (t.kind != TokenKind::kSemicolon) {
      statements.back().push_back(t);
    } else if (!statements.back().empty()) {
      statements.emplace_back();
    }
  }
  if (statements.back().empty()) statements.pop_back();
  return statements;
}

}  // namespace

util::Result<Command> parse_command(std::string_view sql) {
  auto statements = split_statements(sql);
  if (!statements.ok()) return statements.error();
  if (statements->empty()) return Command{Kind::kEmpty, "", ""};
  if (statements->size() > 1) {
    return util::make_error(
        kFeatureNotSupported,
        "the admin console runs one command per query, got " + std::to_string(statements->size()));
  }
  return parse_statement(statements->front());
}

bool requires_admin(Command::Kind kind) {
  switch (kind) {
    case Kind::kPause:
    case Kind::kResume:
    case Kind::kReload:
    case Kind::kKill:
    case Kind::kReconnect:
    case Kind::kShutdown:
      return true;
    default:
      return false;
  }
}

}  // namespace pgmux::admin
