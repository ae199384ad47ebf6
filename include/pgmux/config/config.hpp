// The pgmux configuration: one YAML file parsed into an immutable Config value.
// Loading validates everything; a Config that exists is complete and consistent.
// Config values are immutable after loading and safe to share between threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pgmux::config {

using Duration = std::chrono::milliseconds;

enum class PoolMode { kSession, kTransaction, kStatement };
enum class AuthMethod { kScramSha256, kMd5, kTrust };

std::string_view to_string(PoolMode mode);
std::string_view to_string(AuthMethod method);

struct ListenConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 6432;
};

// A user clients may log in as (key of `users:`).
struct UserConfig {
  std::string name;
  AuthMethod auth = AuthMethod::kScramSha256;
  // What `password:` held, classified. Exactly one of these is set for scram/md5 users;
  // none may be set for trust users.
  std::string password;      // plain text (usually from ${ENV_VAR})
  std::string scram_secret;  // "SCRAM-SHA-256$..." verbatim
  std::string md5_hash;      // "md5" + 32 hex digits
  // Password pgmux uses to log in to PostgreSQL as this user. Defaults to `password`
  // when that is plain text; empty means "none" (server must trust pgmux, or SCRAM
  // pass-through of the client's key is used).
  std::string server_password;
};

// A streaming replica of a database's primary.
struct ReplicaConfig {
  std::string host;
  uint16_t port = 5432;
  uint32_t weight = 1;  // share of reads among healthy replicas, 1-1000
};

enum class ReadYourWrites {
  kOff,     // reads may go to a replica right after the client's own write
  kWindow,  // reads stay on the primary for `read_your_writes_window` after a write
  kLsn,     // reads go to a replica only once it has replayed the client's last commit
};

// How statements of a database with replicas are routed (`databases.X.routing`).
struct RoutingConfig {
  bool read_write_split = true;  // false: everything to the primary
  Duration max_replica_lag = std::chrono::seconds(1);  // beyond: no reads to that replica
  uint64_t max_replica_lag_bytes = 0;                  // 0: not checked
  bool fallback_to_primary = true;  // no healthy replica: reads to the primary (else error)
  bool strict = false;  // only functions on read_only_functions may run on a replica
  // Replace the built-in lists when set; add to them with extra_write_functions.
  std::optional<std::vector<std::string>> write_functions;
  std::vector<std::string> extra_write_functions;
  std::optional<std::vector<std::string>> read_only_functions;
  ReadYourWrites read_your_writes = ReadYourWrites::kOff;
  Duration read_your_writes_window = std::chrono::seconds(2);
};

// A database clients may connect to (key of `databases:`).
struct DatabaseConfig {
  std::string name;         // what clients ask for
  std::string host;         // the primary (`host:` or `primary: {host:}`)
  uint16_t port = 5432;
  std::string dbname;       // database on the server; defaults to `name`
  PoolMode pool_mode = PoolMode::kTransaction;  // defaults to the global pool_mode
  uint32_t pool_size = 20;                      // defaults to the global pool_size
  uint32_t min_pool_size = 0;                   // defaults to the global min_pool_size
  std::vector<ReplicaConfig> replicas;          // `replicas:`; empty: no routing
  RoutingConfig routing;                        // `routing:`
};

// Background checks of every node of databases with replicas (`health_check:`).
struct HealthCheckConfig {
  Duration interval = std::chrono::seconds(1);
  Duration timeout = std::chrono::seconds(2);
  std::string user;  // a users: entry with a server password; default: the first such user
};

// The Prometheus endpoint (`metrics:`): http://host:port/metrics.
struct MetricsConfig {
  bool enabled = true;
  std::string host = "127.0.0.1";
  uint16_t port = 9127;
};

// The admin console (`admin:`): a virtual database served by pgmux itself.
struct AdminConfig {
  std::string database = "pgmux";     // name clients connect to; not a `databases:` key
  std::vector<std::string> admin_users;  // every command (each a `users:` key)
  std::vector<std::string> stats_users;  // SHOW commands only (each a `users:` key)
  std::string audit_log;  // file admin commands and reloads are appended to; empty: stderr
};

// TLS for client connections (`tls:`). Clients ask for it with an SSLRequest (libpq's
// sslmode); pgmux answers 'S' when mode is not kDisable.
enum class TlsMode {
  kDisable,  // every SSLRequest is answered 'N'
  kAllow,    // TLS for clients that ask, plain text for the others ("allow", "prefer")
  kRequire,  // clients that log in without TLS are refused (cancel requests still pass)
};
std::string_view to_string(TlsMode mode);

