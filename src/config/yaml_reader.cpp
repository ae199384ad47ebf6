// Walks a parsed YAML document for the config parser; see yaml_reader.hpp.
// Not thread-safe: one Reader per parse.
#include "yaml_reader.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <utility>

#include "parse_util.hpp"

namespace pgmux::config::detail {
namespace {

// What a non-scalar (or a scalar we must not quote) is, for "expected X, got Y".
std::string kind_of(const YAML::Node& node) {
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a sequence";
  if (node.IsScalar()) return "a scalar value";
  return "an empty value";
}

std::string quoted(std::string_view text) {
  constexpr size_t kMaxShown = 64;
  if (text.size() > kMaxShown) return "\"" + std::string(text.substr(0, kMaxShown)) + "...\"";
  return "\"" + std::string(text) + "\"";
}

// "1GB", "64kB", "100B": the largest unit that divides `bytes`.
std::string format_size(uint64_t bytes) {
  static constexpr std::pair<std::string_view, uint64_t> kUnits[] = {
      {"TB", 1ull << 40}, {"GB", 1ull << 30}, {"MB", 1ull << 20}, {"kB", 1ull << 10}};
  for (const auto& [name, size] : kUnits) {
    if (bytes != 0 && bytes % size == 0) return std::to_string(bytes / size) + std::string(name);
  }
  return std::to_string(bytes) + "B";
}

// "a, b or c".
std::string join_choices(std::span<const std::string_view> choices) {
  std::string out;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (i > 0) out += i + 1 == choices.size() ? " or " : ", ";
    out += choices[i];
  }
  return out;
}

// True when `name` may appear in a name list of `kind`.
bool valid_name(std::string_view name, Reader::NameKind kind) {
  bool function = kind == Reader::NameKind::kFunction;
  bool chars_ok = std::all_of(name.begin(), name.end(), [function](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' ||
           (function && c == '*');
  });
  if (!chars_ok || !function) return chars_ok;
  return !name.starts_with('.') && !name.ends_with('.') &&
         name.find("..") == std::string_view::npos;
}

// Lower-case copy of `text`.
std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

int line_of(const YAML::Node& node) {
  int line = node.Mark().line;
  return line >= 0 ? line + 1 : 0;
}

Reader::Reader(std::string file, EnvLookup env) : file_(std::move(file)), env_(std::move(env)) {}

bool Reader::fail(int line, std::string key, std::string message) {
  if (!error_) error_ = ConfigError{file_, line, std::move(key), std::move(message)};
  return false;
}

bool Reader::fail(const Entry& entry, std::string message) {
  return fail(entry.value_line, entry.path, std::move(message));
}

ConfigError Reader::take_error() { return std::move(error_).value(); }

bool Reader::for_each_entry(const YAML::Node& node, const std::string& path, int line,
                            const Visitor& visit) {
  if (!node.IsDefined() || node.IsNull()) return true;
  if (!node.IsMap()) return fail(line, path, "expected a mapping, got " + kind_of(node));
  std::map<std::string, int, std::less<>> seen;
  for (const auto& pair : node) {
    YAML::Node key = pair.first;  // a copy: the iterator's pair is a temporary
    int key_line = line_of(key) != 0 ? line_of(key) : line;
    if (!key.IsScalar()) return fail(key_line, path, "expected a key name, got " + kind_of(key));
    Entry entry{key.Scalar(), path.empty() ? key.Scalar() : path + "." + key.Scalar(),
                pair.second, key_line, key_line};
    if (!entry.value.IsNull() && line_of(entry.value) != 0) entry.value_line = line_of(entry.value);
    auto [first, inserted] = seen.emplace(entry.name, key_line);
    if (!inserted) {
      return fail(key_line, entry.path,
                  "duplicate key (first defined on line " + std::to_string(first->second) + ")");
    }
    if (!visit(entry)) return false;
  }
  return true;
}

bool Reader::for_each_entry(const Entry& entry, const Visitor& visit) {
  return for_each_entry(entry.value, entry.path, entry.value_line, visit);
}

bool Reader::for_each_element(const Entry& entry, std::string_view expected, const Visitor& visit) {
  if (!entry.value.IsDefined() || entry.value.IsNull()) return true;
  if (!entry.value.IsSequence()) {
    return fail(entry, "expected " + std::string(expected) + ", got " + kind_of(entry.value));
  }
  size_t index = 0;
  for (const auto& item : entry.value) {
    std::string name = std::to_string(index++);
    int line = !item.IsNull() && line_of(item) != 0 ? line_of(item) : entry.value_line;
    Entry element{name, entry.path + "[" + name + "]", item, line, line};
    if (!visit(element)) return false;
  }
  return true;
}

bool Reader::unknown_key(const Entry& entry, std::span<const std::string_view> known) {
  std::string message = "unknown key";
  std::string_view suggestion = closest_match(entry.name, known);
  if (!suggestion.empty()) message += "; did you mean \"" + std::string(suggestion) + "\"?";
  return fail(entry.key_line, entry.path, std::move(message));
}

bool Reader::read_text(const Entry& entry, std::string_view expected, std::string& out) {
  if (!entry.value.IsScalar()) {
    return fail(entry, "expected " + std::string(expected) + ", got " + kind_of(entry.value));
  }
  util::Result<std::string> text = substitute_env(entry.value.Scalar(), env_);
  if (!text) return fail(entry, text.error().message);
  out = std::move(*text);
  return true;
}

bool Reader::read_name_list(const Entry& entry, std::vector<std::string>& out, NameKind kind) {
  std::vector<std::string> items;
  if (entry.value.IsSequence()) {
    for (const auto& item : entry.value) {
      if (!item.IsScalar()) {
        return fail(entry, "expected a list of names, but an item is " + kind_of(item));
      }
      util::Result<std::string> text = substitute_env(item.Scalar(), env_);
      if (!text) return fail(entry, text.error().message);
      items.push_back(std::move(*text));
    }
  } else {
    std::string text;
    if (!read_text(entry, "a list of names", text)) return false;
    size_t start = 0;
    while (start <= text.size()) {
      size_t comma = text.find(',', start);
      if (comma == std::string::npos) comma = text.size();
      items.emplace_back(trim(std::string_view(text).substr(start, comma - start)));
      start = comma + 1;
    }
  }
  out.clear();
  for (auto& item : items) {
    std::string name(trim(item));
    if (name.empty()) continue;
    if (!valid_name(name, kind)) {
      std::string message = quoted(name);
      if (kind == NameKind::kParameter) return fail(entry, message + " is not a parameter name");
      return fail(entry, message +
                             " is not a function name (letters, digits, '_', '.' and '*' "
                             "wildcards)");
    }
    out.push_back(std::move(name));
  }
  return true;
}

bool Reader::read_nonempty(const Entry& entry, std::string& out) {
  if (!read_text(entry, "a string", out)) return false;
  if (trim(out).empty()) return fail(entry, "must not be empty");
  return true;
}

bool Reader::read_integer(const Entry& entry, int64_t min, int64_t max, int64_t& out) {
  std::string text;
  if (!read_text(entry, "an integer", text)) return false;
  std::optional<int64_t> value = parse_integer(text);
  if (!value) return fail(entry, expected_got(entry, "an integer", text));
  if (*value < min || *value > max) {
    return fail(entry, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                           ", got " + std::to_string(*value));
  }
  out = *value;
  return true;
}

bool Reader::read_uint32(const Entry& entry, int64_t min, int64_t max, uint32_t& out) {
  int64_t value = 0;
  if (!read_integer(entry, min, max, value)) return false;
  out = static_cast<uint32_t>(value);
  return true;
}

bool Reader::read_port(const Entry& entry, uint16_t& out) {
  int64_t value = 0;
  if (!read_integer(entry, 1, 65535, value)) return false;
  out = static_cast<uint16_t>(value);
  return true;
}

bool Reader::read_duration(const Entry& entry, Duration& out) {
  constexpr std::string_view kExpected =
      "a duration such as \"250ms\", \"5s\", \"2m\", \"1h\" or \"1d\"";
  std::string text;
  if (!read_text(entry, kExpected, text)) return false;
  std::string_view trimmed = trim(text);
  bool negative = trimmed.starts_with('-') && parse_duration(trimmed.substr(1));
  std::optional<Duration> value = parse_duration(trimmed);
  if (!negative && !value) return fail(entry, expected_got(entry, kExpected, text));
  if (negative || value->count() <= 0) {
    return fail(entry, "must be greater than zero, got " + quoted(trimmed));
  }
  out = *value;
  return true;
}

bool Reader::read_size(const Entry& entry, uint64_t min, uint64_t max, uint64_t& out) {
  constexpr std::string_view kExpected = "a size such as \"65536\", \"64kB\", \"16MB\" or \"1GB\"";
  std::string text;
  if (!read_text(entry, kExpected, text)) return false;
  std::optional<uint64_t> value = parse_size(text);
  if (!value) return fail(entry, expected_got(entry, kExpected, text));
  if (*value < min || *value > max) {
    return fail(entry, "must be between " + format_size(min) + " and " + format_size(max) +
                           ", got " + quoted(trim(text)));
  }
  out = *value;
  return true;
}

bool Reader::read_bool(const Entry& entry, bool& out) {
  constexpr std::string_view kExpected = "a boolean (true or false)";
  static constexpr std::pair<std::string_view, bool> kWords[] = {
      {"true", true}, {"false", false}, {"on", true}, {"off", false}, {"yes", true}, {"no", false}};
  std::string text;
  if (!read_text(entry, kExpected, text)) return false;
  std::string word = lowercase(trim(text));
  for (const auto& [name, value] : kWords) {
    if (word == name) {
      out = value;
      return true;
    }
  }
  return fail(entry, expected_got(entry, kExpected, text));
}

bool Reader::read_choice(const Entry& entry, std::span<const std::string_view> choices,
                         size_t& out) {
  std::string expected = join_choices(choices);
  std::string text;
  if (!read_text(entry, expected, text)) return false;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (trim(text) == choices[i]) {
      out = i;
      return true;
    }
  }
  std::string message = expected_got(entry, expected, text);
  std::string_view suggestion = closest_match(trim(text), choices);
  if (!suggestion.empty()) message += "; did you mean \"" + std::string(suggestion) + "\"?";
  return fail(entry, std::move(message));
}

std::string Reader::expected_got(const Entry& entry, std::string_view expected,
                                 const std::string& text) const {
  std::string message = "expected " + std::string(expected) + ", got " + quoted(text);
  if (entry.value.IsScalar() && entry.value.Scalar() != text) {
    message += " (from " + quoted(entry.value.Scalar()) + ")";
  }
  return message;
}

}  // namespace pgmux::config::detail
