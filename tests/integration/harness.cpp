// Integration-test helpers: cluster access, the pgmux child process, bounded libpq calls,
// child commands. Thread-safety: see harness.hpp.
#include "harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace pgmux::itest {

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Resolves argv[0] against PATH in the parent, so the child only needs execve.
std::string resolve_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return name;
}

// The caller's environment with `overrides` applied; drops PG* (except PGMUX_*) when asked.
std::vector<std::string> make_env(const std::map<std::string, std::string>& overrides,
                                  bool drop_pg) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string entry(*e);
    std::string key = entry.substr(0, entry.find('='));
    bool libpq_var = key.rfind("PG", 0) == 0 && key.rfind("PGMUX_", 0) != 0;
    if ((drop_pg && libpq_var) || overrides.count(key)) continue;
    env.push_back(entry);
  }
  for (const auto& [key, value] : overrides) env.push_back(key + "=" + value);
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Forks and execs; the child gets stdin from /dev/null, fds `out`/`err` as stdout/stderr, and
// dies with its parent. Returns the pid (or -1).
pid_t spawn(std::vector<std::string> argv, std::vector<std::string> env, int out, int err) {
  std::string program = resolve_program(argv.at(0));
  std::vector<char*> cargv = c_strings(argv);
  std::vector<char*> cenv = c_strings(env);
  pid_t pid = fork();
  if (pid != 0) return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  int devnull = open("/dev/null", O_RDONLY);
  dup2(devnull, 0);
  dup2(out, 1);
  dup2(err, 2);
  execve(program.c_str(), cargv.data(), cenv.data());
  _exit(127);
}

int exit_code_of(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

}  // namespace

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return text;
}

std::string unique_tag(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return prefix + "_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string required_env(const char* name) {
  const char* value = getenv(name);
  if (!value || !*value) {
    throw std::runtime_error(std::string("environment variable ") + name +
                             " is not set (run the integration tests through ctest)");
  }
  return value;
}

std::string pgmux_bin() { return required_env("PGMUX_BIN"); }

uint16_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error(std::string("free_port: ") + strerror(errno));
  }
  close(fd);
  return ntohs(addr.sin_port);
}

bool tcp_connectable(uint16_t port, Millis timeout) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  if (!ok && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    int soerr = 0;
    socklen_t len = sizeof soerr;
    ok = poll(&p, 1, static_cast<int>(timeout.count())) == 1 &&
         getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0;
  }
  close(fd);
  return ok;
}

bool wait_until(const std::function<bool()>& done, Millis timeout, Millis interval) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    if (done()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

std::string CommandResult::describe() const {
  std::ostringstream s;
  s << "exit code " << exit_code;
  if (term_signal) s << ", signal " << term_signal;
  if (timed_out) s << ", TIMED OUT";
  s << "\n--- stdout ---\n" << out << "\n--- stderr ---\n" << err;
  return s.str();
}

CommandResult run_command(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env, Millis timeout) {
  CommandResult result;
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    result.err = std::string("pipe: ") + strerror(errno);
    return result;
  }
  pid_t pid = spawn(argv, make_env(env, true), out_pipe[1], err_pipe[1]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  auto deadline = Clock::now() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int status = 0;
  bool reaped = false;
  while (!reaped) {
    if (Clock::now() >= deadline) {
      kill(pid, SIGKILL);
      result.timed_out = true;
      break;
    }
    bool open_fds = fds[0].fd >= 0 || fds[1].fd >= 0;
    poll(fds, 2, open_fds ? std::min(remaining_ms(deadline), 100) : 10);
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) sinks[i]->append(buf, n);
      if (n == 0 || (n < 0 && errno != EINTR)) {
        close(fds[i].fd);
        fds[i].fd = -1;
      }
    }
    if (!open_fds || (fds[0].fd < 0 && fds[1].fd < 0))
      reaped = waitpid(pid, &status, WNOHANG) == pid;
  }
  if (!reaped) waitpid(pid, &status, 0);
  for (auto& p : fds)
    if (p.fd >= 0) close(p.fd);
  result.exit_code = result.timed_out ? -1 : exit_code_of(status);
  if (WIFSIGNALED(status)) result.term_signal = WTERMSIG(status);
  return result;
}

