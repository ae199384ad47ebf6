// SCRAM-SHA-256 (RFC 5802 / RFC 7677, as PostgreSQL uses it: no channel binding
// without TLS, empty username in the messages) as pure state machines: bytes in,
// bytes out, no I/O. One object serves one exchange; not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "pgmux/auth/sha256.hpp"
#include "pgmux/util/result.hpp"

namespace pgmux::auth {

inline constexpr std::string_view kScramSha256 = "SCRAM-SHA-256";
// With channel binding of type tls-server-end-point (RFC 5929): offered to TLS clients.
inline constexpr std::string_view kScramSha256Plus = "SCRAM-SHA-256-PLUS";
inline constexpr int kDefaultScramIterations = 4096;

// What a server stores for a user (PostgreSQL's pg_authid.rolpassword format:
// "SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>").
struct ScramSecret {
  int iterations = kDefaultScramIterations;
  std::string salt;  // raw bytes
  Sha256 stored_key{};
  Sha256 server_key{};
};

util::Result<ScramSecret> parse_scram_secret(std::string_view text);
std::string format_scram_secret(const ScramSecret& secret);
// Derives the secret from a password (SaltedPassword = PBKDF2-HMAC-SHA256).
ScramSecret make_scram_secret(std::string_view password, std::string_view salt, int iterations);
// A deterministic, plausible secret for a user that does not exist, so that an unknown
// user cannot be told from a wrong password. `seed` is a per-process random string.
ScramSecret mock_scram_secret(std::string_view user, std::string_view seed);

// Random printable nonce (base64 of `bytes` random bytes from OpenSSL).
std::string random_nonce(size_t bytes = 18);

// Server side of one exchange.
class ScramServer {
 public:
  // `server_nonce` is appended to the client's nonce (random_nonce() in production,
  // fixed in tests). `mock` makes every proof fail while the exchange looks normal.
  // `channel_binding`: for a client on TLS, the tls-server-end-point data of its
  // connection (the hash of pgmux's certificate), which makes SCRAM-SHA-256-PLUS
  // possible; empty on plain TCP.
  ScramServer(ScramSecret secret, std::string server_nonce, bool mock = false,
              std::string channel_binding = {});

  // client-first-message (the data of SASLInitialResponse) of the `mechanism` the client
  // chose -> server-first-message. Refuses a mechanism it does not offer; checks the
  // channel-binding header against the mechanism as PostgreSQL does (a client that could bind but thinks the server cannot
  // is refused where the server can); refuses malformed messages (code 08P01).
  util::Result<std::string> handle_client_first(std::string_view message,
                                                std::string_view mechanism = kScramSha256);
  // client-final-message -> server-final-message ("v=<signature>") when the proof is
  // right; an Error with code 28P01 when it is wrong (or mock), 08P01 when malformed.
  util::Result<std::string> handle_client_final(std::string_view message);

  // After a successful exchange: ClientKey recovered from the proof (lets pgmux log in
  // to a server holding the same secret without knowing the password).
  const std::optional<Sha256>& client_key() const { return client_key_; }

 private:
  ScramSecret secret_;
  std::string server_nonce_;
  bool mock_;
  std::string channel_binding_;
  std::string expected_cbind_;  // the c= of the client-final-message
  std::string client_first_bare_;
  std::string server_first_;
  std::string combined_nonce_;
  std::optional<Sha256> client_key_;
  int state_ = 0;
};

// Client side of one exchange (pgmux logging in to PostgreSQL).
class ScramClient {
 public:
  // Either a password or (for pass-through) a ClientKey + ServerKey pair.
  ScramClient(std::string password, std::string client_nonce);
  static ScramClient from_keys(Sha256 client_key, Sha256 server_key, std::string client_nonce);

  // "n,,n=,r=<nonce>": the data of SASLInitialResponse.
  std::string client_first();
  // server-first-message -> client-final-message. 08P01 when malformed or the server
  // nonce does not extend ours.
  util::Result<std::string> handle_server_first(std::string_view message);
  // Verifies the server's signature ("v=..."); 28P01-ish error when wrong ("e=...").
  util::Status handle_server_final(std::string_view message);

 private:
  std::string password_;
  std::optional<Sha256> client_key_;
  std::optional<Sha256> server_key_;
  std::string client_nonce_;
  std::string client_first_bare_;
  std::string expected_server_signature_;
  int state_ = 0;
};

}  // namespace pgmux::auth
