// TLS contexts loaded from `tls:` and `server_tls:`, and the relay that serves a TLS
// connection of either side (see tls.hpp).
//
// OpenSSL works on the connection's descriptor itself (SSL_set_fd, non-blocking): a call
// that cannot go on says whether it waits for the socket to be readable or writable, and
// the relay waits for that with the event loop. Nothing is buffered between OpenSSL and
// the socket, so an idle connection holds no buffer: OpenSSL releases its own
// (SSL_MODE_RELEASE_BUFFERS), and the relay reads into, and writes from, a per-thread
// scratch buffer, copying only what a socket did not take at once. A wait follows only
// a call that found the socket drained (or full), as the event loop's edge-triggered
// readiness requires.
#include "pgmux/backend/tls.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include "pgmux/protocol/sqlstate.hpp"

namespace pgmux::backend {
using asio::experimental::awaitable_operators::operator||;
using LocalSocket = asio::local::stream_protocol::socket;

class TlsContext {
 public:
  TlsContext(SSL_CTX* context, bool verify_host) : verify_host(verify_host), context_(context) {}
  std::string end_point;  // tls-server-end-point data of the certificate (clients' side)
  ~TlsContext() { SSL_CTX_free(context_); }
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  // SSL_new takes a non-const context; making connections from it changes nothing a
  // reader of the context sees (OpenSSL locks what it shares).
  SSL_CTX* get() const { return context_; }
  const bool verify_host;  // server_tls verify-full: the certificate must name the host