// ---- libpq ----

PgResult::PgResult(PGresult* res, std::string error)
    : res_(res, PQclear), error_(std::move(error)) {
  if (error_.empty() && (!res_ || (PQresultStatus(res) != PGRES_COMMAND_OK &&
                                   PQresultStatus(res) != PGRES_TUPLES_OK))) {
    error_ = res_ ? PQresultErrorMessage(res) : "no result";
    if (error_.empty()) error_ = PQresStatus(PQresultStatus(res));
  }
}

bool PgResult::ok() const { return error_.empty(); }

std::string PgResult::sqlstate() const {
  const char* state = res_ ? PQresultErrorField(res_.get(), PG_DIAG_SQLSTATE) : nullptr;
  return state ? state : "";
}

int PgResult::rows() const { return res_ ? PQntuples(res_.get()) : 0; }

std::string PgResult::value(int row, int col) const {
  if (!res_ || row >= PQntuples(res_.get()) || col >= PQnfields(res_.get())) return "";
  return PQgetvalue(res_.get(), row, col);
}

long long PgResult::int_value(int row, int col) const {
  std::string text = value(row, col);
  char* end = nullptr;
  long long v = strtoll(text.c_str(), &end, 10);
  return (text.empty() || *end) ? -1 : v;
}

PgResult PgConn::exec(const std::string& sql, Millis timeout) {
  if (!conn_) return PgResult(nullptr, "no connection");
  if (!PQsendQuery(conn_.get(), sql.c_str())) return PgResult(nullptr, error());
  return wait_result(timeout);
}

ExecStatusType PgResult::status() const {
  return res_ ? PQresultStatus(res_.get()) : PGRES_FATAL_ERROR;
}

PgResult PgConn::prepare(const std::string& name, const std::string& sql, Millis timeout) {
  if (!conn_) return PgResult(nullptr, "no connection");
  if (!PQsendPrepare(conn_.get(), name.c_str(), sql.c_str(), 0, nullptr)) {
    return PgResult(nullptr, error());
  }
  return wait_result(timeout);
}

PgResult PgConn::exec_prepared(const std::string& name, const std::vector<std::string>& params,
                               Millis timeout) {
  if (!conn_) return PgResult(nullptr, "no connection");
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  if (!PQsendQueryPrepared(conn_.get(), name.c_str(), static_cast<int>(values.size()),
                           values.data(), nullptr, nullptr, 0)) {
    return PgResult(nullptr, error());
  }
  return wait_result(timeout);
}

PgResult PgConn::describe_prepared(const std::string& name, Millis timeout) {
  if (!conn_) return PgResult(nullptr, "no connection");
  if (!PQsendDescribePrepared(conn_.get(), name.c_str())) return PgResult(nullptr, error());
  return wait_result(timeout);
}

PgResult PgConn::exec_params(const std::string& sql, const std::vector<std::string>& params,
                             Millis timeout) {
  if (!conn_) return PgResult(nullptr, "no connection");
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  if (!PQsendQueryParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                         values.data(), nullptr, nullptr, 0)) {
    return PgResult(nullptr, error());
  }
  return wait_result(timeout);
}

