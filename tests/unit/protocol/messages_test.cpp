// Tests for message encoders (round trips through framing and the decoders) and for
// every decoder on malformed bodies. Single-threaded.
#include "pgmux/protocol/messages.hpp"

#include <string>

#include <gtest/gtest.h>

#include "pgmux/protocol/framing.hpp"
#include "pgmux/util/bytes.hpp"

namespace pgmux::protocol {
namespace {

using namespace std::string_literals;

constexpr uint32_t kCap = 1 << 20;

struct Framed {
  char type;
  std::string_view body;
};

// Frames exactly one typed message that fills `wire`, or fails the test.
Framed frame_one(std::string_view wire) {
  Header h = frame_message(wire, kCap);
  EXPECT_EQ(h.status, FrameStatus::kFrame) << h.error();
  EXPECT_EQ(h.wire_size(), wire.size()) << "encoder wrote more or less than one message";
  if (h.status != FrameStatus::kFrame) return {0, {}};
  return {h.type, wire.substr(kHeaderSize, h.length - 4)};
}

// ---- backend encoders ----

TEST(Encode, ErrorResponseRoundTrip) {
  ErrorFields in{"FATAL", "28P01", "password authentication failed for user \"bob\"", "d", "h"};
  std::string out;
  write_error_response(out, in);
  Framed f = frame_one(out);
  EXPECT_EQ(f.type, 'E');
  auto fields = parse_error_fields(f.body);
  ASSERT_TRUE(fields.ok()) << fields.error().message;
  ASSERT_EQ(fields->size(), 6u);
  EXPECT_EQ((*fields)[0], std::make_pair('S', std::string_view("FATAL")));
  EXPECT_EQ((*fields)[1], std::make_pair('V', std::string_view("FATAL")));
  EXPECT_EQ((*fields)[2].first, 'C');
  auto parsed = parse_error_response(f.body);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->severity, "FATAL");
  EXPECT_EQ(parsed->sqlstate, "28P01");
  EXPECT_EQ(parsed->message, in.message);
  EXPECT_EQ(parsed->detail, "d");
  EXPECT_EQ(parsed->hint, "h");
}

TEST(Encode, ErrorResponseSkipsEmptyFields) {
  ErrorFields in;
  in.sqlstate = "08P01";
  in.message = "boom";
  std::string out;
  write_error_response(out, in);
  auto fields = parse_error_fields(frame_one(out).body);
  ASSERT_TRUE(fields.ok());
  ASSERT_EQ(fields->size(), 4u);  // S V C M
  EXPECT_EQ((*fields)[3], std::make_pair('M', std::string_view("boom")));
}

TEST(Encode, NoticeResponseRoundTrip) {
  ErrorFields in{"NOTICE", "00000", "hello", "", ""};
  std::string out;
  write_notice_response(out, in);
  Framed f = frame_one(out);
  EXPECT_EQ(f.type, 'N');
  auto parsed = parse_error_response(f.body);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->severity, "NOTICE");
  EXPECT_EQ(parsed->message, "hello");
  EXPECT_TRUE(parsed->detail.empty());
}

TEST(Encode, AuthOkRoundTrip) {
  std::string out;
  write_auth_ok(out);
  EXPECT_EQ(out, "R\0\0\0\x08\0\0\0\0"s);
  auto r = parse_auth_request(frame_one(out).body);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, 0);
  EXPECT_TRUE(r->data.empty());
}

TEST(Encode, AuthCleartextRoundTrip) {
  std::string out;
  write_auth_cleartext(out);
  auto r = parse_auth_request(frame_one(out).body);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, 3);
}

TEST(Encode, AuthMd5RoundTrip) {
  std::string out;
  write_auth_md5(out, {0x01, 0xFF, 0x00, 0x7F});
  auto r = parse_auth_request(frame_one(out).body);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, 5);
  EXPECT_EQ(r->data, "\x01\xFF\0\x7F"s);
}

TEST(Encode, AuthSaslRoundTrip) {
  std::string_view mechs[] = {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"};
  std::string out;
  write_auth_sasl(out, mechs);
  auto r = parse_auth_request(frame_one(out).body);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, 10);
  auto list = parse_sasl_mechanisms(r->data);
  ASSERT_TRUE(list.ok()) << list.error().message;
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0], "SCRAM-SHA-256-PLUS");
  EXPECT_EQ((*list)[1], "SCRAM-SHA-256");
}