 private:
  SSL_CTX* context_;
};

namespace {

// What one read asks room for: a TLS record's largest plaintext.
constexpr size_t kRelayChunk = 16 * 1024;

// Reads and writes of the relays of this thread land here between two awaits.
char* scratch() {
  thread_local std::vector<char> buffer(kRelayChunk);
  return buffer.data();
}

// The error `code` as OpenSSL words it (by default the oldest one queued on this
// thread); the thread's queue is emptied.
std::string openssl_reason(unsigned long code = ERR_peek_error()) {
  char text[256] = "unknown error";
  if (code != 0) ERR_error_string_n(code, text, sizeof text);
  ERR_clear_error();
  return text;
}

// tls-server-end-point (RFC 5929): the hash of the certificate, with the hash function of
// its signature (SHA-256 in place of MD5 or SHA-1). Empty when the signature names none
// (Ed25519, say), as PostgreSQL then offers no channel binding either.
std::string end_point_of(X509* certificate) {
  int md_nid = NID_undef;
  if (certificate == nullptr ||
      X509_get_signature_info(certificate, &md_nid, nullptr, nullptr, nullptr) != 1) {
    return {};
  }
  const EVP_MD* md =
      md_nid == NID_md5 || md_nid == NID_sha1 ? EVP_sha256() : EVP_get_digestbynid(md_nid);
  unsigned char hash[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (md == nullptr || X509_digest(certificate, md, hash, &length) != 1) return {};
  return std::string(reinterpret_cast<const char*>(hash), length);
}

// OpenSSL asks for a passphrase on the terminal for an encrypted key: none is given.
int no_passphrase(char*, int, int, void*) { return 0; }

// As PostgreSQL does: no renegotiation, no compression, no session tickets or cache
// (drivers do not resume sessions). An idle connection keeps no buffers, and a write
// waited for may go on from a copy of its bytes.
SSL_CTX* new_context(const SSL_METHOD* method) {
  SSL_CTX* native = SSL_CTX_new(method);
  if (native == nullptr) return nullptr;
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return native;
}

struct Relay {
  Relay(tcp::socket peer, TlsContextPtr tls, LocalSocket pair)
      : tls(std::move(tls)), peer(std::move(peer)), pair(std::move(pair)) {}
  ~Relay() {
    if (ssl != nullptr) SSL_free(ssl);
  }
  // Makes the connection's SSL on `peer`'s descriptor. False when OpenSSL could not.
  bool start(bool accepting) {
    error_code ec;
    peer.non_blocking(true, ec);
    ssl = SSL_new(tls->get());
    if (ec || ssl == nullptr || SSL_set_fd(ssl, static_cast<int>(peer.native_handle())) != 1) {
      return false;
    }
    if (accepting) {
      SSL_set_accept_state(ssl);
    } else {
      SSL_set_connect_state(ssl);
    }
    return true;
  }
  // Waits for what the last SSL call (which returned `result`) needs of the socket.
  // False when it failed for good (or the wait was cancelled).
  awaitable<bool> wait_for(int result) {
    int error = SSL_get_error(ssl, result);
    if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) co_return false;
    auto [ec] = co_await peer.async_wait(
        error == SSL_ERROR_WANT_READ ? tcp::socket::wait_read : tcp::socket::wait_write,
        use_nothrow);
    co_return !ec;
  }

  TlsContextPtr tls;  // keeps the context alive while the connection uses it
  tcp::socket peer;   // the TLS connection
  LocalSocket pair;   // the relay's end; the session or server connection has the other
  SSL* ssl = nullptr;
};

// A relay for `peer` (its SSL made, in the accepting or connecting role) and, in `plain`,
// the other end of its socket pair as the tcp::socket the session or server connection
// goes on with (its reads and writes, recv and send, work on any stream socket). Null,
// with `why`, when either could not be made (then `peer` is closed).
std::unique_ptr<Relay> open_relay(tcp::socket& peer, const TlsContextPtr& tls, bool accepting,
                                  tcp::socket& plain, std::string& why) {
  auto executor = peer.get_executor();
  LocalSocket relay_end(executor), other(executor);
  error_code ec;
  asio::local::connect_pair(other, relay_end, ec);
  int fd = ec ? -1 : other.release(ec);
  if (!ec) plain.assign(tcp::v4(), fd, ec);
  if (ec) {
    if (fd >= 0) ::close(fd);
    why = ec.message();
    peer.close(ec);
    return nullptr;
  }
  auto r = std::make_unique<Relay>(std::move(peer), tls, std::move(relay_end));
  if (!r->start(accepting)) {
    why = openssl_reason();
    return nullptr;  // (the relay's sockets close with it)
  }
  return r;
}

// The handshake, to its end. "" when done, else why not.
awaitable<std::string> handshake(Relay& r) {
  for (;;) {
    ERR_clear_error();
    int result = SSL_do_handshake(r.ssl);
    if (result == 1) co_return std::string();
    unsigned long code = ERR_peek_error();
    if (!co_await r.wait_for(result)) {
      std::string why = code != 0 ? openssl_reason(code) : "the connection was closed";
      long verified = SSL_get_verify_result(r.ssl);
      if (verified != X509_V_OK) {
        why += std::string(" (") + X509_verify_cert_error_string(verified) + ")";
      }
      co_return why;
    }
  }
}

enum class Ended { kRead, kWrite };  // which side of a direction failed

// TLS to the pair: what OpenSSL decrypts goes to the pair, until the peer's close_notify
// or end of stream (kRead), or the pair's failure (kWrite).
awaitable<Ended> to_pair(Relay& r) {
  const int pair_fd = static_cast<int>(r.pair.native_handle());
  for (;;) {
    ERR_clear_error();
    int n = SSL_read(r.ssl, scratch(), static_cast<int>(kRelayChunk));
    if (n <= 0) {
      if (!co_await r.wait_for(n)) co_return Ended::kRead;
      continue;
    }
    ssize_t sent = ::send(pair_fd, scratch(), static_cast<size_t>(n), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK) co_return Ended::kWrite;
    size_t done = sent > 0 ? static_cast<size_t>(sent) : 0;
    if (done < static_cast<size_t>(n)) {  // the pair is full: the rest waits in a copy
      std::vector<char> rest(scratch() + done, scratch() + n);
      auto [ec, w] = co_await asio::async_write(r.pair, asio::buffer(rest), use_nothrow);
      if (ec) co_return Ended::kWrite;
    }
  }
}

// The pair to TLS: what the session or server connection writes is encrypted to the
// peer, until the pair's end of stream (kRead) or the peer's failure (kWrite).
awaitable<Ended> to_peer(Relay& r) {
  const int pair_fd = static_cast<int>(r.pair.native_handle());
  for (;;) {
    ssize_t n = ::recv(pair_fd, scratch(), kRelayChunk, MSG_DONTWAIT);
    if (n == 0) co_return Ended::kRead;
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) co_return Ended::kRead;
      auto [ec] = co_await r.pair.async_wait(LocalSocket::wait_read, use_nothrow);
      if (ec) co_return Ended::kRead;
      continue;
    }
    ERR_clear_error();
    int written = SSL_write(r.ssl, scratch(), static_cast<int>(n));
    if (written > 0) continue;                         // (without partial writes, all of it)
    std::vector<char> held(scratch(), scratch() + n);  // the retry may come after other work
    do {
      if (!co_await r.wait_for(written)) co_return Ended::kWrite;
      ERR_clear_error();
      written = SSL_write(r.ssl, held.data(), static_cast<int>(held.size()));
    } while (written <= 0);
  }
}

// Relays a connection whose handshake is done, in both directions; the first to end
// cancels the other. The pair's end is closed (an end of stream for the session or
// server connection); when that side is what ended, the peer is sent close_notify
// (its answer is not waited for) before the connection is closed.
awaitable<void> relay(std::unique_ptr<Relay> r) {
  auto first = co_await (to_pair(*r) || to_peer(*r));
  bool peer_gone =
      first.index() == 0 ? std::get<0>(first) == Ended::kRead : std::get<1>(first) == Ended::kWrite;
  error_code ignored;
  r->pair.close(ignored);
  if (!peer_gone) {
    ERR_clear_error();
    SSL_shutdown(r->ssl);
    ERR_clear_error();
  }
  r->peer.close(ignored);
}

