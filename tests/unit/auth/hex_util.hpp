// Lowercase hex of a digest, for the auth tests' known-answer checks.
#pragma once

#include <string>

#include "pgmux/auth/sha256.hpp"

namespace pgmux::auth::testing {

inline std::string hex(const Sha256& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0f]);
  }
  return out;
}

}  // namespace pgmux::auth::testing