TEST(Encode, AuthSaslContinueRoundTrip) {
  std::string out;
  write_auth_sasl_continue(out, "r=abc,s=salt,i=4096");
  auto r = parse_auth_request(frame_one(out).body);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, 11);
  EXPECT_EQ(r->data, "r=abc,s=salt,i=4096");
}

TEST(Encode, AuthSaslFinalRoundTrip) {
  std::string out;
  write_auth_sasl_final(out, "v=xyz");
  auto r = parse_auth_request(frame_one(out).body);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, 12);
  EXPECT_EQ(r->data, "v=xyz");
}

TEST(Encode, ParameterStatusRoundTrip) {
  std::string out;
  write_parameter_status(out, "server_version", "15.6");
  Framed f = frame_one(out);
  EXPECT_EQ(f.type, 'S');
  auto r = parse_parameter_status(f.body);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->name, "server_version");
  EXPECT_EQ(r->value, "15.6");
}

TEST(Encode, BackendKeyDataRoundTrip) {
  std::string out;
  write_backend_key_data(out, 0x80000001u, 0xFFFFFFFEu);
  Framed f = frame_one(out);
  EXPECT_EQ(f.type, 'K');
  auto r = parse_backend_key_data(f.body);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->pid, 0x80000001u);
  EXPECT_EQ(r->secret, 0xFFFFFFFEu);
}

TEST(Encode, ReadyForQueryBytes) {
  std::string out;
  write_ready_for_query(out, 'T');
  EXPECT_EQ(out, "Z\0\0\0\x05T"s);
  EXPECT_EQ(frame_one(out).body, "T");
}

TEST(Encode, NegotiateProtocolVersionRoundTrip) {
  std::string opts[] = {"_pq_.foo", "_pq_.bar"};
  std::string out;
  write_negotiate_protocol_version(out, 0, opts);
  Framed f = frame_one(out);
  EXPECT_EQ(f.type, 'v');
  util::ByteReader r(f.body);
  uint32_t minor = 99, count = 0;
  std::string_view a, b;
  ASSERT_TRUE(r.read_u32(minor) && r.read_u32(count) && r.read_cstring(a) && r.read_cstring(b));
  EXPECT_EQ(minor, 0u);
  EXPECT_EQ(count, 2u);
  EXPECT_EQ(a, "_pq_.foo");
  EXPECT_EQ(b, "_pq_.bar");
  EXPECT_TRUE(r.empty());
}

TEST(Encode, CommandCompleteRoundTrip) {
  std::string out;
  write_command_complete(out, "SELECT 3");
  Framed f = frame_one(out);
  EXPECT_EQ(f.type, 'C');
  EXPECT_EQ(f.body, "SELECT 3\0"s);
}

TEST(Encode, EmptyQueryResponseBytes) {
  std::string out;
  write_empty_query_response(out);
  EXPECT_EQ(out, "I\0\0\0\x04"s);
}

TEST(Encode, RowDescriptionLayout) {
  std::string_view cols[] = {"database", "user"};
  std::string out;
  write_row_description(out, cols);
  Framed f = frame_one(out);
  EXPECT_EQ(f.type, 'T');
  util::ByteReader r(f.body);
  int16_t n = 0;
  ASSERT_TRUE(r.read_i16(n));
  ASSERT_EQ(n, 2);
  for (std::string_view expected : cols) {
    std::string_view name;
    int32_t table = -1, type = 0, typmod = 0;
    int16_t attnum = -1, typlen = 0, format = -1;
    ASSERT_TRUE(r.read_cstring(name) && r.read_i32(table) && r.read_i16(attnum) &&
                r.read_i32(type) && r.read_i16(typlen) && r.read_i32(typmod) && r.read_i16(format));
    EXPECT_EQ(name, expected);
    EXPECT_EQ(table, 0);
    EXPECT_EQ(attnum, 0);
    EXPECT_EQ(type, 25);
    EXPECT_EQ(typlen, -1);
    EXPECT_EQ(typmod, -1);
    EXPECT_EQ(format, 0);
  }
  EXPECT_TRUE(r.empty());
}

