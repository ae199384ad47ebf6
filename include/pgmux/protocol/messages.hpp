// Encoders and decoders for the messages pgmux builds or inspects itself. Pure; every
// function is thread-safe. Encoders append one whole message to `out`. Decoders take a
// message body (the bytes after the Int32 length) and never trust it.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pgmux/util/result.hpp"

namespace pgmux::protocol {

// Fields of an ErrorResponse / NoticeResponse (PostgreSQL "Error and Notice Message
// Fields"). Empty strings are not sent.
struct ErrorFields {
  std::string severity = "ERROR";  // 'S' and 'V': ERROR, FATAL, PANIC, WARNING, NOTICE...
  std::string sqlstate;            // 'C'
  std::string message;             // 'M'
  std::string detail;              // 'D'
  std::string hint;                // 'H'
};

// ---- backend messages (pgmux acting as the server) ----
void write_error_response(std::string& out, const ErrorFields& fields);
void write_notice_response(std::string& out, const ErrorFields& fields);
void write_auth_ok(std::string& out);
void write_auth_cleartext(std::string& out);
void write_auth_md5(std::string& out, std::array<uint8_t, 4> salt);
void write_auth_sasl(std::string& out, std::span<const std::string_view> mechanisms);
void write_auth_sasl_continue(std::string& out, std::string_view data);
void write_auth_sasl_final(std::string& out, std::string_view data);
void write_parameter_status(std::string& out, std::string_view name, std::string_view value);
void write_backend_key_data(std::string& out, uint32_t pid, uint32_t secret);
void write_ready_for_query(std::string& out, char status);  // 'I', 'T' or 'E'
void write_negotiate_protocol_version(std::string& out, uint32_t newest_minor,
                                      std::span<const std::string> unrecognized_options);
void write_command_complete(std::string& out, std::string_view tag);
void write_empty_query_response(std::string& out);
// RowDescription with every column of type text (oid 25), format text.
void write_row_description(std::string& out, std::span<const std::string_view> columns);
// DataRow; std::nullopt is SQL NULL.
void write_data_row(std::string& out, std::span<const std::optional<std::string_view>> values);

// ---- frontend messages (pgmux acting as a client of PostgreSQL) ----
// StartupMessage for protocol 3.0 with the given parameters (user, database, ...).
void write_startup_message(std::string& out,
                           std::span<const std::pair<std::string, std::string>> params);
void write_ssl_request(std::string& out);
void write_cancel_request(std::string& out, uint32_t pid, uint32_t secret);
void write_password_message(std::string& out, std::string_view password);
void write_sasl_initial_response(std::string& out, std::string_view mechanism,
                                 std::string_view data);
void write_sasl_response(std::string& out, std::string_view data);
void write_query(std::string& out, std::string_view sql);
void write_sync(std::string& out);
void write_terminate(std::string& out);
// Parse: statement name, query text, and the parameter type section exactly as it was
// received (Int16 count + Int32 oids), so a renamed Parse keeps the client's bytes.
void write_parse(std::string& out, std::string_view name, std::string_view query,
                 std::string_view param_types);
// Close or Describe ('S' statement / 'P' portal) of `name`.
void write_close(std::string& out, char kind, std::string_view name);
void write_describe(std::string& out, char kind, std::string_view name);

// ---- decoders (argument: the message body, after type and length) ----

// Authentication request codes (the Int32 after 'R').
namespace auth_code {
inline constexpr int32_t kOk = 0;
inline constexpr int32_t kCleartext = 3;
inline constexpr int32_t kMd5 = 5;
inline constexpr int32_t kSasl = 10;
inline constexpr int32_t kSaslContinue = 11;
inline constexpr int32_t kSaslFinal = 12;
}  // namespace auth_code

// Authentication request ('R'): code (0 ok, 3 cleartext, 5 md5, 10 SASL, 11 SASL
// continue, 12 SASL final, ...) and what follows it (md5 salt, mechanism list, SASL data).
struct AuthRequest {
  int32_t code = 0;
  std::string_view data;
};
util::Result<AuthRequest> parse_auth_request(std::string_view body);
// The NUL-separated mechanism list of an AuthenticationSASL request's data.
util::Result<std::vector<std::string_view>> parse_sasl_mechanisms(std::string_view data);

// ErrorResponse / NoticeResponse body -> (field code, value) pairs in wire order.
util::Result<std::vector<std::pair<char, std::string_view>>> parse_error_fields(
    std::string_view body);
// Convenience: the ErrorFields of an ErrorResponse body (unknown fields ignored).
util::Result<ErrorFields> parse_error_response(std::string_view body);

struct ParameterStatus {
  std::string_view name;
  std::string_view value;
};
util::Result<ParameterStatus> parse_parameter_status(std::string_view body);

struct BackendKeyData {
  uint32_t pid = 0;
  uint32_t secret = 0;
};
util::Result<BackendKeyData> parse_backend_key_data(std::string_view body);

// Client 'p' message bodies, which only the auth state tells apart.
struct SaslInitialResponse {
  std::string_view mechanism;
  std::string_view data;  // empty when the client sent length -1
};
util::Result<SaslInitialResponse> parse_sasl_initial_response(std::string_view body);
// PasswordMessage: the NUL-terminated password (or md5 response) string.
util::Result<std::string_view> parse_password_message(std::string_view body);

// Parse ('P') body.
struct ParseMessage {
  std::string_view name;
  std::string_view query;
  std::string_view param_types;  // Int16 count + count * Int32, as on the wire
};
util::Result<ParseMessage> parse_parse_message(std::string_view body);

// The start of a Bind ('B') body: portal and statement names. `prefix_size` is how
// many body bytes they take (the rest: formats, parameters, result formats). Needs
// only the prefix: kNeedMore-style callers pass what they have and get an error with
// code "more" until both names are complete.
struct BindPrefix {
  std::string_view portal;
  std::string_view statement;
  size_t prefix_size = 0;
};
util::Result<BindPrefix> parse_bind_prefix(std::string_view body_start);

// DataRow ('D', backend) body: column values, std::nullopt for NULL.
util::Result<std::vector<std::optional<std::string_view>>> parse_data_row(std::string_view body);

// Close ('C') / Describe ('D') body: kind ('S' or 'P') and name.
struct TargetMessage {
  char kind = 0;
  std::string_view name;
};
util::Result<TargetMessage> parse_target_message(std::string_view body);

}  // namespace pgmux::protocol
