// Opening, using and cancelling server connections (see server_connection.hpp).
// Each coroutine runs on the event loop that owns the connection's socket.
#include "pgmux/backend/server_connection.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <map>
#include <mutex>

#include "pgmux/auth/md5.hpp"
#include "pgmux/auth/scram.hpp"
#include "pgmux/backend/mailbox.hpp"
#include "pgmux/protocol/messages.hpp"
#include "pgmux/protocol/sqlstate.hpp"

namespace pgmux::backend {
namespace {

namespace sqlstate = protocol::sqlstate;
constexpr uint32_t kMaxServerMessage = 1u << 30;

// intern_params' table: each distinct map once, while held. Never destroyed (a map may
// be released during exit).
struct ParamSets {
  std::mutex mu;
  std::map<ParamMap, std::weak_ptr<const ParamMap>> sets;
};
ParamSets& param_sets() {
  static auto* sets = new ParamSets;
  return *sets;
}

util::Error connection_error(const ServerTarget& target, std::string_view what) {
  return util::make_error(std::string(sqlstate::kConnectionFailure),
                          "could not connect to server " + target.address() + ": " +
                              std::string(what));
}

awaitable<bool> write_all(tcp::socket& socket, const std::string& data) {
  auto [ec, n] = co_await send_all(socket, asio::buffer(data));
  co_return !ec;
}

// One step of the login exchange: answers an Authentication request.
class LoginAuth {
 public:
  explicit LoginAuth(const ServerTarget& target) : target_(target) {}

  // Appends the reply (if any) to `out`; an error ends the login.
  util::Status answer(const protocol::AuthRequest& req, std::string& out) {
    switch (req.code) {
      case protocol::auth_code::kOk:
        return util::Ok{};
      case protocol::auth_code::kCleartext:
        if (!has_password()) return no_password();
        protocol::write_password_message(out, target_.password);
        return util::Ok{};
      case protocol::auth_code::kMd5: {
        if (!has_password() || req.data.size() != 4) return no_password();
        std::array<uint8_t, 4> salt;
        std::copy(req.data.begin(), req.data.end(), salt.begin());
        auto hash = auth::md5_password_hash(target_.password, target_.user);
        protocol::write_password_message(out, auth::md5_salted_response(hash, salt));
        return util::Ok{};
      }
      case protocol::auth_code::kSasl:
        return start_sasl(req.data, out);
      case protocol::auth_code::kSaslContinue: {
        if (!scram_) return protocol_error("unexpected SASLContinue");
        auto reply = scram_->handle_server_first(req.data);
        if (!reply) return reply.error();
        protocol::write_sasl_response(out, *reply);
        return util::Ok{};
      }
      case protocol::auth_code::kSaslFinal:
        if (!scram_) return protocol_error("unexpected SASLFinal");
        return scram_->handle_server_final(req.data);
      default:
        return util::make_error(std::string(sqlstate::kFeatureNotSupported),
                                "server asked for unsupported authentication method " +
                                    std::to_string(req.code));
    }
  }

 private:
  bool has_password() const { return !target_.password.empty(); }
  util::Error no_password() const {
    return util::make_error(std::string(sqlstate::kInvalidAuthorizationSpecification),
                            "server asked for a password for user \"" + target_.user +
                                "\" and pgmux has none (set users." + target_.user +
                                ".server_password)");
  }
  static util::Error protocol_error(std::string what) {
    return util::make_error(std::string(sqlstate::kProtocolViolation), std::move(what));
  }
  util::Status start_sasl(std::string_view data, std::string& out) {
    auto mechs = protocol::parse_sasl_mechanisms(data);
    if (!mechs) return mechs.error();
    bool scram = false;
    for (auto m : *mechs) scram = scram || m == auth::kScramSha256;
    if (!scram) return protocol_error("server offers no SASL mechanism pgmux supports");
    if (!has_password()) return no_password();
    scram_.emplace(target_.password, auth::random_nonce());
    protocol::write_sasl_initial_response(out, auth::kScramSha256, scram_->client_first());
    return util::Ok{};
  }

