// Standard base64 (RFC 4648, with '=' padding) as SCRAM uses it. Private to the auth
// module. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pgmux::auth {

// Encodes `data` with padding; the result holds only [A-Za-z0-9+/=].
std::string base64_encode(std::string_view data);

// Decodes canonical padded base64. Returns nullopt when the length is not a multiple
// of four, a character is outside the alphabet (whitespace included), or '=' appears
// anywhere but in the last two positions. "" decodes to "".
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace pgmux::auth
