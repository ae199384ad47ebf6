// The admin console's SHOW tables and the SHOW STATS averaging period. Table builders
// are pure and thread-safe; StatsPeriod guards its state with its own mutex.
#include "pgmux/admin/views.hpp"

#include <charconv>
#include <cmath>
#include <ctime>
#include <optional>
#include <utility>

namespace pgmux::admin {
namespace {

using Row = std::vector<std::optional<std::string>>;

std::string num(uint64_t v) { return std::to_string(v); }
std::string flag(bool v) { return v ? "1" : "0"; }
std::string boolean(bool v) { return v ? "t" : "f"; }  // bool columns, text format

// Shortest text that reads back as the same double (PostgreSQL's float8 output).
std::string real(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : "0";
}

std::vector<Column> columns(std::initializer_list<std::pair<const char*, uint32_t>> list) {
  std::vector<Column> out;
  out.reserve(list.size());
  for (const auto& [name, oid] : list) out.push_back(Column{name, oid});
  return out;
}

// "host:port" split at the last colon (IPv6 addresses come without brackets); the
// whole text is the host, port "0", when there is no numeric port.
std::pair<std::string, std::string> split_address(std::string_view address) {
  size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == address.size()) {
    return {std::string(address), "0"};
  }
  std::string_view port = address.substr(colon + 1);
  for (char c : port) {
    if (c < '0' || c > '9') return {std::string(address), "0"};
  }
  return {std::string(address.substr(0, colon)), std::string(port)};
}

uint64_t saturating_sub(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }
uint64_t ratio(uint64_t a, uint64_t b) { return b ? a / b : 0; }

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += ',';
    out += item;
  }
  return out;
}

bool contains(const std::vector<std::string>& items, std::string_view name) {
  for (const std::string& item : items) {
    if (item == name) return true;
  }
  return false;
}

DatabaseAverages average(const DatabaseTotals& cur, const DatabaseTotals& old, double seconds) {
  uint64_t xacts = saturating_sub(cur.xacts, old.xacts);
  uint64_t queries = saturating_sub(cur.queries, old.queries);
  auto per_second = [seconds](uint64_t d) { return static_cast<uint64_t>(d / seconds); };
  DatabaseAverages a;
  a.xact_count = per_second(xacts);
  a.query_count = per_second(queries);
  a.recv = per_second(saturating_sub(cur.received, old.received));
  a.sent = per_second(saturating_sub(cur.sent, old.sent));
  a.xact_time = ratio(saturating_sub(cur.xact_time_us, old.xact_time_us), xacts);
  a.query_time = ratio(saturating_sub(cur.query_time_us, old.query_time_us), queries);
  a.wait_time = ratio(saturating_sub(cur.wait_time_us, old.wait_time_us), xacts);
  return a;
}

Row pool_row(const metrics::PoolSnapshot& p) {
  double wait = p.longest_wait_seconds > 0 ? p.longest_wait_seconds : 0;
  auto wait_us = static_cast<uint64_t>(std::llround(wait * 1e6));
  return {p.database,
          p.user,
          num(p.clients_active),
          num(p.clients_waiting),
          "0",  // cl_active_cancel_req
          "0",  // cl_waiting_cancel_req
          num(p.servers_active),
          "0",  // sv_active_cancel
          "0",  // sv_being_canceled
          num(p.servers_idle),
          num(p.servers_used),
          "0",  // sv_tested
          num(p.servers_login),
          num(wait_us / 1000000),
          num(wait_us % 1000000),
          p.pool_mode,
          p.node,
          p.role,
          num(p.pool_size),
          flag(p.paused)};
}

Row stats_row(const std::string& database, const DatabaseTotals& t, const DatabaseAverages& a) {
  return {database,          num(t.xacts),        num(t.queries),       num(t.received),
          num(t.sent),       num(t.xact_time_us), num(t.query_time_us), num(t.wait_time_us),
          num(a.xact_count), num(a.query_count),  num(a.recv),          num(a.sent),
          num(a.xact_time),  num(a.query_time),   num(a.wait_time)};
}

