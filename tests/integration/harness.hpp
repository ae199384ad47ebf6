// Helpers for the integration tests: the PostgreSQL cluster started by pg_cluster.sh, the pgmux
// process under test, bounded libpq calls, child commands and a raw protocol client.
// Thread-safety: PgConn/PgmuxProcess/RawConn/ServerRotation objects belong to one thread; a Churner
// runs its own thread (its methods are for the owning thread); free functions are thread-safe.
#pragma once

#include <libpq-fe.h>
#include <gtest/gtest.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace pgmux::itest {

using Millis = std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// Milliseconds left until `deadline` (0 once it has passed), for poll().
int remaining_ms(Clock::time_point deadline);
using namespace std::chrono_literals;

// Roles the cluster fixture creates (pg_cluster.sh); pgmux_scram's password is stored as a SCRAM
// secret, pgmux_md5's as an md5 hash, so the server asks pgmux for SCRAM and md5 respectively.
inline constexpr const char* kScramUser = "pgmux_scram";
inline constexpr const char* kScramPassword = "scram_pw";
inline constexpr const char* kMd5User = "pgmux_md5";
inline constexpr const char* kMd5Password = "md5_pw";

// Value of an environment variable; throws std::runtime_error naming it when unset.
std::string required_env(const char* name);
// Path of the pgmux binary under test ($PGMUX_BIN).
std::string pgmux_bin();

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed).
uint16_t free_port();
// True when a TCP connection to 127.0.0.1:port is accepted within `timeout`.
bool tcp_connectable(uint16_t port, Millis timeout = 500ms);

// Calls `done` until it returns true or `timeout` passes (checking every `interval`). Returns the
// last answer. This is a deadline-bounded wait for an observable event, not a fixed delay.
bool wait_until(const std::function<bool()>& done, Millis timeout, Millis interval = 10ms);

// Outcome of run_command.
struct CommandResult {
  int exit_code = -1;    // -1 when killed by a signal or timed out
  int term_signal = 0;   // signal that ended it, if any
  bool timed_out = false;
  std::string out;
  std::string err;
  std::string describe() const;  // exit status plus both streams, for failure messages
};
// Runs argv[0] (searched in PATH) with stdin from /dev/null, the caller's environment minus any
// PG* variable (PGMUX_* kept) plus `env`; kills it with SIGKILL when `timeout` passes.
CommandResult run_command(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env = {}, Millis timeout = 30s);

// A libpq result (or a harness-made error such as a timeout). Movable, owns the PGresult.
class PgResult {
 public:
  PgResult() = default;
  PgResult(PGresult* res, std::string error);
  bool ok() const;                   // PGRES_COMMAND_OK or PGRES_TUPLES_OK
  const std::string& error() const { return error_; }  // empty when ok()
  std::string sqlstate() const;      // "" when none
  int rows() const;
  std::string value(int row = 0, int col = 0) const;  // "" when out of range or NULL
  long long int_value(int row = 0, int col = 0) const;  // -1 when not a number
  // PQresultStatus, or PGRES_FATAL_ERROR for a harness-made error (no PGresult).
  ExecStatusType status() const;
  const PGresult* get() const { return res_.get(); }

 private:
  std::unique_ptr<PGresult, void (*)(PGresult*)> res_{nullptr, PQclear};
  std::string error_;
};

// An owned libpq connection; every call on it is bounded in time.
class PgConn {
 public:
  PgConn() = default;
  explicit PgConn(PGconn* conn) : conn_(conn, PQfinish) {}
  bool ok() const { return conn_ && PQstatus(conn_.get()) == CONNECTION_OK; }
  PGconn* get() const { return conn_.get(); }
  std::string error() const { return conn_ ? PQerrorMessage(conn_.get()) : "no connection"; }
  // Sends `sql` (simple protocol) and collects every result; returns the first failing result,
  // else the last one. A timeout gives an error result "timed out after N ms".
  PgResult exec(const std::string& sql, Millis timeout = 10s);
  // Extended protocol with text parameters.
  PgResult exec_params(const std::string& sql, const std::vector<std::string>& params,
                       Millis timeout = 10s);
  // Protocol-level prepared statements (Parse / Bind+Execute / Describe), bounded as exec().
  PgResult prepare(const std::string& name, const std::string& sql, Millis timeout = 10s);
  PgResult exec_prepared(const std::string& name, const std::vector<std::string>& params,
                         Millis timeout = 10s);
  PgResult describe_prepared(const std::string& name, Millis timeout = 10s);
  // Asynchronous use: send() a query now, wait_result() for it later (bounded as exec()).
  bool send(const std::string& sql);
  PgResult wait_result(Millis timeout = 10s);
  // Closes the socket under libpq's feet (as a crashed client would), then frees the connection.
  void kill_socket();
  void close() { conn_.reset(); }