// Reads results until libpq reports the query finished; bounded by `timeout`.
PgResult PgConn::wait_result(Millis timeout) {
  PGconn* c = conn_.get();
  auto deadline = Clock::now() + timeout;
  std::vector<PgResult> results;
  while (true) {
    while (PQflush(c) == 1) {
      pollfd p{PQsocket(c), POLLOUT, 0};
      if (poll(&p, 1, remaining_ms(deadline)) == 0) return PgResult(nullptr, "timed out sending");
    }
    if (!PQisBusy(c)) {
      PGresult* r = PQgetResult(c);
      if (!r) break;
      results.emplace_back(r, "");
      continue;
    }
    pollfd p{PQsocket(c), POLLIN, 0};
    if (poll(&p, 1, remaining_ms(deadline)) == 0) {
      return PgResult(nullptr, "timed out after " + std::to_string(timeout.count()) + " ms");
    }
    if (!PQconsumeInput(c)) return PgResult(nullptr, error());
  }
  for (auto& r : results)
    if (!r.ok()) return std::move(r);
  if (results.empty()) return PgResult(nullptr, "no result");
  return std::move(results.back());
}

bool PgConn::send(const std::string& sql) { return conn_ && PQsendQuery(conn_.get(), sql.c_str()); }

void PgConn::kill_socket() {
  if (!conn_) return;
  shutdown(PQsocket(conn_.get()), SHUT_RDWR);
  conn_.reset();
}

ConnectOutcome connect(const std::string& conninfo, Millis timeout) {
  ConnectOutcome outcome;
  auto start = Clock::now();
  auto deadline = start + timeout;
  PGconn* c = PQconnectStart(conninfo.c_str());
  outcome.conn = PgConn(c);
  if (!c) {
    outcome.error = "PQconnectStart: out of memory";
    return outcome;
  }
  PQsetErrorVerbosity(c, PQERRORS_VERBOSE);
  PostgresPollingStatusType state =
      PQstatus(c) == CONNECTION_BAD ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK && state != PGRES_POLLING_FAILED) {
    if (Clock::now() >= deadline) break;
    pollfd p{PQsocket(c), static_cast<short>(state == PGRES_POLLING_READING ? POLLIN : POLLOUT), 0};
    if (poll(&p, 1, remaining_ms(deadline)) <= 0) continue;
    state = PQconnectPoll(c);
  }
  outcome.elapsed = std::chrono::duration_cast<Millis>(Clock::now() - start);
  outcome.ok = PQstatus(c) == CONNECTION_OK;
  if (!outcome.ok) {
    outcome.error = state == PGRES_POLLING_FAILED ? std::string(PQerrorMessage(c))
                                                  : "connection attempt timed out after " +
                                                        std::to_string(timeout.count()) + " ms";
  }
  return outcome;
}

// ---- cluster ----

const PgCluster& PgCluster::get() {
  static const PgCluster cluster = [] {
    PgCluster c;
    c.dir_ = required_env("PGMUX_TEST_PGDIR");
    std::string port = read_file(c.dir_ + "/port");
    c.port_ = static_cast<uint16_t>(atoi(port.c_str()));
    if (c.port_ == 0)
      throw std::runtime_error("no cluster port in " + c.dir_ + "/port (fixture not started?)");
    return c;
  }();
  return cluster;
}

std::string PgCluster::superuser_conninfo(const std::string& db) const {
  return "host=" + dir_ + " port=" + std::to_string(port_) + " user=postgres dbname=" + db +
         " connect_timeout=10";
}

std::string PgCluster::tcp_conninfo(const std::string& db, const std::string& user,
                                    const std::string& password) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=" + db + " user=" + user +
         " password=" + password + " connect_timeout=10";
}

PgConn PgCluster::superuser(const std::string& db) const {
  ConnectOutcome c = connect(superuser_conninfo(db));
  if (!c.ok) throw std::runtime_error("superuser connection to " + db + " failed: " + c.error);
  return std::move(c.conn);
}

PgResult PgCluster::exec(const std::string& db, const std::string& sql) const {
  return superuser(db).exec(sql);
}