Row client_row(const metrics::ClientSnapshot& c) {
  auto [host, port] = split_address(c.address);
  return {"C",
          c.user,
          c.database,
          c.state,
          host,
          port,
          "",   // local_addr
          "0",  // local_port
          format_utc_timestamp(c.connect_time),
          format_utc_timestamp(c.request_time),
          "0",  // wait
          "0",  // wait_us
          "0",  // close_needed
          num(c.pid),
          c.server,
          "0",  // remote_pid
          c.tls,
          c.application_name,
          num(c.pid)};
}

Row server_row(const metrics::ServerSnapshot& s) {
  auto [host, port] = split_address(s.node);
  return {"S",
          s.user,
          s.database,
          s.state,
          host,
          port,
          "",   // local_addr
          "0",  // local_port
          format_utc_timestamp(s.connect_time),
          "",   // request_time
          "0",  // wait
          "0",  // wait_us
          "0",  // close_needed
          num(s.pid),
          s.client,
          num(s.pid),
          "",  // tls
          "",  // application_name
          s.node,
          s.role,
          real(s.idle_seconds),
          num(s.prepared_statements)};
}

Row database_row(const config::DatabaseConfig& db, bool paused, uint32_t connections) {
  return {db.name,
          db.host,
          num(db.port),
          db.dbname.empty() ? db.name : db.dbname,
          "",  // force_user
          num(db.pool_size),
          num(db.min_pool_size),
          "0",  // reserve_pool
          std::string(config::to_string(db.pool_mode)),
          "0",  // max_connections
          num(connections),
          flag(paused),
          "0",  // disabled
          num(db.replicas.size())};
}

// The admin database itself, as PgBouncer lists its own: served in-process, no host.
Row admin_database_row(const config::Config& config) {
  const std::string& name = config.admin.database;
  return {name, std::nullopt, num(config.listen.port),
          name, "",           "0",
          "0",  "0",          "statement",
          "0",  "0",          "0",
          "0",  "0"};
}

}  // namespace

std::string format_utc_timestamp(double seconds_since_epoch) {
  if (seconds_since_epoch <= 0) return "";
  auto t = static_cast<std::time_t>(seconds_since_epoch);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return "";
  char buf[40];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return std::string(buf, n);
}

std::map<std::string, DatabaseTotals> totals_by_database(
    const std::vector<metrics::PoolSnapshot>& pools) {
  std::map<std::string, DatabaseTotals> out;
  for (const metrics::PoolSnapshot& p : pools) {
    DatabaseTotals& t = out[p.database];
    t.xacts += p.totals.transactions;
    t.queries += p.totals.queries;
    t.received += p.totals.bytes_received;
    t.sent += p.totals.bytes_sent;
    t.xact_time_us += p.totals.xact_time_us;
    t.query_time_us += p.totals.query_time_us;
    t.wait_time_us += p.totals.wait_time_us;
  }
  return out;
}

void StatsPeriod::sample(std::chrono::steady_clock::time_point now,
                         const std::vector<metrics::PoolSnapshot>& pools) {
  std::map<std::string, DatabaseTotals> current = totals_by_database(pools);
  std::lock_guard lock(mu_);
  if (have_previous_ && now <= previous_time_) return;
  if (have_previous_) {
    double seconds = std::chrono::duration<double>(now - previous_time_).count();
    StatsAverages fresh;
    for (const auto& [database, totals] : current) {
      auto old = previous_.find(database);
      fresh[database] =
          average(totals, old == previous_.end() ? DatabaseTotals{} : old->second, seconds);
    }
    averages_ = std::move(fresh);
  }
  previous_ = std::move(current);
  previous_time_ = now;
  have_previous_ = true;
}

StatsAverages StatsPeriod::averages() const {
  std::lock_guard lock(mu_);
  return averages_;
}

