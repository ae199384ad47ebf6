// TLS for client connections (`tls:`). A client that asks for it (SSLRequest, answered
// 'S') gets a relay on its worker: the TLS connection on one side, one end of a socket
// pair on the other, and the session reads and writes plain protocol bytes on the pair's
// other end, as it does on a plain client's socket. Sessions of clients without TLS are
// not touched by any of it. OpenSSL (through Asio's ssl::stream) is included only by
// tls.cpp.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "pgmux/backend/asio.hpp"
#include "pgmux/config/config.hpp"
#include "pgmux/metrics/stats.hpp"

namespace pgmux::session {

// The certificate and key of `tls:` in an OpenSSL context. Immutable once loaded; any
// worker may start connections from it at once.
class TlsServer;
using TlsServerPtr = std::shared_ptr<const TlsServer>;

// Loads config.tls's files: null when tls.mode is disable. A file that cannot be read
// or does not hold what it should, or a cipher list OpenSSL takes nothing from, gives a
// ConfigError naming the config file, the key's line and the key (never a file's
// contents).
std::variant<TlsServerPtr, config::ConfigError> load_tls(const config::Config& config);

// What a client's relay learned of its connection. Written by the relay once the
// handshake is done and read by the session, both on the session's worker thread.
struct TlsState {
  std::string description;  // e.g. "TLSv1.3/TLS_AES_256_GCM_SHA384"; empty until done
};

// Takes over `client`, which has just been sent 'S': runs the TLS handshake (at most
// `timeout`) and then relays between the client and the socket returned, which the
// session goes on with. The relay runs on `client`'s executor (the session's worker).
// It ends when either side closes: the session closing its end sends the client TLS's
// close_notify and closes the connection; the client leaving (or failing the handshake)
// is an end of stream on the session's side. nullopt when no socket pair could be made
// (then `client` is closed).
std::optional<tcp::socket> start_tls(tcp::socket& client, const TlsServerPtr& tls,
                                     std::chrono::milliseconds timeout,
                                     std::shared_ptr<TlsState> state,
                                     metrics::GlobalCounters& counters, std::string peer);

}  // namespace pgmux::session
