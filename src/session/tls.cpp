// Client TLS: the context loaded from `tls:` and the per-client relay (see tls.hpp).
#include "pgmux/session/tls.hpp"

#include <unistd.h>

#include <vector>

#include <boost/asio/ssl.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

namespace pgmux::session {
namespace ssl = asio::ssl;
using asio::experimental::awaitable_operators::operator||;
using LocalSocket = asio::local::stream_protocol::socket;

class TlsServer {
 public:
  explicit TlsServer(ssl::context context) : context_(std::move(context)) {}
  // ssl::stream asks for a non-const context; making connections from it changes nothing
  // a reader of the context sees.
  ssl::context& context() const { return context_; }

 private:
  mutable ssl::context context_;
};

namespace {

// What one relay read asks room for: a TLS record's largest plaintext.
constexpr size_t kRelayChunk = 16 * 1024;
// How long a closing relay waits for the client's answer to its close_notify.
constexpr auto kCloseNotifyWait = std::chrono::seconds(1);

// The oldest error OpenSSL queued on this thread (then the queue is emptied).
std::string openssl_reason(unsigned long code = ERR_peek_error()) {
  char text[256] = "unknown error";
  if (code != 0) ERR_error_string_n(code, text, sizeof text);
  ERR_clear_error();
  return text;
}

// OpenSSL asks for a passphrase on the terminal for an encrypted key: none is given.
int no_passphrase(char*, int, int, void*) { return 0; }

struct Relay {
  Relay(tcp::socket client, TlsServerPtr server, LocalSocket pair)
      : server(std::move(server)),
        tls(std::move(client), this->server->context()),
        pair(std::move(pair)) {}
  TlsServerPtr server;  // keeps the context alive while the connection uses it
  ssl::stream<tcp::socket> tls;
  LocalSocket pair;  // the relay's end; the session has the other
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

std::string describe(ssl::stream<tcp::socket>& tls) {
  SSL* native = tls.native_handle();
  return std::string(SSL_get_version(native)) + "/" + SSL_get_cipher_name(native);
}

awaitable<void> relay(std::unique_ptr<Relay> r, std::chrono::milliseconds timeout,
                      std::shared_ptr<TlsState> state, metrics::GlobalCounters& counters,
                      std::string peer) {
  auto executor = co_await asio::this_coro::executor;
  error_code ignored;
  {
    asio::steady_timer deadline(executor, timeout);
    auto done = co_await (r->tls.async_handshake(ssl::stream_base::server, use_nothrow) ||
                          deadline.async_wait(use_nothrow));
    error_code ec = done.index() == 0 ? std::get<0>(std::get<0>(done))
                                      : make_error_code(asio::error::timed_out);
    if (ec) {
      spdlog::warn("client {}: TLS handshake failed: {}", peer, ec.message());
      r->tls.next_layer().close(ignored);
      r->pair.close(ignored);  // the session reads an end of stream
      co_return;
    }
  }
  counters.tls_handshakes.fetch_add(1, std::memory_order_relaxed);
  state->description = describe(r->tls);
  spdlog::debug("client {}: {}", peer, state->description);

  // Client to session and session to client; the first to end cancels the other. The
  // client is gone when reading it or writing to it failed.
  auto first = co_await (pump(r->tls, r->pair) || pump(r->pair, r->tls));
  bool client_gone =
      first.index() == 0 ? std::get<0>(first) == Ended::kRead : std::get<1>(first) == Ended::kWrite;
  r->pair.close(ignored);  // the session reads an end of stream
  if (!client_gone) {      // the session closed: tell the client, briefly
    asio::steady_timer deadline(executor, kCloseNotifyWait);
    co_await (r->tls.async_shutdown(use_nothrow) || deadline.async_wait(use_nothrow));
  }
  r->tls.next_layer().close(ignored);
}

}  // namespace

std::variant<TlsServerPtr, config::ConfigError> load_tls(const config::Config& config) {
  const config::TlsConfig& t = config.tls;
  if (t.mode == config::TlsMode::kDisable) return TlsServerPtr{};
  auto error = [&](int line, const char* key, std::string message) {
    return config::ConfigError{config.source_path, line, std::string("tls.") + key,
                               std::move(message)};
  };
  ERR_clear_error();
  ssl::context context(ssl::context::tls_server);
  SSL_CTX* native = context.native_handle();
  SSL_CTX_set_min_proto_version(native, t.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
  // As PostgreSQL: no renegotiation, no compression, no session tickets or cache (drivers
  // do not resume sessions).
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET |
                                  SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);  // an idle connection keeps none
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
  return std::make_shared<const TlsServer>(std::move(context));
}

std::optional<tcp::socket> start_tls(tcp::socket& client, const TlsServerPtr& tls,
                                     std::chrono::milliseconds timeout,
                                     std::shared_ptr<TlsState> state,
                                     metrics::GlobalCounters& counters, std::string peer) {
  auto executor = client.get_executor();
  LocalSocket session_end(executor), relay_end(executor);
  error_code ec;
  asio::local::connect_pair(session_end, relay_end, ec);
  tcp::socket plain(executor);
  if (!ec) {
    int fd = session_end.release(ec);
    // The session's reads and writes (recv, send) work on any stream socket.
    if (!ec) plain.assign(tcp::v4(), fd, ec);
    if (ec && fd >= 0) ::close(fd);
  }
  if (ec) {
    spdlog::error("client {}: cannot start TLS: {}", peer, ec.message());
    client.close(ec);
    return std::nullopt;
  }
  auto r = std::make_unique<Relay>(std::move(client), tls, std::move(relay_end));
  asio::co_spawn(executor,
                 relay(std::move(r), timeout, std::move(state), counters, std::move(peer)),
                 asio::detached);
  return plain;
}

}  // namespace pgmux::session
