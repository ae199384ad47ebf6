// Encoders and decoders for the messages pgmux builds or inspects (see messages.hpp).
// Pure and thread-safe: no shared state.
#include "pgmux/protocol/messages.hpp"

#include "pgmux/protocol/framing.hpp"
#include "pgmux/protocol/sqlstate.hpp"
#include "pgmux/util/bytes.hpp"

namespace pgmux::protocol {
namespace {

constexpr int32_t kTextOid = 25;

util::Error malformed(std::string_view what) {
  return util::make_error(std::string(sqlstate::kProtocolViolation),
                          "invalid message format: " + std::string(what));
}

// A message whose body is a single Int32 code followed by `data`.
void write_auth(std::string& out, int32_t code, std::string_view data) {
  util::ByteWriter w(out);
  size_t at = w.begin_message(msg::kAuthentication);
  w.i32(code);
  w.bytes(data);
  w.end_message(at);
}

// A typed message with an empty body (Sync, Terminate, EmptyQueryResponse).
void write_empty(std::string& out, char type) {
  util::ByteWriter w(out);
  w.end_message(w.begin_message(type));
}

void write_error_or_notice(std::string& out, char type, const ErrorFields& f) {
  util::ByteWriter w(out);
  size_t at = w.begin_message(type);
  auto field = [&w](char code, std::string_view value) {
    if (value.empty()) return;
    w.u8(static_cast<uint8_t>(code));
    w.cstring(value);
  };
  field('S', f.severity);
  field('V', f.severity);
  field('C', f.sqlstate);
  field('M', f.message);
  field('D', f.detail);
  field('H', f.hint);
  w.u8(0);
  w.end_message(at);
}

}  // namespace

// ---- backend messages ----

void write_error_response(std::string& out, const ErrorFields& fields) {
  write_error_or_notice(out, msg::kErrorResponse, fields);
}

void write_notice_response(std::string& out, const ErrorFields& fields) {
  write_error_or_notice(out, msg::kNoticeResponse, fields);
}

void write_auth_ok(std::string& out) { write_auth(out, auth_code::kOk, {}); }

void write_auth_cleartext(std::string& out) { write_auth(out, auth_code::kCleartext, {}); }

void write_auth_md5(std::string& out, std::array<uint8_t, 4> salt) {
  write_auth(out, auth_code::kMd5,
             std::string_view(reinterpret_cast<const char*>(salt.data()), salt.size()));
}

void write_auth_sasl(std::string& out, std::span<const std::string_view> mechanisms) {
  util::ByteWriter w(out);
  size_t at = w.begin_message(msg::kAuthentication);
  w.i32(auth_code::kSasl);
  for (std::string_view m : mechanisms) w.cstring(m);
  w.u8(0);
  w.end_message(at);
}

void write_auth_sasl_continue(std::string& out, std::string_view data) {
  write_auth(out, auth_code::kSaslContinue, data);
}

void write_auth_sasl_final(std::string& out, std::string_view data) {
  write_auth(out, auth_code::kSaslFinal, data);
}

void write_parameter_status(std::string& out, std::string_view name, std::string_view value) {
  util::ByteWriter w(out);
  size_t at = w.begin_message(msg::kParameterStatus);
  w.cstring(name);
  w.cstring(value);
  w.end_message(at);
}

void write_backend_key_data(std::string& out, uint32_t pid, uint32_t secret) {
  util::ByteWriter w(out);
  size_t at = w.begin_message(msg::kBackendKeyData);
  w.u32(pid);
  w.u32(secret);
  w.end_message(at);
}

void write_ready_for_query(std::string& out, char status) {
  util::ByteWriter w(out);
  size_t at = w.begin_message(msg::kReadyForQuery);
  w.u8(static_cast<uint8_t>(status));
  w.end_message(at);
}

void write_negotiate_protocol_version(std::string& out, uint32_t newest_minor,
                                      std::span<const std::string> unrecognized_options) {
  util::ByteWriter w(out);
  size_t at = w.begin_message(msg::kNegotiateProtocolVersion);
  w.u32(newest_minor);
  w.u32(static_cast<uint32_t>(unrecognized_options.size()));
  for (const std::string& option : unrecognized_options) w.cstring(option);
  w.end_message(at);
}

void write_command_complete(std::string& out, std::string_view tag) {
  util::ByteWriter w(out);
  size_t at = w.begin_message(msg::kCommandComplete);
  w.cstring(tag);
  w.end_message(at);
}

void write_empty_query_response(std::string& out) { write_empty(out, msg::kEmptyQuery); }

void write_row_description(std::string& out, std::span<const std::string_view> columns) {
  util::ByteWriter w(out);
  size_t at = w.begin_message(msg::kRowDescription);
  w.i16(static_cast<int16_t>(columns.size()));
  for (std::string_view name : columns) {
    w.cstring(name);
    w.i32(0);         // table oid: not a table column
    w.i16(0);         // attribute number
    w.i32(kTextOid);  // type oid
    w.i16(-1);        // type length: variable
    w.i32(-1);        // type modifier
    w.i16(0);         // format: text
  }
  w.end_message(at);
}

void write_data_row(std::string& out, std::span<const std::optional<std::string_view>> values) {
  util::ByteWriter w(out);
  size_t at = w.begin_message(msg::kDataRow);
  w.i16(static_cast<int16_t>(values.size()));
  for (const auto& value : values) {
    if (!value) {
      w.i32(-1);
      continue;
    }
    w.i32(static_cast<int32_t>(value->size()));
    w.bytes(*value);
  }
  w.end_message(at);
}

// ---- frontend messages ----

void write_startup_message(std::string& out,
                           std::span<const std::pair<std::string, std::string>> params) {
  util::ByteWriter w(out);
  size_t at = w.begin_message(0);
  w.u32(kProtocolV3);
  for (const auto& [name, value] : params) {
    w.cstring(name);
    w.cstring(value);
  }
  w.u8(0);
  w.end_message(at);
}

void write_ssl_request(std::string& out) {
  util::ByteWriter w(out);
  size_t at = w.begin_message(0);
  w.u32(kSslRequestCode);
  w.end_message(at);
}

void write_cancel_request(std::string& out, uint32_t pid, uint32_t secret) {
  util::ByteWriter w(out);
  size_t at = w.begin_message(0);
  w.u32(kCancelRequestCode);
  w.u32(pid);
  w.u32(secret);
  w.end_message(at);
}

void write_password_message(std::string& out, std::string_view password) {
  util::ByteWriter w(out);
  size_t at = w.begin_message(msg::kPassword);
  w.cstring(password);
  w.end_message(at);
}

void write_sasl_initial_response(std::string& out, std::string_view mechanism,
                                 std::string_view data) {
  util::ByteWriter w(out);
  size_t at = w.begin_message(msg::kPassword);
  w.cstring(mechanism);
  w.i32(static_cast<int32_t>(data.size()));
  w.bytes(data);
  w.end_message(at);
}

void write_sasl_response(std::string& out, std::string_view data) {
  util::ByteWriter w(out);
  size_t at = w.begin_message(msg::kPassword);
  w.bytes(data);
  w.end_message(at);
}

void write_query(std::string& out, std::string_view sql) {
  util::ByteWriter w(out);
  size_t at = w.begin_message(msg::kQuery);
  w.cstring(sql);
  w.end_message(at);
}

void write_sync(std::string& out) { write_empty(out, msg::kSync); }

void write_terminate(std::string& out) { write_empty(out, msg::kTerminate); }

void write_parse(std::string& out, std::string_view name, std::string_view query,
                 std::string_view param_types) {
  util::ByteWriter w(out);
  size_t at = w.begin_message(msg::kParse);
  w.cstring(name);
  w.cstring(query);
  w.bytes(param_types);
  w.end_message(at);
}

namespace {
void write_target(std::string& out, char type, char kind, std::string_view name) {
  util::ByteWriter w(out);
  size_t at = w.begin_message(type);
  w.u8(static_cast<uint8_t>(kind));
  w.cstring(name);
  w.end_message(at);
}
}  // namespace

void write_close(std::string& out, char kind, std::string_view name) {
  write_target(out, msg::kClose, kind, name);
}

void write_describe(std::string& out, char kind, std::string_view name) {
  write_target(out, msg::kDescribe, kind, name);
}

util::Result<ParseMessage> parse_parse_message(std::string_view body) {
  util::ByteReader r(body);
  ParseMessage m;
  int16_t count = 0;
  if (!r.read_cstring(m.name) || !r.read_cstring(m.query)) return malformed("Parse");
  std::string_view types = r.rest();
  if (!r.read_i16(count) || count < 0 || r.remaining() != size_t(count) * 4) {
    return malformed("Parse parameter types");
  }
  m.param_types = types;
  return m;
}

util::Result<BindPrefix> parse_bind_prefix(std::string_view body_start) {
  util::ByteReader r(body_start);
  BindPrefix b;
  if (!r.read_cstring(b.portal) || !r.read_cstring(b.statement)) {
    return util::make_error("more", "Bind names incomplete");
  }
  b.prefix_size = body_start.size() - r.remaining();
  return b;
}

util::Result<std::vector<std::optional<std::string_view>>> parse_data_row(std::string_view body) {
  util::ByteReader r(body);
  int16_t count = 0;
  if (!r.read_i16(count) || count < 0) return malformed("DataRow");
  std::vector<std::optional<std::string_view>> values;
  values.reserve(static_cast<size_t>(count));
  for (int16_t i = 0; i < count; ++i) {
    int32_t len = 0;
    if (!r.read_i32(len) || len < -1) return malformed("DataRow");
    if (len == -1) {
      values.emplace_back(std::nullopt);
      continue;
    }
    std::string_view v;
    if (!r.read_bytes(static_cast<size_t>(len), v)) return malformed("DataRow");
    values.emplace_back(v);
  }
  if (!r.empty()) return malformed("DataRow");
  return values;
}

util::Result<TargetMessage> parse_target_message(std::string_view body) {
  util::ByteReader r(body);
  TargetMessage t;
  uint8_t kind = 0;
  if (!r.read_u8(kind) || !r.read_cstring(t.name) || !r.empty() || (kind != 'S' && kind != 'P')) {
    return malformed("Close/Describe");
  }
  t.kind = static_cast<char>(kind);
  return t;
}

// ---- decoders ----

util::Result<AuthRequest> parse_auth_request(std::string_view body) {
  util::ByteReader r(body);
  AuthRequest req;
  if (!r.read_i32(req.code)) return malformed("authentication request shorter than its code");
  req.data = r.rest();
  if (req.code == auth_code::kMd5 && req.data.size() != 4) {
    return malformed("MD5 authentication request without a 4-byte salt");
  }
  return req;
}

util::Result<std::vector<std::string_view>> parse_sasl_mechanisms(std::string_view data) {
  util::ByteReader r(data);
  std::vector<std::string_view> mechanisms;
  while (true) {
    std::string_view name;
    if (!r.read_cstring(name)) return malformed("SASL mechanism list not terminated");
    if (name.empty()) break;
    mechanisms.push_back(name);
  }
  if (!r.empty()) return malformed("data after the SASL mechanism list");
  return mechanisms;
}

util::Result<std::vector<std::pair<char, std::string_view>>> parse_error_fields(
    std::string_view body) {
  util::ByteReader r(body);
  std::vector<std::pair<char, std::string_view>> fields;
  while (true) {
    uint8_t code;
    if (!r.read_u8(code)) return malformed("error fields not terminated");
    if (code == 0) break;
    std::string_view value;
    if (!r.read_cstring(value)) return malformed("error field value not terminated");
    fields.emplace_back(static_cast<char>(code), value);
  }
  if (!r.empty()) return malformed("data after the error fields");
  return fields;
}

util::Result<ErrorFields> parse_error_response(std::string_view body) {
  auto fields = parse_error_fields(body);
  if (!fields.ok()) return fields.error();
  ErrorFields out;
  out.severity.clear();
  bool have_v = false;
  for (const auto& [code, value] : *fields) {
    switch (code) {
      case 'V':
        out.severity = value;
        have_v = true;
        break;
      case 'S':
        if (!have_v) out.severity = value;
        break;
      case 'C':
        out.sqlstate = value;
        break;
      case 'M':
        out.message = value;
        break;
      case 'D':
        out.detail = value;
        break;
      case 'H':
        out.hint = value;
        break;
      default:
        break;
    }
  }
  return out;
}

util::Result<ParameterStatus> parse_parameter_status(std::string_view body) {
  util::ByteReader r(body);
  ParameterStatus ps;
  if (!r.read_cstring(ps.name)) return malformed("ParameterStatus name not terminated");
  if (!r.read_cstring(ps.value)) return malformed("ParameterStatus value not terminated");
  if (!r.empty()) return malformed("data after ParameterStatus value");
  return ps;
}

util::Result<BackendKeyData> parse_backend_key_data(std::string_view body) {
  util::ByteReader r(body);
  BackendKeyData key;
  if (!r.read_u32(key.pid) || !r.read_u32(key.secret) || !r.empty()) {
    return malformed("BackendKeyData is not 8 bytes long");
  }
  return key;
}

util::Result<SaslInitialResponse> parse_sasl_initial_response(std::string_view body) {
  util::ByteReader r(body);
  SaslInitialResponse resp;
  if (!r.read_cstring(resp.mechanism)) return malformed("SASL mechanism name not terminated");
  int32_t length;
  if (!r.read_i32(length)) return malformed("SASLInitialResponse without data length");
  if (length < -1) return malformed("negative SASLInitialResponse data length");
  if (length >= 0 && !r.read_bytes(static_cast<size_t>(length), resp.data)) {
    return malformed("SASLInitialResponse data shorter than its length");
  }
  if (!r.empty()) return malformed("data after SASLInitialResponse");
  return resp;
}

util::Result<std::string_view> parse_password_message(std::string_view body) {
  util::ByteReader r(body);
  std::string_view password;
  if (!r.read_cstring(password)) return malformed("password not terminated");
  if (!r.empty()) return malformed("invalid password packet size");
  return password;
}

}  // namespace pgmux::protocol
