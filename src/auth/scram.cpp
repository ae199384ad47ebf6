// SCRAM-SHA-256 secrets and the server/client state machines (see scram.hpp), on top
// of OpenSSL. Free functions are thread-safe; ScramServer/ScramClient objects are not.
#include "pgmux/auth/scram.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <charconv>
#include <climits>
#include <stdexcept>
#include <utility>

#include "base64.hpp"
#include "pgmux/auth/md5.hpp"
#include "pgmux/auth/random.hpp"
#include "pgmux/auth/sha256.hpp"

namespace pgmux::auth {
namespace {

using util::Error;
using util::Result;

// ScramServer::state_ values.
constexpr int kServerStart = 0;
constexpr int kServerSentFirst = 1;
constexpr int kServerDone = 2;
constexpr int kServerFailed = 3;

// ScramClient::state_ values.
constexpr int kClientStart = 0;
constexpr int kClientSentFirst = 1;
constexpr int kClientSentFinal = 2;
constexpr int kClientDone = 3;
constexpr int kClientFailed = 4;

constexpr size_t kMockSaltBytes = 16;
constexpr char kSecretPrefix[] = "SCRAM-SHA-256$";

// ---- Errors --------------------------------------------------------------------

Error malformed(std::string_view detail) {
  return util::make_error("08P01", "malformed SCRAM message (" + std::string(detail) + ")");
}

Error out_of_order(std::string_view what) {
  return util::make_error("08P01", "unexpected SCRAM " + std::string(what) + " at this point of the exchange");
}

Error invalid_secret(std::string_view detail) {
  return util::make_error("22023", "invalid SCRAM secret: " + std::string(detail));
}

// Marks the exchange failed and passes the error on.
Error fail(int& state, int failed_state, Error error) {
  state = failed_state;
  return error;
}

// ---- Crypto primitives ----------------------------------------------------------

std::string_view as_view(const Sha256& hash) {
  return {reinterpret_cast<const char*>(hash.data()), hash.size()};
}

Sha256 to_sha256(std::string_view raw) {  // precondition: raw.size() == 32
  Sha256 out{};
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(raw[i]);
  return out;
}

Sha256 xor_keys(const Sha256& a, const Sha256& b) {
  Sha256 out{};
  for (size_t i = 0; i < out.size(); ++i) out[i] = a[i] ^ b[i];
  return out;
}

bool equal_keys(const Sha256& a, const Sha256& b) { return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0; }

// SASLprep (RFC 4013) as PostgreSQL applies it to SCRAM passwords. For ASCII input it
// is the identity, exactly as in PostgreSQL. Non-ASCII passwords are used as their raw
// bytes. PostgreSQL does the same for input that is not valid UTF-8 or that SASLprep
// rejects, but it NFKC-normalizes valid UTF-8 and maps some characters (to nothing or to
// a space). Limitation: without Unicode tables, a non-ASCII password whose prepared form
// differs from its bytes will not match a secret PostgreSQL derived from it.
std::string_view sasl_prep(std::string_view password) { return password; }

// SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, iterations).
Sha256 salted_password(std::string_view password, std::string_view salt, int iterations) {
  if (iterations < 1) throw std::invalid_argument("SCRAM iteration count must be at least 1");
  static const char kEmpty = 0;
  std::string_view prepared = sasl_prep(password);
  const char* pass = prepared.empty() ? &kEmpty : prepared.data();
  const auto* salt_bytes = reinterpret_cast<const unsigned char*>(salt.empty() ? &kEmpty : salt.data());
  Sha256 out{};
  if (PKCS5_PBKDF2_HMAC(pass, static_cast<int>(prepared.size()), salt_bytes, static_cast<int>(salt.size()),
                        iterations, EVP_sha256(), static_cast<int>(out.size()), out.data()) != 1) {
    throw std::runtime_error("OpenSSL PBKDF2 failed");
  }
  return out;
}

// ---- Message syntax -------------------------------------------------------------

// Reads "<name>=<value>" up to the next ',' (consumed) or the end of `in`. A ',' that
// ends the message is malformed.
bool read_attribute(std::string_view& in, char name, std::string_view& value) {
  if (in.size() < 2 || in[0] != name || in[1] != '=') return false;
  size_t comma = in.find(',', 2);
  if (comma == std::string_view::npos) {
    value = in.substr(2);
    in = {};
    return true;
  }
  if (comma + 1 == in.size()) return false;
  value = in.substr(2, comma - 2);
  in.remove_prefix(comma + 1);
  return true;
}

// Reads an attribute of any name (an ASCII letter), as extensions are.
bool read_any_attribute(std::string_view& in, char& name, std::string_view& value) {
  if (in.empty()) return false;
  char c = in[0];
  if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return false;
  name = c;
  return read_attribute(in, c, value);
}

// A nonce is printable ASCII without ',' (RFC 5802 "printable").
bool is_printable_nonce(std::string_view nonce) {
  if (nonce.empty()) return false;
  for (char c : nonce) {
    if (c < 0x21 || c > 0x7e || c == ',') return false;
  }
  return true;
}

// A positive decimal int: digits only, no sign, no spaces, at most INT_MAX.
std::optional<int> parse_iterations(std::string_view text) {
  if (text.empty() || text[0] < '0' || text[0] > '9') return std::nullopt;
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 1) return std::nullopt;
  return value;
}

// The c= attribute of a client-final-message: the gs2 header, and the channel-binding
// data when the client asked for channel binding.
std::string cbind_attribute(std::string_view gs2_header, std::string_view binding = {}) {
  std::string input(gs2_header);
  input.append(binding);
  return base64_encode(input);
}

// ---- Parsed messages ------------------------------------------------------------

// A client-first-message's gs2 header: "n,," (no channel binding), "y,," (the client
// could bind but thinks the server cannot) or "p=<type>,," (binding of that type).
struct Gs2Header {
  char flag = 'n';
  std::string_view binding_type;  // with 'p'
  std::string_view text;          // the header as sent, both commas included
};

struct ClientFirst {
  Gs2Header gs2;
  std::string_view bare;  // client-first-message-bare
  std::string_view nonce;
};

struct ClientFinal {
  std::string_view cbind;
  std::string_view nonce;
  Sha256 proof{};
  std::string_view without_proof;
};

struct ServerFirst {
  std::string_view nonce;
  std::string salt;
  int iterations = 0;
};

// gs2-header: "n,,", "y,," or "p=<type>,,"; an authzid ("a=...") is refused.
Result<Gs2Header> parse_gs2_header(std::string_view& in) {
  const std::string_view start = in;
  Gs2Header out;
  if (in.starts_with("p=")) {
    size_t comma = in.find(',');
    if (comma == std::string_view::npos) return malformed("unexpected end of client-first-message");
    out.flag = 'p';
    out.binding_type = in.substr(2, comma - 2);
    in.remove_prefix(comma + 1);
  } else if (in.size() >= 2 && (in[0] == 'n' || in[0] == 'y') && in[1] == ',') {
    out.flag = in[0];
    in.remove_prefix(2);
  } else {
    return malformed("unexpected channel-binding flag in client-first-message");
  }
  if (in.starts_with("a=")) {
    return util::make_error("0A000", "client uses authorization identity, but it is not supported");
  }
  if (in.empty() || in[0] != ',') return malformed("unexpected attribute in client-first-message");
  in.remove_prefix(1);
  out.text = start.substr(0, start.size() - in.size());
  return out;
}

Result<ClientFirst> parse_client_first(std::string_view message) {
  std::string_view in = message;
  auto gs2 = parse_gs2_header(in);
  if (!gs2) return gs2.error();
  ClientFirst out;
  out.gs2 = *gs2;
  out.bare = in;
  if (in.starts_with("m=")) return util::make_error("0A000", "client requires an unsupported SCRAM extension");
  std::string_view user;  // PostgreSQL takes the user from the startup packet, not here.
  if (!read_attribute(in, 'n', user)) return malformed("expected username attribute \"n\"");
  if (!read_attribute(in, 'r', out.nonce)) return malformed("expected nonce attribute \"r\"");
  if (!is_printable_nonce(out.nonce)) return malformed("the client nonce is not printable");
  char name = 0;
  std::string_view ignored;
  while (!in.empty()) {  // optional extensions, ignored as PostgreSQL does
    if (!read_any_attribute(in, name, ignored)) return malformed("garbage at the end of client-first-message");
  }
  return out;
}

Result<ClientFinal> parse_client_final(std::string_view message) {
  std::string_view in = message;
  ClientFinal out;
  if (!read_attribute(in, 'c', out.cbind)) return malformed("expected channel-binding attribute \"c\"");
  if (!read_attribute(in, 'r', out.nonce)) return malformed("expected nonce attribute \"r\"");
  char name = 0;
  std::string_view value;
  size_t proof_at = 0;
  do {  // optional extensions, then the proof
    proof_at = message.size() - in.size();
    if (!read_any_attribute(in, name, value)) return malformed("expected proof attribute \"p\"");
  } while (name != 'p');
  if (!in.empty()) return malformed("garbage at the end of client-final-message");
  auto proof = base64_decode(value);
  if (!proof || proof->size() != out.proof.size()) return malformed("malformed proof in client-final-message");
  out.proof = to_sha256(*proof);
  out.without_proof = message.substr(0, proof_at - 1);  // drops the ',' before "p="
  return out;
}

Result<ServerFirst> parse_server_first(std::string_view message) {
  std::string_view in = message;
  ServerFirst out;
  std::string_view salt;
  std::string_view iterations;
  if (!read_attribute(in, 'r', out.nonce)) return malformed("expected nonce attribute \"r\"");
  if (!read_attribute(in, 's', salt)) return malformed("expected salt attribute \"s\"");
  if (!read_attribute(in, 'i', iterations)) return malformed("expected iteration count attribute \"i\"");
  if (!in.empty()) return malformed("garbage at the end of server-first-message");
  auto decoded = base64_decode(salt);
  if (!decoded) return malformed("invalid salt in server-first-message");
  auto count = parse_iterations(iterations);
  if (!count) return malformed("invalid iteration count in server-first-message");
  out.salt = std::move(*decoded);
  out.iterations = *count;
  return out;
}

std::string join_auth_message(std::string_view client_first_bare, std::string_view server_first,
                              std::string_view client_final_without_proof) {
  std::string out(client_first_bare);
  out.push_back(',');
  out.append(server_first);
  out.push_back(',');
  out.append(client_final_without_proof);
  return out;
}

// The checks PostgreSQL makes of the gs2 header against the mechanism chosen (`plus`),
// where channel binding was `offered` or not.
util::Status check_binding(const Gs2Header& gs2, bool plus, bool offered) {
  if (gs2.flag == 'p') {
    if (!plus) {
      return malformed("The client selected SCRAM-SHA-256 without channel binding, but the SCRAM "
                       "message includes channel binding data.");
    }
    if (gs2.binding_type != "tls-server-end-point") {
      return util::make_error("08P01", "unsupported SCRAM channel-binding type \"" +
                                           std::string(gs2.binding_type) + "\"");
    }
    return util::Ok{};
  }
  if (plus) {
    return malformed("The client selected SCRAM-SHA-256-PLUS, but the SCRAM message does not "
                     "include channel binding data.");
  }
  if (gs2.flag == 'y' && offered) {  // a downgrade: binding was offered
    return util::make_error("08P01", "SCRAM channel binding negotiation error: the client "
                                     "supports channel binding but thinks the server does not, "
                                     "and this server does");
  }
  return util::Ok{};
}

}  // namespace

