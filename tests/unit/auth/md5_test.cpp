// Unit tests for PostgreSQL's md5 password scheme and the constant-time compare.
// Single-threaded.
#include "pgmux/auth/md5.hpp"

#include <gtest/gtest.h>

namespace pgmux::auth {
namespace {

// Stored by PostgreSQL 15 for CREATE ROLE alice PASSWORD 'secret' with
// password_encryption = md5 (also hashlib.md5(b"secretalice")).
constexpr std::string_view kAliceHash = "md54a0a68b43b6cd5cf266fa02f196e2371";

TEST(Md5Test, PasswordHashMatchesPostgres) { EXPECT_EQ(md5_password_hash("secret", "alice"), kAliceHash); }

TEST(Md5Test, PasswordHashDependsOnUser) {
  EXPECT_NE(md5_password_hash("secret", "bob"), kAliceHash);
  EXPECT_TRUE(is_md5_hash(md5_password_hash("secret", "bob")));
}

// Expected values: "md5" + hashlib.md5(b"4a0a...2371" + salt).hexdigest().
TEST(Md5Test, SaltedResponseKnownValue) {
  EXPECT_EQ(md5_salted_response(kAliceHash, {0x01, 0x02, 0x03, 0x04}), "md598a0412b9c31436fc53776e863350083");
}

TEST(Md5Test, SaltedResponseWithHighSaltBytes) {
  EXPECT_EQ(md5_salted_response(kAliceHash, {0xde, 0xad, 0xbe, 0xef}), "md53e1d73ba00a55e8805aa0277d29996c5");
}

TEST(Md5Test, SaltedResponseDependsOnSalt) {
  EXPECT_NE(md5_salted_response(kAliceHash, {0x01, 0x02, 0x03, 0x04}),
            md5_salted_response(kAliceHash, {0x01, 0x02, 0x03, 0x05}));
}

TEST(Md5Test, IsMd5HashAcceptsStoredHash) { EXPECT_TRUE(is_md5_hash(kAliceHash)); }
TEST(Md5Test, IsMd5HashRejectsEmpty) { EXPECT_FALSE(is_md5_hash("")); }
TEST(Md5Test, IsMd5HashRejectsPlainPassword) { EXPECT_FALSE(is_md5_hash("secret")); }
TEST(Md5Test, IsMd5HashRejectsMissingPrefix) { EXPECT_FALSE(is_md5_hash("4a0a68b43b6cd5cf266fa02f196e2371")); }
TEST(Md5Test, IsMd5HashRejectsUppercaseHex) { EXPECT_FALSE(is_md5_hash("md54A0A68B43B6CD5CF266FA02F196E2371")); }
TEST(Md5Test, IsMd5HashRejectsUppercasePrefix) { EXPECT_FALSE(is_md5_hash("MD54a0a68b43b6cd5cf266fa02f196e2371")); }
TEST(Md5Test, IsMd5HashRejectsShort) { EXPECT_FALSE(is_md5_hash("md54a0a68b43b6cd5cf266fa02f196e237")); }
TEST(Md5Test, IsMd5HashRejectsLong) { EXPECT_FALSE(is_md5_hash("md54a0a68b43b6cd5cf266fa02f196e23710")); }
TEST(Md5Test, IsMd5HashRejectsNonHex) { EXPECT_FALSE(is_md5_hash("md54a0a68b43b6cd5cf266fa02f196e237g")); }
TEST(Md5Test, IsMd5HashRejectsScramSecret) {
  EXPECT_FALSE(is_md5_hash("SCRAM-SHA-256$4096:U6ek4Dh/pt4diJDm/NonXw==$VT7J:kKAo"));
}

TEST(ConstantTimeEqualTest, EqualStrings) { EXPECT_TRUE(constant_time_equal("abc", "abc")); }
TEST(ConstantTimeEqualTest, EmptyStrings) { EXPECT_TRUE(constant_time_equal("", "")); }
TEST(ConstantTimeEqualTest, DifferentLastByte) { EXPECT_FALSE(constant_time_equal("abc", "abd")); }
TEST(ConstantTimeEqualTest, DifferentLengths) { EXPECT_FALSE(constant_time_equal("abc", "abcd")); }
TEST(ConstantTimeEqualTest, PrefixOfEmbeddedNul) {
  EXPECT_FALSE(constant_time_equal(std::string_view("ab\0c", 4), std::string_view("ab\0d", 4)));
}

}  // namespace
}  // namespace pgmux::auth
