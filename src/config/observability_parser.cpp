// Parses `metrics:`, `admin:` and `slow_query_threshold`; see observability_parser.hpp.
#include "observability_parser.hpp"

#include "parse_util.hpp"

namespace pgmux::config::detail {
namespace {

constexpr std::string_view kMetricsKeys[] = {"enabled", "listen"};
constexpr std::string_view kAdminKeys[] = {"database", "admin_users", "stats_users", "audit_log"};

// "host:port", "[v6]:port" or ":port" (host 127.0.0.1).
bool split_listen(std::string_view text, std::string& host, std::string& port) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string_view h = text.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  host = h.empty() ? "127.0.0.1" : std::string(h);
  port = std::string(text.substr(colon + 1));
  return true;
}

bool parse_metrics_listen(Reader& reader, const Entry& e, MetricsConfig& metrics) {
  std::string text, port;
  if (!reader.read_nonempty(e, text)) return false;
  auto number = split_listen(trim(text), metrics.host, port) ? parse_integer(port) : std::nullopt;
  if (!number || *number < 0 || *number > 65535) {
    return reader.fail(e, "expected \"host:port\" (e.g. \"127.0.0.1:9127\"), got \"" + text + "\"");
  }
  metrics.port = static_cast<uint16_t>(*number);
  return true;
}

bool read_user_list(Reader& reader, const Entry& e, std::vector<std::string>& out,
                    std::vector<int>& lines) {
  return reader.for_each_element(e, "a list of user names", [&](const Entry& item) {
    std::string name;
    if (!reader.read_nonempty(item, name)) return false;
    out.push_back(std::move(name));
    lines.push_back(item.value_line);
    return true;
  });
}

bool check_users(Reader& reader, const std::vector<std::string>& names,
                 const std::vector<int>& lines, std::string_view key, const Config& config) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (!config.find_user(names[i])) {
      return reader.fail(lines[i], "admin." + std::string(key),
                         "\"" + names[i] + "\" is not a key of users: (admin users log in "
                         "with the password given there)");
    }
  }
  return true;
}

}  // namespace

bool parse_metrics(Reader& reader, const Entry& entry, MetricsConfig& metrics) {
  return reader.for_each_entry(entry, [&](const Entry& field) {
    if (field.name == "enabled") return reader.read_bool(field, metrics.enabled);
    if (field.name == "listen") return parse_metrics_listen(reader, field, metrics);
    return reader.unknown_key(field, kMetricsKeys);
  });
}

bool parse_admin(Reader& reader, const Entry& entry, AdminConfig& admin, AdminDraft& draft) {
  return reader.for_each_entry(entry, [&](const Entry& field) {
    if (field.name == "database") {
      draft.database_line = field.value_line;
      return reader.read_nonempty(field, admin.database);
    }
    if (field.name == "admin_users") {
      return read_user_list(reader, field, admin.admin_users, draft.admin_user_lines);
    }
    if (field.name == "stats_users") {
      return read_user_list(reader, field, admin.stats_users, draft.stats_user_lines);
    }
    if (field.name == "audit_log") return reader.read_text(field, "a file path", admin.audit_log);
    return reader.unknown_key(field, kAdminKeys);
  });
}

bool check_admin(Reader& reader, const AdminDraft& draft, const Config& config) {
  if (config.find_database(config.admin.database)) {
    return reader.fail(draft.database_line, "admin.database",
                       "\"" + config.admin.database +
                           "\" is also a key of databases:; the admin console needs a name of "
                           "its own");
  }
  return check_users(reader, config.admin.admin_users, draft.admin_user_lines, "admin_users",
                     config) &&
         check_users(reader, config.admin.stats_users, draft.stats_user_lines, "stats_users",
                     config);
}

bool read_threshold(Reader& reader, const Entry& entry, Duration& out) {
  std::string text;
  if (!reader.read_text(entry, "a duration", text)) return false;
  auto t = trim(text);
  if (t == "0" || t == "off") {
    out = Duration::zero();
    return true;
  }
  return reader.read_duration(entry, out);
}

}  // namespace pgmux::config::detail