// ---- Secrets --------------------------------------------------------------------

util::Result<ScramSecret> parse_scram_secret(std::string_view text) {
  if (!text.starts_with(kSecretPrefix)) return invalid_secret("it does not start with \"SCRAM-SHA-256$\"");
  std::string_view rest = text.substr(sizeof(kSecretPrefix) - 1);
  size_t dollar = rest.find('$');
  if (dollar == std::string_view::npos) return invalid_secret("expected \"<iterations>:<salt>$<keys>\"");
  std::string_view params = rest.substr(0, dollar);
  std::string_view keys = rest.substr(dollar + 1);
  size_t colon = params.find(':');
  size_t key_colon = keys.find(':');
  if (colon == std::string_view::npos || key_colon == std::string_view::npos) {
    return invalid_secret("expected \"<iterations>:<salt>$<StoredKey>:<ServerKey>\"");
  }
  ScramSecret secret;
  auto iterations = parse_iterations(params.substr(0, colon));
  if (!iterations) return invalid_secret("bad iteration count");
  auto salt = base64_decode(params.substr(colon + 1));
  if (!salt || salt->empty()) return invalid_secret("bad salt");
  auto stored = base64_decode(keys.substr(0, key_colon));
  auto server = base64_decode(keys.substr(key_colon + 1));
  if (!stored || !server || stored->size() != secret.stored_key.size() ||
      server->size() != secret.server_key.size()) {
    return invalid_secret("bad StoredKey or ServerKey");
  }
  secret.iterations = *iterations;
  secret.salt = std::move(*salt);
  secret.stored_key = to_sha256(*stored);
  secret.server_key = to_sha256(*server);
  return secret;
}

