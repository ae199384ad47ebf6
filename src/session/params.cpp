// Session parameter helpers (see params.hpp). Pure.
#include "pgmux/session/params.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace pgmux::session {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Splits on unescaped spaces; "\x" stands for x.
std::vector<std::string> split_options(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  bool in_token = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\' && i + 1 < s.size()) {
      cur.push_back(s[++i]);
      in_token = true;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      if (in_token) out.push_back(std::move(cur));
      cur.clear();
      in_token = false;
    } else {
      cur.push_back(c);
      in_token = true;
    }
  }
  if (in_token) out.push_back(std::move(cur));
  return out;
}

}  // namespace

bool is_read_only_param(std::string_view name) {
  static constexpr std::array<std::string_view, 6> kReadOnly{
      "server_version", "server_encoding",        "integer_datetimes",
      "is_superuser",   "session_authorization", "in_hot_standby"};
  return std::any_of(kReadOnly.begin(), kReadOnly.end(),
                     [&](std::string_view r) { return iequals(r, name); });
}

bool is_valid_param_name(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.back() == '.') return false;
  if (name.find("..") != std::string_view::npos) return false;  // "" is no identifier
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
  });
}

std::string canonical_param_name(std::string_view name, const Params& reported) {
  for (const auto& [known, value] : reported) {
    if (iequals(known, name)) return known;
  }
  return lower(name);
}

util::Result<std::vector<std::pair<std::string, std::string>>> parse_options(
    std::string_view options) {
  std::vector<std::pair<std::string, std::string>> out;
  auto tokens = split_options(options);
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string setting;
    const std::string& t = tokens[i];
    if (t == "-c" && i + 1 < tokens.size()) {
      setting = tokens[++i];
    } else if (t.rfind("-c", 0) == 0 && t.size() > 2) {
      setting = t.substr(2);
    } else if (t.rfind("--", 0) == 0 && t.size() > 2) {
      setting = t.substr(2);
    } else {
      return util::make_error("0A000", "unsupported option \"" + t +
                                           "\" in the options startup parameter (pgmux accepts "
                                           "-c name=value and --name=value)");
    }
    auto eq = setting.find('=');
    if (eq == std::string::npos || eq == 0) {
      return util::make_error("0A000", "invalid setting \"" + setting +
                                           "\" in the options startup parameter");
    }
    std::string name = setting.substr(0, eq);
    std::replace(name.begin(), name.end(), '-', '_');
    out.emplace_back(std::move(name), setting.substr(eq + 1));
  }
  return out;
}

std::string quote_literal(std::string_view value) {
  bool backslash = value.find('\\') != std::string_view::npos;
  std::string out = backslash ? "E'" : "'";
  for (char c : value) {
    if (c == '\'') out.push_back('\'');
    if (c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string quote_name(std::string_view name) {
  std::string out;
  size_t start = 0;
  for (;;) {
    size_t dot = name.find('.', start);
    out += '"';
    for (char c : name.substr(start, dot == std::string_view::npos ? dot : dot - start)) {
      if (c == '"') out += '"';
      out += c;
    }
    out += '"';
    if (dot == std::string_view::npos) break;
    out += '.';
    start = dot + 1;
  }
  return out;
}

std::string build_sync_sql(const Params& baseline, const Params& changes, const Params& server,
                           std::vector<std::string>& changed, std::vector<std::string>& reset) {
  // set_config() takes the value as text the way the setting parses it, so a list such
  // as search_path 'a, b' stays a list (SET x TO 'a, b' would make it one quoted name).
  std::string sets;
  auto want = [&](const std::string& name, const std::string& value) {
    auto it = server.find(name);
    if (it != server.end() && it->second == value) return;  // the common case: nothing to do
    if (is_read_only_param(name) || !is_valid_param_name(name)) return;
    sets += sets.empty() ? "SELECT " : ", ";
    sets += "set_config(" + quote_literal(name) + ", " + quote_literal(value) + ", false)";
    changed.push_back(name);
  };
  for (const auto& [name, value] : baseline) {
    auto own = changes.find(name);
    want(name, own != changes.end() ? own->second : value);
  }
  for (const auto& [name, value] : changes) {
    if (!baseline.count(name)) want(name, value);
  }
  std::string sql = sets.empty() ? std::string() : sets + ";";
  for (const auto& [name, value] : server) {
    if (baseline.count(name) || changes.count(name) || is_read_only_param(name) ||
        !is_valid_param_name(name)) {
      continue;
    }
    sql += "RESET " + quote_name(name) + ";";
    reset.push_back(name);
  }
  return sql;
}

}  // namespace pgmux::session