TEST(Encode, DataRowWithNull) {
  std::optional<std::string_view> vals[] = {"abc", std::nullopt, ""};
  std::string out;
  write_data_row(out, vals);
  Framed f = frame_one(out);
  EXPECT_EQ(f.type, 'D');
  EXPECT_EQ(f.body,
            "\0\x03\0\0\0\x03"
            "abc\xFF\xFF\xFF\xFF\0\0\0\0"s);
}

// ---- frontend encoders ----

TEST(Encode, StartupMessageRoundTrip) {
  std::pair<std::string, std::string> params[] = {{"user", "bob"}, {"database", "app"}};
  std::string out;
  write_startup_message(out, params);
  Header h = frame_startup(out);
  ASSERT_EQ(h.status, FrameStatus::kFrame);
  EXPECT_EQ(h.length, out.size());
  auto r = parse_startup(out);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->major, 3);
  EXPECT_EQ(r->minor, 0);
  ASSERT_EQ(r->params.size(), 2u);
  EXPECT_EQ(r->params[0], params[0]);
  EXPECT_EQ(r->params[1], params[1]);
}

TEST(Encode, SslRequestRoundTrip) {
  std::string out;
  write_ssl_request(out);
  EXPECT_EQ(out.size(), 8u);
  auto r = parse_startup(out);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind, StartupKind::kSslRequest);
}

TEST(Encode, CancelRequestRoundTrip) {
  std::string out;
  write_cancel_request(out, 77, 0xCAFEBABE);
  EXPECT_EQ(out.size(), 16u);
  auto r = parse_startup(out);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind, StartupKind::kCancelRequest);
  EXPECT_EQ(r->cancel_pid, 77u);
  EXPECT_EQ(r->cancel_secret, 0xCAFEBABEu);
}

TEST(Encode, PasswordMessageRoundTrip) {
  std::string out;
  write_password_message(out, "md5abcdef");
  Framed f = frame_one(out);
  EXPECT_EQ(f.type, 'p');
  auto r = parse_password_message(f.body);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "md5abcdef");
}

TEST(Encode, SaslInitialResponseRoundTrip) {
  std::string out;
  write_sasl_initial_response(out, "SCRAM-SHA-256", "n,,n=,r=nonce");
  Framed f = frame_one(out);
  EXPECT_EQ(f.type, 'p');
  auto r = parse_sasl_initial_response(f.body);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->mechanism, "SCRAM-SHA-256");
  EXPECT_EQ(r->data, "n,,n=,r=nonce");
}

TEST(Encode, SaslResponseBytes) {
  std::string out;
  write_sasl_response(out, "c=biws,r=x,p=y");
  Framed f = frame_one(out);
  EXPECT_EQ(f.type, 'p');
  EXPECT_EQ(f.body, "c=biws,r=x,p=y");
}

TEST(Encode, QueryBytes) {
  std::string out;
  write_query(out, "SELECT 1");
  Framed f = frame_one(out);
  EXPECT_EQ(f.type, 'Q');
  EXPECT_EQ(f.body, "SELECT 1\0"s);
}

TEST(Encode, SyncAndTerminateBytes) {
  std::string out;
  write_sync(out);
  write_terminate(out);
  EXPECT_EQ(out, "S\0\0\0\x04X\0\0\0\x04"s);
}

TEST(Encode, AppendsWithoutDisturbingEarlierBytes) {
  std::string out = "prefix";
  write_query(out, "x");
  EXPECT_EQ(out.substr(0, 6), "prefix");
  EXPECT_EQ(frame_one(std::string_view(out).substr(6)).body, "x\0"s);
}

// ---- decoders on malformed bodies ----

TEST(ParseAuthRequest, TruncatedCode) {
  auto r = parse_auth_request("\0\0\0"s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "08P01");
}

TEST(ParseAuthRequest, EmptyBody) { EXPECT_FALSE(parse_auth_request("").ok()); }

TEST(ParseAuthRequest, Md5WithShortSalt) {
  EXPECT_FALSE(parse_auth_request("\0\0\0\x05\x01\x02\x03"s).ok());
}

TEST(ParseAuthRequest, UnknownCodeKeepsData) {
  const std::string body = "\0\0\0\x07gss"s;
  auto r = parse_auth_request(body);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->code, 7);
  EXPECT_EQ(r->data, "gss");
}

TEST(ParseSaslMechanisms, MissingFinalTerminator) {
  auto r = parse_sasl_mechanisms("SCRAM-SHA-256\0"s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "08P01");
}