std::string format_scram_secret(const ScramSecret& secret) {
  std::string out(kSecretPrefix);
  out.append(std::to_string(secret.iterations));
  out.push_back(':');
  out.append(base64_encode(secret.salt));
  out.push_back('$');
  out.append(base64_encode(as_view(secret.stored_key)));
  out.push_back(':');
  out.append(base64_encode(as_view(secret.server_key)));
  return out;
}

ScramSecret make_scram_secret(std::string_view password, std::string_view salt, int iterations) {
  Sha256 salted = salted_password(password, salt, iterations);
  ScramSecret secret;
  secret.iterations = iterations;
  secret.salt = std::string(salt);
  secret.stored_key = sha256(as_view(hmac_sha256(salted, "Client Key")));
  secret.server_key = hmac_sha256(salted, "Server Key");
  return secret;
}

ScramSecret mock_scram_secret(std::string_view user, std::string_view seed) {
  std::string base(seed);
  base.append(user);
  ScramSecret secret;
  secret.iterations = kDefaultScramIterations;
  secret.salt = std::string(as_view(sha256(base)).substr(0, kMockSaltBytes));
  secret.stored_key = sha256(base + "stored");
  secret.server_key = sha256(base + "server");
  return secret;
}

std::string random_nonce(size_t bytes) {
  if (bytes > INT_MAX / 2) throw std::length_error("random_nonce: too many bytes");
  std::string raw(bytes, '\0');
  random_bytes(raw.data(), bytes);
  return base64_encode(raw);
}

