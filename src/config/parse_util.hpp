// Text helpers for the config parser: ${ENV} substitution, integers, secret shapes and
// "did you mean" suggestions. Internal to the config module; pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "pgmux/config/config.hpp"
#include "pgmux/util/result.hpp"

namespace pgmux::config::detail {

// `text` with leading and trailing spaces, tabs and line breaks removed.
std::string_view trim(std::string_view text);

// Replaces every "${NAME}" in `text` by env(NAME) and every "$$" by "$"; any other "$"
// is kept as is. Fails on an unset variable (the message names it), on "${" without
// "}" and on an invalid name. Error messages never quote `text` itself, which may be a
// secret. `env` may be empty, meaning no variable is set.
util::Result<std::string> substitute_env(std::string_view text, const EnvLookup& env);

// A decimal integer with an optional leading "-", nothing else (after trimming).
// std::nullopt when malformed or outside int64_t.
std::optional<int64_t> parse_integer(std::string_view text);

// True when `text` is "md5" followed by exactly 32 lowercase hexadecimal digits.
bool is_md5_hash(std::string_view text);

// True when `text` starts with "SCRAM-SHA-256$", the prefix of a stored SCRAM secret.
bool looks_like_scram_secret(std::string_view text);

// True when `text` has the shape of a PostgreSQL SCRAM secret:
// "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>", iterations a positive
// integer, salt non-empty base64, both keys base64 of 32 bytes.
bool is_scram_secret(std::string_view text);

// Levenshtein distance between `a` and `b`.
size_t edit_distance(std::string_view a, std::string_view b);

// The first of `candidates` closest to `word` if at most 2 edits away, else empty.
std::string_view closest_match(std::string_view word,
                               std::span<const std::string_view> candidates);

}  // namespace pgmux::config::detail