long long PgCluster::backends(const PgConn& super, const std::string& db, const std::string& user,
                              const std::string& state_like) const {
  PgResult r = const_cast<PgConn&>(super).exec_params(
      "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND ($2 = '' OR usename = $2)"
      " AND ($3 = '' OR state LIKE $3)",
      {db, user, state_like});
  return r.ok() ? r.int_value() : -1;
}

// ---- pgmux process ----

std::string PgmuxConfig::default_users() {
  return std::string("users:\n") + "  " + kScramUser +
         ":\n    auth: scram-sha-256\n    password: " + kScramPassword + "\n" + "  " + kMd5User +
         ":\n    auth: md5\n    password: " + kMd5Password + "\n";
}

PgmuxConfig PgmuxConfig::transaction(const std::string& db, int pool_size, std::string users) {
  PgmuxConfig config;
  config.pool_mode = "transaction";
  config.pool_size = pool_size;
  config.workers = 1;
  config.users = std::move(users);
  config.databases = {{.name = db}};
  return config;
}

std::string PgmuxConfig::trust_users() {
  return std::string("users:\n") + "  " + kScramUser +
         ":\n    auth: trust\n    server_password: " + kScramPassword + "\n" + "  " + kMd5User +
         ":\n    auth: md5\n    password: " + kMd5Password + "\n";
}

std::string PgmuxConfig::yaml() const {
  std::ostringstream y;
  y << "listen:\n  host: 127.0.0.1\n  port: " << port << "\n"
    << "workers: " << workers << "\nlog_level: " << log_level << "\n"
    << "pool_mode: " << pool_mode << "\npool_size: " << pool_size << "\n"
    << "shutdown_timeout: 5s\n"
    << extra
    << (users.empty() ? default_users() : users)
    // Tests run in parallel: the metrics endpoint only where a test asks for one.
    << (extra.find("metrics:") == std::string::npos ? "metrics:\n  enabled: false\n" : "")
    << "databases:\n";
  for (const auto& db : databases) {
    y << "  " << db.name << ":\n    host: " << (db.host.empty() ? "127.0.0.1" : db.host)
      << "\n    port: " << (db.port ? db.port : PgCluster::get().port())
      << "\n    dbname: " << (db.dbname.empty() ? db.name : db.dbname) << "\n";
    if (!db.pool_mode.empty()) y << "    pool_mode: " << db.pool_mode << "\n";
    if (db.pool_size) y << "    pool_size: " << db.pool_size << "\n";
  }
  return y.str();
}

PgmuxProcess::PgmuxProcess(PgmuxConfig config, std::map<std::string, std::string> env)
    : config_(std::move(config)), env_(std::move(env)) {
  if (config_.port == 0) config_.port = free_port();
  char tmpl[] = "/tmp/pgmux-itest-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error(std::string("mkdtemp: ") + strerror(errno));
  dir_ = tmpl;
  config_path_ = dir_ + "/pgmux.yaml";
  stderr_path_ = dir_ + "/stderr.log";
  std::ofstream(config_path_) << config_.yaml();
}

PgmuxProcess::~PgmuxProcess() {
  if (pid_ > 0 && !exited_) stop();
  if (::testing::Test::HasFailure()) {
    std::cerr << "---- pgmux config (" << config_path_ << ") ----\n"
              << read_file(config_path_) << "---- pgmux stderr ----\n"
              << stderr_text() << "---- end of pgmux stderr ----\n";
  }
  std::error_code ignored;
  if (!getenv("PGMUX_TEST_KEEP")) std::filesystem::remove_all(dir_, ignored);
}

