// Session login: startup packet, SSL/GSS refusal, cancel requests, client
// authentication (SCRAM-SHA-256, md5, trust) and the login reply. Runs on the
// session's worker thread.
#include <spdlog/spdlog.h>

#include "pgmux/auth/md5.hpp"
#include "pgmux/auth/random.hpp"
#include "pgmux/auth/scram.hpp"
#include "pgmux/protocol/sqlstate.hpp"
#include "pgmux/session/params.hpp"
#include "session_impl.hpp"

namespace pgmux::session {
namespace sqlstate = protocol::sqlstate;
namespace {

constexpr uint32_t kMaxAuthMessage = 8192;

bool is_true(std::string_view v) {
  return v == "true" || v == "on" || v == "yes" || v == "1" || v == "database";
}

std::string auth_failed(const std::string& user) {
  return "password authentication failed for user \"" + user + "\"";
}

}  // namespace

// Past client_login_timeout the login's pending socket operations are cancelled (the
// worker's LoginDeadlines keeps the deadline), which ends it; a login that finished
// anyway after its deadline (it was waiting for a server, which nothing cancels) is
// refused all the same.
awaitable<bool> Session::start() {
  bool ok;
  bool timed_out;
  {
    LoginWatch watch(worker_.login_deadlines, pool::Clock::now() + config_->client_login_timeout,
                     [](void* self) { static_cast<Session*>(self)->cancel_io(); }, this);
    ok = co_await login();
    timed_out = watch.expired();
  }
  if (timed_out) {
    runtime_.counters.reject(metrics::Reject::kLoginTimeout);  // counted before it is seen
    co_await send_fatal(sqlstate::kQueryCanceled, "canceling authentication due to timeout");
    spdlog::warn("client {}: login timed out", peer_);
    co_return false;
  }
  if (!ok) co_return false;
  if (admin_) {
    co_await serve_admin();
    co_return false;
  }
  co_return true;
}

awaitable<bool> Session::login() {
  protocol::StartupPacket packet;
  if (!co_await read_startup(packet)) co_return false;
  if (packet.kind == protocol::StartupKind::kCancelRequest) {
    co_await handle_cancel_request(packet);
    co_return false;
  }
  if (!tls_ && config_->tls.mode == config::TlsMode::kRequire) {
    runtime_.counters.reject(metrics::Reject::kTlsRequired);
    co_await send_fatal(sqlstate::kInvalidAuthorizationSpecification,
                        "this server requires TLS: connect with sslmode=require, verify-ca or "
                        "verify-full");
    spdlog::warn("client {} rejected: a login without TLS (tls.mode is require)", peer_);
    co_return false;
  }
  backend::ParamMap gucs;  // settings from the startup packet
  if (!co_await take_startup_params(packet, gucs)) co_return false;
  if (runtime_.clients.load() > config_->max_client_connections) {
    runtime_.counters.reject(metrics::Reject::kTooManyClients);
    co_await send_fatal(sqlstate::kTooManyConnections, "sorry, too many clients already");
    spdlog::warn("client {} rejected: max_client_connections ({}) reached", peer_,
                 config_->max_client_connections);
    co_return false;
  }
  const config::UserConfig* user = config_->find_user(user_);
  if (!co_await authenticate(user, user_)) co_return false;
  co_return co_await finish_login(gucs);
}

// Reads packets until a StartupMessage or CancelRequest. An SSLRequest is answered 'S'
// when TLS is on (the session then goes on through the TLS relay, tls.hpp), else 'N'; a
// GSSENCRequest always 'N'.
awaitable<bool> Session::read_startup(protocol::StartupPacket& packet) {
  for (;;) {
    auto header = protocol::frame_startup(cin_.readable());
    if (header.status == protocol::FrameStatus::kError) {
      runtime_.counters.reject(metrics::Reject::kProtocol);
      co_await send_fatal(sqlstate::kProtocolViolation, header.error());
      co_return false;
    }
    if (header.status == protocol::FrameStatus::kNeedMore) {
      auto [ec, n] = co_await read_some(client_, client_room(1), use_nothrow);
      cin_.commit(n);
      if (ec) co_return false;
      continue;
    }
    auto parsed = protocol::parse_startup(cin_.readable().substr(0, header.length));
    cin_.consume(header.length);
    if (!parsed) {
      runtime_.counters.reject(metrics::Reject::kProtocol);
      co_await send_fatal(parsed.error().code, parsed.error().message);
      co_return false;
    }
    if (parsed->kind == protocol::StartupKind::kSslRequest ||
        parsed->kind == protocol::StartupKind::kGssEncRequest) {
      if (!cin_.empty()) {  // nothing may follow the request before our answer
        co_await send_fatal(sqlstate::kProtocolViolation,
                            "received unencrypted data after SSL request");
        co_return false;
      }
      if (tls_) {  // (PostgreSQL refuses it too: a second negotiation inside TLS)
        co_await send_fatal(sqlstate::kProtocolViolation,
                            "received an encryption request on an encrypted connection");
        co_return false;
      }
      backend::TlsContextPtr tls;
      if (parsed->kind == protocol::StartupKind::kSslRequest) tls = runtime_.tls();
      if (!co_await write_client(tls ? "S" : "N")) co_return false;
      if (!tls) continue;
      tls_ = std::make_shared<backend::TlsState>();
      auto plain = backend::accept_tls(client_, tls, config_->client_login_timeout, tls_,
                                       runtime_.counters.tls_handshakes, peer_);
      if (!plain) co_return false;
      client_ = std::move(*plain);
      continue;
    }
    packet = std::move(*parsed);
    co_return true;
  }
}

awaitable<void> Session::handle_cancel_request(const protocol::StartupPacket& packet) {
  auto target = runtime_.cancels().find(packet.cancel_pid, packet.cancel_secret);
  tcp::endpoint peer;
  uint32_t pid, secret;
  if (!target || !target->get(peer, pid, secret)) {
    spdlog::debug("client {}: cancel request matched no running query", peer_);
    co_return;
  }
  spdlog::info("client {}: forwarding cancel request to server {}", peer_,
               peer.address().to_string());
  co_await backend::send_cancel(peer, pid, secret, config_->server_connect_timeout);
}

awaitable<bool> Session::take_startup_params(const protocol::StartupPacket& packet,
                                             backend::ParamMap& gucs) {
  std::vector<std::string> unrecognized;
  std::vector<std::pair<std::string, std::string>> settings;
  for (const auto& [name, value] : packet.params) {
    if (name == "user") {
      user_ = value;
    } else if (name == "database") {
      database_ = value;
    } else if (name == "replication") {
      if (is_true(value)) {
        co_await send_fatal(sqlstate::kFeatureNotSupported,
                            "replication connections are not supported by pgmux");
        co_return false;
      }
    } else if (name == "options") {
      auto parsed = parse_options(value);
      if (!parsed) {
        co_await send_fatal(parsed.error().code, parsed.error().message);
        co_return false;
      }
      settings.insert(settings.end(), parsed->begin(), parsed->end());
    } else if (name.rfind("_pq_.", 0) == 0) {
      unrecognized.push_back(name);
    } else {
      settings.emplace_back(name, value);
    }
  }
  if (user_.empty()) {
    co_await send_fatal(sqlstate::kInvalidAuthorizationSpecification,
                        "no PostgreSQL user name specified in startup packet");
    co_return false;
  }
  if (database_.empty()) database_ = user_;
  for (auto& [name, value] : settings) {
    if (name == "pgmux.route") {  // pgmux's own setting, not PostgreSQL's
      auto route = route_override_from(value);
      if (!route) {
        co_await send_fatal(sqlstate::kInvalidParameterValue,
                            "invalid value for parameter \"pgmux.route\": \"" + value + "\"");
        co_return false;
      }
      route_ = *route;
      continue;
    }
    if (!is_valid_param_name(name)) {
      co_await send_fatal("42704", "unrecognized configuration parameter \"" + name + "\"");
      co_return false;
    }
    gucs[name] = value;  // canonicalized once the server's names are known
  }
  if (packet.minor > 0 || !unrecognized.empty()) {
    out_.clear();
    protocol::write_negotiate_protocol_version(out_, 0, unrecognized);
    if (!co_await write_client(out_)) co_return false;
  }
  co_return true;
}

awaitable<bool> Session::authenticate(const config::UserConfig* user,
                                      const std::string& user_name) {
  bool ok = true;
  if (!user || user->auth == config::AuthMethod::kScramSha256) {
    ok = co_await authenticate_scram(user, user_name);
  } else if (user->auth == config::AuthMethod::kMd5) {
    ok = co_await authenticate_md5(*user);
  }
  if (!ok) {
    spdlog::warn("client {}: authentication failed for user \"{}\"", peer_, user_name);
    count_auth_failure();  // when the client left without being told
  }
  co_return ok;
}

// Counted before the client can read its error (a client that reads the error and then
// scrapes the metrics finds it counted), and once.
void Session::count_auth_failure() {
  if (std::exchange(auth_failure_counted_, true)) return;
  runtime_.counters.reject(metrics::Reject::kAuthFailed);
}

// Reads one 'p' message (password, SASL initial response or SASL response) and
// returns its body; false (after a FATAL when the client broke the protocol) on failure.
awaitable<std::optional<std::string_view>> Session::read_password_message() {
  auto header = co_await read_login_message(kMaxAuthMessage);
  if (!header) co_return std::nullopt;
  if (header->type != protocol::msg::kPassword) {
    count_auth_failure();
    co_await send_fatal(sqlstate::kProtocolViolation,
                        std::string("expected password response, got message type ") +
                            header->type);
    co_return std::nullopt;
  }
  co_return cin_.readable().substr(protocol::kHeaderSize, header->length - 4);
}

awaitable<std::optional<protocol::Header>> Session::read_login_message(uint32_t max_length) {
  for (;;) {
    auto header = protocol::frame_message(cin_.readable(), max_length);
    if (header.status == protocol::FrameStatus::kFrame) co_return header;
    if (header.status == protocol::FrameStatus::kError) {
      count_auth_failure();
      co_await send_fatal(sqlstate::kProtocolViolation, header.error());
      co_return std::nullopt;
    }
    size_t want = header.length ? header.wire_size() - cin_.size() : protocol::kHeaderSize;
    auto [ec, n] = co_await read_some(client_, client_room(want), use_nothrow);
    cin_.commit(n);
    if (ec) co_return std::nullopt;
  }
}

awaitable<bool> Session::authenticate_scram(const config::UserConfig* user,
                                            const std::string& user_name) {
  bool mock = user == nullptr;
  auth::ScramSecret secret = mock ? auth::mock_scram_secret(user_name, runtime_.mock_seed())
                                  : runtime_.scram_secret_for(*user);
  // A TLS client is offered channel binding too, as PostgreSQL offers it.
  std::string binding = tls_ ? tls_->channel_binding : std::string();
  const bool plus = !binding.empty();
  auth::ScramServer scram(std::move(secret), auth::random_nonce(), mock, std::move(binding));
  out_.clear();
  std::string_view both[] = {auth::kScramSha256Plus, auth::kScramSha256};
  std::string_view plain_only[] = {auth::kScramSha256};
  protocol::write_auth_sasl(out_, plus ? std::span<const std::string_view>(both)
                                       : std::span<const std::string_view>(plain_only));
  if (!co_await write_client(out_)) co_return false;

  auto body = co_await read_password_message();
  if (!body) co_return false;
  auto initial = protocol::parse_sasl_initial_response(*body);
  if (!initial) {
    count_auth_failure();
    co_await send_fatal(sqlstate::kProtocolViolation,
                        "client selected an invalid SASL authentication mechanism");
    co_return false;
  }
  auto server_first = scram.handle_client_first(initial->data, initial->mechanism);
  cin_.consume(protocol::kHeaderSize + body->size());
  if (!server_first) {
    count_auth_failure();
    co_await send_fatal(server_first.error().code, server_first.error().message);
    co_return false;
  }
  out_.clear();
  protocol::write_auth_sasl_continue(out_, *server_first);
  if (!co_await write_client(out_)) co_return false;

  body = co_await read_password_message();
  if (!body) co_return false;
  auto server_final = scram.handle_client_final(*body);
  cin_.consume(protocol::kHeaderSize + body->size());
  if (!server_final) {
    // (A local: g++ 12 mishandles temporaries of a ?: inside a co_await expression.)
    std::string message = server_final.error().message;
    if (server_final.error().code == sqlstate::kInvalidPassword) message = auth_failed(user_name);
    count_auth_failure();
    co_await send_fatal(server_final.error().code, std::move(message));
    co_return false;
  }
  out_.clear();
  protocol::write_auth_sasl_final(out_, *server_final);
  co_return co_await write_client(out_);
}

awaitable<bool> Session::authenticate_md5(const config::UserConfig& user) {
  std::array<uint8_t, 4> salt;
  auth::random_bytes(salt.data(), salt.size());
  out_.clear();
  protocol::write_auth_md5(out_, salt);
  if (!co_await write_client(out_)) co_return false;
  auto body = co_await read_password_message();
  if (!body) co_return false;
  auto response = protocol::parse_password_message(*body);
  std::string stored = user.md5_hash.empty() ? auth::md5_password_hash(user.password, user.name)
                                             : user.md5_hash;
  bool ok = response && auth::constant_time_equal(*response,
                                                  auth::md5_salted_response(stored, salt));
  cin_.consume(protocol::kHeaderSize + body->size());
  if (!ok) {
    count_auth_failure();
    co_await send_fatal(sqlstate::kInvalidPassword, auth_failed(user.name));
    co_return false;
  }
  co_return true;
}

bool Session::needs_login_sync(const backend::ParamMap& gucs) const {
  for (const auto& [name, value] : gucs) {
    if (name == "application_name") continue;
    auto it = baseline_->find(name);
    if (it == baseline_->end() || it->second != value) return true;
  }
  return false;
}

// After authentication: database lookup, the pool's parameters, validation of the
// client's settings, then AuthenticationOk .. ReadyForQuery.
awaitable<bool> Session::finish_login(backend::ParamMap& gucs) {
  if (database_ == config_->admin.database) co_return co_await finish_admin_login();
  const config::DatabaseConfig* db = config_->find_database(database_);
  const config::UserConfig* user = config_->find_user(user_);
  if (!db) {
    runtime_.counters.reject(metrics::Reject::kUnknownDatabase);
    co_await send_fatal(sqlstate::kInvalidCatalogName,
                        "database \"" + database_ + "\" does not exist");
    spdlog::warn("client {}: unknown database \"{}\" (user \"{}\")", peer_, database_, user_);
    co_return false;
  }
  group_ = runtime_.pools_for(*db, *user);
  set_entry(group_->primary);
  pooled_ = entry_->mode != config::PoolMode::kSession;
  rename_ = pooled_ && config_->max_prepared_statements > 0;
  if (!entry_->pool.has_server_params()) {
    if (auto error = co_await acquire_server()) {
      co_await send_fatal(error->sqlstate, error->message);
      co_return false;
    }
    release_server();
  }
  baseline_ = entry_->pool.server_params();
  backend::ParamMap canonical;
  for (auto& [name, value] : gucs) canonical[canonical_param_name(name, *baseline_)] = value;
  gucs = std::move(canonical);
  for (auto& [name, value] : gucs) set_wanted(name, value);
  if (needs_login_sync(gucs)) {
    if (auto error = co_await acquire_server()) {
      co_await send_fatal(error->sqlstate, error->message);
      co_return false;
    }
    if (!server_->in_line_with(baseline_.get(), changes_.get())) {
      if (!co_await sync_params()) co_return false;
    }
    release_server();
  }
  out_.clear();
  protocol::write_auth_ok(out_);
  for (const auto& [name, value] : *baseline_) {
    protocol::write_parameter_status(out_, name, *wanted(name));
  }
  cancel_target_ = std::make_shared<CancelTarget>();
  std::tie(key_pid_, key_secret_) = runtime_.cancels().add(cancel_target_);
  protocol::write_backend_key_data(out_, key_pid_, key_secret_);
  protocol::write_ready_for_query(out_, 'I');
  if (!co_await write_client(out_)) co_return false;
  std::string().swap(out_);  // the login replies were the largest: give the memory back
  spdlog::info("client {} logged in: user \"{}\" database \"{}\"", peer_, user_, database_);
  co_return true;
}

}  // namespace pgmux::session
