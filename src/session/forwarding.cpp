// The per-message work of forwarding: framing both directions by header, counting
// requests and ReadyForQuery, tracking parameters, and (in transaction/statement mode)
// renaming prepared statements so they follow the client across server connections.
// Runs on the session's worker thread.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "pgmux/auth/sha256.hpp"
#include "pgmux/protocol/sqlstate.hpp"
#include "pgmux/session/params.hpp"
#include "pgmux/sql/lexer.hpp"
#include "pgmux/util/bytes.hpp"
#include "session_impl.hpp"

namespace pgmux::session {
namespace {

constexpr uint32_t kMaxServerMessage = 1u << 30;
constexpr size_t kQueryPrefix = 512;  // how much of a Query is read to find its keywords
// ErrorResponses up to this size are held whole to count their SQLSTATE class; larger
// ones (a huge value quoted in a message) stream through like any message.
constexpr uint32_t kMaxCountedError = 64 * 1024;
constexpr std::string_view kClosedName = "pgmux_closed";

// pgmux's name for a statement: the same text and parameter types share one name.
std::string server_statement_name(std::string_view query, std::string_view types) {
  auto digest = auth::sha256({query, std::string_view("\0", 1), types});
  static constexpr char kHex[] = "0123456789abcdef";
  std::string name = "pgmux_";
  for (int i = 0; i < 12; ++i) {
    name.push_back(kHex[digest[i] >> 4]);
    name.push_back(kHex[digest[i] & 15]);
  }
  return name;
}

// Why a statement cannot run under this pool mode, or empty. Looks at the first
// keywords only (comments and white space skipped by the SQL lexer).
std::string refusal_for(std::string_view query, config::PoolMode mode) {
  if (!kRefusedWords.may_lead(query)) return {};
  sql::Lexer lexer(query);
  sql::Token first = lexer.next();
  if (first.is_keyword("PREPARE") || first.is_keyword("EXECUTE")) {
    return "SQL-level " + std::string(first.is_keyword("PREPARE") ? "PREPARE" : "EXECUTE") +
           " is not supported in transaction pooling mode: the next transaction may run on "
           "another server connection; use protocol-level prepared statements (for example "
           "PQprepare) or a database in session mode";
  }
  if (first.is_keyword("DEALLOCATE")) {
    sql::Token second = lexer.next();
    if (second.is_keyword("PREPARE")) second = lexer.next();
    if (second.is_keyword("ALL")) return {};
    return "SQL-level DEALLOCATE of one statement is not supported in transaction pooling "
           "mode; use DEALLOCATE ALL, a protocol-level Close, or a database in session mode";
  }
  if (first.is_keyword("LISTEN")) {
    return "LISTEN is not supported in transaction pooling mode: notifications need a "
           "session; use a database in session mode";
  }
  if (mode == config::PoolMode::kStatement &&
      (first.is_keyword("BEGIN") || first.is_keyword("START"))) {
    return "transaction blocks are not allowed in statement pooling mode";
  }
  return {};
}

// A Query that makes the server itself raise `message` (SQLSTATE 0A000), so the error
// arrives in order and with the transaction semantics of any other error.
void write_refusal_query(std::string& out, const std::string& message) {
  std::string sql = "DO $pgmux$BEGIN RAISE EXCEPTION USING ERRCODE = 'feature_not_supported', "
                    "MESSAGE = " + quote_literal(message) + "; END$pgmux$";
  protocol::write_query(out, sql);
}

bool is_fatal(std::string_view error_body) {
  auto fields = protocol::parse_error_response(error_body);
  return fields && (fields->severity == "FATAL" || fields->severity == "PANIC");
}

}  // namespace

size_t Session::scan_client(std::string_view data, bool& terminate, std::string& error) {
  segments_.clear();
  scratch_.clear();
  size_t pos = 0;
  size_t run = 0;  // start of the pass-through run being collected
  size_t noted_end = 0;  // end of the part of a statement note_statement saw in this scan
  auto close_run = [&](size_t end) {
    if (end > run) segments_.push_back({false, run, end - run});
  };
  while (pos < data.size()) {
    if (c_skip_ > 0) {
      close_run(pos);
      size_t take = std::min(c_skip_, data.size() - pos);
      pos += take;
      c_skip_ -= take;
      run = pos;
      continue;
    }
    if (c_remaining_ > 0) {
      size_t take = std::min(c_remaining_, data.size() - pos);
      if (pos >= noted_end && request_ && request_->statement_more > 0) {
        note_statement_more(data.substr(pos, take));  // a later part of a noted statement
      }
      pos += take;
      c_remaining_ -= take;
      continue;
    }
    auto at = data.substr(pos);
    auto header = protocol::parse_header(at, config_->max_message_size);
    if (header.status == protocol::FrameStatus::kNeedMore) break;
    if (header.status == protocol::FrameStatus::kError) {
      error = header.error();
      break;
    }
    if (header.type == protocol::msg::kTerminate) {
      terminate = true;
      break;
    }
    size_t scratch_before = scratch_.size();
    Rewrite rw;
    if (pooled_) rw = rewrite_client_message(at, header);
    if (rw.kind == Rewrite::kNeedMore) break;
    if (header.type == protocol::msg::kQuery || header.type == protocol::msg::kParse ||
        header.type == protocol::msg::kBind) {
      size_t have = std::min<size_t>(header.length - 4, at.size() - protocol::kHeaderSize);
      noted_end = pos + protocol::kHeaderSize + have;
      note_statement(header.type, at.substr(protocol::kHeaderSize, have), header.length - 4);
    }
    switch (header.type) {
      case protocol::msg::kQuery:
      case protocol::msg::kSync:
      case protocol::msg::kFunctionCall:
        ++outstanding_;
        ++sent_epoch_;
        unsynced_ = false;
        note_request_sent();
        break;
      case protocol::msg::kParse:
      case protocol::msg::kBind:
      case protocol::msg::kDescribe:
      case protocol::msg::kExecute:
      case protocol::msg::kClose:
      case protocol::msg::kFlush:
        unsynced_ = true;  // the server holds work (an implicit transaction) until a Sync
        break;
      case protocol::msg::kCopyDone:
      case protocol::msg::kCopyFail:
        copy_in_ = false;
        break;
      default:
        break;
    }
    if (rw.kind == Rewrite::kReplace) {
      close_run(pos);
      segments_.push_back({true, scratch_before, scratch_.size() - scratch_before});
      pos += rw.consumed;
      run = pos;
      c_remaining_ = rw.stream;
      c_skip_ = rw.skip;
      continue;
    }
    pos += protocol::kHeaderSize;
    c_remaining_ = header.length - 4;
  }
  close_run(pos);
  plain_query_ = nullptr;
  return pos;
}

Session::Rewrite Session::rewrite_client_message(std::string_view at,
                                                 const protocol::Header& header) {
  size_t wire = header.wire_size();
  std::string_view body = at.substr(protocol::kHeaderSize);
  switch (header.type) {
    case protocol::msg::kQuery:
      return rewrite_query(at, header);
    case protocol::msg::kParse:
      if (!rename_) return {};
      if (at.size() < wire) return {Rewrite::kNeedMore};
      return rewrite_parse(body.substr(0, header.length - 4), wire);
    case protocol::msg::kBind:
      if (!rename_) return {};
      return rewrite_bind(at, header);
    case protocol::msg::kDescribe:
    case protocol::msg::kClose:
      if (!rename_) return {};
      if (at.size() < wire) return {Rewrite::kNeedMore};
      return rewrite_target(body.substr(0, header.length - 4), header.type, wire);
    default:
      return {};
  }
}

Session::Rewrite Session::rewrite_query(std::string_view at, const protocol::Header& header) {
  if (at.data() == plain_query_) return {};  // client_step looked at its first word
  size_t want = std::min(header.wire_size(), protocol::kHeaderSize + kQueryPrefix);
  if (at.size() < want) return {Rewrite::kNeedMore};
  std::string_view text = at.substr(protocol::kHeaderSize, want - protocol::kHeaderSize);
  std::string refusal = refusal_for(text, entry_->mode);
  if (refusal.empty()) return {};
  write_refusal_query(scratch_, refusal);
  size_t available = std::min(at.size(), header.wire_size());
  return {Rewrite::kReplace, available, 0, header.wire_size() - available};
}

Session::Rewrite Session::rewrite_parse(std::string_view body, size_t wire_size) {
  auto parse = protocol::parse_parse_message(body);
  if (!parse || parse->name.empty()) {
    expect_reply('1', false, {}, false);
    return {};
  }
  std::string client_name(parse->name);
  auto existing = statements_.find(client_name);
  if (existing != statements_.end()) {
    // PostgreSQL refuses a second Parse of a name: make the server say so.
    Statement known = existing->second;
    ensure_prepared(known.server_name, known.parse_message);
    protocol::write_parse(scratch_, known.server_name, parse->query, parse->param_types);
    expect_reply('1', false, {}, false);
  } else {
    std::string name = server_statement_name(parse->query, parse->param_types);
    auto& prepared = server_->prepared;
    if (prepared.contains(name)) {
      // Already here (another client's): close and parse again so the client gets the
      // ParseComplete it expects.
      protocol::write_close(scratch_, 'S', name);
      expect_reply('3', true, name, true);
      prepared.erase(name);
    } else {
      make_room();
    }
    Statement st{name, {}, statement_read_only(parse->query)};
    protocol::write_parse(st.parse_message, name, parse->query, parse->param_types);
    scratch_ += st.parse_message;
    expect_reply('1', false, name, false, client_name);
    prepared.touch(name);
    statements_[client_name] = std::move(st);
  }
  return {Rewrite::kReplace, wire_size, 0, 0};
}

Session::Rewrite Session::rewrite_bind(std::string_view at, const protocol::Header& header) {
  std::string_view body = at.substr(protocol::kHeaderSize);
  if (body.size() > header.length - 4) body = body.substr(0, header.length - 4);
  auto prefix = protocol::parse_bind_prefix(body);
  if (!prefix) {
    return body.size() < header.length - 4 ? Rewrite{Rewrite::kNeedMore} : Rewrite{};
  }
  if (prefix->statement.empty()) return {};
  auto it = statements_.find(prefix->statement);
  if (it == statements_.end()) return {};  // the server says "does not exist", as it should
  const Statement& st = it->second;
  ensure_prepared(st.server_name, st.parse_message);
  size_t rest = header.length - 4 - prefix->prefix_size;
  // The new head (type, length, portal, pgmux's name), written at once: this runs for
  // every Bind of a prepared statement.
  const size_t head = protocol::kHeaderSize + prefix->portal.size() + 1 + st.server_name.size() + 1;
  const size_t start = scratch_.size();
  scratch_.resize(start + head);
  char* out = scratch_.data() + start;
  *out++ = protocol::msg::kBind;
  util::store_be32(out, static_cast<uint32_t>(head - 1 + rest));
  out += 4;
  std::memcpy(out, prefix->portal.data(), prefix->portal.size());
  out += prefix->portal.size();
  *out++ = '\0';
  std::memcpy(out, st.server_name.data(), st.server_name.size());
  out[st.server_name.size()] = '\0';
  return {Rewrite::kReplace, protocol::kHeaderSize + prefix->prefix_size, rest, 0};
}

Session::Rewrite Session::rewrite_target(std::string_view body, char type, size_t wire_size) {
  bool is_close = type == protocol::msg::kClose;
  auto as_is = [&] {  // forwarded unchanged (a Close still gets its reply counted)
    if (is_close) expect_reply('3', false, {}, false);
    return Rewrite{};
  };
  // A portal's (the usual Describe: one per execution of a prepared statement) names no
  // statement: no need to parse it.
  if (body.empty() || body[0] == 'P') return as_is();
  auto target = protocol::parse_target_message(body);
  if (!target || target->kind != 'S' || target->name.empty()) return as_is();
  auto it = statements_.find(target->name);
  if (it == statements_.end()) return as_is();
  if (is_close) {
    // The server keeps the statement (other clients may share it); closing a name that
    // does not exist gives the client its CloseComplete.
    statements_.erase(it);
    protocol::write_close(scratch_, 'S', kClosedName);
    expect_reply('3', false, {}, false);
  } else {
    const Statement& st = it->second;
    ensure_prepared(st.server_name, st.parse_message);
    protocol::write_describe(scratch_, 'S', st.server_name);
  }
  return {Rewrite::kReplace, wire_size, 0, 0};
}

// Injects the statement's Parse (reply hidden) when this server lacks it.
void Session::ensure_prepared(const std::string& server_name, const std::string& parse_message) {
  auto& prepared = server_->prepared;
  if (prepared.touch_if_present(server_name)) return;
  make_room();
  scratch_ += parse_message;
  expect_reply('1', true, server_name, false);
  prepared.touch(server_name);
}

// Closes the least recently used statement when the server is at its cap.
void Session::make_room() {
  auto& prepared = server_->prepared;
  if (prepared.size() < config_->max_prepared_statements) return;
  auto coldest = prepared.coldest();
  if (!coldest) return;
  protocol::write_close(scratch_, 'S', *coldest);
  expect_reply('3', true, *coldest, true);
  prepared.erase(*coldest);
}

void Session::expect_reply(char type, bool swallow, const std::string& name, bool had_before,
                           const std::string& client_name) {
  replies_.push_back({type, sent_epoch_, swallow, had_before, name, client_name});
}

// After an ErrorResponse the server skips everything up to the next Sync: the
// Parse/Close messages of this epoch still waiting for replies never ran. Undo their
// assumed effects, newest first.
void Session::drop_failed_replies() {
  size_t n = 0;
  while (n < replies_.size() && replies_[n].epoch == recv_epoch_) ++n;
  for (size_t i = n; i-- > 0;) {
    const PendingReply& r = replies_[i];
    if (!r.name.empty()) {
      if (r.had_before) {
        server_->prepared.touch(r.name);
      } else {
        server_->prepared.erase(r.name);
      }
    }
    if (!r.client_name.empty()) {
      auto it = statements_.find(r.client_name);
      if (it != statements_.end() && it->second.server_name == r.name) statements_.erase(it);
    }
  }
  replies_.erase_front(n);
}

// The server is gone: no reply to a Parse/Close sent will come. Undo them all.
void Session::forget_replies() {
  while (!replies_.empty()) {
    recv_epoch_ = replies_.front().epoch;
    drop_failed_replies();
  }
}

void Session::on_command_complete(std::string_view tag) {
  if (tag.empty()) return;
  if (tag.back() == '\0') tag.remove_suffix(1);
  switch (tag.empty() ? '\0' : tag[0]) {  // most tags ("SELECT 1", "UPDATE 1") end here
    case 'D':
      if (tag == "DEALLOCATE ALL" || tag == "DISCARD ALL") {
        server_->prepared.clear();
        statements_.clear();
      }
      if (tag.starts_with("DISCARD")) params_dirty_ = true;
      break;
    case 'S':
      if (tag == "SET") params_dirty_ = true;
      break;
    case 'R':
      if (tag == "RESET") params_dirty_ = true;
      break;
    default:
      break;
  }
}

size_t Session::scan_server(std::string_view data, bool& saw_ready, bool& bad) {
  runs_.clear();
  size_t pos = 0;
  size_t run = 0;
  auto hide = [&](size_t start, size_t end) {
    if (start > run) runs_.emplace_back(run, start - run);
    run = end;
  };
  while (pos < data.size()) {
    if (s_remaining_ > 0) {
      size_t take = std::min(s_remaining_, data.size() - pos);
      pos += take;
      s_remaining_ -= take;
      continue;
    }
    const std::string_view rest(data.data() + pos, data.size() - pos);
    auto header = protocol::parse_header(rest, kMaxServerMessage);
    if (header.status == protocol::FrameStatus::kNeedMore) break;
    if (header.status == protocol::FrameStatus::kError) {
      bad = true;
      break;
    }
    char type = header.type;
    if (type == protocol::msg::kDataRow || type == protocol::msg::kRowDescription) {
      // Most of an answer, and nothing to note in either: straight past it.
      const size_t here = std::min(rest.size(), header.wire_size());
      pos += here;
      s_remaining_ = header.wire_size() - here;
      continue;
    }
    bool whole = type == protocol::msg::kReadyForQuery ||
                 type == protocol::msg::kParameterStatus ||
                 (pooled_ && type == protocol::msg::kCommandComplete) ||
                 (type == protocol::msg::kErrorResponse &&
                  (retry_capture_ || header.length <= kMaxCountedError));
    if (whole && rest.size() < header.wire_size()) break;  // small: wait for all of it
    const std::string_view body =
        whole ? std::string_view(rest.data() + protocol::kHeaderSize, header.length - 4)
              : std::string_view();
    switch (type) {
      case protocol::msg::kCopyInResponse:
      case protocol::msg::kCopyBothResponse:
        copy_in_ = true;  // the server now waits for the client's data
        break;
      case protocol::msg::kReadyForQuery:
        copy_in_ = false;
        if (outstanding_ > 0) --outstanding_;
        ++recv_epoch_;
        server_->txn_status = body.empty() ? 'I' : body[0];
        saw_ready = true;
        note_ready(server_->txn_status);
        break;
      case protocol::msg::kParameterStatus:
        if (auto ps = protocol::parse_parameter_status(body)) {
          server_->set_param(std::string(ps->name), std::string(ps->value));
          set_wanted(std::string(ps->name), std::string(ps->value));
        }
        break;
      case protocol::msg::kCommandComplete:
        if (pooled_) on_command_complete(body);
        break;
      case protocol::msg::kParseComplete:
      case protocol::msg::kCloseComplete:
        if (!replies_.empty() && replies_.front().type == type) {
          bool swallow = replies_.front().swallow;
          if (type == protocol::msg::kParseComplete && !replies_.front().name.empty()) {
            runtime_.statement_accepted(replies_.front().name);
          }
          replies_.pop_front();
          if (swallow) hide(pos, pos + header.wire_size());
        }
        break;
      case protocol::msg::kErrorResponse:
        // A large one is not held whole: its SQLSTATE is read from what is here.
        note_error(whole ? body
                         : rest.substr(protocol::kHeaderSize,
                                       std::min<size_t>(header.length - 4,
                                                        rest.size() - protocol::kHeaderSize)));
        if (retry_capture_ && is_fatal(body)) {
          // A replica shutting down says FATAL before closing: nothing has reached the
          // client yet, so this is a lost server (the read can be retried), not an answer.
          bad = true;
          return 0;
        }
        if (!replies_.empty()) drop_failed_replies();
        break;
      default:
        break;
    }
    // Past the message, or past what is here of it (the rest streams through).
    const size_t here = std::min(rest.size(), header.wire_size());
    pos += here;
    s_remaining_ = header.wire_size() - here;
  }
  if (pos > run) runs_.emplace_back(run, pos - run);
  return pos;
}

// Idle, transaction/statement mode: a request made only of named Parses of statements
// a server has already accepted, statement Closes and a final Sync is answered by
// pgmux itself, so preparing never waits for a server (a client library that prepares
// synchronously while its other connections hold every server cannot deadlock).
// Returns false, changing nothing, for any other request.
bool Session::answer_locally() {
  std::string_view data = cin_.readable();
  if (data.empty() || (data[0] != protocol::msg::kParse && data[0] != protocol::msg::kClose &&
                       data[0] != protocol::msg::kSync)) {
    return false;
  }
  std::vector<std::pair<std::string, Statement>> parsed;
  std::vector<std::string> closed;
  std::string replies;
  size_t pos = 0;
  for (;;) {
    auto header = protocol::frame_message(data.substr(pos), config_->max_message_size);
    if (header.status != protocol::FrameStatus::kFrame) return false;
    auto body = data.substr(pos + protocol::kHeaderSize, header.length - 4);
    pos += header.wire_size();
    if (header.type == protocol::msg::kSync) break;
    if (header.type == protocol::msg::kParse) {
      auto parse = protocol::parse_parse_message(body);
      if (!parse || parse->name.empty() || statements_.contains(parse->name)) {
        return false;
      }
      std::string name = server_statement_name(parse->query, parse->param_types);
      if (!runtime_.statement_known(name)) return false;
      Statement st{name, {}, statement_read_only(parse->query)};
      protocol::write_parse(st.parse_message, name, parse->query, parse->param_types);
      parsed.emplace_back(std::string(parse->name), std::move(st));
      replies += std::string_view("1\0\0\0\4", 5);
    } else if (header.type == protocol::msg::kClose) {
      auto target = protocol::parse_target_message(body);
      if (!target || target->kind != 'S') return false;
      closed.emplace_back(target->name);
      replies += std::string_view("3\0\0\0\4", 5);
    } else {
      return false;
    }
  }
  for (auto& name : closed) statements_.erase(name);
  for (auto& [client_name, st] : parsed) statements_[client_name] = std::move(st);
  cin_.consume(pos);
  out_ = std::move(replies);
  protocol::write_ready_for_query(out_, 'I');
  return true;
}

const std::string* Session::wanted(std::string_view name) const {
  if (auto own = changes_->find(name); own != changes_->end()) return &own->second;
  if (!baseline_) return nullptr;
  auto base = baseline_->find(name);
  return base != baseline_->end() ? &base->second : nullptr;
}

void Session::set_wanted(const std::string& name, const std::string& value) {
  auto own = changes_->find(name);
  if (baseline_) {
    auto base = baseline_->find(name);
    if (base != baseline_->end() && base->second == value) {
      if (own == changes_->end()) return;
      backend::ParamMap next = *changes_;
      next.erase(name);
      changes_ = backend::intern_params(std::move(next));
      return;
    }
  }
  if (own != changes_->end() && own->second == value) return;
  backend::ParamMap next = *changes_;
  next[name] = value;
  changes_ = backend::intern_params(std::move(next));
}

// After a transaction that ran SET/RESET/DISCARD: reads the tracked settings PostgreSQL
// does not report, so they follow the client to its next server connection.
awaitable<void> Session::read_back_settings() {
  params_dirty_ = false;
  if (!pooled_ || group_->read_back_sql.empty()) co_return;
  auto row =
      co_await backend::fetch_row(*server_, group_->read_back_sql, std::chrono::seconds(10));
  if (!row) {
    spdlog::warn("client {}: could not read back settings: {}", peer_, row.error().message);
    co_return;
  }
  const auto& names = config_->track_extra_parameters;
  for (size_t i = 0; i < names.size() && i < row->size(); ++i) {
    if (!(*row)[i]) continue;  // not a setting this server knows
    set_wanted(names[i], *(*row)[i]);
    server_->set_param(names[i], *(*row)[i]);
  }
}

}  // namespace pgmux::session
