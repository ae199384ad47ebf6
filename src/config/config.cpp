// Parses and validates the pgmux YAML configuration into a Config value.
// Pure apart from reading the file and the environment; each call is independent and thread-safe.
#include "pgmux/config/config.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "observability_parser.hpp"
#include "parse_util.hpp"
#include "routing_parser.hpp"
#include "tls_parser.hpp"
#include "yaml_reader.hpp"

namespace pgmux::config {
namespace {

using detail::Entry;
using detail::Reader;

constexpr int64_t kMaxPoolSize = 10000;
constexpr int64_t kMaxWorkers = 256;
constexpr int64_t kMaxClientConnections = 1'000'000;
constexpr uint64_t kMinMessageSize = 1ull << 10;
constexpr uint64_t kMaxMessageSize = 1ull << 30;

constexpr std::string_view kPoolModeNames[] = {"session", "transaction", "statement"};
constexpr std::string_view kAuthNames[] = {"scram-sha-256", "md5", "trust"};
constexpr std::string_view kLogLevels[] = {"trace", "debug", "info", "warn",
                                           "error", "critical", "off"};

constexpr std::string_view kTopLevelKeys[] = {
    "listen", "workers", "log_level", "max_client_connections", "max_message_size",
    "pool_mode", "pool_size", "min_pool_size", "server_reset_query", "client_login_timeout",
    "server_connect_timeout", "server_login_retry", "server_idle_timeout", "server_lifetime",
    "query_wait_timeout", "shutdown_timeout", "max_prepared_statements",
    "track_extra_parameters", "health_check", "metrics", "admin", "slow_query_threshold",
    "log_query_literals", "tls", "server_tls", "users", "databases"};
constexpr std::string_view kListenKeys[] = {"host", "port"};
constexpr std::string_view kUserKeys[] = {"auth", "password", "server_password"};
constexpr std::string_view kDatabaseKeys[] = {"host",      "port",      "primary",
                                              "replicas",  "routing",   "dbname",
                                              "pool_mode", "pool_size", "min_pool_size"};

struct CountKey {
  std::string_view name;
  uint32_t Config::*field;
  int64_t min;
  int64_t max;
};
constexpr CountKey kCountKeys[] = {
    {"max_client_connections", &Config::max_client_connections, 1, kMaxClientConnections},
    {"pool_size", &Config::pool_size, 1, kMaxPoolSize},
    {"min_pool_size", &Config::min_pool_size, 0, kMaxPoolSize},
    {"max_prepared_statements", &Config::max_prepared_statements, 0, 100000},
};

struct DurationKey {
  std::string_view name;
  Duration Config::*field;
};
constexpr DurationKey kDurationKeys[] = {
    {"client_login_timeout", &Config::client_login_timeout},
    {"server_connect_timeout", &Config::server_connect_timeout},
    {"server_login_retry", &Config::server_login_retry},
    {"server_idle_timeout", &Config::server_idle_timeout},
    {"server_lifetime", &Config::server_lifetime},
    {"query_wait_timeout", &Config::query_wait_timeout},
    {"shutdown_timeout", &Config::shutdown_timeout},
};

// What a database set itself: its pool settings (the others come from the top level)
// and the lines of keys checked once the whole database is read.
struct DatabaseOverrides {
  std::string name;
  int line = 0;
  std::optional<PoolMode> pool_mode;
  std::optional<uint32_t> pool_size;
  std::optional<uint32_t> min_pool_size;
  int pool_size_line = 0;
  int min_pool_size_line = 0;
  // Key lines (0: absent): host/port next to primary is refused.
  int host_line = 0;
  int port_line = 0;
  int primary_line = 0;
  int replicas_line = 0;
  std::vector<int> replica_lines;
};

// The fields of one `users:` entry before its password is classified.
struct UserDraft {
  UserConfig user;
  std::optional<std::string> password;
  std::optional<std::string> server_password;
  int line = 0;
  int password_line = 0;
};

// Fills a Config from the document root; the first error goes to the Reader.
class Parser {
 public:
  Parser(Reader& reader, Config& config) : reader_(reader), config_(config) {}

  bool parse(const YAML::Node& root) {
    if (!reader_.for_each_entry(root, "", detail::line_of(root),
                                [this](const Entry& e) { return top_level_entry(e); })) {
      return false;
    }
    return check_required() && detail::check_tls(reader_, config_) && check_pool_sizes() && resolve_databases() &&
           detail::resolve_health_check(reader_, health_check_, user_order_, replicas_site(),
                                        config_) &&
           detail::check_admin(reader_, admin_, config_);
  }

