// Tests for typed-message and startup-packet framing: one test per malformed input.
// Single-threaded.
#include "pgmux/protocol/framing.hpp"

#include <cstdlib>
#include <new>
#include <string>

#include <gtest/gtest.h>

#include "pgmux/util/bytes.hpp"

// Counts heap allocations so the tests can check that framing does not allocate.
#include "../alloc_counter.hpp"

namespace pgmux::protocol {
namespace {

constexpr uint32_t kCap = 1 << 20;

// Type byte + length field holding `length`, then `body`.
std::string typed(char type, uint32_t length, std::string_view body = {}) {
  std::string out(1, type);
  char b[4];
  util::store_be32(b, length);
  out.append(b, 4);
  out.append(body);
  return out;
}

// An untyped packet whose length field is `length` and which carries `code` + `body`.
std::string untyped(uint32_t length, uint32_t code, std::string_view body = {}) {
  std::string out(8, '\0');
  util::store_be32(out.data(), length);
  util::store_be32(out.data() + 4, code);
  out.append(body);
  return out;
}

// A well-formed packet with a correct length field.
std::string packet(uint32_t code, std::string_view body = {}) {
  return untyped(static_cast<uint32_t>(8 + body.size()), code, body);
}

using namespace std::string_literals;

// ---- parse_header / frame_message ----

TEST(ParseHeader, EmptyBufferNeedsMore) {
  EXPECT_EQ(parse_header("", kCap).status, FrameStatus::kNeedMore);
}

TEST(ParseHeader, FourBytesNeedMore) {
  std::string buf = typed('Q', 10).substr(0, 4);
  EXPECT_EQ(parse_header(buf, kCap).status, FrameStatus::kNeedMore);
}

TEST(ParseHeader, LengthBelowFour) {
  Header h = parse_header(typed('Q', 3), kCap);
  EXPECT_EQ(h.status, FrameStatus::kError);
  EXPECT_NE(h.error().find("invalid message length"), std::string::npos) << h.error();
}

TEST(ParseHeader, LengthZero) {
  EXPECT_EQ(parse_header(typed('Q', 0), kCap).status, FrameStatus::kError);
}

TEST(ParseHeader, LengthOverCap) {
  Header h = parse_header(typed('D', 1001), 1000);
  EXPECT_EQ(h.status, FrameStatus::kError);
  EXPECT_NE(h.error().find("1001"), std::string::npos) << h.error();
  EXPECT_NE(h.error().find("1000"), std::string::npos) << h.error();
}

TEST(ParseHeader, LengthAtCapAccepted) {
  Header h = parse_header(typed('D', 1000), 1000);
  EXPECT_EQ(h.status, FrameStatus::kFrame);
  EXPECT_EQ(h.length, 1000u);
}

TEST(ParseHeader, MaxUint32LengthRejected) {
  EXPECT_EQ(parse_header(typed('D', 0xFFFFFFFFu), kCap).status, FrameStatus::kError);
}

TEST(ParseHeader, HeaderOnlyIsEnoughForParseHeader) {
  Header h = parse_header(typed('D', 100), kCap);
  EXPECT_EQ(h.status, FrameStatus::kFrame);
  EXPECT_EQ(h.type, 'D');
  EXPECT_EQ(h.length, 100u);
  EXPECT_EQ(h.wire_size(), 101u);
  EXPECT_TRUE(h.error().empty());
}

TEST(FrameMessage, TruncatedMessage) {
  std::string whole = typed('Q', 4 + 9, "SELECT 1"s + '\0');
  for (size_t n = 0; n < whole.size(); ++n) {
    EXPECT_EQ(frame_message(std::string_view(whole).substr(0, n), kCap).status,
              FrameStatus::kNeedMore)
        << "prefix of " << n << " bytes";
  }
}

TEST(FrameMessage, WholeMessageFramed) {
  std::string whole = typed('Q', 4 + 9, "SELECT 1"s + '\0');
  Header h = frame_message(whole + "trailing", kCap);
  EXPECT_EQ(h.status, FrameStatus::kFrame);
  EXPECT_EQ(h.type, 'Q');
  EXPECT_EQ(h.wire_size(), whole.size());
}

TEST(FrameMessage, EmptyBodyFramed) {
  Header h = frame_message(typed('S', 4), kCap);
  EXPECT_EQ(h.status, FrameStatus::kFrame);
  EXPECT_EQ(h.wire_size(), 5u);
}

TEST(FrameMessage, LengthBelowFourIsErrorNotNeedMore) {
  EXPECT_EQ(frame_message(typed('Q', 2), kCap).status, FrameStatus::kError);
}

TEST(FrameMessage, LengthOverCapIsErrorBeforeBodyArrives) {
  EXPECT_EQ(frame_message(typed('Q', 5000), 4096).status, FrameStatus::kError);
}

// ---- frame_startup ----

TEST(FrameStartup, ThreeBytesNeedMore) {
  EXPECT_EQ(frame_startup(std::string(3, '\0')).status, FrameStatus::kNeedMore);
}

TEST(FrameStartup, StartupLengthBelowEight) {
  Header h = frame_startup(untyped(7, kProtocolV3));
  EXPECT_EQ(h.status, FrameStatus::kError);
  EXPECT_EQ(h.error(), "invalid length of startup packet");
}

TEST(FrameStartup, StartupLengthZero) {
  EXPECT_EQ(frame_startup(std::string(4, '\0')).status, FrameStatus::kError);
}

TEST(FrameStartup, StartupOverCap) {
  Header h = frame_startup(untyped(10001, kProtocolV3));
  EXPECT_EQ(h.status, FrameStatus::kError);
  EXPECT_EQ(h.error(), "invalid length of startup packet");
  EXPECT_EQ(kMaxStartupPacketLength, 10000u);
}

TEST(FrameStartup, AtCapNeedsMoreNotError) {
  EXPECT_EQ(frame_startup(untyped(10000, kProtocolV3)).status, FrameStatus::kNeedMore);
}

TEST(FrameStartup, CustomCapHonoured) {
  EXPECT_EQ(frame_startup(untyped(100, kProtocolV3), 99).status, FrameStatus::kError);
}

TEST(FrameStartup, TruncatedStartup) {
  std::string whole = packet(kProtocolV3, "user\0bob\0\0"s);
  for (size_t n = 0; n < whole.size(); ++n) {
    EXPECT_EQ(frame_startup(std::string_view(whole).substr(0, n)).status, FrameStatus::kNeedMore)
        << "prefix of " << n << " bytes";
  }
}

TEST(FrameStartup, WholePacketFramed) {
  std::string whole = packet(kProtocolV3, "user\0bob\0\0"s);
  Header h = frame_startup(whole + "more");
  EXPECT_EQ(h.status, FrameStatus::kFrame);
  EXPECT_EQ(h.type, 0);
  EXPECT_EQ(h.length, whole.size());
}

TEST(Framing, NoAllocationOnSuccessOrNeedMore) {
  const std::string message = typed('D', 4 + 3, "abc");
  const std::string startup = packet(kProtocolV3, "user\0bob\0\0"s);
  size_t before = g_allocations;
  for (size_t n = 0; n <= message.size(); ++n) {
    std::string_view prefix = std::string_view(message).substr(0, n);
    EXPECT_NE(parse_header(prefix, kCap).status, FrameStatus::kError);
    EXPECT_NE(frame_message(prefix, kCap).status, FrameStatus::kError);
  }
  for (size_t n = 0; n <= startup.size(); ++n) {
    EXPECT_NE(frame_startup(std::string_view(startup).substr(0, n)).status, FrameStatus::kError);
  }
  EXPECT_EQ(g_allocations, before);
  // Nor does finding an error: only wording it allocates (which also shows the counter
  // works).
  Header error = parse_header(typed('D', 1u << 30), kCap);
  EXPECT_EQ(error.status, FrameStatus::kError);
  EXPECT_EQ(g_allocations, before);
  EXPECT_NE(error.error().find("exceeds the maximum"), std::string::npos);
  EXPECT_GT(g_allocations, before);
}

// ---- parse_startup ----

TEST(ParseStartup, StartupWithParams) {
  auto r = parse_startup(packet(kProtocolV3, "user\0bob\0database\0app\0\0"s));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->kind, StartupKind::kStartup);
  EXPECT_EQ(r->major, 3);
  EXPECT_EQ(r->minor, 0);
  ASSERT_EQ(r->params.size(), 2u);
  EXPECT_EQ(r->params[0].first, "user");
  EXPECT_EQ(r->params[1].second, "app");
  ASSERT_NE(r->find("database"), nullptr);
  EXPECT_EQ(*r->find("database"), "app");
  EXPECT_EQ(r->find("options"), nullptr);
}

TEST(ParseStartup, EmptyValueAccepted) {
  auto r = parse_startup(packet(kProtocolV3, "user\0bob\0options\0\0\0"s));
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_NE(r->find("options"), nullptr);
  EXPECT_EQ(*r->find("options"), "");
}

TEST(ParseStartup, TerminatorOnlyAccepted) {
  auto r = parse_startup(packet(kProtocolV3, "\0"s));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->params.empty());
}

