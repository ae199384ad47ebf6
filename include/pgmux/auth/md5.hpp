// PostgreSQL's md5 password scheme. Pure functions; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace pgmux::auth {

// "md5" + hex(md5(password + user)): what pg_authid stores for md5 users.
std::string md5_password_hash(std::string_view password, std::string_view user);
// What a client sends for AuthenticationMD5Password: "md5" + hex(md5(hex_part + salt)),
// where `stored_hash` is md5_password_hash() output ("md5" + 32 hex digits).
std::string md5_salted_response(std::string_view stored_hash, std::array<uint8_t, 4> salt);
// Whether `text` looks like a stored md5 hash ("md5" + 32 lowercase hex digits).
bool is_md5_hash(std::string_view text);
// Constant-time comparison of two byte strings (false when lengths differ).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace pgmux::auth