 private:
  bool top_level_entry(const Entry& e);
  bool parse_listen(const Entry& e);
  bool parse_workers(const Entry& e);
  bool parse_users(const Entry& e);
  bool parse_user(const Entry& e);
  bool user_field(const Entry& e, UserDraft& draft);
  bool classify_password(UserDraft& draft);
  bool parse_databases(const Entry& e);
  bool parse_database(const Entry& e);
  bool database_field(const Entry& e, DatabaseConfig& db, DatabaseOverrides& overrides);
  bool check_primary(const DatabaseConfig& db, const DatabaseOverrides& overrides);
  detail::ReplicasSite replicas_site() const;
  bool check_required();
  bool check_pool_sizes();
  bool resolve_databases();

  Reader& reader_;
  Config& config_;
  int min_pool_size_line_ = 0;
  std::vector<DatabaseOverrides> overrides_;  // in file order
  std::vector<std::string> user_order_;       // user names in file order
  detail::HealthCheckDraft health_check_;
  detail::AdminDraft admin_;
};

bool Parser::top_level_entry(const Entry& e) {
  for (const CountKey& key : kCountKeys) {
    if (e.name != key.name) continue;
    if (e.name == "min_pool_size") min_pool_size_line_ = e.value_line;
    return reader_.read_uint32(e, key.min, key.max, config_.*key.field);
  }
  for (const DurationKey& key : kDurationKeys) {
    if (e.name == key.name) return reader_.read_duration(e, config_.*key.field);
  }
  size_t index = 0;
  if (e.name == "listen") return parse_listen(e);
  if (e.name == "tls") return detail::parse_tls(reader_, e, config_.tls);
  if (e.name == "server_tls") return detail::parse_server_tls(reader_, e, config_.server_tls);
  if (e.name == "workers") return parse_workers(e);
  if (e.name == "users") return parse_users(e);
  if (e.name == "databases") return parse_databases(e);
  if (e.name == "health_check") return detail::parse_health_check(reader_, e, health_check_);
  if (e.name == "metrics") return detail::parse_metrics(reader_, e, config_.metrics);
  if (e.name == "admin") return detail::parse_admin(reader_, e, config_.admin, admin_);
  if (e.name == "slow_query_threshold") {
    return detail::read_threshold(reader_, e, config_.slow_query_threshold);
  }
  if (e.name == "log_query_literals") return reader_.read_bool(e, config_.log_query_literals);
  if (e.name == "track_extra_parameters") {
    return reader_.read_name_list(e, config_.track_extra_parameters);
  }
  if (e.name == "server_reset_query") {
    return reader_.read_text(e, "a string", config_.server_reset_query);
  }
  if (e.name == "log_level") {
    if (!reader_.read_choice(e, kLogLevels, index)) return false;
    config_.log_level = std::string(kLogLevels[index]);
    return true;
  }
  if (e.name == "pool_mode") {
    if (!reader_.read_choice(e, kPoolModeNames, index)) return false;
    config_.pool_mode = static_cast<PoolMode>(index);
    return true;
  }
  if (e.name == "max_message_size") {
    uint64_t size = 0;
    if (!reader_.read_size(e, kMinMessageSize, kMaxMessageSize, size)) return false;
    config_.max_message_size = static_cast<uint32_t>(size);
    return true;
  }
  return reader_.unknown_key(e, kTopLevelKeys);
}

bool Parser::parse_listen(const Entry& e) {
  return reader_.for_each_entry(e, [this](const Entry& field) {
    if (field.name == "host") return reader_.read_nonempty(field, config_.listen.host);
    if (field.name == "port") return reader_.read_port(field, config_.listen.port);
    return reader_.unknown_key(field, kListenKeys);
  });
}

bool Parser::parse_workers(const Entry& e) {
  std::string text;
  if (!reader_.read_text(e, "\"auto\" or an integer", text)) return false;
  if (detail::trim(text) == "auto") {
    config_.workers = std::max(1u, std::thread::hardware_concurrency());
    return true;
  }
  if (!detail::parse_integer(text)) {
    return reader_.fail(e, "expected \"auto\" or an integer, got \"" + text + "\"");
  }
  uint32_t workers = 0;
  if (!reader_.read_uint32(e, 1, kMaxWorkers, workers)) return false;
  config_.workers = workers;
  return true;
}

bool Parser::parse_users(const Entry& e) {
  if (!reader_.for_each_entry(e, [this](const Entry& user) { return parse_user(user); })) {
    return false;
  }
  if (config_.users.empty()) {
    return reader_.fail(e.key_line, e.path, "at least one user is required");
  }
  return true;
}

bool Parser::parse_user(const Entry& e) {
  UserDraft draft;
  draft.user.name = e.name;
  draft.line = e.key_line;
  if (!reader_.for_each_entry(e, [&](const Entry& field) { return user_field(field, draft); })) {
    return false;
  }
  if (!classify_password(draft)) return false;
  config_.users.emplace(e.name, std::move(draft.user));
  user_order_.push_back(e.name);
  return true;
}

bool Parser::user_field(const Entry& e, UserDraft& draft) {
  size_t index = 0;
  if (e.name == "auth") {
    if (!reader_.read_choice(e, kAuthNames, index)) return false;
    draft.user.auth = static_cast<AuthMethod>(index);
    return true;
  }
  if (e.name == "password") {
    draft.password_line = e.value_line;
    return reader_.read_nonempty(e, draft.password.emplace());
  }
  if (e.name == "server_password") {
    return reader_.read_text(e, "a string", draft.server_password.emplace());
  }
  return reader_.unknown_key(e, kUserKeys);
}

// Sorts `password:` into plain text, SCRAM secret or md5 hash and checks that it suits
// the auth method. Messages never include the password.
bool Parser::classify_password(UserDraft& draft) {
  UserConfig& user = draft.user;
  std::string path = "users." + user.name + ".password";
  if (!draft.password) {
    if (user.auth == AuthMethod::kTrust) {
      user.server_password = draft.server_password.value_or("");
      return true;
    }
    return reader_.fail(draft.line, path,
                        "required key is missing (only auth: trust users may omit it)");
  }
  std::string& password = *draft.password;
  if (detail::looks_like_scram_secret(password)) {
    if (!detail::is_scram_secret(password)) {
      return reader_.fail(draft.password_line, path,
                          "malformed SCRAM secret; expected "
                          "\"SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>\"");
    }
    if (user.auth == AuthMethod::kMd5) {
      return reader_.fail(draft.password_line, path,
                          "md5 authentication needs a plain password or an md5 hash");
    }
    user.scram_secret = std::move(password);
  } else if (detail::is_md5_hash(password)) {
    if (user.auth == AuthMethod::kScramSha256) {
      return reader_.fail(draft.password_line, path,
                          "scram-sha-256 authentication needs a plain password or a SCRAM secret");
    }
    user.md5_hash = std::move(password);
  } else {
    user.password = std::move(password);
  }
  user.server_password = draft.server_password.value_or(user.password);
  return true;
}

bool Parser::parse_databases(const Entry& e) {
  if (!reader_.for_each_entry(e, [this](const Entry& db) { return parse_database(db); })) {
    return false;
  }
  if (config_.databases.empty()) {
    return reader_.fail(e.key_line, e.path, "at least one database is required");
  }
  return true;
}

bool Parser::parse_database(const Entry& e) {
  DatabaseConfig db;
  db.name = e.name;
  db.dbname = e.name;
  DatabaseOverrides overrides{e.name, e.key_line};
  if (!reader_.for_each_entry(
          e, [&](const Entry& field) { return database_field(field, db, overrides); })) {
    return false;
  }
  if (!check_primary(db, overrides)) return false;
  if (db.host.empty()) return reader_.fail(e.key_line, e.path + ".host", "required key is missing");
  if (!detail::check_replica_addresses(reader_, db, overrides.replica_lines)) return false;
  config_.databases.emplace(e.name, std::move(db));
  overrides_.push_back(std::move(overrides));
  return true;
}

bool Parser::database_field(const Entry& e, DatabaseConfig& db, DatabaseOverrides& overrides) {
  if (e.name == "host") {
    overrides.host_line = e.key_line;
    return reader_.read_nonempty(e, db.host);
  }
  if (e.name == "port") {
    overrides.port_line = e.key_line;
    return reader_.read_port(e, db.port);
  }
  if (e.name == "primary") {
    overrides.primary_line = e.key_line;
    return detail::parse_primary(reader_, e, db);
  }
  if (e.name == "replicas") {
    overrides.replicas_line = e.key_line;
    return detail::parse_replicas(reader_, e, db, overrides.replica_lines);
  }
  if (e.name == "routing") return detail::parse_routing(reader_, e, db.routing);
  if (e.name == "dbname") return reader_.read_nonempty(e, db.dbname);
  if (e.name == "pool_mode") {
    size_t index = 0;
    if (!reader_.read_choice(e, kPoolModeNames, index)) return false;
    overrides.pool_mode = static_cast<PoolMode>(index);
    return true;
  }
  if (e.name == "pool_size") {
    overrides.pool_size_line = e.value_line;
    return reader_.read_uint32(e, 1, kMaxPoolSize, overrides.pool_size.emplace());
  }
  if (e.name == "min_pool_size") {
    overrides.min_pool_size_line = e.value_line;
    return reader_.read_uint32(e, 0, kMaxPoolSize, overrides.min_pool_size.emplace());
  }
  return reader_.unknown_key(e, kDatabaseKeys);
}

// Refuses `host:` or `port:` next to `primary:`, naming whichever comes later.
bool Parser::check_primary(const DatabaseConfig& db, const DatabaseOverrides& overrides) {
  if (overrides.primary_line == 0) return true;
  for (auto [key, line] :
       {std::pair{"host", overrides.host_line}, std::pair{"port", overrides.port_line}}) {
    if (line == 0) continue;
    bool primary_later = overrides.primary_line > line;
    std::string path = "databases." + db.name + "." + (primary_later ? "primary" : key);
    return reader_.fail(primary_later ? overrides.primary_line : line, path,
                        std::string(key) + " and primary both given");
  }
  return true;
}

// The `replicas:` key of the first database (in file order) that has replicas.
detail::ReplicasSite Parser::replicas_site() const {
  for (const DatabaseOverrides& o : overrides_) {
    if (config_.databases.at(o.name).replicas.empty()) continue;
    return {"databases." + o.name + ".replicas", o.replicas_line};
  }
  return {};
}

bool Parser::check_required() {
  if (config_.users.empty()) {
    return reader_.fail(0, "users", "required key is missing: at least one user is required");
  }
  if (config_.databases.empty()) {
    return reader_.fail(0, "databases",
                        "required key is missing: at least one database is required");
  }
  return true;
}

bool Parser::check_pool_sizes() {
  if (config_.min_pool_size <= config_.pool_size) return true;
  std::string sizes =
      std::to_string(config_.min_pool_size) + " > " + std::to_string(config_.pool_size);
  return reader_.fail(min_pool_size_line_, "min_pool_size",
                      "must not exceed pool_size (" + sizes + ")");
}

// Fills in the pool settings each database left to the top level, then checks them.
bool Parser::resolve_databases() {
  for (const DatabaseOverrides& o : overrides_) {
    DatabaseConfig& db = config_.databases.at(o.name);
    db.pool_mode = o.pool_mode.value_or(config_.pool_mode);
    db.pool_size = o.pool_size.value_or(config_.pool_size);
    db.min_pool_size = o.min_pool_size.value_or(config_.min_pool_size);
    if (db.min_pool_size <= db.pool_size) continue;
    std::string min = std::to_string(db.min_pool_size);
    std::string size = std::to_string(db.pool_size);
    std::string path = "databases." + o.name;
    if (o.min_pool_size) {
      return reader_.fail(o.min_pool_size_line, path + ".min_pool_size",
                          "must not exceed pool_size (" + min + " > " + size + ")");
    }
    return reader_.fail(o.pool_size_line, path + ".pool_size",
                        "must not be below min_pool_size (" + size + " < " + min + ")");
  }
  return true;
}

ConfigError yaml_error(const std::string& file, const YAML::Exception& e) {
  int line = e.mark.line >= 0 ? e.mark.line + 1 : 0;
  return ConfigError{file, line, "", "invalid YAML: " + e.msg};
}

}  // namespace

std::string_view to_string(PoolMode mode) { return kPoolModeNames[static_cast<size_t>(mode)]; }

std::string_view to_string(AuthMethod method) { return kAuthNames[static_cast<size_t>(method)]; }


const UserConfig* Config::find_user(std::string_view name) const {
  auto it = users.find(name);
  return it == users.end() ? nullptr : &it->second;
}

const DatabaseConfig* Config::find_database(std::string_view name) const {
  auto it = databases.find(name);
  return it == databases.end() ? nullptr : &it->second;
}

std::string ConfigError::to_string() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  if (!out.empty()) out += ": ";
  if (!key.empty()) out += key + ": ";
  return out + message;
}

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