std::string describe(SSL* ssl) {
  return std::string(SSL_get_version(ssl)) + "/" + SSL_get_cipher_name(ssl);
}

// A client's handshake, bounded by `timeout`, then its relay.
awaitable<void> accept_and_relay(std::unique_ptr<Relay> r, std::chrono::milliseconds timeout,
                                 std::shared_ptr<TlsState> state, std::atomic<uint64_t>& handshakes,
                                 std::string peer) {
  std::string failed;
  {
    asio::steady_timer deadline(r->pair.get_executor(), timeout);
    auto done = co_await (handshake(*r) || deadline.async_wait(use_nothrow));
    failed = done.index() == 0 ? std::get<0>(std::move(done)) : std::string("timed out");
  }
  if (!failed.empty()) {
    spdlog::warn("client {}: TLS handshake failed: {}", peer, failed);
    error_code ignored;
    r->peer.close(ignored);
    r->pair.close(ignored);  // the session reads an end of stream
    co_return;
  }
  handshakes.fetch_add(1, std::memory_order_relaxed);
  state->description = describe(r->ssl);
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
  SSL_CTX* native = new_context(TLS_server_method());
  if (native == nullptr) return error(t.line, "mode", "OpenSSL: " + openssl_reason());
  auto context = std::make_shared<TlsContext>(native, false);
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
  context->end_point = end_point_of(SSL_CTX_get0_certificate(native));
  ERR_clear_error();
  return context;
}

std::variant<TlsContextPtr, config::ConfigError> load_server_tls(const config::Config& config) {
  using Mode = config::ServerTlsMode;
  const config::ServerTlsConfig& t = config.server_tls;
  if (t.mode == Mode::kDisable) return TlsContextPtr{};
  auto error = [&](int line, const char* key, std::string message) {
    return config::ConfigError{config.source_path, line, std::string("server_tls.") + key,
                               std::move(message)};
  };
  ERR_clear_error();
  SSL_CTX* native = new_context(TLS_client_method());
  if (native == nullptr) return error(t.line, "mode", "OpenSSL: " + openssl_reason());
  auto context = std::make_shared<const TlsContext>(native, t.mode == Mode::kVerifyFull);
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  if (!t.ca_file.empty() &&
      SSL_CTX_load_verify_locations(native, t.ca_file.c_str(), nullptr) != 1) {
    return error(t.ca_line, "ca_file",
                 "cannot load certificates from \"" + t.ca_file + "\": " + openssl_reason());
  }
  const bool verify = t.mode == Mode::kVerifyCa || t.mode == Mode::kVerifyFull;
  SSL_CTX_set_verify(native, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  return context;
}

std::optional<tcp::socket> accept_tls(tcp::socket& client, const TlsContextPtr& tls,
                                      std::chrono::milliseconds timeout,
                                      std::shared_ptr<TlsState> state,
                                      std::atomic<uint64_t>& handshakes, std::string peer) {
  auto executor = client.get_executor();
  tcp::socket plain(executor);
  std::string why;
  auto r = open_relay(client, tls, true, plain, why);
  if (!r) {
    spdlog::error("client {}: cannot start TLS: {}", peer, why);
    return std::nullopt;
  }
  state->channel_binding = tls->end_point;
  asio::co_spawn(
      executor,
      accept_and_relay(std::move(r), timeout, std::move(state), handshakes, std::move(peer)),
      asio::detached);
  return plain;
}

awaitable<util::Result<tcp::socket>> connect_tls(tcp::socket server, TlsContextPtr tls,
                                                 std::string host) {
  auto executor = server.get_executor();
  tcp::socket plain(executor);
  auto failed = [](std::string why) {
    return util::make_error(std::string(protocol::sqlstate::kConnectionFailure),
                            "TLS handshake failed: " + why);
  };
  std::string why;
  auto r = open_relay(server, tls, false, plain, why);
  if (!r) co_return failed(why);
  error_code not_address;
  asio::ip::make_address(host, not_address);
  if (not_address) SSL_set_tlsext_host_name(r->ssl, host.c_str());  // SNI takes names only
  if (tls->verify_host) {
    int set = not_address ? SSL_set1_host(r->ssl, host.c_str())
                          : X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(r->ssl), host.c_str());
    if (set != 1) co_return failed("cannot check the certificate against \"" + host + "\"");
  }
  why = co_await handshake(*r);
  if (!why.empty()) co_return failed(why);
  spdlog::debug("server {}: {}", host, describe(r->ssl));
  asio::co_spawn(executor, relay(std::move(r)), asio::detached);
  co_return std::move(plain);
}

}  // namespace pgmux::backend
