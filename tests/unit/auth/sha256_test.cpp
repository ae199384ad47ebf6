// Unit tests for SHA-256 and HMAC-SHA-256 (sha256.hpp), against Python's hashlib/hmac.
#include "pgmux/auth/sha256.hpp"

#include <gtest/gtest.h>

#include "hex_util.hpp"

#include <string>
#include <thread>
#include <vector>

namespace pgmux::auth {
namespace {

using testing::hex;

Sha256 key_0_to_31() {
  Sha256 key{};
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i);
  return key;
}

TEST(Sha256, KnownDigest) {
  EXPECT_EQ(hex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// hashlib.sha256(b'SELECT 1\x00\x00\x00\x00\x17'): the parts are hashed as one string,
// embedded zero bytes included (statement names hash text, a zero byte and the types).
TEST(Sha256, PartsHashAsTheirConcatenation) {
  using namespace std::string_view_literals;
  auto digest = sha256({"SELECT 1"sv, "\0"sv, "\0\0\0\x17"sv});
  EXPECT_EQ(hex(digest), "cbfd586ae871dc386dcd36eabf9128f3aa12468e4ddeada30151b9092ed9b75e");
  EXPECT_EQ(digest, sha256("SELECT 1\0\0\0\0\x17"sv));
}

TEST(HmacSha256, KnownMacs) {
  EXPECT_EQ(hex(hmac_sha256(key_0_to_31(), "what do ya want for nothing?")),
            "099805f4ac310786968565c098db515cc50862b420ae31e20238312344bed36a");
  EXPECT_EQ(hex(hmac_sha256(key_0_to_31(), "")),
            "d38b42096d80f45f826b44a9d5607de72496a415d3f4a1a8c88e3bb9da8dc1cb");
}

// Each thread has its own digest context: hashing on several threads at once gives
// every one the right answer.
TEST(Sha256, ThreadsHashAtOnce) {
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (size_t t = 0; t < wrong.size(); ++t) {
    threads.emplace_back([&wrong, t] {
      for (int i = 0; i < 2000; ++i) {
        if (hex(sha256("abc")) != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") {
          ++wrong[t];
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace pgmux::auth
