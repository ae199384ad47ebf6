// Parses the observability parts of the configuration: `metrics:` and `admin:`, and
// checks them against the rest of the file once it is read. Internal to the config
// module. Not thread-safe: each call works through the parse's one Reader.
#pragma once

#include "pgmux/config/config.hpp"
#include "yaml_reader.hpp"

namespace pgmux::config::detail {

// `admin:` as read, with the lines of keys checked once users and databases are known.
struct AdminDraft {
  int database_line = 0;
  std::vector<int> admin_user_lines;
  std::vector<int> stats_user_lines;
};

// `metrics: {enabled, listen: "host:port"}` into config.metrics.
bool parse_metrics(Reader& reader, const Entry& entry, MetricsConfig& metrics);
// `admin: {database, admin_users, stats_users, audit_log}` into config.admin.
bool parse_admin(Reader& reader, const Entry& entry, AdminConfig& admin, AdminDraft& draft);
// Every admin/stats user must be a `users:` key; the admin database must not be a
// `databases:` key.
bool check_admin(Reader& reader, const AdminDraft& draft, const Config& config);
// `slow_query_threshold`: a duration, or 0 / "off" for never.
bool read_threshold(Reader& reader, const Entry& entry, Duration& out);

}  // namespace pgmux::config::detail
