// Snapshot -> Prometheus metric families, /proc/self process metrics, and the HTTP
// endpoint (see exporter.hpp). Everything but Exporter is pure or reads only /proc.
#include "pgmux/metrics/exporter.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <sstream>

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/text_serializer.h>

namespace pgmux::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Values = std::initializer_list<std::string_view>;

// ---- checks of the table, at compile time ----

constexpr bool valid_name(std::string_view n) {
  if (n.empty() || (n[0] >= '0' && n[0] <= '9')) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

constexpr bool valid_def(const MetricDef& d, size_t index) {
  if (static_cast<size_t>(d.id) != index || !valid_name(d.name) || d.help.empty()) return false;
  if (d.help.find_first_of("\\\n") != std::string_view::npos) return false;
  if (d.type == MetricType::Counter && !d.name.ends_with("_total")) return false;
  if (d.type == MetricType::Histogram && !d.name.ends_with("_seconds")) return false;
  return std::all_of(d.labels.begin(), d.labels.end(),
                     [](std::string_view l) { return valid_name(l) && l != "le"; });
}

constexpr bool table_is_valid() {
  for (size_t i = 0; i < kMetrics.size(); ++i) {
    if (!valid_def(kMetrics[i], i)) return false;
  }
  return true;
}
static_assert(table_is_valid(), "kMetrics: ids in order, valid names, help and label names");

// ---- building families ----

// One family per kMetrics entry, filled series by series; take() drops the empty ones.
class Families {
 public:
  Families() {
    all_.reserve(kMetrics.size());
    for (const MetricDef& d : kMetrics) {
      all_.push_back(MetricFamily{std::string(d.name), std::string(d.help), d.type, {}});
    }
  }

  void add(MetricId id, Values labels, double value) {
    ClientMetric& m = new_series(id, labels);
    if (metric_def(id).type == MetricType::Counter) {
      m.counter.value = value;
    } else {
      m.gauge.value = value;
    }
  }

  // prometheus-cpp wants cumulative buckets ending with +Inf; _count is their total.
  void add_histogram(MetricId id, Values labels, const HistogramValues& h) {
    ClientMetric::Histogram& out = new_series(id, labels).histogram;
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h.buckets.size(); ++i) {
      cumulative += h.buckets[i];
      const double bound =
          i < kLatencyBuckets.size() ? kLatencyBuckets[i] : std::numeric_limits<double>::infinity();
      out.bucket.push_back({cumulative, bound});
    }
    out.sample_count = cumulative;
    out.sample_sum = h.sum_seconds;
  }

  std::vector<MetricFamily> take() {
    std::erase_if(all_, [](const MetricFamily& f) { return f.metric.empty(); });
    return std::move(all_);
  }

 private:
  ClientMetric& new_series(MetricId id, Values values) {
    const MetricDef& d = metric_def(id);
    assert(values.size() == d.labels.size());
    ClientMetric m;
    auto value = values.begin();
    for (size_t i = 0; i < d.labels.size() && value != values.end(); ++i, ++value) {
      m.label.push_back({std::string(d.labels[i]), std::string(*value)});
    }
    std::sort(m.label.begin(), m.label.end());
    auto& series = all_[static_cast<size_t>(id)].metric;
    series.push_back(std::move(m));
    return series.back();
  }

  std::vector<MetricFamily> all_;
};

// Pool gauges and plain counters: which snapshot field each metric shows.
struct PoolField {
  MetricId id;
  double (*get)(const PoolSnapshot&);
};
constexpr PoolField kPoolFields[] = {
    {MetricId::kPoolClientsActive,
     [](const PoolSnapshot& p) -> double { return p.clients_active; }},
    {MetricId::kPoolClientsWaiting,
     [](const PoolSnapshot& p) -> double { return p.clients_waiting; }},
    {MetricId::kPoolServersActive,
     [](const PoolSnapshot& p) -> double { return p.servers_active; }},
    {MetricId::kPoolServersIdle, [](const PoolSnapshot& p) -> double { return p.servers_idle; }},
    {MetricId::kPoolServersUsed, [](const PoolSnapshot& p) -> double { return p.servers_used; }},
    {MetricId::kPoolServersLogin, [](const PoolSnapshot& p) -> double { return p.servers_login; }},
    {MetricId::kPoolSize, [](const PoolSnapshot& p) -> double { return p.pool_size; }},
    {MetricId::kPoolMaxWait, [](const PoolSnapshot& p) { return p.longest_wait_seconds; }},
    {MetricId::kPoolPaused, [](const PoolSnapshot& p) { return p.paused ? 1.0 : 0.0; }},
    {MetricId::kPoolQueries, [](const PoolSnapshot& p) -> double { return p.totals.queries; }},
    {MetricId::kPoolTransactions,
     [](const PoolSnapshot& p) -> double { return p.totals.transactions; }},
    {MetricId::kPoolReceivedBytes,
     [](const PoolSnapshot& p) -> double { return p.totals.bytes_received; }},
    {MetricId::kPoolSentBytes, [](const PoolSnapshot& p) -> double { return p.totals.bytes_sent; }},
    {MetricId::kPoolServersOpened,
     [](const PoolSnapshot& p) -> double { return p.totals.servers_opened; }},
    {MetricId::kPoolServersClosed,
     [](const PoolSnapshot& p) -> double { return p.totals.servers_closed; }},
    {MetricId::kPoolFallbacks,
     [](const PoolSnapshot& p) -> double { return p.totals.fallbacks_to_primary; }},
    {MetricId::kPoolRetries, [](const PoolSnapshot& p) -> double { return p.totals.retries; }},
    {MetricId::kPoolServerMoves,
     [](const PoolSnapshot& p) -> double { return p.totals.server_moves; }},
};