struct TlsConfig {
  TlsMode mode = TlsMode::kDisable;
  // PEM files, read at startup and on every reload (relative paths are taken from the
  // config file's directory). Both are required unless mode is kDisable.
  std::string cert_file;  // the certificate chain, pgmux's own certificate first
  std::string key_file;   // its private key
  std::string min_version = "1.2";  // oldest protocol accepted: "1.2" or "1.3"
  std::string ciphers;  // OpenSSL cipher list for TLS 1.2; empty: OpenSSL's default
  // Lines of `tls:` and of the file keys (0: absent), for errors found loading the files.
  int line = 0;
  int cert_line = 0;
  int key_line = 0;
  int ciphers_line = 0;
};

// TLS from pgmux to PostgreSQL (`server_tls:`), libpq's sslmode values: every server
// connection of every pool (and the health checks) asks for TLS unless mode is kDisable.
enum class ServerTlsMode {
  kDisable,     // plain TCP
  kPrefer,      // TLS when the server offers it, unverified; plain TCP when it does not
  kRequire,     // TLS, unverified
  kVerifyCa,    // TLS, the server's certificate signed by ca_file
  kVerifyFull,  // and naming the host pgmux connects to
};
std::string_view to_string(ServerTlsMode mode);

struct ServerTlsConfig {
  ServerTlsMode mode = ServerTlsMode::kDisable;
  std::string ca_file;  // PEM; required by verify-ca and verify-full (relative: as tls:'s)
  int line = 0;         // of `server_tls:`
  int ca_line = 0;
};

struct Config {
  std::string source_path;  // file it was loaded from

  ListenConfig listen;
  unsigned workers = 1;  // resolved: `auto` = number of cores
  std::string log_level = "info";  // trace, debug, info, warn, error, critical, off

  uint32_t max_client_connections = 10000;
  uint32_t max_message_size = 256u << 20;  // bytes; larger client messages get 08P01

  // Pool defaults, overridable per database.
  PoolMode pool_mode = PoolMode::kTransaction;
  uint32_t pool_size = 20;
  uint32_t min_pool_size = 0;
  std::string server_reset_query = "DISCARD ALL";  // session mode, at client disconnect
  // Transaction/statement mode: most prepared statements pgmux keeps per server
  // connection (least recently used are closed); 0 turns statement tracking off.
  uint32_t max_prepared_statements = 200;
  // Settings PostgreSQL does not report that pgmux reads back after a client's SET
  // (transaction/statement mode) so they follow the client to other servers.
  std::vector<std::string> track_extra_parameters = {
      "search_path", "statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout",
      "role"};

  Duration client_login_timeout = std::chrono::seconds(15);
  Duration server_connect_timeout = std::chrono::seconds(5);
  Duration server_login_retry = std::chrono::seconds(1);  // backoff start after a failure
  Duration server_idle_timeout = std::chrono::seconds(600);
  Duration server_lifetime = std::chrono::seconds(3600);
  Duration query_wait_timeout = std::chrono::seconds(120);
  Duration shutdown_timeout = std::chrono::seconds(30);

  TlsConfig tls;
  ServerTlsConfig server_tls;
  HealthCheckConfig health_check;
  MetricsConfig metrics;
  AdminConfig admin;

  // Statements slower than this are logged (0: never); their literals are replaced by
  // `$n` placeholders unless log_query_literals is true.
  Duration slow_query_threshold = std::chrono::seconds(1);
  bool log_query_literals = false;

  std::map<std::string, UserConfig, std::less<>> users;
  std::map<std::string, DatabaseConfig, std::less<>> databases;

  const UserConfig* find_user(std::string_view name) const;
  const DatabaseConfig* find_database(std::string_view name) const;
};

// A refused configuration: where and why. Never contains a secret value.
struct ConfigError {
  std::string file;
  int line = 0;      // 1-based; 0 when unknown (e.g. file unreadable)
  std::string key;   // dotted path, e.g. "databases.appdb.pool_size"; may be empty
  std::string message;

  // "file:line: key: message" (parts that are unknown are left out).
  std::string to_string() const;
};

using LoadResult = std::variant<Config, ConfigError>;

// Looks up an environment variable; std::nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_env();

// Parses YAML text. `source_name` is used in errors and as source_path.
LoadResult parse_config(std::string_view yaml_text, const std::string& source_name,
                        const EnvLookup& env = process_env());
// Reads and parses a file.
LoadResult load_config_file(const std::string& path, const EnvLookup& env = process_env());

// Parses "250ms", "5s", "2m", "1h", "1d" or a bare number of seconds.
std::optional<Duration> parse_duration(std::string_view text);
// Parses "1024", "64kB", "16MB", "1GB" (powers of 1024).
std::optional<uint64_t> parse_size(std::string_view text);

}  // namespace pgmux::config
