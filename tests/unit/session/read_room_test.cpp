// read_room(): the buffer a socket read is given. A read handed an empty buffer
// completes at once with 0 bytes, so the room must exist before its size is taken,
// including for a buffer that released its block while idle.
#include <gtest/gtest.h>

#include <array>

#include "pgmux/backend/asio.hpp"

namespace pgmux {
namespace {

TEST(ReadRoomTest, ABufferWithoutABlockGetsOneBeforeItsSizeIsTaken) {
  util::Buffer buffer;
  ASSERT_EQ(buffer.writable(), 0u);
  auto room = read_room(buffer, 16 * 1024);
  EXPECT_GE(room.size(), 16u * 1024);
  EXPECT_EQ(room.data(), buffer.write_area());
}

TEST(ReadRoomTest, AReleasedBufferGetsRoomAgain) {
  util::Buffer buffer;
  buffer.append("some bytes");
  buffer.consume(buffer.readable().size());
  buffer.release();
  ASSERT_EQ(buffer.writable(), 0u);
  EXPECT_GE(read_room(buffer, 4096).size(), 4096u);
}

TEST(ReadRoomTest, SmallStorageOffersItsFreeBytes) {
  std::array<char, 256> storage;
  util::Buffer buffer;
  buffer.use_small_storage(storage.data(), storage.size());
  auto room = read_room(buffer);
  EXPECT_EQ(room.data(), storage.data());
  EXPECT_EQ(room.size(), storage.size());
}

}  // namespace
}  // namespace pgmux