Table pools_table(const std::vector<metrics::PoolSnapshot>& pools) {
  Table t;
  t.columns = columns({{"database", kTextOid},
                       {"user", kTextOid},
                       {"cl_active", kInt4Oid},
                       {"cl_waiting", kInt4Oid},
                       {"cl_active_cancel_req", kInt4Oid},
                       {"cl_waiting_cancel_req", kInt4Oid},
                       {"sv_active", kInt4Oid},
                       {"sv_active_cancel", kInt4Oid},
                       {"sv_being_canceled", kInt4Oid},
                       {"sv_idle", kInt4Oid},
                       {"sv_used", kInt4Oid},
                       {"sv_tested", kInt4Oid},
                       {"sv_login", kInt4Oid},
                       {"maxwait", kInt4Oid},
                       {"maxwait_us", kInt4Oid},
                       {"pool_mode", kTextOid},
                       {"node", kTextOid},
                       {"role", kTextOid},
                       {"pool_size", kInt4Oid},
                       {"paused", kInt4Oid}});
  for (const metrics::PoolSnapshot& p : pools) t.rows.push_back(pool_row(p));
  return t;
}

Table stats_table(const std::vector<metrics::PoolSnapshot>& pools, const StatsAverages& averages) {
  Table t;
  t.columns = columns({{"database", kTextOid},
                       {"total_xact_count", kInt8Oid},
                       {"total_query_count", kInt8Oid},
                       {"total_received", kInt8Oid},
                       {"total_sent", kInt8Oid},
                       {"total_xact_time", kInt8Oid},
                       {"total_query_time", kInt8Oid},
                       {"total_wait_time", kInt8Oid},
                       {"avg_xact_count", kInt8Oid},
                       {"avg_query_count", kInt8Oid},
                       {"avg_recv", kInt8Oid},
                       {"avg_sent", kInt8Oid},
                       {"avg_xact_time", kInt8Oid},
                       {"avg_query_time", kInt8Oid},
                       {"avg_wait_time", kInt8Oid}});
  for (const auto& [database, totals] : totals_by_database(pools)) {
    auto a = averages.find(database);
    t.rows.push_back(
        stats_row(database, totals, a == averages.end() ? DatabaseAverages{} : a->second));
  }
  return t;
}