// ---- ScramServer ----------------------------------------------------------------

ScramServer::ScramServer(ScramSecret secret, std::string server_nonce, bool mock,
                         std::string channel_binding)
    : secret_(std::move(secret)),
      server_nonce_(std::move(server_nonce)),
      mock_(mock),
      channel_binding_(std::move(channel_binding)) {}

util::Result<std::string> ScramServer::handle_client_first(std::string_view message,
                                                           std::string_view mechanism) {
  if (state_ != kServerStart) return fail(state_, kServerFailed, out_of_order("client-first-message"));
  const bool plus = mechanism == kScramSha256Plus;
  if (plus ? channel_binding_.empty() : mechanism != kScramSha256) {
    return fail(state_, kServerFailed,
                util::make_error("08P01", "client selected an invalid SASL authentication mechanism"));
  }
  auto parsed = parse_client_first(message);
  if (!parsed) return fail(state_, kServerFailed, parsed.error());
  if (auto bound = check_binding(parsed->gs2, plus, !channel_binding_.empty()); !bound) {
    return fail(state_, kServerFailed, bound.error());
  }
  expected_cbind_ = cbind_attribute(parsed->gs2.text, plus ? std::string_view(channel_binding_)
                                                          : std::string_view());
  client_first_bare_ = std::string(parsed->bare);
  combined_nonce_ = std::string(parsed->nonce) + server_nonce_;
  server_first_ = "r=" + combined_nonce_ + ",s=" + base64_encode(secret_.salt) +
                  ",i=" + std::to_string(secret_.iterations);
  state_ = kServerSentFirst;
  return server_first_;
}

