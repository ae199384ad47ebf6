// Message framing for the PostgreSQL v3 protocol. Pure: looks at bytes, never touches
// a socket. Every function is reentrant and thread-safe (no shared state).
//
// Two shapes exist on the wire:
//  - typed messages: 1 type byte, Int32 length (counting itself, not the type), body;
//  - the untyped startup-phase packets (StartupMessage, SSLRequest, GSSENCRequest,
//    CancelRequest): Int32 length (counting itself), Int32 code, body.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pgmux/util/bytes.hpp"
#include "pgmux/util/result.hpp"

namespace pgmux::protocol {

// The startup packet cap PostgreSQL itself uses (MAX_STARTUP_PACKET_LENGTH).
inline constexpr uint32_t kMaxStartupPacketLength = 10000;
inline constexpr size_t kHeaderSize = 5;  // type byte + Int32 length

// Protocol codes carried in the startup packet's code field.
inline constexpr uint32_t kProtocolV3 = 196608;            // 3.0
inline constexpr uint32_t kSslRequestCode = 80877103;
inline constexpr uint32_t kGssEncRequestCode = 80877104;
inline constexpr uint32_t kCancelRequestCode = 80877102;

enum class FrameStatus {
  kNeedMore,  // not enough bytes yet; read more and call again
  kFrame,     // `header` / `length` are valid
  kError,     // malformed; `error` says why (SQLSTATE 08P01 to the client)
};

// Result of looking at a typed message header. Trivially copyable (it is made for
// every message): a malformed one keeps what words the error, not the words.
struct Header {
  FrameStatus status = FrameStatus::kNeedMore;
  char type = 0;
  bool startup = false;     // kError: a startup-phase packet's length was bad
  uint32_t length = 0;      // value of the length field: body size + 4
  uint32_t max_length = 0;  // kError: the limit `length` was checked against

  // Total bytes of the message on the wire (type byte included).
  size_t wire_size() const { return size_t{length} + 1; }
  // Why the frame is malformed (for the 08P01 sent back); empty unless kError.
  std::string error() const;
};

// The kError Header for a length field below 4 or above `max_length`.
inline Header bad_length_header(uint32_t length, uint32_t max_length) {
  Header h;
  h.status = FrameStatus::kError;
  h.length = length;
  h.max_length = max_length;
  return h;
}

// Parses the 5-byte header at the start of `buf`. kFrame as soon as the header is
// present (the body may still be incomplete: callers stream it). kError when the
// length is below 4 or above `max_length`. Inline: called for every message.
inline Header parse_header(std::string_view buf, uint32_t max_length) {
  Header h;
  if (buf.size() < kHeaderSize) return h;
  const uint32_t length = util::load_be32(buf.data() + 1);
  if (length < 4 || length > max_length) [[unlikely]] {
    return bad_length_header(length, max_length);
  }
  h.status = FrameStatus::kFrame;
  h.type = buf[0];
  h.length = length;
  return h;
}

// Like parse_header, but kFrame only once the whole message is in `buf`.
Header frame_message(std::string_view buf, uint32_t max_length);

// Frames an untyped startup-phase packet at the start of `buf`: kNeedMore until the
// whole packet (its own length) is present; kError when the length is below 8 or above
// `max_length`. On kFrame, `length` is the packet's total size and `type` is 0.
Header frame_startup(std::string_view buf, uint32_t max_length = kMaxStartupPacketLength);

enum class StartupKind { kStartup, kSslRequest, kGssEncRequest, kCancelRequest };

struct StartupPacket {
  StartupKind kind = StartupKind::kStartup;
  uint16_t major = 0;  // for kStartup: the requested protocol version
  uint16_t minor = 0;
  // For kStartup: name/value pairs in wire order (user, database, options, GUCs...).
  std::vector<std::pair<std::string, std::string>> params;
  // For kCancelRequest.
  uint32_t cancel_pid = 0;
  uint32_t cancel_secret = 0;

  // Value of a parameter, or nullptr.
  const std::string* find(std::string_view name) const;
};

// Decodes a whole startup-phase packet (as framed by frame_startup, length included).
// Errors (code 08P01) with PostgreSQL's wording: unsupported protocol major version
// ("unsupported frontend protocol 2.0: server supports 3.0 to 3.0"), unknown code,
// a parameter list not ending in NUL ("invalid startup packet layout: expected
// terminator as last byte"), a name without value, a CancelRequest not 16 bytes long.
// Protocol 3.x with x > 0 is accepted; the caller negotiates down.
util::Result<StartupPacket> parse_startup(std::string_view packet);

// Message type bytes.
namespace msg {
// Frontend (client -> server).
inline constexpr char kQuery = 'Q';
inline constexpr char kParse = 'P';
inline constexpr char kBind = 'B';
inline constexpr char kDescribe = 'D';
inline constexpr char kExecute = 'E';
inline constexpr char kClose = 'C';
inline constexpr char kSync = 'S';
inline constexpr char kFlush = 'H';
inline constexpr char kFunctionCall = 'F';
inline constexpr char kTerminate = 'X';
inline constexpr char kPassword = 'p';  // PasswordMessage, SASLInitialResponse, SASLResponse
inline constexpr char kCopyData = 'd';
inline constexpr char kCopyDone = 'c';
inline constexpr char kCopyFail = 'f';
// Backend (server -> client).
inline constexpr char kAuthentication = 'R';
inline constexpr char kParameterStatus = 'S';
inline constexpr char kBackendKeyData = 'K';
inline constexpr char kReadyForQuery = 'Z';
inline constexpr char kErrorResponse = 'E';
inline constexpr char kNoticeResponse = 'N';
inline constexpr char kNotification = 'A';
inline constexpr char kCommandComplete = 'C';
inline constexpr char kRowDescription = 'T';
inline constexpr char kDataRow = 'D';
inline constexpr char kEmptyQuery = 'I';
inline constexpr char kParseComplete = '1';
inline constexpr char kBindComplete = '2';
inline constexpr char kCloseComplete = '3';
inline constexpr char kNoData = 'n';
inline constexpr char kPortalSuspended = 's';
inline constexpr char kParameterDescription = 't';
inline constexpr char kCopyInResponse = 'G';
inline constexpr char kCopyOutResponse = 'H';
inline constexpr char kCopyBothResponse = 'W';
inline constexpr char kNegotiateProtocolVersion = 'v';
}  // namespace msg

}  // namespace pgmux::protocol
