// A real Prometheus server scrapes pgmux's /metrics and its query API returns the number of
// queries clients actually ran.
// Thread-safety: single-threaded test; the Prometheus child is owned by one PrometheusProcess.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "harness.hpp"
#include "metrics_util.hpp"

namespace pgmux::itest {
namespace {

namespace mu = metrics_util;

constexpr const char* kPrometheus = "/usr/bin/prometheus";
constexpr const char* kDb = "pgmux_metrics";

// A Prometheus server on 127.0.0.1:port() scraping one target every second, storing into a
// temporary directory. Destruction stops it (SIGTERM, then SIGKILL) and removes its files.
class PrometheusProcess {
 public:
  explicit PrometheusProcess(uint16_t target_port) : port_(free_port()) {
    std::ostringstream config;
    config << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
           << "scrape_configs:\n  - job_name: pgmux\n    scrape_interval: 1s\n"
           << "    scrape_timeout: 1s\n    static_configs:\n"
           << "      - targets: ['127.0.0.1:" << target_port << "']\n";
    config_path_ = dir_.write("prometheus.yml", config.str());
    log_path_ = dir_.path() + "/prometheus.log";
  }
  ~PrometheusProcess() { stop(); }
  PrometheusProcess(const PrometheusProcess&) = delete;
  PrometheusProcess& operator=(const PrometheusProcess&) = delete;

  // Spawns it; false when its log cannot be created or fork fails.
  bool spawn() {
    std::vector<std::string> args = {kPrometheus, "--config.file=" + config_path_,
                                     "--storage.tsdb.path=" + dir_.path() + "/data",
                                     "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                     "--log.level=warn"};
    std::vector<char*> argv;  // built before fork: the child only calls async-signal-safe code
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int log = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log < 0) return false;
    pid_ = ::fork();
    if (pid_ == 0) {
      int devnull = ::open("/dev/null", O_RDONLY);
      ::dup2(devnull, 0);
      ::dup2(log, 1);
      ::dup2(log, 2);
      ::execv(kPrometheus, argv.data());
      ::_exit(127);
    }
    ::close(log);
    return pid_ > 0;
  }

  // Waits until GET /-/ready answers 200, or the process exits, or `timeout` passes.
  bool wait_ready(Millis timeout) {
    return wait_until([&] { return exited() || mu::http_get(port_, "/-/ready", 1s).ok(); }, timeout,
                      100ms) &&
           !exited();
  }

  // The first sample value of an instant query, nullopt when the answer holds none.
  std::optional<std::string> query(const std::string& promql) {
    mu::HttpResponse r = mu::http_get(port_, "/api/v1/query?query=" + mu::url_encode(promql), 2s);
    if (!r.ok()) return std::nullopt;
    last_answer_ = r.body;
    return first_value(r.body);
  }

  // From a query API answer, the number of the first `"value":[<ts>,"<number>"]`.
  static std::optional<std::string> first_value(const std::string& json) {
    size_t at = json.find("\"value\":[");
    if (at == std::string::npos) return std::nullopt;
    size_t open = json.find(",\"", at);
    size_t close = open == std::string::npos ? open : json.find('"', open + 2);
    if (close == std::string::npos) return std::nullopt;
    return json.substr(open + 2, close - open - 2);
  }

  bool exited() {
    if (pid_ > 0 && !reaped_ && ::waitpid(pid_, &status_, WNOHANG) == pid_) reaped_ = true;
    return reaped_;
  }

  void stop() {
    if (pid_ <= 0 || exited()) return;
    ::kill(pid_, SIGTERM);
    if (!wait_until([&] { return exited(); }, 10s, 20ms)) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status_, 0);
      reaped_ = true;
    }
  }

  uint16_t port() const { return port_; }
  const std::string& last_answer() const { return last_answer_; }
  std::string log() const {
    std::ifstream in(log_path_);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  TempDir dir_;
  uint16_t port_;
  std::string config_path_, log_path_, last_answer_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
};

TEST(PrometheusTest, RealServerScrapesExactQueryCount) {
  struct stat st {};
  if (::stat(kPrometheus, &st) != 0) GTEST_SKIP() << kPrometheus << " is not installed";
  uint16_t metrics_port = free_port();
  PgmuxConfig config;
  config.databases = {{.name = kDb}};
  config.extra = "metrics:\n  listen: \"127.0.0.1:" + std::to_string(metrics_port) + "\"\n";
  PgmuxProcess pgmux(config);
  ASSERT_TRUE(pgmux.start());
  ASSERT_TRUE(wait_until([&] { return !mu::scrape(metrics_port).empty(); }, 10s, 20ms));

  PrometheusProcess prometheus(metrics_port);
  ASSERT_TRUE(prometheus.spawn());
  ASSERT_TRUE(prometheus.wait_ready(20s)) << "Prometheus not ready; log:\n" << prometheus.log();

  constexpr int kQueries = 23;
  ConnectOutcome c = connect(pgmux.conninfo(kDb));
  ASSERT_TRUE(c.ok) << c.error;
  for (int i = 0; i < kQueries; ++i) ASSERT_TRUE(c.conn.exec("SELECT 1").ok());

  const std::string queries = "pgmux_pool_queries_total{database=\"" + std::string(kDb) + "\"}";
  std::optional<std::string> seen;
  bool counted = wait_until(
      [&] { return (seen = prometheus.query(queries)) == std::to_string(kQueries); }, 30s, 250ms);
  EXPECT_TRUE(counted) << "last value " << seen.value_or("(none)") << "; last answer "
                       << prometheus.last_answer() << "\nlog:\n"
                       << prometheus.log();
  EXPECT_EQ(prometheus.query("up{job=\"pgmux\"}"), "1") << prometheus.last_answer();
  EXPECT_EQ(prometheus.query("pgmux_build_info{job=\"pgmux\",version=\"0.1.0\"}"), "1")
      << prometheus.last_answer();
  prometheus.stop();
  EXPECT_TRUE(prometheus.exited());
}

}  // namespace
}  // namespace pgmux::itest