void add_pool(Families& f, const PoolSnapshot& p) {
  const std::string_view db = p.database, user = p.user, node = p.node, role = p.role;
  for (const PoolField& field : kPoolFields) f.add(field.id, {db, user, node, role}, field.get(p));
  for (size_t i = 0; i < p.totals.errors.size(); ++i) {
    if (p.totals.errors[i] == 0) continue;
    f.add(MetricId::kPoolErrors, {db, user, node, role, kErrorClasses[i]},
          static_cast<double>(p.totals.errors[i]));
  }
  f.add(MetricId::kPoolRouted, {db, user, node, role, "primary"},
        static_cast<double>(p.totals.statements_to_primary));
  f.add(MetricId::kPoolRouted, {db, user, node, role, "replica"},
        static_cast<double>(p.totals.statements_to_replica));
  f.add_histogram(MetricId::kPoolQueryDuration, {db, user, node, role}, p.totals.query_duration);
  f.add_histogram(MetricId::kPoolTransactionDuration, {db, user, node, role},
                  p.totals.transaction_duration);
  f.add_histogram(MetricId::kPoolWaitDuration, {db, user, node, role}, p.totals.wait_duration);
}

void add_node(Families& f, const NodeSnapshot& n) {
  const Values labels = {n.database, n.node, n.role};
  f.add(MetricId::kNodeHealthy, labels, n.healthy ? 1.0 : 0.0);
  f.add(MetricId::kNodeLagBytes, labels, static_cast<double>(n.lag_bytes));
  f.add(MetricId::kNodeLagSeconds, labels, n.lag_seconds);
  f.add(MetricId::kNodeInFlight, labels, n.in_flight);
}

void add_global(Families& f, const ProcessSnapshot& p) {
  f.add(MetricId::kClientConnections, {}, p.clients);
  f.add(MetricId::kClientsAccepted, {}, static_cast<double>(p.accepted));
  for (size_t i = 0; i < p.rejected.size(); ++i) {
    f.add(MetricId::kClientsRejected, {to_string(static_cast<Reject>(i))},
          static_cast<double>(p.rejected[i]));
  }
  f.add(MetricId::kTlsHandshakes, {}, static_cast<double>(p.tls_handshakes));
  f.add(MetricId::kAdminCommands, {}, static_cast<double>(p.admin_commands));
  f.add(MetricId::kSlowQueries, {}, static_cast<double>(p.slow_queries));
  f.add(MetricId::kConfigReloads, {}, static_cast<double>(p.reloads));
  f.add(MetricId::kWorkerThreads, {}, p.workers);
  f.add(MetricId::kBuildInfo, {p.version}, 1);
  f.add(MetricId::kProcessStartTime, {}, p.start_time);
}

void add_process(Families& f, const ProcessStats& p) {
  if (p.ok) {
    f.add(MetricId::kProcessCpu, {}, p.cpu_seconds);
    f.add(MetricId::kProcessResident, {}, static_cast<double>(p.resident_bytes));
    f.add(MetricId::kProcessVirtual, {}, static_cast<double>(p.virtual_bytes));
    f.add(MetricId::kProcessOpenFds, {}, static_cast<double>(p.open_fds));
  }
  f.add(MetricId::kProcessMaxFds, {}, static_cast<double>(p.max_fds));
}

Families families_of(const Snapshot& s) {
  Families f;
  for (const PoolSnapshot& p : s.pools) add_pool(f, p);
  for (const NodeSnapshot& n : s.nodes) add_node(f, n);
  add_global(f, s.process);
  return f;
}

