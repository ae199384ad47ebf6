// PostgreSQL's md5 password scheme (see md5.hpp). Pure functions; thread-safe.
#include "pgmux/auth/md5.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <stdexcept>

namespace pgmux::auth {
namespace {

constexpr std::string_view kMd5Prefix = "md5";
constexpr size_t kMd5HexLength = 32;

// "md5" + lowercase hex of MD5(data).
std::string md5_prefixed_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_md5(), nullptr) != 1) {
    throw std::runtime_error("OpenSSL MD5 digest failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(kMd5Prefix);
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0x0f]);
  }
  return out;
}

}  // namespace

std::string md5_password_hash(std::string_view password, std::string_view user) {
  std::string input(password);
  input.append(user);
  return md5_prefixed_hex(input);
}

std::string md5_salted_response(std::string_view stored_hash, std::array<uint8_t, 4> salt) {
  std::string input(stored_hash.starts_with(kMd5Prefix) ? stored_hash.substr(kMd5Prefix.size()) : stored_hash);
  input.append(reinterpret_cast<const char*>(salt.data()), salt.size());
  return md5_prefixed_hex(input);
}

bool is_md5_hash(std::string_view text) {
  if (text.size() != kMd5Prefix.size() + kMd5HexLength || !text.starts_with(kMd5Prefix)) return false;
  for (char c : text.substr(kMd5Prefix.size())) {
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    if (!hex) return false;
  }
  return true;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace pgmux::auth