TEST(ParseStartup, Protocol3_2Accepted) {
  auto r = parse_startup(packet((3u << 16) | 2u, "user\0bob\0\0"s));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->kind, StartupKind::kStartup);
  EXPECT_EQ(r->major, 3);
  EXPECT_EQ(r->minor, 2);
}

TEST(ParseStartup, UnsupportedProtocolVersion2) {
  auto r = parse_startup(packet(2u << 16, "user\0bob\0\0"s));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "unsupported frontend protocol 2.0: server supports 3.0 to 3.0");
  EXPECT_EQ(r.error().code, "0A000");
}

TEST(ParseStartup, UnsupportedProtocolVersion4) {
  auto r = parse_startup(packet((4u << 16) | 1u, "\0"s));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "unsupported frontend protocol 4.1: server supports 3.0 to 3.0");
}

TEST(ParseStartup, UnknownStartupCode) {
  // 1234.5681: in the special-request range but not a request PostgreSQL knows.
  auto r = parse_startup(packet((1234u << 16) | 5681u));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "unsupported frontend protocol 1234.5681: server supports 3.0 to 3.0");
}

TEST(ParseStartup, MissingNulInStartupParams) {
  auto r = parse_startup(packet(kProtocolV3, "user\0bob"s));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "08P01");
  EXPECT_EQ(r.error().message, "invalid startup packet layout: expected terminator as last byte");
}