namespace {

// The columns SHOW CLIENTS and SHOW SERVERS share (PgBouncer's), then `extra`.
std::vector<Column> connection_columns(std::vector<Column> extra) {
  std::vector<Column> out = columns({{"type", kTextOid},
                       {"user", kTextOid},
                       {"database", kTextOid},
                       {"state", kTextOid},
                       {"addr", kTextOid},
                       {"port", kInt4Oid},
                       {"local_addr", kTextOid},
                       {"local_port", kInt4Oid},
                       {"connect_time", kTextOid},
                       {"request_time", kTextOid},
                       {"wait", kInt4Oid},
                       {"wait_us", kInt4Oid},
                       {"close_needed", kInt4Oid},
                       {"ptr", kTextOid},
                       {"link", kTextOid},
                       {"remote_pid", kInt4Oid},
                       {"tls", kTextOid},
                       {"application_name", kTextOid}});
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

}  // namespace

Table clients_table(const std::vector<metrics::ClientSnapshot>& clients) {
  Table t;
  t.columns = connection_columns({{"pgmux_pid", kInt8Oid}});
  for (const metrics::ClientSnapshot& c : clients) t.rows.push_back(client_row(c));
  return t;
}

Table servers_table(const std::vector<metrics::ServerSnapshot>& servers) {
  Table t;
  t.columns = connection_columns({{"node", kTextOid},
                       {"role", kTextOid},
                       {"idle_seconds", kFloat8Oid},
                       {"prepared_statements", kInt4Oid}});
  for (const metrics::ServerSnapshot& s : servers) t.rows.push_back(server_row(s));
  return t;
}

Table databases_table(const config::Config& config, const std::set<std::string>& paused,
                      const std::map<std::string, uint32_t>& connections) {
  Table t;
  t.columns = columns({{"name", kTextOid},
                       {"host", kTextOid},
                       {"port", kInt4Oid},
                       {"database", kTextOid},
                       {"force_user", kTextOid},
                       {"pool_size", kInt4Oid},
                       {"min_pool_size", kInt4Oid},
                       {"reserve_pool", kInt4Oid},
                       {"pool_mode", kTextOid},
                       {"max_connections", kInt4Oid},
                       {"current_connections", kInt4Oid},
                       {"paused", kInt4Oid},
                       {"disabled", kInt4Oid},
                       {"replicas", kInt4Oid}});
  for (const auto& [name, db] : config.databases) {
    auto c = connections.find(name);
    t.rows.push_back(
        database_row(db, paused.count(name) > 0, c == connections.end() ? 0 : c->second));
  }
  t.rows.push_back(admin_database_row(config));
  return t;
}

namespace {

std::string ms(config::Duration d) { return std::to_string(d.count()); }
std::string yes_no(bool v) { return v ? "true" : "false"; }

void add_setting(std::vector<Row>& rows, const char* key, std::string value, std::string def,
                 bool reloadable) {
  rows.push_back({key, std::move(value), std::move(def), reloadable ? "yes" : "no"});
}

// One SHOW CONFIG row per setting: (key, value, default, changeable by RELOAD).
// The users: section is deliberately absent: it holds passwords and secrets.
void add_settings(std::vector<Row>& rows, const config::Config& c, const config::Config& d) {
  auto add = [&rows](const char* key, std::string value, std::string def, bool reloadable) {
    add_setting(rows, key, std::move(value), std::move(def), reloadable);
  };
  add("listen.host", c.listen.host, d.listen.host, false);
  add("listen.port", num(c.listen.port), num(d.listen.port), false);
  add("workers", num(c.workers), num(d.workers), false);
  add("log_level", c.log_level, d.log_level, true);
  add("max_client_connections", num(c.max_client_connections), num(d.max_client_connections), true);
  add("max_message_size", num(c.max_message_size), num(d.max_message_size), true);
  add("pool_mode", std::string(config::to_string(c.pool_mode)),
      std::string(config::to_string(d.pool_mode)), true);
  add("pool_size", num(c.pool_size), num(d.pool_size), true);
  add("min_pool_size", num(c.min_pool_size), num(d.min_pool_size), true);
  add("server_reset_query", c.server_reset_query, d.server_reset_query, true);
  add("max_prepared_statements", num(c.max_prepared_statements), num(d.max_prepared_statements),
      true);
  add("track_extra_parameters", join(c.track_extra_parameters), join(d.track_extra_parameters),
      true);
  add("client_login_timeout", ms(c.client_login_timeout), ms(d.client_login_timeout), true);
  add("server_connect_timeout", ms(c.server_connect_timeout), ms(d.server_connect_timeout), true);
  add("server_login_retry", ms(c.server_login_retry), ms(d.server_login_retry), true);
  add("server_idle_timeout", ms(c.server_idle_timeout), ms(d.server_idle_timeout), true);
  add("server_lifetime", ms(c.server_lifetime), ms(d.server_lifetime), true);
  add("query_wait_timeout", ms(c.query_wait_timeout), ms(d.query_wait_timeout), true);
  add("shutdown_timeout", ms(c.shutdown_timeout), ms(d.shutdown_timeout), true);
  add("slow_query_threshold", ms(c.slow_query_threshold), ms(d.slow_query_threshold), true);
  add("log_query_literals", yes_no(c.log_query_literals), yes_no(d.log_query_literals), true);
}

void add_section_settings(std::vector<Row>& rows, const config::Config& c,
                          const config::Config& d) {
  auto add = [&rows](const char* key, std::string value, std::string def, bool reloadable) {
    add_setting(rows, key, std::move(value), std::move(def), reloadable);
  };
  add("health_check.interval", ms(c.health_check.interval), ms(d.health_check.interval), true);
  add("health_check.timeout", ms(c.health_check.timeout), ms(d.health_check.timeout), true);
  add("health_check.user", c.health_check.user, d.health_check.user, true);
  add("metrics.enabled", yes_no(c.metrics.enabled), yes_no(d.metrics.enabled), false);
  add("metrics.host", c.metrics.host, d.metrics.host, false);
  add("metrics.port", num(c.metrics.port), num(d.metrics.port), false);
  add("admin.database", c.admin.database, d.admin.database, true);
  add("admin.admin_users", join(c.admin.admin_users), join(d.admin.admin_users), true);
  add("admin.stats_users", join(c.admin.stats_users), join(d.admin.stats_users), true);
  add("admin.audit_log", c.admin.audit_log, d.admin.audit_log, false);
}

struct HelpEntry {
  const char* command;
  const char* description;
};
constexpr HelpEntry kHelp[] = {
    {"SHOW HELP", "this list"},
    {"SHOW POOLS", "one row per pool (database, user, node): clients and servers by state"},
    {"SHOW STATS", "per-database totals and averages over the last stats period"},
    {"SHOW CLIENTS", "one row per client connection"},
    {"SHOW SERVERS", "one row per server connection"},
    {"SHOW DATABASES", "configured databases, pool settings and current connections"},
    {"SHOW NODES", "primaries and replicas: health, role and replication lag"},
    {"SHOW USERS", "configured users, auth method and console rights"},
    {"SHOW CONFIG", "current settings with defaults (no secrets)"},
    {"SHOW LISTS", "counts of databases, users, pools, clients and servers"},
    {"SHOW VERSION", "the pgmux version"},
    {"SET name = value", "accepted and ignored (for drivers)"},
    {"PAUSE [db]", "stop handing out servers, after in-flight transactions finish"},
    {"RESUME [db]", "undo PAUSE"},
    {"RECONNECT [db]", "close server connections once they are released"},
    {"KILL db", "disconnect every client and server of a database at once"},
    {"RELOAD", "reload the configuration file"},
    {"SHUTDOWN", "stop pgmux"},
};

}  // namespace

Table config_table(const config::Config& config) {
  const config::Config defaults{};
  Table t;
  t.columns = columns(
      {{"key", kTextOid}, {"value", kTextOid}, {"default", kTextOid}, {"changeable", kTextOid}});
  add_settings(t.rows, config, defaults);
  add_section_settings(t.rows, config, defaults);
  return t;
}

Table version_table(std::string_view version) {
  Table t;
  t.columns = columns({{"version", kTextOid}});
  t.rows.push_back({"pgmux " + std::string(version)});
  return t;
}

Table help_table() {
  Table t;
  t.columns = columns({{"command", kTextOid}, {"description", kTextOid}});
  for (const HelpEntry& e : kHelp) t.rows.push_back({e.command, e.description});
  return t;
}

Table nodes_table(const std::vector<metrics::NodeSnapshot>& nodes) {
  Table t;
  t.columns = columns({{"database", kTextOid},
                       {"node", kTextOid},
                       {"role", kTextOid},
                       {"healthy", kBoolOid},
                       {"wrong_role", kBoolOid},
                       {"lag_seconds", kFloat8Oid},
                       {"lag_bytes", kInt8Oid},
                       {"clients_in_flight", kInt4Oid}});
  for (const metrics::NodeSnapshot& n : nodes) {
    t.rows.push_back({n.database, n.node, n.role, boolean(n.healthy), boolean(n.wrong_role),
                      real(n.lag_seconds), num(n.lag_bytes), num(n.in_flight)});
  }
  return t;
}

Table users_table(const config::Config& config) {
  Table t;
  t.columns =
      columns({{"name", kTextOid}, {"auth", kTextOid}, {"admin", kInt4Oid}, {"stats", kInt4Oid}});
  for (const auto& [name, user] : config.users) {
    t.rows.push_back({name, std::string(config::to_string(user.auth)),
                      flag(contains(config.admin.admin_users, name)),
                      flag(contains(config.admin.stats_users, name))});
  }
  return t;
}

Table lists_table(const ListCounts& counts) {
  Table t;
  t.columns = columns({{"list", kTextOid}, {"items", kInt4Oid}});
  const std::pair<const char*, uint32_t> items[] = {{"databases", counts.databases},
                                                    {"users", counts.users},
                                                    {"pools", counts.pools},
                                                    {"free_clients", 0},
                                                    {"used_clients", counts.used_clients},
                                                    {"free_servers", counts.free_servers},
                                                    {"used_servers", counts.used_servers}};
  for (const auto& [name, n] : items) t.rows.push_back({name, num(n)});
  return t;
}

}  // namespace pgmux::admin