  const ServerTarget& target_;
  std::optional<auth::ScramClient> scram_;
};

awaitable<util::Status> login(ServerConnection& conn, const ServerTarget& target) {
  std::string out;
  std::array<std::pair<std::string, std::string>, 2> params{
      {{"user", target.user}, {"database", target.dbname}}};
  protocol::write_startup_message(out, params);
  if (!co_await write_all(conn.socket(), out)) co_return connection_error(target, "write failed");
  LoginAuth auth(target);
  for (;;) {
    auto header = co_await read_message(conn.socket(), conn.in(), kMaxServerMessage);
    if (!header) co_return connection_error(target, header.error().message);
    std::string_view body = conn.in().readable().substr(protocol::kHeaderSize,
                                                        header->length - 4);
    out.clear();
    util::Status step = util::Ok{};
    switch (header->type) {
      case protocol::msg::kAuthentication: {
        auto req = protocol::parse_auth_request(body);
        step = req ? auth.answer(*req, out) : util::Status(req.error());
        break;
      }
      case protocol::msg::kParameterStatus:
        if (auto ps = protocol::parse_parameter_status(body)) {
          conn.set_param(std::string(ps->name), std::string(ps->value));
        }
        break;
      case protocol::msg::kBackendKeyData:
        if (auto key = protocol::parse_backend_key_data(body)) {
          conn.backend_pid = key->pid;
          conn.backend_secret = key->secret;
        }
        break;
      case protocol::msg::kErrorResponse: {
        auto err = protocol::parse_error_response(body);
        if (!err) co_return err.error();
        co_return util::make_error(err->sqlstate, "server login failed: " + err->message);
      }
      case protocol::msg::kReadyForQuery:
        conn.txn_status = body.empty() ? 'I' : body[0];
        conn.in().consume(header->wire_size());
        co_return util::Ok{};
      default:
        break;  // NoticeResponse, NegotiateProtocolVersion: nothing to do
    }
    conn.in().consume(header->wire_size());
    if (!step) co_return step.error();
    if (!out.empty() && !co_await write_all(conn.socket(), out)) {
      co_return connection_error(target, "write failed");
    }
  }
}

// server_tls: asks `socket`'s server for TLS (SSLRequest). On 'S', the handshake and then
// the relay (tls.hpp): `socket` becomes the relay's plain end. On 'N', plain TCP goes on
// unless the target requires TLS.
awaitable<util::Status> negotiate_tls(tcp::socket& socket, const ServerTarget& target) {
  std::string request;
  protocol::write_ssl_request(request);
  if (!co_await write_all(socket, request)) co_return connection_error(target, "write failed");
  char answer = 0;
  auto [ec, n] = co_await asio::async_read(socket, asio::buffer(&answer, 1), use_nothrow);
  if (ec) co_return connection_error(target, "no answer to the TLS request: " + ec.message());
  if (answer == 'N') {
    if (target.tls_required) {
      co_return connection_error(target, "the server does not support TLS, which server_tls.mode "
                                         "requires");
    }
    co_return util::Ok{};
  }
  if (answer != 'S') {
    co_return connection_error(target, "unexpected answer to the TLS request");
  }
  auto plain = co_await connect_tls(std::move(socket), target.tls, target.host);
  if (!plain) co_return connection_error(target, plain.error().message);
  socket = std::move(*plain);
  co_return util::Ok{};
}

awaitable<util::Result<std::unique_ptr<ServerConnection>>> connect_and_login(
    ServerTarget target, unsigned worker) {
  auto executor = co_await asio::this_coro::executor;
  tcp::socket socket(executor);
  tcp::endpoint peer;
  error_code not_address;
  auto address = asio::ip::make_address(target.host, not_address);
  if (!not_address) {  // an address: nothing to resolve
    peer = tcp::endpoint(address, target.port);
    auto [cec] = co_await socket.async_connect(peer, use_nothrow);
    if (cec) co_return connection_error(target, cec.message());
  } else {
    auto [rec, endpoints] = co_await resolve(target.host, std::to_string(target.port));
    if (rec) co_return connection_error(target, rec.message());
    auto [cec, connected] = co_await asio::async_connect(socket, endpoints, use_nothrow);
    if (cec) co_return connection_error(target, cec.message());
    peer = connected;
  }
  socket.set_option(tcp::no_delay(true));
  socket.set_option(asio::socket_base::keep_alive(true));
  if (target.tls) {
    auto status = co_await negotiate_tls(socket, target);
    if (!status) co_return status.error();
  }
  auto conn = std::make_unique<ServerConnection>(std::move(socket));
  conn->peer = peer;
  conn->worker = worker;
  conn->created_at = pool::Clock::now();
  auto status = co_await login(*conn, target);
  if (!status) co_return status.error();
  // Connecting left the socket registered for write readiness too (edge-triggered),
  // which would wake the event loop after every send; register it afresh.
  conn->reregister();
  co_return std::move(conn);
}

}  // namespace

std::shared_ptr<const ParamMap> intern_params(ParamMap map) {
  static const auto kEmpty = std::make_shared<const ParamMap>();
  if (map.empty()) return kEmpty;
  // The last holder's release takes the entry out, unless the same contents were interned
  // again meanwhile (the entry then holds the new copy, which is not expired). Made before
  // the lock is taken, so that dropping it (unused, or on an exception) never runs that
  // release under the lock.
  std::shared_ptr<const ParamMap> made(new ParamMap(map), [](const ParamMap* p) {
    {
      ParamSets& table = param_sets();
      std::lock_guard lock(table.mu);
      auto entry = table.sets.find(*p);
      if (entry != table.sets.end() && entry->second.expired()) table.sets.erase(entry);
    }
    delete p;
  });
  ParamSets& table = param_sets();
  std::lock_guard lock(table.mu);
  auto it = table.sets.find(map);
  if (it != table.sets.end()) {
    if (auto live = it->second.lock()) return live;
    it->second = made;
  } else {
    table.sets.emplace(std::move(map), made);
  }
  return made;
}

void ServerConnection::reregister() {
  auto executor = socket_.get_executor();
  auto fd = socket_.release();
  socket_ = tcp::socket(executor, peer.protocol(), fd);
}

ServerConnection::~ServerConnection() {
  if (detached_fd_ >= 0) ::close(detached_fd_);  // granted, never taken: in no event loop
}

void ServerConnection::leave_worker() {
  error_code ec;
  int fd = socket_.release(ec);  // EPOLL_CTL_DEL, on the socket's own worker
  detached_fd_ = ec ? -1 : fd;
}

bool ServerConnection::move_to(const asio::any_io_executor& executor, unsigned new_worker,
                               std::unique_ptr<tcp::socket>& left_behind) {
  int fd = detached_fd_;
  detached_fd_ = -1;
  if (fd < 0) fd = ::fcntl(socket_.native_handle(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return false;
  tcp::socket moved(executor);
  error_code ec;
  moved.assign(peer.protocol(), fd, ec);  // registers it with this thread's event loop
  if (ec) {
    ::close(fd);
    return false;
  }
  if (socket_.is_open()) left_behind = std::make_unique<tcp::socket>(std::move(socket_));
  socket_ = std::move(moved);
  worker = new_worker;
  return true;
}

void close_moved_socket(tcp::socket& socket) {
  error_code ec;
  auto fd = socket.release(ec);  // EPOLL_CTL_DEL: the file stays open through the duplicate
  if (!ec) ::close(fd);
}

bool ServerConnection::idle_check() {
  char byte;
  ssize_t n = ::recv(socket_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && in_.empty();
}

awaitable<util::Result<std::unique_ptr<ServerConnection>>> connect_server(
    const ServerTarget& target, std::chrono::milliseconds timeout, unsigned worker) {
  auto result = co_await with_timeout(connect_and_login(target, worker), timeout);
  if (!result) {
    co_return connection_error(target, "timed out after " + std::to_string(timeout.count()) +
                                           " ms");
  }
  co_return std::move(*result);
}

awaitable<util::Result<protocol::Header>> read_message(tcp::socket& socket, util::Buffer& buffer,
                                                        uint32_t max_length) {
  for (;;) {
    auto header = protocol::frame_message(buffer.readable(), max_length);
    if (header.status == protocol::FrameStatus::kFrame) co_return header;
    if (header.status == protocol::FrameStatus::kError) {
      co_return util::make_error(std::string(sqlstate::kProtocolViolation), header.error());
    }
    size_t want = header.length ? header.wire_size() - buffer.size() : protocol::kHeaderSize;
    auto [ec, n] =
        co_await read_some(socket, read_room(buffer, std::max<size_t>(want, 4096)), use_nothrow);
    if (ec) {
      co_return util::make_error(std::string(sqlstate::kConnectionFailure),
                                 ec == asio::error::eof ? "server closed the connection"
                                                        : ec.message());
    }
    buffer.commit(n);
  }
}

namespace {

awaitable<util::Status> internal_query(ServerConnection& server, std::string sql,
                                       std::vector<std::optional<std::string>>* row) {
  std::string out;
  protocol::write_query(out, sql);
  if (!co_await write_all(server.socket(), out)) {
    co_return util::make_error(std::string(sqlstate::kConnectionFailure), "write to server failed");
  }
  std::optional<util::Error> error;
  for (;;) {
    auto header = co_await read_message(server.socket(), server.in(), kMaxServerMessage);
    if (!header) co_return header.error();
    std::string_view body = server.in().readable().substr(protocol::kHeaderSize,
                                                          header->length - 4);
    if (header->type == protocol::msg::kParameterStatus) {
      if (auto ps = protocol::parse_parameter_status(body)) {
        server.set_param(std::string(ps->name), std::string(ps->value));
      }
    } else if (header->type == protocol::msg::kDataRow && row && row->empty()) {
      auto values = protocol::parse_data_row(body);
      if (!values) co_return values.error();
      for (auto& v : *values) row->emplace_back(v ? std::optional<std::string>(*v) : std::nullopt);
    } else if (header->type == protocol::msg::kErrorResponse && !error) {
      auto fields = protocol::parse_error_response(body);
      error = fields ? util::make_error(fields->sqlstate, fields->message) : fields.error();
    } else if (header->type == protocol::msg::kReadyForQuery) {
      server.txn_status = body.empty() ? 'I' : body[0];
      server.in().consume(header->wire_size());
      if (error) co_return *error;
      co_return util::Ok{};
    }
    server.in().consume(header->wire_size());
  }
}

}  // namespace

namespace {
util::Error no_answer(std::chrono::milliseconds timeout) {
  return util::make_error(std::string(sqlstate::kConnectionFailure),
                          "server did not answer within " + std::to_string(timeout.count()) + " ms");
}
}  // namespace

awaitable<util::Status> run_internal_query(ServerConnection& server, std::string_view sql,
                                           std::chrono::milliseconds timeout) {
  auto result = co_await with_timeout(internal_query(server, std::string(sql), nullptr), timeout);
  if (!result) co_return no_answer(timeout);
  co_return std::move(*result);
}

awaitable<util::Result<std::vector<std::optional<std::string>>>> fetch_row(ServerConnection& server,
                                                            std::string_view sql,
                                                            std::chrono::milliseconds timeout) {
  std::vector<std::optional<std::string>> row;
  auto result = co_await with_timeout(internal_query(server, std::string(sql), &row), timeout);
  if (!result) co_return no_answer(timeout);
  if (!*result) co_return result->error();
  co_return row;
}

namespace {
awaitable<bool> cancel_once(tcp::endpoint peer, uint32_t pid, uint32_t secret) {
  tcp::socket socket(co_await asio::this_coro::executor);
  auto [ec] = co_await socket.async_connect(peer, use_nothrow);
  if (ec) co_return false;
  std::string out;
  protocol::write_cancel_request(out, pid, secret);
  co_return co_await write_all(socket, out);
}
}  // namespace

awaitable<void> send_cancel(tcp::endpoint peer, uint32_t pid, uint32_t secret,
                            std::chrono::milliseconds timeout) {
  co_await with_timeout(cancel_once(peer, pid, secret), timeout);
}

}  // namespace pgmux::backend