TEST(ParseStartup, MissingFinalTerminator) {
  auto r = parse_startup(packet(kProtocolV3, "user\0bob\0"s));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "invalid startup packet layout: expected terminator as last byte");
}

TEST(ParseStartup, EmptyParamList) {
  auto r = parse_startup(packet(kProtocolV3));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "08P01");
}

TEST(ParseStartup, NameWithoutValue) {
  auto r = parse_startup(packet(kProtocolV3, "user\0bob\0database\0"s));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "08P01");
  EXPECT_EQ(r.error().message, "invalid startup packet layout: expected terminator as last byte");
}

TEST(ParseStartup, NameWhoseValueIsTheTerminator) {
  auto r = parse_startup(packet(kProtocolV3, "user\0bob\0database\0\0"s));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "08P01");
}

TEST(ParseStartup, BytesAfterTerminator) {
  auto r = parse_startup(packet(kProtocolV3, "user\0bob\0\0x"s));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "08P01");
}

TEST(ParseStartup, LengthFieldDisagreesWithPacket) {
  std::string p = untyped(20, kProtocolV3, "user\0bob\0\0"s);  // really 18 bytes
  auto r = parse_startup(p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "08P01");
}

TEST(ParseStartup, ShorterThanEightBytes) {
  auto r = parse_startup(std::string_view("\0\0\0\x04", 4));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "08P01");
}

TEST(ParseStartup, SslRequestRecognized) {
  auto r = parse_startup(packet(kSslRequestCode));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->kind, StartupKind::kSslRequest);
}

TEST(ParseStartup, SslRequestWrongLength) {
  auto r = parse_startup(packet(kSslRequestCode, "xxxx"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "08P01");
}

TEST(ParseStartup, GssEncRequestRecognized) {
  auto r = parse_startup(packet(kGssEncRequestCode));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->kind, StartupKind::kGssEncRequest);
}

TEST(ParseStartup, GssEncRequestWrongLength) {
  EXPECT_FALSE(parse_startup(packet(kGssEncRequestCode, "\0"s)).ok());
}

TEST(ParseStartup, CancelRequestParsed) {
  std::string body(8, '\0');
  util::store_be32(body.data(), 4242);
  util::store_be32(body.data() + 4, 0xDEADBEEF);
  auto r = parse_startup(packet(kCancelRequestCode, body));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->kind, StartupKind::kCancelRequest);
  EXPECT_EQ(r->cancel_pid, 4242u);
  EXPECT_EQ(r->cancel_secret, 0xDEADBEEFu);
}

TEST(ParseStartup, CancelRequestWrongLength) {
  auto short_one = parse_startup(packet(kCancelRequestCode, std::string(4, '\0')));
  ASSERT_FALSE(short_one.ok());
  EXPECT_EQ(short_one.error().code, "08P01");
  auto long_one = parse_startup(packet(kCancelRequestCode, std::string(12, '\0')));
  ASSERT_FALSE(long_one.ok());
  EXPECT_EQ(long_one.error().code, "08P01");
}

TEST(ParseStartup, FramedThenParsed) {
  std::string whole = packet(kProtocolV3, "user\0alice\0\0"s);
  std::string stream = whole + "Q...";
  Header h = frame_startup(stream);
  ASSERT_EQ(h.status, FrameStatus::kFrame);
  auto r = parse_startup(std::string_view(stream).substr(0, h.length));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r->find("user"), "alice");
}

}  // namespace
}  // namespace pgmux::protocol