::testing::AssertionResult PgmuxProcess::start(Millis timeout) {
  int err = open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int out = open((dir_ + "/stdout.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  pid_ = spawn({pgmux_bin(), "-c", config_path_}, make_env(env_, false), out, err);
  close(err);
  close(out);
  if (pid_ < 0) return ::testing::AssertionFailure() << "fork: " << strerror(errno);
  bool listening =
      wait_until([&] { return reap(false) || tcp_connectable(port(), 200ms); }, timeout, 20ms);
  if (exited_) {
    return ::testing::AssertionFailure() << "pgmux exited (status " << status_
                                         << ") before listening on port " << port() << "; stderr:\n"
                                         << stderr_text();
  }
  if (!listening) {
    return ::testing::AssertionFailure() << "pgmux did not accept connections on port " << port()
                                         << " within " << timeout.count() << " ms; stderr:\n"
                                         << stderr_text();
  }
  return ::testing::AssertionSuccess();
}

bool PgmuxProcess::reap(bool block) {
  if (exited_) return true;
  if (pid_ <= 0) return false;
  if (waitpid(pid_, &status_, block ? 0 : WNOHANG) == pid_) exited_ = true;
  return exited_;
}

bool PgmuxProcess::running() { return pid_ > 0 && !reap(false); }

int PgmuxProcess::stop(Millis timeout) {
  if (pid_ <= 0) return -1;
  if (!exited_) {
    kill(pid_, SIGTERM);
    if (!wait_until([&] { return reap(false); }, timeout)) {
      kill(pid_, SIGKILL);
      reap(true);
      return -1;
    }
  }
  return exit_code_of(status_);
}

int PgmuxProcess::wait_exit(Millis timeout) {
  if (pid_ <= 0) return -1;
  if (!wait_until([&] { return reap(false); }, timeout)) return -2;
  return exit_code_of(status_);
}

std::string PgmuxProcess::stderr_text() const { return read_file(stderr_path_); }

std::string PgmuxProcess::conninfo(const std::string& db, const std::string& user,
                                   const std::string& password) const {
  return "host=127.0.0.1 port=" + std::to_string(port()) + " dbname=" + db + " user=" + user +
         " password=" + password + " connect_timeout=10";
}

// ---- churner, /proc ----

Churner::Churner(std::string conninfo, Check check, Millis pause)
    : conninfo_(std::move(conninfo)), check_(std::move(check)), pause_(pause) {
  thread_ = std::thread([this] { run(); });
}

Churner::~Churner() { stop(); }

std::string Churner::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  return problem_;
}

bool Churner::wait_for(int n, Millis timeout) const {
  return wait_until([&] { return failed_.load() || transactions_.load() >= n; }, timeout) &&
         !failed_.load();
}

void Churner::run() {
  ConnectOutcome c = connect(conninfo_);
  if (!c.ok) problem_ = "churner connect: " + c.error;
  while (problem_.empty() && !stop_) {
    for (const char* sql : {"BEGIN", "SELECT pg_backend_pid()"}) {
      PgResult r = c.conn.exec(sql);
      if (!r.ok() && problem_.empty()) problem_ = std::string("churner ") + sql + ": " + r.error();
    }
    if (problem_.empty() && check_) problem_ = check_(c.conn);
    PgResult r = c.conn.exec("COMMIT");
    if (!r.ok() && problem_.empty()) problem_ = "churner COMMIT: " + r.error();
    if (problem_.empty()) ++transactions_;
    std::this_thread::sleep_for(pause_);
  }
  if (!problem_.empty()) failed_ = true;
}

ServerRotation::ServerRotation(const std::string& conninfo, Churner::Check check)
    : check_(std::move(check)) {
  for (PgConn& holder : holders_) {
    ConnectOutcome c = connect(conninfo);
    if (c.ok) holder = std::move(c.conn);
  }
}

std::string ServerRotation::free_other_than(const std::string& last_pid) {
  for (int i = 0; i < 2; ++i) {
    if (!holders_[i].ok()) return "holder " + std::to_string(i) + " is not connected";
    PgResult r = holders_[i].exec("BEGIN", 20s);
    if (r.ok()) r = holders_[i].exec("SELECT pg_backend_pid()", 20s);
    if (!r.ok()) return "holder " + std::to_string(i) + ": " + r.error();
    holding_[i] = true;
    pids_[i] = r.value();
  }
  if (pids_[0] == pids_[1]) return "both holders got server " + pids_[0] + ": is the pool of two?";
  if (pids_[0] != last_pid && pids_[1] != last_pid && !last_pid.empty()) {
    return "neither server (" + pids_[0] + ", " + pids_[1] + ") is the client's last one, " +
           last_pid;
  }
  return end_hold(pids_[0] == last_pid ? 1 : 0);
}

std::string ServerRotation::release() {
  for (int i = 0; i < 2; ++i) {
    if (std::string problem = end_hold(i); !problem.empty()) return problem;
  }
  return "";
}

std::string ServerRotation::end_hold(int holder) {
  if (!holding_[holder]) return "";
  holding_[holder] = false;
  std::string problem = check_ ? check_(holders_[holder]) : "";
  PgResult r = holders_[holder].exec("COMMIT");
  if (!r.ok() && problem.empty()) problem = "holder COMMIT: " + r.error();
  return problem;
}

long long vm_rss_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return atoll(line.c_str() + 6);
  }
  return -1;
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/pgmux-itest-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error(std::string("mkdtemp: ") + strerror(errno));
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
  std::string file = path_ + "/" + name;
  std::ofstream(file) << content;
  return file;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::stringstream in(text);
  while (std::getline(in, item, sep)) out.push_back(item);
  if (!text.empty() && text.back() == sep) out.push_back("");
  return out;
}