// ---- /proc/self ----

// The first `n` whitespace-separated unsigned numbers of `text`; false if fewer.
bool parse_numbers(std::string_view text, size_t n, std::vector<uint64_t>& out) {
  out.clear();
  std::istringstream in{std::string(text)};
  std::string token;
  while (out.size() < n && in >> token) {
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), v);
    out.push_back(ec == std::errc() ? v : 0);
  }
  return out.size() == n;
}

std::string read_first_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// utime and stime are fields 14 and 15 of /proc/self/stat; the command name (field 2)
// is in parentheses and may hold spaces, so fields are counted after the last ')'.
bool read_cpu(ProcessStats& p) {
  const std::string line = read_first_line("/proc/self/stat");
  const size_t close = line.rfind(')');
  std::vector<uint64_t> f;
  if (close == std::string::npos ||
      !parse_numbers(std::string_view(line).substr(close + 2), 13, f)) {
    return false;
  }
  const long ticks = sysconf(_SC_CLK_TCK);
  p.cpu_seconds = static_cast<double>(f[11] + f[12]) / static_cast<double>(ticks > 0 ? ticks : 100);
  return true;
}

bool read_memory(ProcessStats& p) {
  std::vector<uint64_t> f;
  if (!parse_numbers(read_first_line("/proc/self/statm"), 2, f)) return false;
  const long page = sysconf(_SC_PAGESIZE);
  const uint64_t page_size = page > 0 ? static_cast<uint64_t>(page) : 4096;
  p.virtual_bytes = f[0] * page_size;
  p.resident_bytes = f[1] * page_size;
  return true;
}

uint64_t count_open_fds() {
  std::error_code ec;
  uint64_t n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++n;
  }
  return n;
}

// ---- the endpoint ----

// Hands each scrape the provider's snapshot plus /proc figures. An exception must not
// unwind into civetweb's C threads: a failed provider gives an empty scrape.
class SnapshotCollectable final : public prometheus::Collectable {
 public:
  explicit SnapshotCollectable(Exporter::Provider provider) : provider_(std::move(provider)) {}

  std::vector<MetricFamily> Collect() const override {
    try {
      return build_families(provider_(), read_process_stats());
    } catch (const std::exception&) {
      return {};
    }
  }

 private:
  Exporter::Provider provider_;
};

constexpr size_t kExposerThreads = 2;

}  // namespace

ProcessStats read_process_stats() {
  ProcessStats p;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) p.max_fds = limit.rlim_cur;
#ifdef __linux__
  p.ok = read_cpu(p) && read_memory(p);
  p.open_fds = count_open_fds();
#endif
  return p;
}

std::vector<MetricFamily> build_families(const Snapshot& s) { return families_of(s).take(); }

std::vector<MetricFamily> build_families(const Snapshot& s, const ProcessStats& p) {
  Families f = families_of(s);
  add_process(f, p);
  return f.take();
}

std::string render_text(const std::vector<MetricFamily>& families) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

std::string render_text(const Snapshot& s) { return render_text(build_families(s)); }

std::string listen_address(const std::string& host, uint16_t port) {
  const std::string port_text = std::to_string(port);
  if (host.empty()) return "0.0.0.0:" + port_text;
  if (host.find(':') != std::string::npos && host.front() != '[') {
    return "[" + host + "]:" + port_text;
  }
  return host + ":" + port_text;
}

util::Result<std::unique_ptr<Exporter>> Exporter::start(const std::string& host, uint16_t port,
                                                        Provider provider) {
  const std::string address = listen_address(host, port);
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>(address, kExposerThreads);
  } catch (const std::exception&) {
    std::string why = "cannot listen on " + address +
                      " for metrics: the port is in use, or the address is not one of this host";
    if (address.front() == '[') why += ", or this build of civetweb has no IPv6 support";
    return util::make_error("metrics_listen", why);
  }
  auto collectable = std::make_shared<SnapshotCollectable>(std::move(provider));
  exposer->RegisterCollectable(collectable, "/metrics");
  return std::unique_ptr<Exporter>(new Exporter(std::move(collectable), std::move(exposer)));
}

Exporter::Exporter(std::shared_ptr<prometheus::Collectable> collectable,
                   std::unique_ptr<prometheus::Exposer> exposer)
    : collectable_(std::move(collectable)), exposer_(std::move(exposer)) {}

Exporter::~Exporter() { stop(); }

uint16_t Exporter::port() const {
  if (!exposer_) return 0;
  const std::vector<int> ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : static_cast<uint16_t>(ports.front());
}

void Exporter::stop() { exposer_.reset(); }

}  // namespace pgmux::metrics
