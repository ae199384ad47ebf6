// TLS on both sides of pgmux: for clients (`tls:`, pgmux the TLS server) and to
// PostgreSQL (`server_tls:`, pgmux the TLS client). Either way a TLS connection is served
// by a relay on the worker that opened it: the TLS stream on one side, one end of a socket
// pair on the other, and the session or server connection reads and writes plain
// protocol bytes on the pair's other end, as it would on a plain socket. Plain
// connections are not touched by any of it. OpenSSL (through Asio's ssl::stream) is
// included only by tls.cpp.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "pgmux/backend/asio.hpp"
#include "pgmux/config/config.hpp"
#include "pgmux/util/result.hpp"

namespace pgmux::backend {

// An OpenSSL context with its settings. Immutable once loaded; any worker may start
// connections from it at once.
class TlsContext;
using TlsContextPtr = std::shared_ptr<const TlsContext>;

// Loads `tls:` (cert_file, key_file): null when tls.mode is disable. A file that cannot
// be read or does not hold what it should, or a cipher list OpenSSL takes nothing from,
// gives a ConfigError naming the config file, the key's line and the key (never a
// file's contents).
std::variant<TlsContextPtr, config::ConfigError> load_client_tls(const config::Config& config);
// Loads `server_tls:` (ca_file): null when server_tls.mode is disable. Errors as above.
std::variant<TlsContextPtr, config::ConfigError> load_server_tls(const config::Config& config);

// What a client's relay learned of its connection. Written by the relay once the
// handshake is done and read by the session, both on the session's worker thread.
struct TlsState {
  std::string description;  // e.g. "TLSv1.3/TLS_AES_256_GCM_SHA384"; empty until done
  // The connection's tls-server-end-point channel-binding data (RFC 5929: the hash of
  // pgmux's certificate) for SCRAM-SHA-256-PLUS; empty where the certificate's signature
  // names no usable hash.
  std::string channel_binding;
};

// Client side. Takes over `client`, which has just been sent 'S': runs the handshake (at
// most `timeout`) and then relays between the client and the socket returned, which the
// session goes on with, on `client`'s executor. It ends when either side closes: the
// session closing its end sends the client TLS's close_notify and closes the connection;
// the client leaving (or failing the handshake) is an end of stream on the session's
// side. `handshakes` counts completed handshakes. nullopt when no socket pair could be
// made (then `client` is closed).
std::optional<tcp::socket> accept_tls(tcp::socket& client, const TlsContextPtr& tls,
                                      std::chrono::milliseconds timeout,
                                      std::shared_ptr<TlsState> state,
                                      std::atomic<uint64_t>& handshakes, std::string peer);

// Server side. Takes over `server`, a connection to PostgreSQL that answered an
// SSLRequest with 'S': runs the handshake (checking the server's certificate as
// server_tls.mode says, against `host` for verify-full) and then relays, as above, on
// `server`'s executor. The socket returned is the server connection's from then on;
// closing it ends the TLS connection with close_notify. The error says why the
// handshake failed.
awaitable<util::Result<tcp::socket>> connect_tls(tcp::socket server, TlsContextPtr tls,
                                                 std::string host);

}  // namespace pgmux::backend