 private:
  std::unique_ptr<PGconn, void (*)(PGconn*)> conn_{nullptr, PQfinish};
};

// Outcome of connect().
struct ConnectOutcome {
  PgConn conn;
  bool ok = false;
  std::string error;  // PQerrorMessage with PQERRORS_VERBOSE (so it carries the SQLSTATE)
  Millis elapsed{0};
};
// Connects (PQconnectStart/PQconnectPoll) within `timeout`; errors are reported verbosely,
// e.g. "FATAL:  28P01: password authentication failed for user ...".
ConnectOutcome connect(const std::string& conninfo, Millis timeout = 10s);

// The cluster started by pg_cluster.sh ($PGMUX_TEST_PGDIR holds its socket and `port` file).
class PgCluster {
 public:
  static const PgCluster& get();  // throws std::runtime_error when the fixture is missing
  const std::string& dir() const { return dir_; }
  uint16_t port() const { return port_; }
  // Superuser `postgres` over the unix socket (trust).
  std::string superuser_conninfo(const std::string& db = "postgres") const;
  // Over TCP with a password (what pgmux itself does).
  std::string tcp_conninfo(const std::string& db, const std::string& user,
                           const std::string& password) const;
  // Opens a superuser connection; throws std::runtime_error on failure.
  PgConn superuser(const std::string& db = "postgres") const;
  // Runs SQL as superuser in `db` on a fresh connection.
  PgResult exec(const std::string& db, const std::string& sql) const;
  // Number of server backends of `db` (optionally of `user`, optionally in a state LIKE `state`).
  long long backends(const PgConn& super, const std::string& db, const std::string& user = "",
                     const std::string& state_like = "") const;

 private:
  std::string dir_;
  uint16_t port_ = 0;
};

// One `databases:` entry of a pgmux config.
struct DatabaseEntry {
  std::string name;         // what clients ask for
  std::string dbname;       // on the server; empty = same as name
  uint16_t port = 0;        // 0 = the cluster's port
  std::string host;         // empty = 127.0.0.1
  std::string pool_mode;    // empty = the global one
  int pool_size = 0;        // 0 = the global one
};

// A pgmux config for tests: both test users with plain passwords, pool settings, databases.
struct PgmuxConfig {
  uint16_t port = 0;                 // 0 = pick a free port when rendered by PgmuxProcess
  std::string pool_mode = "transaction";
  int pool_size = 5;
  int workers = 2;
  std::string log_level = "info";
  std::vector<DatabaseEntry> databases;
  std::string extra;                 // further top-level YAML lines, e.g. "max_client_connections: 2\n"
  std::string users;                 // whole `users:` section; empty = default_users()
  static std::string default_users();
  // default_users() with kScramUser logging in to pgmux by trust (for the raw protocol client);
  // pgmux still logs in to the server with kScramPassword.
  static std::string trust_users();
  // Transaction mode, one worker, database `db` only.
  static PgmuxConfig transaction(const std::string& db, int pool_size, std::string users = "");
  std::string yaml() const;          // port must be set
};

// The pgmux binary under test, run with a config written to a temporary directory.
// Destruction stops it (SIGTERM, then SIGKILL) and, if the test failed, prints its stderr.
class PgmuxProcess {
 public:
  explicit PgmuxProcess(PgmuxConfig config, std::map<std::string, std::string> env = {});
  ~PgmuxProcess();
  PgmuxProcess(const PgmuxProcess&) = delete;
  PgmuxProcess& operator=(const PgmuxProcess&) = delete;

