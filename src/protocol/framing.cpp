// Framing of typed messages and startup-phase packets (see framing.hpp). Pure and
// thread-safe: no shared state. Nothing here allocates except to word an error.
#include "pgmux/protocol/framing.hpp"

#include <string>

#include "pgmux/protocol/sqlstate.hpp"
#include "pgmux/util/bytes.hpp"

namespace pgmux::protocol {
namespace {

constexpr uint32_t kMinMessageLength = 4;  // the length field counts itself
constexpr uint32_t kMinStartupLength = 8;  // length + code
constexpr uint32_t kSpecialRequestLength = 8;
constexpr uint32_t kCancelRequestLength = 16;

util::Error protocol_violation(std::string message) {
  return util::make_error(std::string(sqlstate::kProtocolViolation), std::move(message));
}

// Walks name\0value\0 ... \0 the way PostgreSQL's ProcessStartupPacket does: the list
// must end with a lone NUL that is the packet's last byte.
util::Status parse_startup_params(std::string_view body, StartupPacket& packet) {
  auto bad_layout = [] {
    return protocol_violation("invalid startup packet layout: expected terminator as last byte");
  };
  util::ByteReader reader(body);
  while (true) {
    std::string_view name;
    if (!reader.read_cstring(name)) return bad_layout();
    if (name.empty()) break;  // the terminator
    std::string_view value;
    // A value that is the final NUL means the name had no value of its own.
    if (!reader.read_cstring(value) || reader.empty()) return bad_layout();
    packet.params.emplace_back(std::string(name), std::string(value));
  }
  if (!reader.empty()) return bad_layout();
  return util::Ok{};
}

util::Result<StartupPacket> parse_special_request(StartupKind kind, std::string_view packet) {
  StartupPacket out;
  out.kind = kind;
  uint32_t expected =
      kind == StartupKind::kCancelRequest ? kCancelRequestLength : kSpecialRequestLength;
  if (packet.size() != expected) {
    return protocol_violation(kind == StartupKind::kCancelRequest
                                  ? "invalid length of cancel request packet"
                                  : "invalid length of encryption request packet");
  }
  if (kind == StartupKind::kCancelRequest) {
    out.cancel_pid = util::load_be32(packet.data() + 8);
    out.cancel_secret = util::load_be32(packet.data() + 12);
  }
  return out;
}

}  // namespace

std::string Header::error() const {
  if (status != FrameStatus::kError) return {};
  if (startup) return "invalid length of startup packet";
  if (length < kMinMessageLength) return "invalid message length " + std::to_string(length);
  return "message length " + std::to_string(length) + " exceeds the maximum of " +
         std::to_string(max_length);
}

Header frame_message(std::string_view buf, uint32_t max_length) {
  Header h = parse_header(buf, max_length);
  if (h.status == FrameStatus::kFrame && buf.size() < h.wire_size()) {
    h.status = FrameStatus::kNeedMore;
  }
  return h;
}

Header frame_startup(std::string_view buf, uint32_t max_length) {
  if (buf.size() < 4) return Header{};
  uint32_t length = util::load_be32(buf.data());
  if (length < kMinStartupLength || length > max_length) {
    Header h = bad_length_header(length, max_length);
    h.startup = true;
    return h;
  }
  Header h;
  h.length = length;
  h.status = buf.size() < length ? FrameStatus::kNeedMore : FrameStatus::kFrame;
  return h;
}

const std::string* StartupPacket::find(std::string_view name) const {
  for (const auto& [key, value] : params) {
    if (key == name) return &value;
  }
  return nullptr;
}

util::Result<StartupPacket> parse_startup(std::string_view packet) {
  if (packet.size() < kMinStartupLength || util::load_be32(packet.data()) != packet.size()) {
    return protocol_violation("invalid length of startup packet");
  }
  uint32_t code = util::load_be32(packet.data() + 4);
  switch (code) {
    case kSslRequestCode:
      return parse_special_request(StartupKind::kSslRequest, packet);
    case kGssEncRequestCode:
      return parse_special_request(StartupKind::kGssEncRequest, packet);
    case kCancelRequestCode:
      return parse_special_request(StartupKind::kCancelRequest, packet);
    default:
      break;
  }
  StartupPacket out;
  out.major = static_cast<uint16_t>(code >> 16);
  out.minor = static_cast<uint16_t>(code & 0xFFFF);
  if (out.major != 3) {
    // PostgreSQL reports this one as feature_not_supported, not protocol_violation.
    return util::make_error(std::string(sqlstate::kFeatureNotSupported),
                            "unsupported frontend protocol " + std::to_string(out.major) + "." +
                                std::to_string(out.minor) + ": server supports 3.0 to 3.0");
  }
  util::Status params = parse_startup_params(packet.substr(kMinStartupLength), out);
  if (!params.ok()) return params.error();
  return out;
}

}  // namespace pgmux::protocol
