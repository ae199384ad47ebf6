// Walks a parsed YAML document for the config parser: mapping entries with dotted
// paths and 1-based lines, scalars after ${ENV} substitution, typed values, and the
// first error found. Internal to the config module. Not thread-safe: one per parse.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "pgmux/config/config.hpp"

namespace pgmux::config::detail {

// 1-based line of `node` in the file; 0 when yaml-cpp does not know it.
int line_of(const YAML::Node& node);

// One "key: value" of a mapping.
struct Entry {
  std::string name;  // the key as written
  std::string path;  // dotted, e.g. "databases.appdb.port"
  YAML::Node value;
  int key_line = 0;
  int value_line = 0;  // the value's line; the key's line when the value is empty
};

// Every read_* function stores into `out` and returns true, or records an error
// (naming the entry's path and line) and returns false. Only the first error is kept.
// No error message quotes the text of a value read with read_text.
class Reader {
 public:
  Reader(std::string file, EnvLookup env);

  // Records an error unless one is already recorded; always returns false.
  bool fail(int line, std::string key, std::string message);
  bool fail(const Entry& entry, std::string message);
  // The first recorded error. Requires that one was recorded.
  ConfigError take_error();

  using Visitor = std::function<bool(const Entry&)>;
  // Calls `visit` for each entry of the mapping `node` (found at `path` on `line`) in
  // file order, stopping at the first false. An empty value counts as an empty mapping.
  // Fails on any other non-mapping, on a key that is not a plain name and on duplicates.
  bool for_each_entry(const YAML::Node& node, const std::string& path, int line,
                      const Visitor& visit);
  bool for_each_entry(const Entry& entry, const Visitor& visit);
  // Calls `visit` for each element of the sequence `entry.value`, as an Entry named by
  // its 0-based index with path "<path>[<index>]" and the element's own line, stopping
  // at the first false. An empty value counts as an empty sequence. Fails on any other
  // non-sequence with "expected <expected>, got ...".
  bool for_each_element(const Entry& entry, std::string_view expected, const Visitor& visit);

  // Fails with "unknown key", suggesting the closest of `known` when there is one.
  bool unknown_key(const Entry& entry, std::span<const std::string_view> known);

  // The value's text after ${ENV} substitution; `expected` (e.g. "a string") words the
  // error for a mapping, a sequence or an empty value.
  bool read_text(const Entry& entry, std::string_view expected, std::string& out);
  // Like read_text but also refuses an empty string.
  bool read_nonempty(const Entry& entry, std::string& out);
  bool read_integer(const Entry& entry, int64_t min, int64_t max, int64_t& out);
  bool read_uint32(const Entry& entry, int64_t min, int64_t max, uint32_t& out);
  bool read_port(const Entry& entry, uint16_t& out);
  // A duration greater than zero.
  bool read_duration(const Entry& entry, Duration& out);
  // A size in bytes within [min, max].
  bool read_size(const Entry& entry, uint64_t min, uint64_t max, uint64_t& out);
  // What read_name_list accepts: parameter names (letters, digits, '_' and '.') or
  // function names, which may also hold '*' wildcards and must not start or end with
  // '.' nor hold "..".
  enum class NameKind { kParameter, kFunction };
  // A list of names: a YAML sequence or one comma-separated string. Empty items are
  // dropped.
  bool read_name_list(const Entry& entry, std::vector<std::string>& out,
                      NameKind kind = NameKind::kParameter);
  // true/false, on/off or yes/no, in any letter case.
  bool read_bool(const Entry& entry, bool& out);
  // The index in `choices` of the value.
  bool read_choice(const Entry& entry, std::span<const std::string_view> choices, size_t& out);

 private:
  // 'expected <expected>, got "<text>"', adding where the text came from when
  // ${ENV} substitution changed it.
  std::string expected_got(const Entry& entry, std::string_view expected,
                           const std::string& text) const;

  std::string file_;
  EnvLookup env_;
  std::optional<ConfigError> error_;
};

}  // namespace pgmux::config::detail
