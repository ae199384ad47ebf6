// Base64 for SCRAM messages and secrets on top of OpenSSL's block coder (see
// base64.hpp). Pure functions; thread-safe.
#include "base64.hpp"

#include <openssl/evp.h>

#include <climits>
#include <stdexcept>

namespace pgmux::auth {
namespace {

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// Number of trailing '=' (0-2) when `text` is well formed, -1 otherwise.
int padding_of(std::string_view text) {
  if (text.size() % 4 != 0) return -1;
  size_t pad = 0;
  while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
  for (size_t i = 0; i + pad < text.size(); ++i) {
    if (!is_base64_char(text[i])) return -1;
  }
  return static_cast<int>(pad);
}

}  // namespace

std::string base64_encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  if (data.empty()) return out;
  if (data.size() > INT_MAX / 2) throw std::length_error("base64_encode: input too large");
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  int pad = padding_of(text);
  if (pad < 0) return std::nullopt;
  if (text.empty()) return std::string();
  if (text.size() > INT_MAX / 2) return std::nullopt;
  // EVP_DecodeBlock writes 3 bytes per 4 characters, padding included.
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0 || static_cast<size_t>(n) != out.size()) return std::nullopt;
  out.resize(out.size() - static_cast<size_t>(pad));
  return out;
}

}  // namespace pgmux::auth