LoadResult parse_config(std::string_view yaml_text, const std::string& source_name,
                        const EnvLookup& env) {
  try {
    std::vector<YAML::Node> documents = YAML::LoadAll(std::string(yaml_text));
    if (documents.size() > 1) {
      return ConfigError{source_name, detail::line_of(documents[1]), "",
                         "expected one YAML document, found " + std::to_string(documents.size())};
    }
    Reader reader(source_name, env);
    Config config;
    config.source_path = source_name;
    Parser parser(reader, config);
    if (!parser.parse(documents.empty() ? YAML::Node() : documents[0])) return reader.take_error();
    return config;
  } catch (const YAML::Exception& e) {
    return yaml_error(source_name, e);
  }
}

LoadResult load_config_file(const std::string& path, const EnvLookup& env) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return ConfigError{path, 0, "", std::string("cannot open file: ") + std::strerror(errno)};
  }
  std::string text;
  char buffer[8192];
  size_t n = 0;
  errno = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
  int read_errno = std::ferror(file) ? (errno != 0 ? errno : EIO) : 0;
  std::fclose(file);
  if (read_errno != 0) {
    return ConfigError{path, 0, "", std::string("cannot read file: ") + std::strerror(read_errno)};
  }
  return parse_config(text, path, env);
}

}  // namespace pgmux::config