  // Spawns `pgmux -c FILE` and waits until its port accepts a TCP connection (success) or the
  // process exits or `timeout` passes (failure carrying its stderr).
  ::testing::AssertionResult start(Millis timeout = 10s);
  // Sends SIGTERM and waits up to `timeout`, then SIGKILLs. Returns the exit code, or -1 when it
  // had to be killed or died of a signal.
  int stop(Millis timeout = 15s);
  // Waits up to `timeout` for the process to exit by itself (no signal). Returns its exit code,
  // -1 when it died of a signal, -2 when it is still running.
  int wait_exit(Millis timeout);
  // True while the process has not exited.
  bool running();
  pid_t pid() const { return pid_; }
  uint16_t port() const { return config_.port; }
  const std::string& config_path() const { return config_path_; }
  std::string stderr_text() const;
  // libpq conninfo to reach `db` through pgmux (connect_timeout bounded).
  std::string conninfo(const std::string& db, const std::string& user = kScramUser,
                       const std::string& password = kScramPassword) const;

 private:
  bool reap(bool block);
  PgmuxConfig config_;
  std::map<std::string, std::string> env_;
  std::string dir_;
  std::string config_path_;
  std::string stderr_path_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = 0;
};

// A temporary directory removed (with its files) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  // Writes `content` to path()/name and returns the full path.
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

// What a hand-written client saw when it logged in with a wrong password.
struct RawLoginOutcome {
  bool authenticated = false;                // the server sent AuthenticationOk (it should not)
  std::map<char, std::string> error_fields;  // fields of the ErrorResponse ('S', 'C', 'M', ...)
  std::vector<int> auth_requests;            // Authentication codes seen (10 SASL, 5 MD5, 3 clear)
  std::string problem;                       // non-empty when the exchange broke off unexpectedly
};
// Sends a StartupMessage over a raw socket and answers whatever authentication request comes
// with a wrong secret (a SCRAM exchange with a bogus proof, a bad md5 hash or a bad cleartext
// password), then reads the ErrorResponse. Bounded by `timeout`.
RawLoginOutcome raw_login_wrong_password(uint16_t port, const std::string& user,
                                         const std::string& database, Millis timeout = 10s);

// Keeps a small pool's servers changing hands: runs short transactions (BEGIN; SELECT
// pg_backend_pid(); `check`; COMMIT) on its own connection and thread, one every `pause`, until
// stop() or destruction.
class Churner {
 public:
  // Runs inside each transaction; returns "" or what was wrong (which stops the churn).
  using Check = std::function<std::string(PgConn&)>;
  explicit Churner(std::string conninfo, Check check = {}, Millis pause = 1ms);
  ~Churner();
  Churner(const Churner&) = delete;
  Churner& operator=(const Churner&) = delete;
  // Stops the thread (idempotent); returns the first problem seen, "" when none.
  std::string stop();
  int transactions() const { return transactions_.load(); }
  // Waits until at least `n` transactions have committed (false on timeout or problem).
  bool wait_for(int n, Millis timeout = 10s) const;

 private:
  void run();
  std::string conninfo_;
  Check check_;
  Millis pause_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};
  std::atomic<int> transactions_{0};
  std::string problem_;  // written by the thread, read after join
  std::thread thread_;
};

// Moves a client of a pool of two onto the other server for its next transaction, whatever the
// pool's idle-list policy: two holder connections (other clients of the pool) take both servers,
// then the one holding the server the client did not use last lets go of it, so the client's next
// transaction can only run there. Each holder transaction also runs `check` (as Churner's).
class ServerRotation {
 public:
  explicit ServerRotation(const std::string& conninfo, Churner::Check check = {});
  // Takes both servers, then frees the one whose backend pid is not `last_pid` ("" = either).
  // Returns "" or what went wrong.
  std::string free_other_than(const std::string& last_pid);
  // Ends the remaining hold; call once the client's transaction is over. "" or a problem.
  std::string release();

 private:
  std::string end_hold(int holder);
  PgConn holders_[2];
  std::string pids_[2];
  bool holding_[2] = {false, false};
  Churner::Check check_;
};

// Sends `SELECT pg_sleep(30)`, tagged with a unique_tag(tag_prefix), on `conn`, waits until
// PostgreSQL runs it, cancels it with libpq's PQcancel (through whatever `conn` is connected
// to) and returns what the query ended with; a harness-made error when a step failed. Bounded.
PgResult sleep_and_cancel(PgConn& conn, const std::string& tag_prefix);

