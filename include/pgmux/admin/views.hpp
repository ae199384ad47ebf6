// The admin console's SHOW tables, built from metrics snapshots and the configuration.
// Table builders are pure and thread-safe; StatsPeriod is thread-safe (own mutex).
// Column names and meanings follow PgBouncer 1.18 where PgBouncer has the command;
// pgmux's own columns come after PgBouncer's.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pgmux/admin/table.hpp"
#include "pgmux/config/config.hpp"
#include "pgmux/metrics/stats.hpp"

namespace pgmux::admin {

// A database's counters summed over all its pools (every user and node).
struct DatabaseTotals {
  uint64_t xacts = 0, queries = 0, received = 0, sent = 0;
  uint64_t xact_time_us = 0, query_time_us = 0, wait_time_us = 0;
};
std::map<std::string, DatabaseTotals> totals_by_database(
    const std::vector<metrics::PoolSnapshot>& pools);

// SHOW STATS avg_* values of one database over the last stats period: counts and bytes
// per second; times in microseconds per transaction (xact, wait) or per query.
struct DatabaseAverages {
  uint64_t xact_count = 0, query_count = 0, recv = 0, sent = 0;
  uint64_t xact_time = 0, query_time = 0, wait_time = 0;
};
using StatsAverages = std::map<std::string, DatabaseAverages>;

// Averages from the difference of the last two samples. The server calls sample()
// periodically (the stats period); any thread may read averages(). Thread-safe.
class StatsPeriod {
 public:
  // Records a sample; from the second one on, recomputes the averages from this sample
  // and the previous one. A sample not later than the previous one is ignored.
  // Databases absent from the previous sample count from zero; counters that went
  // down (pools removed) count as zero.
  void sample(std::chrono::steady_clock::time_point now,
              const std::vector<metrics::PoolSnapshot>& pools);
  // The averages of the last period; empty before the second sample.
  StatsAverages averages() const;

 private:
  mutable std::mutex mu_;
  bool have_previous_ = false;
  std::chrono::steady_clock::time_point previous_time_;
  std::map<std::string, DatabaseTotals> previous_;
  StatsAverages averages_;
};

// SHOW LISTS counts.
struct ListCounts {
  uint32_t databases = 0, users = 0, pools = 0;
  uint32_t used_clients = 0;  // open client connections
  uint32_t used_servers = 0;  // server connections checked out
  uint32_t free_servers = 0;  // idle server connections
};

// SHOW POOLS: PgBouncer's 16 columns (cancel columns always 0; maxwait whole seconds,
// maxwait_us the microsecond remainder), then node, role, pool_size, paused (0/1).
Table pools_table(const std::vector<metrics::PoolSnapshot>& pools);
// SHOW STATS: one row per database, sorted by name; times in microseconds. A database
// missing from `averages` shows zero averages.
Table stats_table(const std::vector<metrics::PoolSnapshot>& pools, const StatsAverages& averages);
// SHOW CLIENTS: PgBouncer's columns (addr/port split at the address's last colon,
// timestamps "YYYY-MM-DD HH:MM:SS UTC", ptr the pid), then pgmux_pid.
Table clients_table(const std::vector<metrics::ClientSnapshot>& clients);
// SHOW SERVERS: PgBouncer's columns (remote_pid the backend pid, link the client), then
// node, role, idle_seconds, prepared_statements.
Table servers_table(const std::vector<metrics::ServerSnapshot>& servers);
// SHOW DATABASES: one row per configured database (sorted) plus the admin database;
// `connections` maps a database to its open server connections (missing: 0).
Table databases_table(const config::Config& config, const std::set<std::string>& paused,
                      const std::map<std::string, uint32_t>& connections);
// SHOW CONFIG: key, value, default, changeable (yes: applied by RELOAD). Never shows
// the users: section or any password, SCRAM secret or md5 hash.
Table config_table(const config::Config& config);
// SHOW VERSION: one row "pgmux <version>".
Table version_table(std::string_view version);
// SHOW HELP: command, description; one row per console command.
Table help_table();
// SHOW NODES: the primary and replicas of databases with replicas and their health.
Table nodes_table(const std::vector<metrics::NodeSnapshot>& nodes);
// SHOW USERS: name, auth method, admin (0/1: in admin.admin_users), stats (0/1: in
// admin.stats_users). No secrets.
Table users_table(const config::Config& config);
// SHOW LISTS: list, items.
Table lists_table(const ListCounts& counts);

// "YYYY-MM-DD HH:MM:SS UTC" of seconds since the epoch; empty for 0.
std::string format_utc_timestamp(double seconds_since_epoch);

}  // namespace pgmux::admin