util::Result<std::string> ScramServer::handle_client_final(std::string_view message) {
  if (state_ != kServerSentFirst) return fail(state_, kServerFailed, out_of_order("client-final-message"));
  auto parsed = parse_client_final(message);
  if (!parsed) return fail(state_, kServerFailed, parsed.error());
  if (parsed->cbind != expected_cbind_) {
    return fail(state_, kServerFailed, malformed("unexpected channel-binding attribute in client-final-message"));
  }
  if (parsed->nonce != combined_nonce_) return fail(state_, kServerFailed, malformed("SCRAM nonce mismatch"));
  std::string auth_message = join_auth_message(client_first_bare_, server_first_, parsed->without_proof);
  // ClientKey = proof XOR HMAC(StoredKey, AuthMessage); it is right when H(ClientKey) == StoredKey.
  Sha256 client_key = xor_keys(parsed->proof, hmac_sha256(secret_.stored_key, auth_message));
  bool proof_ok = equal_keys(sha256(as_view(client_key)), secret_.stored_key);
  if (mock_ || !proof_ok) {
    return fail(state_, kServerFailed, util::make_error("28P01", "password authentication failed"));
  }
  client_key_ = client_key;
  state_ = kServerDone;
  return "v=" + base64_encode(as_view(hmac_sha256(secret_.server_key, auth_message)));
}

// ---- ScramClient ----------------------------------------------------------------

ScramClient::ScramClient(std::string password, std::string client_nonce)
    : password_(std::move(password)), client_nonce_(std::move(client_nonce)) {}

ScramClient ScramClient::from_keys(Sha256 client_key, Sha256 server_key, std::string client_nonce) {
  ScramClient client(std::string(), std::move(client_nonce));
  client.client_key_ = client_key;
  client.server_key_ = server_key;
  return client;
}

std::string ScramClient::client_first() {
  client_first_bare_ = "n=,r=" + client_nonce_;
  if (state_ == kClientStart) state_ = kClientSentFirst;
  return "n,," + client_first_bare_;
}

util::Result<std::string> ScramClient::handle_server_first(std::string_view message) {
  if (state_ != kClientSentFirst) return fail(state_, kClientFailed, out_of_order("server-first-message"));
  auto parsed = parse_server_first(message);
  if (!parsed) return fail(state_, kClientFailed, parsed.error());
  if (!parsed->nonce.starts_with(client_nonce_) || !is_printable_nonce(parsed->nonce)) {
    return fail(state_, kClientFailed, malformed("the server nonce does not extend the client nonce"));
  }
  Sha256 client_key{};
  Sha256 server_key{};
  if (client_key_ && server_key_) {  // pass-through: keys recovered from a client's login
    client_key = *client_key_;
    server_key = *server_key_;
  } else {
    Sha256 salted = salted_password(password_, parsed->salt, parsed->iterations);
    client_key = hmac_sha256(salted, "Client Key");
    server_key = hmac_sha256(salted, "Server Key");
  }
  std::string without_proof = "c=" + cbind_attribute("n,,") + ",r=" + std::string(parsed->nonce);
  std::string auth_message = join_auth_message(client_first_bare_, message, without_proof);
  Sha256 stored_key = sha256(as_view(client_key));
  Sha256 proof = xor_keys(client_key, hmac_sha256(stored_key, auth_message));
  expected_server_signature_ = std::string(as_view(hmac_sha256(server_key, auth_message)));
  state_ = kClientSentFinal;
  return without_proof + ",p=" + base64_encode(as_view(proof));
}

util::Status ScramClient::handle_server_final(std::string_view message) {
  if (state_ != kClientSentFinal) return fail(state_, kClientFailed, out_of_order("server-final-message"));
  std::string_view in = message;
  std::string_view value;
  if (read_attribute(in, 'e', value)) {
    return fail(state_, kClientFailed,
                util::make_error("28P01", "server rejected SCRAM authentication: " + std::string(value)));
  }
  if (!read_attribute(in, 'v', value)) return fail(state_, kClientFailed, malformed("expected attribute \"v\""));
  if (!in.empty()) return fail(state_, kClientFailed, malformed("garbage at the end of server-final-message"));
  auto signature = base64_decode(value);
  if (!signature) return fail(state_, kClientFailed, malformed("invalid server signature encoding"));
  if (!constant_time_equal(*signature, expected_server_signature_)) {
    return fail(state_, kClientFailed, util::make_error("28P01", "incorrect server signature in SCRAM exchange"));
  }
  state_ = kClientDone;
  return util::Ok{};
}

}  // namespace pgmux::auth