// Column `name` of the admin console's SHOW POOLS for `db`, through `pgmux` as kScramUser
// (one of its admin_users), as a number; -1 when missing.
long long pools_column(const PgmuxProcess& pgmux, const std::string& db, const char* name);

// VmRSS of process `pid` in kB (from /proc/<pid>/status), -1 when unreadable.
long long vm_rss_kb(pid_t pid);

// One backend message as a raw client sees it.
struct RawMessage {
  char type = 0;
  std::string body;
};
// Fields of an ErrorResponse/NoticeResponse body ('S', 'C', 'M', ...).
std::map<char, std::string> error_fields(const std::string& body);
// Column values of a DataRow body (a NULL becomes "").
std::vector<std::string> data_row_values(const std::string& body);
// The type bytes of `messages`, e.g. "12DCZ", for compact assertions.
std::string message_types(const std::vector<RawMessage>& messages);

// Frontend messages, encoded for RawConn::send (text parameters, text results).
namespace fe {
std::string query(const std::string& sql);
std::string parse(const std::string& statement, const std::string& sql);
std::string bind(const std::string& portal, const std::string& statement,
                 const std::vector<std::string>& params);
std::string describe(char kind, const std::string& name);  // kind 'S' or 'P'
std::string execute(const std::string& portal, uint32_t max_rows = 0);
std::string close(char kind, const std::string& name);     // kind 'S' or 'P'
std::string sync();
std::string terminate();
}  // namespace fe

class RawSocket;
// A hand-driven protocol v3 client on 127.0.0.1, for what libpq cannot send (Close, forged
// CancelRequest, oversized messages). Logs in only where no password is asked (a trust user).
class RawConn {
 public:
  RawConn();
  ~RawConn();
  // Connects, sends a StartupMessage with `params` (user, database, ...) and reads up to the
  // first ReadyForQuery. False (with problem()) on an ErrorResponse, a password request or timeout.
  bool login(uint16_t port, const std::map<std::string, std::string>& params, Millis timeout = 10s);
  // The steps of login(): connect only; send a StartupMessage with `params`.
  bool connect(uint16_t port, Millis timeout = 10s);
  bool send_startup(const std::map<std::string, std::string>& params, Millis timeout = 10s);
  bool send(const std::string& bytes, Millis timeout = 10s);
  // One message; nullopt on EOF, error or timeout (see closed()).
  std::optional<RawMessage> read(Millis timeout = 10s);
  // Messages up to and including ReadyForQuery; stops early (without 'Z') on EOF or timeout.
  std::vector<RawMessage> read_until_ready(Millis timeout = 10s);
  // True once a read saw the peer close the connection (EOF or reset).
  bool closed() const;
  uint32_t backend_pid() const { return backend_pid_; }
  uint32_t backend_secret() const { return backend_secret_; }
  const std::string& problem() const { return problem_; }

 private:
  std::unique_ptr<RawSocket> sock_;
  uint32_t backend_pid_ = 0;
  uint32_t backend_secret_ = 0;
  std::string problem_;
};
// Sends a CancelRequest(pid, secret) on a new connection to 127.0.0.1:port and waits (bounded)
// for the peer to close it, as libpq's PQcancel does. False when it could not be sent.
bool send_cancel_request(uint16_t port, uint32_t pid, uint32_t secret, Millis timeout = 5s);

// Lower-cased copy.
std::string lower(std::string text);
// A string unique to this process and call, for rows a test inserts ("prefix_<pid>_<n>").
std::string unique_tag(const std::string& prefix);
// `needle` occurs in `haystack` (for EXPECT_PRED2 messages that show both).
bool contains(const std::string& haystack, const std::string& needle);
// `text` cut at each `sep` (a trailing `sep` gives a last empty piece).
std::vector<std::string> split(const std::string& text, char sep);

// What psql -A -F'|' printed: the header line and the rows, split at '|'.
struct PsqlTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;

  int column(const std::string& name) const;  // -1 when there is none
  // Column `name` of the first row whose column `key` is `value`; nullopt when none.
  std::optional<std::string> lookup(const std::string& key, const std::string& value,
                                    const std::string& name) const;
};
PsqlTable parse_psql_table(const std::string& out);

}  // namespace pgmux::itest
