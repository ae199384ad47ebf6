// Read/write splitting: which node (primary or a replica) a client's next request
// goes to, the `pgmux.route` setting, read-your-writes bookkeeping, and the invisible
// retry of a read whose replica died. Runs on the session's worker thread.
#include <spdlog/spdlog.h>

#include <charconv>

#include "pgmux/protocol/sqlstate.hpp"
#include "pgmux/sql/lexer.hpp"
#include "session_impl.hpp"

namespace pgmux::session {
namespace {

constexpr size_t kMaxClassified = 64 * 1024;  // larger statements go to the primary unread

// Folds one statement's classification into the request's: false once it needs the primary.
bool replica_safe(const sql::Classification& c, bool default_read_only) {
  if (c.begins_transaction) {
    return c.begin_read_only || c.set_transaction_read_only || default_read_only;
  }
  if (c.ends_transaction && c.route == sql::Route::kPrimary) return true;  // COMMIT: neutral
  return c.route == sql::Route::kReplica;
}

std::optional<RouteOverride> parse_route_value(std::string_view v) {
  if (sql::equals_ci(v, "primary")) return RouteOverride::kPrimary;
  if (sql::equals_ci(v, "replica")) return RouteOverride::kReplica;
  if (sql::equals_ci(v, "auto") || sql::equals_ci(v, "default")) return RouteOverride::kAuto;
  return std::nullopt;
}

}  // namespace

std::optional<RouteOverride> route_override_from(std::string_view value) {
  return parse_route_value(value);
}

// Classifies the request buffered in cin_ (up to its Sync or its Query). nullopt when
// a statement that decides is not complete yet.
std::optional<bool> Session::request_is_read_only() {
  std::string_view data = cin_.readable();
  const std::string* param = wanted("default_transaction_read_only");
  bool default_ro = param && *param == "on";
  bool unnamed_ro = false;  // the unnamed statement parsed earlier in this request
  bool any = false;
  size_t pos = 0;
  while (pos < data.size()) {
    auto at = data.substr(pos);
    auto header = protocol::parse_header(at, config_->max_message_size);
    if (header.status != protocol::FrameStatus::kFrame) break;
    bool whole = at.size() >= header.wire_size();
    auto body = at.substr(protocol::kHeaderSize, std::min<size_t>(header.length - 4, at.size() - 5));
    switch (header.type) {
      case protocol::msg::kQuery:
      case protocol::msg::kParse: {
        if (!whole) {
          if (header.wire_size() > kMaxClassified) return false;
          return std::nullopt;
        }
        std::string_view text = body;
        std::string_view name;
        if (header.type == protocol::msg::kParse) {
          auto parse = protocol::parse_parse_message(body);
          if (!parse) return false;
          text = parse->query;
          name = parse->name;
        } else if (!text.empty() && text.back() == '\0') {
          text.remove_suffix(1);
        }
        bool ro = replica_safe(sql::classify(text, group_->classify), default_ro);
        if (header.type == protocol::msg::kParse && name.empty()) unnamed_ro = ro;
        if (!ro) return false;
        any = true;
        if (header.type == protocol::msg::kQuery) return any;
        break;
      }
      case protocol::msg::kBind:
      case protocol::msg::kDescribe: {
        std::string_view statement;
        if (header.type == protocol::msg::kBind) {
          auto prefix = protocol::parse_bind_prefix(body);
          if (!prefix) return whole ? std::optional<bool>(false) : std::nullopt;
          statement = prefix->statement;
        } else {
          if (!whole) return std::nullopt;
          auto target = protocol::parse_target_message(body);
          if (!target) return false;
          if (target->kind == 'P') break;
          statement = target->name;
        }
        bool ro = unnamed_ro;
        if (!statement.empty()) {
          auto it = statements_.find(statement);
          ro = it != statements_.end() && it->second.read_only;
        }
        if (!ro) return false;
        any = true;
        break;
      }
      case protocol::msg::kExecute:
      case protocol::msg::kFlush:
      case protocol::msg::kClose:
        break;
      case protocol::msg::kSync:
        return any;
      default:
        return false;  // FunctionCall, COPY data, anything unexpected
    }
    if (!whole) break;  // a streaming Bind: decide on what came before
    pos += header.wire_size();
  }
  return any;
}

bool Session::statement_read_only(std::string_view query) const {
  if (group_->replicas.empty()) return false;
  const std::string* param = wanted("default_transaction_read_only");
  bool default_ro = param && *param == "on";
  return replica_safe(sql::classify(query, group_->classify), default_ro);
}

// The pool the next request goes to; null when reads have nowhere to go.
std::shared_ptr<PoolEntry> Session::choose_entry(bool read_only) {
  const auto& routing = group_->routing;
  if (group_->replicas.empty() || !routing.read_write_split) return group_->primary;
  bool want_replica = route_ == RouteOverride::kReplica ||
                      (route_ == RouteOverride::kAuto && read_only && pooled_);
  if (!want_replica) return group_->primary;
  auto now = pool::Clock::now();
  if (route_ == RouteOverride::kAuto && last_write_ &&
      routing.read_your_writes == config::ReadYourWrites::kWindow &&
      now - *last_write_ < routing.read_your_writes_window) {
    return group_->primary;
  }
  std::shared_ptr<PoolEntry> best;
  double best_score = 0;
  for (size_t i = 0; i < group_->replicas.size(); ++i) {
    const auto& entry = group_->replicas[(next_replica_ + i) % group_->replicas.size()];
    const NodeState& node = *entry->node;
    if (!node.healthy || node.wrong_role) continue;
    if (node.lag_ms > routing.max_replica_lag.count()) continue;
    if (routing.max_replica_lag_bytes && node.lag_bytes > routing.max_replica_lag_bytes) continue;
    if (routing.read_your_writes == config::ReadYourWrites::kLsn && client_lsn_ > node.lsn) {
      continue;
    }
    double score = (node.in_flight + 1.0) / entry->weight;
    if (!best || score < best_score) {
      best = entry;
      best_score = score;
    }
  }
  ++next_replica_;
  if (best) return best;
  if (routing.fallback_to_primary) {
    spdlog::debug("client {}: no usable replica, read goes to the primary", peer_);
    group_->primary->stats.shard(worker_.id).fallbacks_to_primary.add();
    return group_->primary;
  }
  return nullptr;
}

// Picks the node for the buffered request (entry_). False when reads have nowhere to
// go (no_replica_error says why).
bool Session::pick_node(bool read_only) {
  if (group_->replicas.empty() || !group_->routing.read_write_split) {
    // The primary only (choose_entry's first answer), without copying its pointer.
    if (entry_ != group_->primary) set_entry(group_->primary);
    return group_->primary != nullptr;
  }
  auto chosen = choose_entry(read_only);
  set_entry(chosen ? chosen : group_->primary);
  return chosen != nullptr;
}

protocol::ErrorFields Session::no_replica_error() const {
  protocol::ErrorFields e;
  e.sqlstate = std::string(protocol::sqlstate::kCannotConnectNow);
  e.message = "no replica of database \"" + database_ +
              "\" is healthy and fallback_to_primary is off";
  return e;
}

// Gets a server at the node pick_node() chose, going on from what the pool said there
// (`got`); a replica that cannot give one (connect or login failure) is marked down and
// the choice made again.
awaitable<std::optional<protocol::ErrorFields>> Session::route_and_acquire(bool read_only,
                                                                            pool::Checkout got) {
  for (int attempt = 0;; ++attempt) {
    auto error = co_await acquire_server(std::move(got));
    bool node_failed = error && error->sqlstate != protocol::sqlstate::kQueryCanceled &&
                       error->sqlstate != protocol::sqlstate::kAdminShutdown;
    if (!node_failed || !entry_->node->replica || attempt > 0) co_return error;
    entry_->node->healthy = false;  // reads go elsewhere until a health check passes
    shard_->retries.add();
    spdlog::warn("client {}: replica {} unreachable: {}", peer_, entry_->node->address,
                 error->message);
    if (!pick_node(read_only)) co_return no_replica_error();
    auto again = checkout_now(pool::Clock::now());
    if (!again) co_return std::nullopt;
    got = std::move(*again);
  }
}

// Idle: `SET pgmux.route = primary | replica | auto` (or RESET pgmux.route) as a Query
// of its own is answered by pgmux. True when it was. `header`: the message at the head
// of cin_ (client_step's parse; its body may not all be here yet).
bool Session::answer_route_setting(const protocol::Header& header) {
  if (header.type != protocol::msg::kQuery || cin_.size() < header.wire_size()) return false;
  std::string_view text = cin_.readable().substr(protocol::kHeaderSize, header.length - 4);
  if (!text.empty() && text.back() == '\0') text.remove_suffix(1);
  if (!kActedOnWords.may_lead(text)) {
    plain_query_ = cin_.readable().data();
    return false;
  }
  if (!kRouteSettingWords.may_lead(text)) return false;
  sql::Lexer lexer(text);
  sql::Token verb = lexer.next();
  bool reset = verb.is_keyword("RESET");
  if (!reset && !verb.is_keyword("SET")) return false;
  sql::Token t = lexer.next();
  if (t.is_keyword("SESSION")) t = lexer.next();
  if (!t.is_keyword("pgmux") || !lexer.next().is_char('.') || !lexer.next().is_keyword("route")) {
    return false;
  }
  std::optional<RouteOverride> value = RouteOverride::kAuto;
  if (!reset) {
    sql::Token op = lexer.next();
    if (!op.is_keyword("TO") && !(op.kind == sql::TokenKind::kOperator && op.text == "=")) {
      return false;
    }
    sql::Token v = lexer.next();
    value = parse_route_value(sql::quoted_body(v).empty() ? v.text : sql::quoted_body(v));
  }
  sql::Token end = lexer.next();
  if (end.is_char(';')) end = lexer.next();
  if (end.kind != sql::TokenKind::kEnd) return false;
  cin_.consume(header.wire_size());
  out_.clear();
  if (!value) {
    protocol::ErrorFields e;
    e.sqlstate = std::string(protocol::sqlstate::kInvalidParameterValue);
    e.message = "invalid value for parameter \"pgmux.route\"";
    e.hint = "Available values: primary, replica, auto.";
    protocol::write_error_response(out_, e);
  } else {
    route_ = *value;
    protocol::write_command_complete(out_, reset ? "RESET" : "SET");
  }
  protocol::write_ready_for_query(out_, 'I');
  return true;
}

// After a transaction on the primary: remembers when (and, in lsn mode, where in the
// WAL) the client last wrote, so its next reads see it.
// Whether a write is remembered for read-your-writes routing (note_write).
bool Session::notes_writes() const {
  return !group_->replicas.empty() && entry_ == group_->primary &&
         group_->routing.read_your_writes != config::ReadYourWrites::kOff;
}

awaitable<void> Session::note_write() {
  const auto& routing = group_->routing;
  last_write_ = pool::Clock::now();
  if (routing.read_your_writes != config::ReadYourWrites::kLsn) co_return;
  auto row = co_await backend::fetch_row(*server_, "SELECT pg_current_wal_insert_lsn()::text",
                                         std::chrono::seconds(10));
  if (row && !row->empty() && (*row)[0]) client_lsn_ = parse_lsn(*(*row)[0]);
}

uint64_t parse_lsn(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return 0;
  uint32_t hi = 0, lo = 0;
  auto a = std::from_chars(text.data(), text.data() + slash, hi, 16);
  auto b = std::from_chars(text.data() + slash + 1, text.data() + text.size(), lo, 16);
  if (a.ec != std::errc() || b.ec != std::errc() || a.ptr != text.data() + slash ||
      b.ptr != text.data() + text.size()) {
    return 0;
  }
  return (uint64_t{hi} << 32) | lo;
}

}  // namespace pgmux::session
