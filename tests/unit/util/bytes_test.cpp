// Tests for ByteReader bounds checks and ByteWriter message bracketing. Single-threaded.
#include "pgmux/util/bytes.hpp"

#include <string>

#include <gtest/gtest.h>

namespace pgmux::util {
namespace {

using namespace std::string_literals;

TEST(BigEndian, LoadStoreRoundTrip) {
  char b[4];
  store_be32(b, 0x01020304u);
  EXPECT_EQ(std::string(b, 4), "\x01\x02\x03\x04");
  EXPECT_EQ(load_be32(b), 0x01020304u);
  store_be16(b, 0xBEEF);
  EXPECT_EQ(load_be16(b), 0xBEEF);
  store_be32(b, 0xFFFFFFFFu);
  EXPECT_EQ(load_be32(b), 0xFFFFFFFFu);
}

TEST(ByteReader, ReadsFieldsInOrder) {
  const std::string data = "\x7F\x01\x02\xFF\xFF\xFF\xFE\0\0\0\x05hi\0rest"s;
  ByteReader r(data);
  uint8_t u8 = 0;
  int16_t i16 = 0;
  int32_t i32 = 0;
  uint32_t u32 = 0;
  std::string_view s;
  ASSERT_TRUE(r.read_u8(u8));
  ASSERT_TRUE(r.read_i16(i16));
  ASSERT_TRUE(r.read_i32(i32));
  ASSERT_TRUE(r.read_u32(u32));
  ASSERT_TRUE(r.read_cstring(s));
  EXPECT_EQ(u8, 0x7F);
  EXPECT_EQ(i16, 0x0102);
  EXPECT_EQ(i32, -2);
  EXPECT_EQ(u32, 5u);
  EXPECT_EQ(s, "hi");
  EXPECT_EQ(r.rest(), "rest");
  EXPECT_EQ(r.remaining(), 4u);
}

TEST(ByteReader, EmptyViewFailsEveryRead) {
  ByteReader r("");
  uint8_t u8;
  int16_t i16;
  int32_t i32;
  std::string_view s;
  EXPECT_TRUE(r.empty());
  EXPECT_FALSE(r.read_u8(u8));
  EXPECT_FALSE(r.read_i16(i16));
  EXPECT_FALSE(r.read_i32(i32));
  EXPECT_FALSE(r.read_cstring(s));
  EXPECT_FALSE(r.read_bytes(1, s));
  EXPECT_TRUE(r.read_bytes(0, s));
  EXPECT_TRUE(s.empty());
}

TEST(ByteReader, TruncatedInt16ConsumesNothing) {
  ByteReader r("\x01");
  int16_t v = 7;
  EXPECT_FALSE(r.read_i16(v));
  EXPECT_EQ(v, 7);
  EXPECT_EQ(r.remaining(), 1u);
}

TEST(ByteReader, TruncatedInt32ConsumesNothing) {
  ByteReader r("\x01\x02\x03");
  uint32_t u = 9;
  int32_t i = 9;
  EXPECT_FALSE(r.read_u32(u));
  EXPECT_FALSE(r.read_i32(i));
  EXPECT_EQ(u, 9u);
  EXPECT_EQ(i, 9);
  EXPECT_EQ(r.remaining(), 3u);
}

TEST(ByteReader, CstringWithoutNul) {
  ByteReader r("abc");
  std::string_view s = "unchanged";
  EXPECT_FALSE(r.read_cstring(s));
  EXPECT_EQ(s, "unchanged");
  EXPECT_EQ(r.remaining(), 3u);
}

TEST(ByteReader, EmptyCstring) {
  const std::string data = "\0x"s;
  ByteReader r(data);
  std::string_view s = "x";
  ASSERT_TRUE(r.read_cstring(s));
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(r.rest(), "x");
}

TEST(ByteReader, CstringStopsAtFirstNul) {
  const std::string data = "a\0b\0"s;
  ByteReader r(data);
  std::string_view s;
  ASSERT_TRUE(r.read_cstring(s));
  EXPECT_EQ(s, "a");
  ASSERT_TRUE(r.read_cstring(s));
  EXPECT_EQ(s, "b");
  EXPECT_TRUE(r.empty());
  EXPECT_FALSE(r.read_cstring(s));
}

TEST(ByteReader, ReadBytesBeyondEnd) {
  ByteReader r("abcd");
  std::string_view s;
  EXPECT_FALSE(r.read_bytes(5, s));
  EXPECT_FALSE(r.read_bytes(SIZE_MAX, s));
  EXPECT_EQ(r.remaining(), 4u);
  ASSERT_TRUE(r.read_bytes(4, s));
  EXPECT_EQ(s, "abcd");
  EXPECT_TRUE(r.empty());
}

TEST(ByteWriter, WritesBigEndianFields) {
  std::string out;
  ByteWriter w(out);
  w.u8(0xAB);
  w.i16(-2);
  w.i32(-1);
  w.u32(0x01020304u);
  w.cstring("hi");
  w.bytes("xy");
  EXPECT_EQ(out, "\xAB\xFF\xFE\xFF\xFF\xFF\xFF\x01\x02\x03\x04hi\0xy"s);
}

TEST(ByteWriter, BeginEndMessagePatchesLength) {
  std::string out;
  ByteWriter w(out);
  size_t at = w.begin_message('Q');
  EXPECT_EQ(at, 1u);
  w.cstring("SELECT 1");
  w.end_message(at);
  EXPECT_EQ(out, "Q\0\0\0\x0DSELECT 1\0"s);
}

TEST(ByteWriter, EmptyMessageHasLengthFour) {
  std::string out;
  ByteWriter w(out);
  w.end_message(w.begin_message('S'));
  EXPECT_EQ(out, "S\0\0\0\x04"s);
}

TEST(ByteWriter, UntypedMessageHasNoTypeByte) {
  std::string out;
  ByteWriter w(out);
  size_t at = w.begin_message(0);
  EXPECT_EQ(at, 0u);
  w.u32(80877103u);
  w.end_message(at);
  ASSERT_EQ(out.size(), 8u);
  EXPECT_EQ(load_be32(out.data()), 8u);
  EXPECT_EQ(load_be32(out.data() + 4), 80877103u);
}

TEST(ByteWriter, SecondMessageAppendsAfterFirst) {
  std::string out = "old";
  ByteWriter w(out);
  size_t first = w.begin_message('A');
  w.u8('x');
  w.end_message(first);
  size_t second = w.begin_message('B');
  w.end_message(second);
  EXPECT_EQ(first, 4u);
  EXPECT_EQ(out, "oldA\0\0\0\x05xB\0\0\0\x04"s);
}

}  // namespace
}  // namespace pgmux::util
