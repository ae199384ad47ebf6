// TLS contexts loaded from `tls:` and `server_tls:`, and the relay that serves a TLS
// connection of either side (see tls.hpp).
#include "pgmux/backend/tls.hpp"

#include <unistd.h>

#include <vector>

#include <boost/asio/ssl.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include "pgmux/protocol/sqlstate.hpp"

namespace pgmux::backend {
namespace ssl = asio::ssl;
using asio::experimental::awaitable_operators::operator||;
using LocalSocket = asio::local::stream_protocol::socket;

class TlsContext {
 public:
  TlsContext(ssl::context context, bool verify_host)
      : verify_host(verify_host), context_(std::move(context)) {}
  // ssl::stream asks for a non-const context; making connections from it changes nothing
  // a reader of the context sees.
  ssl::context& context() const { return context_; }
  const bool verify_host;  // server_tls verify-full: the certificate must name the host

 private:
  mutable ssl::context context_;
};

namespace {

// What one relay read asks room for: a TLS record's largest plaintext.
constexpr size_t kRelayChunk = 16 * 1024;
// How long a closing relay waits for the peer's answer to its close_notify.
constexpr auto kCloseNotifyWait = std::chrono::seconds(1);

// The error `code` as OpenSSL words it (by default the oldest one queued on this
// thread); the thread's queue is emptied.
std::string openssl_reason(unsigned long code = ERR_peek_error()) {
  char text[256] = "unknown error";
  if (code != 0) ERR_error_string_n(code, text, sizeof text);
  ERR_clear_error();
  return text;
}

// OpenSSL asks for a passphrase on the terminal for an encrypted key: none is given.
int no_passphrase(char*, int, int, void*) { return 0; }

// As PostgreSQL does: no renegotiation, no compression, no session tickets or cache
// (drivers do not resume sessions), and no buffers kept by an idle connection.
void common_settings(SSL_CTX* native) {
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
}

// A socket pair: the relay's end, and the other end as the tcp::socket the session or
// server connection goes on with (its reads and writes, recv and send, work on any
// stream socket). False, with `ec`, when it could not be made.
bool make_pair(const asio::any_io_executor& executor, LocalSocket& relay_end, tcp::socket& plain,
               error_code& ec) {
  LocalSocket other(executor);
  asio::local::connect_pair(other, relay_end, ec);
  if (ec) return false;
  int fd = other.release(ec);
  if (!ec) plain.assign(tcp::v4(), fd, ec);
  if (ec && fd >= 0) ::close(fd);
  return !ec;
}

struct Relay {
  Relay(tcp::socket peer, TlsContextPtr tls, LocalSocket pair)
      : tls(std::move(tls)), stream(std::move(peer), this->tls->context()), pair(std::move(pair)) {}
  TlsContextPtr tls;  // keeps the context alive while the connection uses it
  ssl::stream<tcp::socket> stream;
  LocalSocket pair;  // the relay's end; the session or server connection has the other
};

enum class Ended { kRead, kWrite };  // which side of a pump failed

// Copies what `from` gives to `to` until a read or a write fails (or is cancelled).
template <class From, class To>
awaitable<Ended> pump(From& from, To& to) {
  std::vector<char> chunk(kRelayChunk);
  for (;;) {
    auto [ec, n] = co_await from.async_read_some(asio::buffer(chunk), use_nothrow);
    if (n > 0) {
      auto [wec, written] =
          co_await asio::async_write(to, asio::buffer(chunk.data(), n), use_nothrow);
      if (wec) co_return Ended::kWrite;
    }
    if (ec) co_return Ended::kRead;
  }
}

// Relays a connection whose handshake is done, in both directions; the first to end
// cancels the other. The pair's end is closed (an end of stream for the session or
// server connection), and when that side is what ended, the TLS peer is told with
// close_notify (waited for briefly) before the connection is closed.
awaitable<void> relay(std::unique_ptr<Relay> r) {
  auto first = co_await (pump(r->stream, r->pair) || pump(r->pair, r->stream));
  bool peer_gone =
      first.index() == 0 ? std::get<0>(first) == Ended::kRead : std::get<1>(first) == Ended::kWrite;
  error_code ignored;
  r->pair.close(ignored);
  if (!peer_gone) {
    asio::steady_timer deadline(r->pair.get_executor(), kCloseNotifyWait);
    co_await (r->stream.async_shutdown(use_nothrow) || deadline.async_wait(use_nothrow));
  }
  r->stream.next_layer().close(ignored);
}

std::string describe(ssl::stream<tcp::socket>& stream) {
  SSL* native = stream.native_handle();
  return std::string(SSL_get_version(native)) + "/" + SSL_get_cipher_name(native);
}

// A client's handshake, bounded by `timeout`, then its relay.
awaitable<void> accept_and_relay(std::unique_ptr<Relay> r, std::chrono::milliseconds timeout,
                                 std::shared_ptr<TlsState> state, std::atomic<uint64_t>& handshakes,
                                 std::string peer) {
  error_code ec;
  {
    asio::steady_timer deadline(r->pair.get_executor(), timeout);
    auto done = co_await (r->stream.async_handshake(ssl::stream_base::server, use_nothrow) ||
                          deadline.async_wait(use_nothrow));
    ec = done.index() == 0 ? std::get<0>(std::get<0>(done))
                           : make_error_code(asio::error::timed_out);
  }
  if (ec) {
    spdlog::warn("client {}: TLS handshake failed: {}", peer, ec.message());
    error_code ignored;
    r->stream.next_layer().close(ignored);
    r->pair.close(ignored);  // the session reads an end of stream
    co_return;
  }
  handshakes.fetch_add(1, std::memory_order_relaxed);
  state->description = describe(r->stream);
  spdlog::debug("client {}: {}", peer, state->description);
  co_await relay(std::move(r));
}

}  // namespace

std::variant<TlsContextPtr, config::ConfigError> load_client_tls(const config::Config& config) {
  const config::TlsConfig& t = config.tls;
  if (t.mode == config::TlsMode::kDisable) return TlsContextPtr{};
  auto error = [&](int line, const char* key, std::string message) {
    return config::ConfigError{config.source_path, line, std::string("tls.") + key,
                               std::move(message)};
  };
  ERR_clear_error();
  ssl::context context(ssl::context::tls_server);
  SSL_CTX* native = context.native_handle();
  common_settings(native);
  SSL_CTX_set_options(native, SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_min_proto_version(native, t.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_CTX_set_default_passwd_cb(native, no_passphrase);
  if (SSL_CTX_use_certificate_chain_file(native, t.cert_file.c_str()) != 1) {
    return error(
        t.cert_line, "cert_file",
        "cannot load a certificate chain from \"" + t.cert_file + "\": " + openssl_reason());
  }
  // (Loading the key checks it against the certificate.)
  if (SSL_CTX_use_PrivateKey_file(native, t.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(native) != 1) {
    unsigned long code = ERR_peek_error();
    if (ERR_GET_REASON(code) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error();
      return error(t.key_line, "key_file",
                   "the private key in \"" + t.key_file +
                       "\" does not match the certificate in \"" + t.cert_file + "\"");
    }
    return error(t.key_line, "key_file",
                 "cannot load a private key from \"" + t.key_file + "\" (an unencrypted PEM key " +
                     "is needed): " + openssl_reason(code));
  }
  if (!t.ciphers.empty() && SSL_CTX_set_cipher_list(native, t.ciphers.c_str()) != 1) {
    ERR_clear_error();
    return error(t.ciphers_line, "ciphers", "OpenSSL knows no cipher in \"" + t.ciphers + "\"");
  }
  return std::make_shared<const TlsContext>(std::move(context), false);
}

std::variant<TlsContextPtr, config::ConfigError> load_server_tls(const config::Config& config) {
  using Mode = config::ServerTlsMode;
  const config::ServerTlsConfig& t = config.server_tls;
  if (t.mode == Mode::kDisable) return TlsContextPtr{};
  ERR_clear_error();
  ssl::context context(ssl::context::tls_client);
  SSL_CTX* native = context.native_handle();
  common_settings(native);
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  const bool verify = t.mode == Mode::kVerifyCa || t.mode == Mode::kVerifyFull;
  if (!t.ca_file.empty() &&
      SSL_CTX_load_verify_locations(native, t.ca_file.c_str(), nullptr) != 1) {
    return config::ConfigError{
        config.source_path, t.ca_line, "server_tls.ca_file",
        "cannot load certificates from \"" + t.ca_file + "\": " + openssl_reason()};
  }
  SSL_CTX_set_verify(native, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  return std::make_shared<const TlsContext>(std::move(context), t.mode == Mode::kVerifyFull);
}

std::optional<tcp::socket> accept_tls(tcp::socket& client, const TlsContextPtr& tls,
                                      std::chrono::milliseconds timeout,
                                      std::shared_ptr<TlsState> state,
                                      std::atomic<uint64_t>& handshakes, std::string peer) {
  auto executor = client.get_executor();
  LocalSocket relay_end(executor);
  tcp::socket plain(executor);
  error_code ec;
  if (!make_pair(executor, relay_end, plain, ec)) {
    spdlog::error("client {}: cannot start TLS: {}", peer, ec.message());
    client.close(ec);
    return std::nullopt;
  }
  auto r = std::make_unique<Relay>(std::move(client), tls, std::move(relay_end));
  asio::co_spawn(
      executor,
      accept_and_relay(std::move(r), timeout, std::move(state), handshakes, std::move(peer)),
      asio::detached);
  return plain;
}

awaitable<util::Result<tcp::socket>> connect_tls(tcp::socket server, TlsContextPtr tls,
                                                 std::string host) {
  auto executor = server.get_executor();
  LocalSocket relay_end(executor);
  tcp::socket plain(executor);
  error_code ec;
  if (!make_pair(executor, relay_end, plain, ec)) {
    co_return util::make_error(std::string(protocol::sqlstate::kConnectionFailure),
                               "cannot start TLS: " + ec.message());
  }
  auto r = std::make_unique<Relay>(std::move(server), tls, std::move(relay_end));
  SSL* native = r->stream.native_handle();
  error_code not_address;
  asio::ip::make_address(host, not_address);
  if (not_address) SSL_set_tlsext_host_name(native, host.c_str());  // SNI takes names only
  if (tls->verify_host) r->stream.set_verify_callback(ssl::host_name_verification(host));
  auto [hec] = co_await r->stream.async_handshake(ssl::stream_base::client, use_nothrow);
  if (hec) {
    std::string why = hec.message();
    long verified = SSL_get_verify_result(native);
    if (verified != X509_V_OK)
      why += std::string(" (") + X509_verify_cert_error_string(verified) + ")";
    co_return util::make_error(std::string(protocol::sqlstate::kConnectionFailure),
                               "TLS handshake failed: " + why);
  }
  spdlog::debug("server {}: {}", host, describe(r->stream));
  asio::co_spawn(executor, relay(std::move(r)), asio::detached);
  co_return std::move(plain);
}

}  // namespace pgmux::backend
