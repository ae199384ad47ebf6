// Text helpers for the config parser, and the public parse_duration / parse_size.
// Pure functions; thread-safe.
#include "parse_util.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <vector>

namespace pgmux::config {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_name_char(char c, bool first) {
  bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
  return alpha || (!first && is_digit(c));
}

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '+' ||
         c == '/';
}

// Number of bytes `text` decodes to when it is padded standard base64, else nullopt.
std::optional<size_t> base64_decoded_size(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  size_t padding = 0;
  while (padding < 2 && text[text.size() - 1 - padding] == '=') ++padding;
  for (size_t i = 0; i < text.size() - padding; ++i) {
    if (!is_base64_char(text[i])) return std::nullopt;
  }
  return text.size() / 4 * 3 - padding;
}

// Splits "<digits><spaces><unit>" (already trimmed) into a non-negative number and its unit.
std::optional<std::pair<uint64_t, std::string_view>> split_number_unit(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && is_digit(text[digits])) ++digits;
  if (digits == 0) return std::nullopt;
  uint64_t number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + digits, number);
  if (ec != std::errc() || end != text.data() + digits) return std::nullopt;
  return std::pair{number, detail::trim(text.substr(digits))};
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text) {
  static constexpr std::pair<std::string_view, int64_t> kUnits[] = {
      {"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
  auto split = split_number_unit(detail::trim(text));
  if (!split) return std::nullopt;
  auto [number, unit] = *split;
  for (const auto& [name, millis] : kUnits) {
    if (unit != name) continue;
    if (number > static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / millis)) {
      return std::nullopt;
    }
    return Duration(static_cast<int64_t>(number) * millis);
  }
  return std::nullopt;
}

std::optional<uint64_t> parse_size(std::string_view text) {
  static constexpr std::pair<std::string_view, uint64_t> kUnits[] = {
      {"", 1}, {"B", 1}, {"kB", 1ull << 10}, {"MB", 1ull << 20}, {"GB", 1ull << 30},
      {"TB", 1ull << 40}};
  auto split = split_number_unit(detail::trim(text));
  if (!split) return std::nullopt;
  auto [number, unit] = *split;
  for (const auto& [name, multiplier] : kUnits) {
    if (unit != name) continue;
    if (number > std::numeric_limits<uint64_t>::max() / multiplier) return std::nullopt;
    return number * multiplier;
  }
  return std::nullopt;
}

namespace detail {

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  size_t end = text.find_last_not_of(kSpace);
  return text.substr(begin, end - begin + 1);
}

util::Result<std::string> substitute_env(std::string_view text, const EnvLookup& env) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    bool dollar = text[i] == '$' && i + 1 < text.size();
    if (dollar && text[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    if (!dollar || text[i + 1] != '{') {
      out += text[i];
      continue;
    }
    size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      return util::make_error(
          "config", "unterminated \"${\" (missing \"}\"; write \"$$\" for a literal \"$\")");
    }
    std::string name(text.substr(i + 2, close - i - 2));
    auto name_char = [](char c) { return is_name_char(c, false); };
    bool valid = !name.empty() && is_name_char(name[0], true) &&
                 std::all_of(name.begin(), name.end(), name_char);
    if (!valid) return util::make_error("config", "invalid environment variable name after \"${\"");
    std::optional<std::string> value = env ? env(name) : std::nullopt;
    if (!value) return util::make_error("config", "environment variable " + name + " is not set");
    out += *value;
    i = close;
  }
  return out;
}

std::optional<int64_t> parse_integer(std::string_view text) {
  text = trim(text);
  if (text.empty() || text[0] == '+') return std::nullopt;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

bool is_md5_hash(std::string_view text) {
  if (text.size() != 35 || !text.starts_with("md5")) return false;
  return std::all_of(text.begin() + 3, text.end(),
                     [](char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); });
}

bool looks_like_scram_secret(std::string_view text) { return text.starts_with("SCRAM-SHA-256$"); }

bool is_scram_secret(std::string_view text) {
  constexpr std::string_view kPrefix = "SCRAM-SHA-256$";
  if (!text.starts_with(kPrefix)) return false;
  text.remove_prefix(kPrefix.size());
  size_t dollar = text.find('$');
  if (dollar == std::string_view::npos) return false;
  std::string_view params = text.substr(0, dollar);  // <iterations>:<salt>
  std::string_view keys = text.substr(dollar + 1);   // <StoredKey>:<ServerKey>
  size_t colon1 = params.find(':');
  size_t colon2 = keys.find(':');
  if (colon1 == std::string_view::npos || colon2 == std::string_view::npos) return false;
  std::string_view iterations = params.substr(0, colon1);
  if (iterations.empty() || iterations.size() > 9 ||
      !std::all_of(iterations.begin(), iterations.end(), is_digit)) {
    return false;
  }
  if (parse_integer(iterations).value_or(0) <= 0) return false;
  if (!base64_decoded_size(params.substr(colon1 + 1))) return false;
  return base64_decoded_size(keys.substr(0, colon2)) == 32u &&
         base64_decoded_size(keys.substr(colon2 + 1)) == 32u;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitute});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string_view closest_match(std::string_view word,
                               std::span<const std::string_view> candidates) {
  constexpr size_t kMaxDistance = 2;
  std::string_view best;
  size_t best_distance = kMaxDistance + 1;
  for (std::string_view candidate : candidates) {
    size_t distance = edit_distance(word, candidate);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

}  // namespace detail
}  // namespace pgmux::config
