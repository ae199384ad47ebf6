// The Prometheus exposition: the one table of every metric pgmux exports, the pure
// Snapshot -> metric families conversion, and the HTTP endpoint serving /metrics.
// Tables and free functions are thread-safe; an Exporter is used from one thread.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>

#include "pgmux/metrics/stats.hpp"
#include "pgmux/util/result.hpp"

namespace prometheus {
class Collectable;
class Exposer;
}  // namespace prometheus

namespace pgmux::metrics {

// Every metric, in the order of kMetrics (and of the exposition).
enum class MetricId : uint8_t {
  kPoolClientsActive,
  kPoolClientsWaiting,
  kPoolServersActive,
  kPoolServersIdle,
  kPoolServersUsed,
  kPoolServersLogin,
  kPoolSize,
  kPoolMaxWait,
  kPoolPaused,
  kPoolQueries,
  kPoolTransactions,
  kPoolReceivedBytes,
  kPoolSentBytes,
  kPoolServersOpened,
  kPoolServersClosed,
  kPoolErrors,
  kPoolRouted,
  kPoolFallbacks,
  kPoolRetries,
  kPoolServerMoves,
  kPoolQueryDuration,
  kPoolTransactionDuration,
  kPoolWaitDuration,
  kNodeHealthy,
  kNodeLagBytes,
  kNodeLagSeconds,
  kNodeInFlight,
  kClientConnections,
  kClientsAccepted,
  kClientsRejected,
  kTlsHandshakes,
  kAdminCommands,
  kSlowQueries,
  kConfigReloads,
  kWorkerThreads,
  kBuildInfo,
  kProcessCpu,
  kProcessResident,
  kProcessVirtual,
  kProcessOpenFds,
  kProcessMaxFds,
  kProcessStartTime,
  kCount
};

// Label names a series carries, in the order build code passes their values.
// The exposition writes labels sorted by name, as prometheus-cpp's registry does.
inline constexpr std::array<std::string_view, 0> kNoLabels{};
inline constexpr std::array<std::string_view, 4> kPoolLabels = {"database", "user", "node", "role"};
inline constexpr std::array<std::string_view, 5> kPoolClassLabels = {"database", "user", "node",
                                                                     "role", "class"};
inline constexpr std::array<std::string_view, 5> kPoolTargetLabels = {"database", "user", "node",
                                                                      "role", "target"};
inline constexpr std::array<std::string_view, 3> kNodeLabels = {"database", "node", "role"};
inline constexpr std::array<std::string_view, 1> kReasonLabels = {"reason"};
inline constexpr std::array<std::string_view, 1> kVersionLabels = {"version"};

// One exported metric. `help` is written verbatim: no newline or backslash.
struct MetricDef {
  MetricId id;
  std::string_view name;
  prometheus::MetricType type;
  std::string_view help;
  std::span<const std::string_view> labels;
};

namespace detail {
using prometheus::MetricType;
inline constexpr MetricType kGauge = MetricType::Gauge;
inline constexpr MetricType kCounter = MetricType::Counter;
inline constexpr MetricType kHistogram = MetricType::Histogram;
}  // namespace detail

// THE table. Counters end in _total; durations are histograms in seconds with
// kLatencyBuckets; "pool" series are keyed by database, user, node and role.
inline constexpr std::array<MetricDef, static_cast<size_t>(MetricId::kCount)> kMetrics = {{
    {MetricId::kPoolClientsActive, "pgmux_pool_clients_active", detail::kGauge,
     "Clients logged in to the pool and not waiting for a server.", kPoolLabels},
    {MetricId::kPoolClientsWaiting, "pgmux_pool_clients_waiting", detail::kGauge,
     "Clients queued for a server connection.", kPoolLabels},
    {MetricId::kPoolServersActive, "pgmux_pool_servers_active", detail::kGauge,
     "Server connections checked out by clients.", kPoolLabels},
    {MetricId::kPoolServersIdle, "pgmux_pool_servers_idle", detail::kGauge,
     "Idle server connections used recently, handed out without a check.", kPoolLabels},
    {MetricId::kPoolServersUsed, "pgmux_pool_servers_used", detail::kGauge,
     "Server connections idle for a while, checked before reuse.", kPoolLabels},
    {MetricId::kPoolServersLogin, "pgmux_pool_servers_login", detail::kGauge,
     "Server connections being opened.", kPoolLabels},
    {MetricId::kPoolSize, "pgmux_pool_size", detail::kGauge,
     "Configured maximum number of server connections of the pool (pool_size).", kPoolLabels},
    {MetricId::kPoolMaxWait, "pgmux_pool_max_wait_seconds", detail::kGauge,
     "How long the oldest waiting client has waited so far.", kPoolLabels},
    {MetricId::kPoolPaused, "pgmux_pool_paused", detail::kGauge,
     "1 while the pool is paused, else 0.", kPoolLabels},
    {MetricId::kPoolQueries, "pgmux_pool_queries_total", detail::kCounter,
     "Requests answered (one per ReadyForQuery).", kPoolLabels},
    {MetricId::kPoolTransactions, "pgmux_pool_transactions_total", detail::kCounter,
     "Server checkouts that ended (transactions in transaction mode).", kPoolLabels},
    {MetricId::kPoolReceivedBytes, "pgmux_pool_received_bytes_total", detail::kCounter,
     "Bytes received from clients and forwarded to servers.", kPoolLabels},
    {MetricId::kPoolSentBytes, "pgmux_pool_sent_bytes_total", detail::kCounter,
     "Bytes received from servers and forwarded to clients.", kPoolLabels},
    {MetricId::kPoolServersOpened, "pgmux_pool_server_connections_opened_total", detail::kCounter,
     "Server connections opened.", kPoolLabels},
    {MetricId::kPoolServersClosed, "pgmux_pool_server_connections_closed_total", detail::kCounter,
     "Server connections closed.", kPoolLabels},
    {MetricId::kPoolErrors, "pgmux_pool_errors_total", detail::kCounter,
     "ErrorResponses from servers, by SQLSTATE class.", kPoolClassLabels},
    {MetricId::kPoolRouted, "pgmux_pool_routed_statements_total", detail::kCounter,
     "Requests routed to the primary or to a replica.", kPoolTargetLabels},
    {MetricId::kPoolFallbacks, "pgmux_pool_fallbacks_to_primary_total", detail::kCounter,
     "Reads sent to the primary for want of a usable replica.", kPoolLabels},
    {MetricId::kPoolRetries, "pgmux_pool_retries_total", detail::kCounter,
     "Reads sent again to another node after a replica failed.", kPoolLabels},
    {MetricId::kPoolServerMoves, "pgmux_pool_server_moves_total", detail::kCounter,
     "Server connections moved to another worker thread's event loop.", kPoolLabels},
    {MetricId::kPoolQueryDuration, "pgmux_pool_query_duration_seconds", detail::kHistogram,
     "Time from a request sent to its ReadyForQuery.", kPoolLabels},
    {MetricId::kPoolTransactionDuration, "pgmux_pool_transaction_duration_seconds",
     detail::kHistogram, "Time a server connection stayed checked out.", kPoolLabels},
    {MetricId::kPoolWaitDuration, "pgmux_pool_wait_duration_seconds", detail::kHistogram,
     "Time clients waited for a server connection.", kPoolLabels},
    {MetricId::kNodeHealthy, "pgmux_node_healthy", detail::kGauge,
     "1 while the node passes its health check, else 0.", kNodeLabels},
    {MetricId::kNodeLagBytes, "pgmux_node_replication_lag_bytes", detail::kGauge,
     "Replication lag of the node behind the primary, in bytes of WAL.", kNodeLabels},
    {MetricId::kNodeLagSeconds, "pgmux_node_replication_lag_seconds", detail::kGauge,
     "Replication lag of the node behind the primary, in seconds.", kNodeLabels},
    {MetricId::kNodeInFlight, "pgmux_node_clients_in_flight", detail::kGauge,
     "Clients holding a server connection to the node.", kNodeLabels},
    {MetricId::kClientConnections, "pgmux_client_connections", detail::kGauge,
     "Open client connections.", kNoLabels},
    {MetricId::kClientsAccepted, "pgmux_client_connections_accepted_total", detail::kCounter,
     "Client connections accepted.", kNoLabels},
    {MetricId::kClientsRejected, "pgmux_client_connections_rejected_total", detail::kCounter,
     "Client connections refused, by reason.", kReasonLabels},
    {MetricId::kTlsHandshakes, "pgmux_tls_handshakes_total", detail::kCounter,
     "TLS handshakes completed with clients.", kNoLabels},
    {MetricId::kAdminCommands, "pgmux_admin_commands_total", detail::kCounter,
     "Commands run in the admin console.", kNoLabels},
    {MetricId::kSlowQueries, "pgmux_slow_queries_total", detail::kCounter,
     "Requests slower than the slow-query threshold.", kNoLabels},
    {MetricId::kConfigReloads, "pgmux_config_reloads_total", detail::kCounter,
     "Configuration reloads applied.", kNoLabels},
    {MetricId::kWorkerThreads, "pgmux_worker_threads", detail::kGauge,
     "Worker threads serving connections.", kNoLabels},
    {MetricId::kBuildInfo, "pgmux_build_info", detail::kGauge,
     "Always 1; the version label names the running build.", kVersionLabels},
    {MetricId::kProcessCpu, "process_cpu_seconds_total", detail::kCounter,
     "Total user and system CPU time spent in seconds.", kNoLabels},
    {MetricId::kProcessResident, "process_resident_memory_bytes", detail::kGauge,
     "Resident memory size in bytes.", kNoLabels},
    {MetricId::kProcessVirtual, "process_virtual_memory_bytes", detail::kGauge,
     "Virtual memory size in bytes.", kNoLabels},
    {MetricId::kProcessOpenFds, "process_open_fds", detail::kGauge,
     "Number of open file descriptors.", kNoLabels},
    {MetricId::kProcessMaxFds, "process_max_fds", detail::kGauge,
     "Maximum number of open file descriptors.", kNoLabels},
    {MetricId::kProcessStartTime, "process_start_time_seconds", detail::kGauge,
     "Start time of the process since unix epoch in seconds.", kNoLabels},
}};

constexpr const MetricDef& metric_def(MetricId id) { return kMetrics[static_cast<size_t>(id)]; }

// What /proc/self says about this process, read at scrape time. `ok` is false where
// /proc/self/stat or statm could not be read (or off Linux): then only max_fds is set.
struct ProcessStats {
  bool ok = false;
  double cpu_seconds = 0;  // utime + stime
  uint64_t resident_bytes = 0;
  uint64_t virtual_bytes = 0;
  uint64_t open_fds = 0;
  uint64_t max_fds = 0;  // soft RLIMIT_NOFILE
};
ProcessStats read_process_stats();

// The exposition of `s`, families in kMetrics order; families without series are left
// out. Pure. The first form has no /proc-derived process_* metrics (it does have
// process_start_time_seconds, from the snapshot); the second adds them from `p`.
std::vector<prometheus::MetricFamily> build_families(const Snapshot& s);
std::vector<prometheus::MetricFamily> build_families(const Snapshot& s, const ProcessStats& p);

// Prometheus text format (0.0.4) of the families / of build_families(s).
std::string render_text(const std::vector<prometheus::MetricFamily>& families);
std::string render_text(const Snapshot& s);

// The address civetweb listens on: "host:port", IPv6 hosts bracketed ("[::1]:9127").
std::string listen_address(const std::string& host, uint16_t port);

// Serves GET /metrics over HTTP on host:port from its own threads. Each scrape calls
// the provider and adds read_process_stats(). The provider runs on the exposer's
// threads, possibly on two at once: it must be thread-safe. Destroying the Exporter
// (or stop()) stops serving and waits for scrapes in progress; after a scrape that can
// take civetweb up to two seconds (its poll interval).
class Exporter {
 public:
  using Provider = std::function<Snapshot()>;

  // Listens on host:port (port 0: any free port, see port()). A port in use, a bad
  // host or a build without IPv6 support give an error naming host:port, never a throw.
  static util::Result<std::unique_ptr<Exporter>> start(const std::string& host, uint16_t port,
                                                       Provider provider);
  ~Exporter();
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  uint16_t port() const;  // the port bound; 0 once stopped
  void stop();            // idempotent; returns when no scrape is running

 private:
  Exporter(std::shared_ptr<prometheus::Collectable> collectable,
           std::unique_ptr<prometheus::Exposer> exposer);

  std::shared_ptr<prometheus::Collectable> collectable_;
  std::unique_ptr<prometheus::Exposer> exposer_;  // declared last: stops first
};

}  // namespace pgmux::metrics
