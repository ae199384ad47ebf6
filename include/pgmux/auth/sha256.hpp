// SHA-256 and HMAC-SHA-256 (OpenSSL's implementation, fetched once; one digest context
// per thread). Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace pgmux::auth {

using Sha256 = std::array<uint8_t, 32>;

// SHA-256 of the concatenation of `parts`.
Sha256 sha256(std::initializer_list<std::string_view> parts);
inline Sha256 sha256(std::string_view data) { return sha256({data}); }

// HMAC-SHA-256 (RFC 2104) with a SHA-256-sized key (all of SCRAM's keys are).
Sha256 hmac_sha256(const Sha256& key, std::string_view data);

}  // namespace pgmux::auth