int PsqlTable::column(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return static_cast<int>(i);
  }
  return -1;
}

std::optional<std::string> PsqlTable::lookup(const std::string& key, const std::string& value,
                                             const std::string& name) const {
  int k = column(key), n = column(name);
  if (k < 0 || n < 0) return std::nullopt;
  for (const auto& row : rows) {
    if (static_cast<int>(row.size()) > std::max(k, n) && row[k] == value) return row[n];
  }
  return std::nullopt;
}

PsqlTable parse_psql_table(const std::string& out) {
  PsqlTable t;
  std::vector<std::string> lines = split(out, '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty() && i + 1 == lines.size()) break;
    if (i == 0) {
      t.header = split(lines[i], '|');
    } else {
      t.rows.push_back(split(lines[i], '|'));
    }
  }
  return t;
}

long long pools_column(const PgmuxProcess& pgmux, const std::string& db, const char* name) {
  ConnectOutcome console = connect(pgmux.conninfo("pgmux"));
  if (!console.ok) return -1;
  PgResult r = console.conn.exec("SHOW POOLS");
  if (!r.ok()) return -1;
  int db_col = PQfnumber(r.get(), "database"), col = PQfnumber(r.get(), name);
  for (int row = 0; db_col >= 0 && col >= 0 && row < r.rows(); ++row) {
    if (r.value(row, db_col) == db) return r.int_value(row, col);
  }
  return -1;
}

PgResult sleep_and_cancel(PgConn& conn, const std::string& tag_prefix) {
  const std::string sleep = "SELECT pg_sleep(30) /* " + unique_tag(tag_prefix) + " */";
  if (!conn.send(sleep)) return PgResult(nullptr, "could not send the query: " + conn.error());
  bool running = wait_until(
      [&] {
        return PgCluster::get()
                   .exec("postgres", "SELECT count(*) FROM pg_stat_activity WHERE query = '" +
                                         sleep + "' AND state = 'active'")
                   .value() == "1";
      },
      10s);
  if (!running) return PgResult(nullptr, "the query never showed up as active");
  std::unique_ptr<PGcancel, void (*)(PGcancel*)> cancel(PQgetCancel(conn.get()), PQfreeCancel);
  char err[256] = "";
  if (!cancel || PQcancel(cancel.get(), err, sizeof err) != 1) {
    return PgResult(nullptr, std::string("PQcancel failed: ") + err);
  }
  return conn.wait_result(10s);
}

}  // namespace pgmux::itest