TEST(ParseSaslMechanisms, MissingNul) { EXPECT_FALSE(parse_sasl_mechanisms("SCRAM-SHA-256").ok()); }

TEST(ParseSaslMechanisms, EmptyData) { EXPECT_FALSE(parse_sasl_mechanisms("").ok()); }

TEST(ParseSaslMechanisms, DataAfterTerminator) {
  EXPECT_FALSE(parse_sasl_mechanisms("A\0\0B"s).ok());
}

TEST(ParseErrorFields, MissingTerminator) {
  auto r = parse_error_fields("SERROR\0Mboom\0"s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "08P01");
}

TEST(ParseErrorFields, ValueWithoutNul) { EXPECT_FALSE(parse_error_fields("SERROR\0Mboom"s).ok()); }

TEST(ParseErrorFields, EmptyBody) { EXPECT_FALSE(parse_error_fields("").ok()); }

TEST(ParseErrorFields, DataAfterTerminator) {
  EXPECT_FALSE(parse_error_fields("Mx\0\0junk"s).ok());
}

TEST(ParseErrorFields, TerminatorOnlyIsEmptyList) {
  auto r = parse_error_fields("\0"s);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

TEST(ParseErrorResponse, PrefersNonLocalizedSeverity) {
  auto r = parse_error_response("SFEHLER\0VERROR\0C42601\0Mx\0Rparser.c\0\0"s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->severity, "ERROR");
  EXPECT_EQ(r->sqlstate, "42601");
}

TEST(ParseErrorResponse, MalformedBodyIsError) {
  EXPECT_FALSE(parse_error_response("SERROR"s).ok());
}

TEST(ParseParameterStatus, MissingValue) {
  auto r = parse_parameter_status("TimeZone\0"s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "08P01");
}

TEST(ParseParameterStatus, MissingNul) { EXPECT_FALSE(parse_parameter_status("TimeZone").ok()); }

TEST(ParseParameterStatus, DataAfterValue) {
  EXPECT_FALSE(parse_parameter_status("a\0b\0c"s).ok());
}

TEST(ParseBackendKeyData, TruncatedInt32) {
  auto r = parse_backend_key_data("\0\0\0\x01\0\0"s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "08P01");
}

TEST(ParseBackendKeyData, TooLong) {
  EXPECT_FALSE(parse_backend_key_data(std::string(9, 'x')).ok());
}

TEST(ParseSaslInitialResponse, NoDataWhenLengthMinusOne) {
  const std::string body = "SCRAM-SHA-256\0\xFF\xFF\xFF\xFF"s;
  auto r = parse_sasl_initial_response(body);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->mechanism, "SCRAM-SHA-256");
  EXPECT_TRUE(r->data.empty());
}

TEST(ParseSaslInitialResponse, MissingNul) {
  auto r = parse_sasl_initial_response("SCRAM-SHA-256");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "08P01");
}

TEST(ParseSaslInitialResponse, TruncatedLength) {
  EXPECT_FALSE(parse_sasl_initial_response("M\0\0\0"s).ok());
}

TEST(ParseSaslInitialResponse, LengthBeyondBody) {
  EXPECT_FALSE(parse_sasl_initial_response("M\0\0\0\0\x10short"s).ok());
}

TEST(ParseSaslInitialResponse, HugeLength) {
  EXPECT_FALSE(parse_sasl_initial_response("M\0\x7F\xFF\xFF\xFFx"s).ok());
}

TEST(ParseSaslInitialResponse, NegativeLength) {
  EXPECT_FALSE(parse_sasl_initial_response("M\0\xFF\xFF\xFF\xFE"s).ok());
}

TEST(ParseSaslInitialResponse, DataAfterDeclaredLength) {
  EXPECT_FALSE(parse_sasl_initial_response("M\0\0\0\0\x01xy"s).ok());
}

TEST(ParsePasswordMessage, MissingNul) {
  auto r = parse_password_message("secret");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "08P01");
}

TEST(ParsePasswordMessage, DataAfterNul) {
  EXPECT_FALSE(parse_password_message("secret\0x"s).ok());
}

TEST(ParsePasswordMessage, EmptyPasswordAccepted) {
  const std::string body = "\0"s;
  auto r = parse_password_message(body);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "");
}

}  // namespace
}  // namespace pgmux::protocol
