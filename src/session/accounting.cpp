// What a session counts: the pool counters of its worker's shard (requests, transactions,
// durations, errors, bytes), the clients gauge, the slow-query log, PAUSE holds, and its
// description for SHOW CLIENTS / SHOW SERVERS. Runs on the session's worker thread.
#include <spdlog/spdlog.h>

#include "pgmux/protocol/sqlstate.hpp"
#include "pgmux/sql/redact.hpp"
#include "session_impl.hpp"

namespace pgmux::session {
namespace {

constexpr size_t kStatementMax = 2048;  // slow-query log: longest statement text kept

uint64_t micros(std::chrono::nanoseconds d) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

double epoch_seconds(std::chrono::system_clock::time_point t) {
  if (t == std::chrono::system_clock::time_point{}) return 0;
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// The cstring at the start of `body` (without its NUL), or all of it when cut short.
std::string_view cstring_at(std::string_view body) {
  return body.substr(0, std::min(body.find('\0'), body.size()));
}

}  // namespace

void Session::set_entry(std::shared_ptr<PoolEntry> entry) {
  if (entry == entry_) return;
  give_back_held();  // held_ belongs to entry_'s pool
  if (entry_) --entry_->stats.clients;
  entry_ = std::move(entry);
  if (entry_) {
    ++entry_->stats.clients;
    shard_ = &entry_->stats.shard(worker_.id);
  } else {
    shard_ = nullptr;
  }
}

void Session::note_request_sent() {
  if (query_at_ != pool::Clock::time_point{}) return;  // an earlier request is still running
  query_at_ = send_clock_ != pool::Clock::time_point{} ? send_clock_ : pool::Clock::now();
  send_clock_ = {};
  if (xact_at_ == pool::Clock::time_point{}) xact_at_ = query_at_;
}

void Session::note_ready(char status) {
  if (query_at_ == pool::Clock::time_point{}) return;  // nothing the client asked for
  auto now = pool::Clock::now();
  ready_clock_ = now;
  auto took = now - query_at_;
  shard_->queries.add();
  shard_->query_time_us.add(micros(took));
  shard_->query_duration.observe(took);
  auto threshold = config_->slow_query_threshold;
  if (threshold.count() > 0 && took >= threshold) log_slow_query(took);
  RequestState& request = this->request();
  request.statement_text.clear();
  request.statement_name.clear();
  request.statement_in_input = {};
  request.statement_more = 0;
  query_at_ = outstanding_ > 0 ? now : pool::Clock::time_point{};
  if (status == 'I') {
    auto xact = now - xact_at_;
    shard_->transactions.add();
    shard_->xact_time_us.add(micros(xact));
    shard_->transaction_duration.observe(xact);
    xact_at_ = outstanding_ > 0 ? now : pool::Clock::time_point{};
  }
}

void Session::note_error(std::string_view body) {
  // Fields: a type byte then a cstring, until a zero byte. 'C' is the SQLSTATE; it comes
  // early, so a message seen only in part usually still has it. Otherwise: "other".
  while (!body.empty() && body[0] != '\0') {
    char type = body[0];
    std::string_view rest = body.substr(1);
    size_t end = rest.find('\0');
    if (end == std::string_view::npos) break;  // cut short
    if (type == 'C') {
      shard_->errors[metrics::error_class_index(rest.substr(0, end))].add();
      return;
    }
    body.remove_prefix(end + 2);
  }
  shard_->errors[metrics::error_class_index("")].add();
}

// `body`: the message's body, or what is here of it (in cin_); the rest, if any, passes
// through note_statement_more.
void Session::note_statement(char type, std::string_view body, size_t body_length) {
  if (config_->slow_query_threshold.count() <= 0) return;
  RequestState& request = this->request();
  auto& text = request.statement_text;
  auto& name = request.statement_name;
  if (!text.empty() || !name.empty() || !request.statement_in_input.empty()) return;
  // A text cut short by the end of what is here: the rest is appended as it passes.
  auto more_after = [&](size_t text_at) {
    if (body.size() < body_length && body.size() - text_at < kStatementMax + 1) {
      request.statement_more = std::min(body_length - text_at, kStatementMax + 1) -
                               (body.size() - text_at);
    }
  };
  if (type == protocol::msg::kQuery) {
    // Left where it is: most queries are not slow, and their text is never copied.
    request.statement_in_input = body.substr(0, kStatementMax + 1);
    more_after(0);
    return;
  }
  // (Appended to the empty strings, which keep their capacity from request to request:
  // append is a third of assign's cost.)
  if (type == protocol::msg::kParse) {
    const size_t name_size = cstring_at(body).size();
    if (name_size == body.size()) return;  // the name itself cut short: no text here
    std::string_view rest = body.substr(name_size + 1);
    text.append(cstring_at(rest.substr(0, kStatementMax)));
    if (text.size() == rest.size()) more_after(name_size + 1);  // no NUL yet: cut short
  } else if (type == protocol::msg::kBind) {
    std::string_view rest = body.substr(std::min(body.size(), cstring_at(body).size() + 1));
    name.assign(cstring_at(rest.substr(0, 256)));
    if (name.empty()) name = "(unnamed)";
  }
}

// The next part of a statement's message that arrived cut short (note_statement).
void Session::note_statement_more(std::string_view part) {
  RequestState& request = *request_;
  keep_statement_text();  // the first part, from where it still is
  part = part.substr(0, std::min(part.size(), request.statement_more));
  request.statement_more -= part.size();
  request.statement_text.append(part);  // (log_slow_query cuts it at the text's NUL)
}

void Session::copy_statement_text() {
  std::string_view body = std::exchange(request_->statement_in_input, std::string_view());
  // A whole Query (of at most kStatementMax bytes) ends with its text's NUL: no search
  // for it. (A NUL inside is a protocol error the server reports; log_slow_query cuts
  // the text there.)
  if (body.back() == '\0') {
    request_->statement_text.append(body.data(), body.size() - 1);
  } else {
    request_->statement_text.append(cstring_at(body.substr(0, kStatementMax)));
  }
}

void Session::log_slow_query(std::chrono::nanoseconds took) {
  keep_statement_text();
  runtime_.counters.slow_queries.fetch_add(1, std::memory_order_relaxed);
  const std::string& name = request().statement_name;
  std::string text = request().statement_text;
  if (text.empty() && !name.empty()) {
    auto it = statements_.find(name);
    if (it != statements_.end() && it->second.parse_message.size() > protocol::kHeaderSize) {
      auto parse = protocol::parse_parse_message(
          std::string_view(it->second.parse_message).substr(protocol::kHeaderSize));
      if (parse) text = std::string(parse->query);
    }
    if (text.empty()) text = "(prepared statement \"" + name + "\")";
  }
  text.resize(cstring_at(text).size());
  if (text.empty()) text = "(statement text not captured)";
  text = config_->log_query_literals ? sql::truncate_utf8(text, kStatementMax)
                                     : sql::redact_literals(text, kStatementMax);
  spdlog::warn("slow query: {:.3f} ms database \"{}\" user \"{}\" client {} node {}: {}",
               std::chrono::duration<double, std::milli>(took).count(), database_, user_, peer_,
               entry_ ? entry_->node->address : "-", text);
}

awaitable<std::optional<Session::Next>> Session::wait_while_paused() {
  auto& gate = runtime_.pauses();
  auto deadline = pool::Clock::now() + config_->query_wait_timeout;
  ++entry_->paused_waiting;
  waiting_ = true;
  bool ok = true;
  SessionWaiter& waiter = this->waiter();
  while (ok && gate.hold(database_, request_->waiter)) {
    waiter.end_by(deadline);
    co_await waiter.slot.park(use_nothrow);
    ++waiter.generation;
    gate.forget(&waiter);
    ok = !shutdown_ && pool::Clock::now() < deadline;
  }
  waiting_ = false;
  --entry_->paused_waiting;
  if (ok) co_return std::nullopt;
  protocol::ErrorFields refusal =
      shutdown_ ? error_fields("FATAL", protocol::sqlstate::kAdminShutdown,
                               "terminating connection due to administrator command")
                : error_fields("ERROR", protocol::sqlstate::kQueryCanceled,
                               "canceling statement due to query_wait_timeout: database \"" +
                                   database_ + "\" is paused");
  co_await reject_request(refusal);
  co_return shutdown_ ? Next::kEnd : Next::kContinue;
}

metrics::ClientSnapshot Session::describe() const {
  metrics::ClientSnapshot c;
  c.user = user_;
  c.database = database_;
  c.address = peer_;
  c.state = waiting_ ? "waiting" : server_ ? "active" : "idle";
  c.pid = key_pid_;
  c.connect_time = epoch_seconds(connected_at_);
  c.request_time = request_at_ == pool::Clock::time_point{} ? 0 : wall_seconds(request_at_);
  if (server_ && entry_) {
    c.server = entry_->node->address + " pid " + std::to_string(server_->backend_pid);
  }
  if (baseline_) {
    if (const std::string* app = wanted("application_name")) c.application_name = *app;
  }
  if (tls_) c.tls = tls_->description;
  return c;
}

std::optional<metrics::ServerSnapshot> Session::describe_server() const {
  if (!server_ || !entry_) return std::nullopt;
  metrics::ServerSnapshot s;
  s.user = user_;
  s.database = database_;
  s.node = entry_->node->address;
  s.role = entry_->node->replica ? "replica" : "primary";
  s.state = "active";
  s.pid = server_->backend_pid;
  s.connect_time = wall_seconds(server_->created_at);
  s.prepared_statements = static_cast<uint32_t>(server_->prepared.size());
  s.client = peer_;
  return s;
}

void Session::kill() {
  killed_ = true;
  shutdown_ = true;
  error_code ec;
  client_.close(ec);
  // Waiting for a server or a RESUME: stop now.
  if (request_ && request_->waiter) request_->waiter->slot.unpark();
}

}  // namespace pgmux::session
