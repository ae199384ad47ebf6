// Runtime, CancelRegistry (see runtime.hpp). All members lock their own mutex.
#include "pgmux/session/runtime.hpp"

#include <openssl/crypto.h>

#include "pgmux/auth/random.hpp"
#include "pgmux/session/params.hpp"

namespace pgmux::session {
namespace {

uint32_t random_u32() {
  uint32_t v = 0;
  auth::random_bytes(&v, sizeof v);
  return v;
}

}  // namespace

Worker& worker_of(const Runtime& runtime, unsigned id) {
  const auto& workers = runtime.workers();
  return *workers.at(id < workers.size() ? id : 0);
}

void destroy_on_owner(const Runtime& runtime, std::unique_ptr<pool::PooledServer> server) {
  Worker& owner = worker_of(runtime, server->worker);  // before `server` is moved from
  owner.mailbox.post([s = std::move(server)]() mutable { s.reset(); });
}

std::pair<uint32_t, uint32_t> CancelRegistry::add(const std::shared_ptr<CancelTarget>& target) {
  std::lock_guard lock(mu_);
  uint32_t pid;
  do {
    pid = random_u32() & 0x3fffffffu;  // positive, like a PostgreSQL pid
  } while (pid == 0 || entries_.count(pid));
  uint32_t secret = random_u32();
  entries_.emplace(pid, std::make_pair(secret, target));
  return {pid, secret};
}

void CancelRegistry::remove(uint32_t pid) {
  std::lock_guard lock(mu_);
  entries_.erase(pid);
}

std::shared_ptr<CancelTarget> CancelRegistry::find(uint32_t pid, uint32_t secret) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(pid);
  if (it == entries_.end()) return nullptr;
  uint32_t expected = it->second.first;
  if (CRYPTO_memcmp(&expected, &secret, sizeof secret) != 0) return nullptr;
  return it->second.second.lock();
}

void NodeState::add_wal_sample(pool::Clock::time_point at, uint64_t position) {
  constexpr size_t kMaxSamples = 256;
  std::lock_guard lock(samples_mu_);
  if (!samples_.empty() && samples_.back().second == position) return;  // nothing new written
  samples_.emplace_back(at, position);
  if (samples_.size() > kMaxSamples) samples_.pop_front();
}

std::optional<std::chrono::milliseconds> NodeState::lag_behind(
    uint64_t replayed, pool::Clock::time_point now) const {
  std::lock_guard lock(samples_mu_);
  if (samples_.empty()) return std::nullopt;
  for (const auto& [at, position] : samples_) {
    if (position > replayed) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(now - at);
    }
  }
  return std::chrono::milliseconds(0);
}

Runtime::Runtime(std::shared_ptr<const config::Config> config)
    : config_(std::move(config)), mock_seed_(auth::random_nonce(24)) {}

std::shared_ptr<const config::Config> Runtime::config() const {
  std::lock_guard lock(mu_);
  return config_;
}

namespace {

pool::PoolLimits limits_for(const config::Config& config, const config::DatabaseConfig& db) {
  pool::PoolLimits limits;
  limits.pool_size = db.pool_size;
  limits.min_pool_size = db.min_pool_size;
  limits.idle_timeout = config.server_idle_timeout;
  limits.lifetime = config.server_lifetime;
  limits.login_retry = config.server_login_retry;
  return limits;
}

backend::ServerTarget target_for(const std::string& host, uint16_t port,
                                 const config::DatabaseConfig& db, const config::UserConfig& user) {
  return backend::ServerTarget{host, port, db.dbname, user.name, user.server_password};
}

std::string address_of(const std::string& host, uint16_t port) {
  return host + ":" + std::to_string(port);
}

bool same_target(const backend::ServerTarget& a, const backend::ServerTarget& b) {
  return a.host == b.host && a.port == b.port && a.dbname == b.dbname && a.user == b.user &&
         a.password == b.password;
}

// Whether `group` still serves `db` as `user` (same servers, weights and mode).
bool same_servers(const PoolGroup& group, const config::DatabaseConfig& db,
                  const config::UserConfig& user) {
  if (group.primary->mode != db.pool_mode ||
      !same_target(group.primary->target, target_for(db.host, db.port, db, user)) ||
      group.replicas.size() != db.replicas.size()) {
    return false;
  }
  for (size_t i = 0; i < db.replicas.size(); ++i) {
    const auto& r = db.replicas[i];
    if (!same_target(group.replicas[i]->target, target_for(r.host, r.port, db, user)) ||
        group.replicas[i]->weight != r.weight) {
      return false;
    }
  }
  return true;
}

sql::ClassifyOptions classify_options(const config::RoutingConfig& routing) {
  sql::ClassifyOptions options;
  if (routing.write_functions) options.write_functions = *routing.write_functions;
  options.write_functions.insert(options.write_functions.end(),
                                 routing.extra_write_functions.begin(),
                                 routing.extra_write_functions.end());
  if (routing.read_only_functions) options.read_only_functions = *routing.read_only_functions;
  options.strict = routing.strict;
  return options;
}

std::string read_back_sql(const config::Config& config) {
  std::string sql;
  for (const auto& name : config.track_extra_parameters) {
    sql += sql.empty() ? "SELECT " : ", ";
    sql += "current_setting(" + quote_literal(name) + ", true)";
  }
  return sql;
}

}  // namespace

std::shared_ptr<NodeState> Runtime::node_state_locked(const std::string& database,
                                                      const std::string& address,
                                                      bool replica) {
  auto key = std::make_pair(database, address);
  auto it = nodes_.find(key);
  if (it != nodes_.end() && it->second->replica == replica) return it->second;
  auto node = std::make_shared<NodeState>(address, replica);
  if (!replica) node->healthy = true;  // the primary is assumed up until a check says otherwise
  nodes_[key] = node;
  return node;
}

backend::ServerTarget Runtime::target_locked(const std::string& host, uint16_t port,
                                             const config::DatabaseConfig& db,
                                             const config::UserConfig& user) const {
  auto target = target_for(host, port, db, user);
  target.tls = server_tls_;
  target.tls_required = config_->server_tls.mode >= config::ServerTlsMode::kRequire;
  return target;
}

std::vector<std::shared_ptr<PoolEntry>> Runtime::set_config(
    std::shared_ptr<const config::Config> config) {
  std::lock_guard lock(mu_);
  // Other server_tls settings are other servers to every pool.
  const bool same_tls = config_->server_tls.mode == config->server_tls.mode &&
                        config_->server_tls.ca_file == config->server_tls.ca_file;
  config_ = std::move(config);
  std::vector<std::shared_ptr<PoolEntry>> retired;
  for (auto it = groups_.begin(); it != groups_.end();) {
    const auto* db = config_->find_database(it->first.first);
    const auto* user = config_->find_user(it->first.second);
    auto& group = it->second;
    if (db && user && same_tls && same_servers(*group, *db, *user)) {
      auto fresh = std::make_shared<PoolGroup>(*group);
      fresh->routing = db->routing;
      fresh->classify = classify_options(db->routing);
      fresh->read_back_sql = read_back_sql(*config_);
      fresh->primary->pool.set_limits(limits_for(*config_, *db));
      for (auto& r : fresh->replicas) r->pool.set_limits(limits_for(*config_, *db));
      group = std::move(fresh);
      ++it;
    } else {
      group->primary->retired = true;
      retired.push_back(group->primary);
      for (auto& r : group->replicas) {
        r->retired = true;
        retired.push_back(r);
      }
      it = groups_.erase(it);
    }
  }
  return retired;
}

std::shared_ptr<PoolGroup> Runtime::pools_for(const config::DatabaseConfig& db,
                                              const config::UserConfig& user) {
  std::lock_guard lock(mu_);
  auto key = std::make_pair(db.name, user.name);
  auto it = groups_.find(key);
  if (it != groups_.end()) return it->second;
  auto limits = limits_for(*config_, db);
  auto group = std::make_shared<PoolGroup>();
  auto primary_node = node_state_locked(db.name, address_of(db.host, db.port), false);
  group->primary = std::make_shared<PoolEntry>(limits, config_->workers, db.name,
                                               target_locked(db.host, db.port, db, user),
                                               db.pool_mode, primary_node, 1);
  for (const auto& r : db.replicas) {
    auto node = node_state_locked(db.name, address_of(r.host, r.port), true);
    group->replicas.push_back(std::make_shared<PoolEntry>(
        limits, config_->workers, db.name, target_locked(r.host, r.port, db, user), db.pool_mode,
        node, r.weight));
  }
  group->routing = db.routing;
  group->classify = classify_options(db.routing);
  group->read_back_sql = read_back_sql(*config_);
  groups_.emplace(key, group);
  return group;
}

std::vector<std::shared_ptr<PoolEntry>> Runtime::pools() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<PoolEntry>> out;
  for (auto& [key, group] : groups_) {
    out.push_back(group->primary);
    out.insert(out.end(), group->replicas.begin(), group->replicas.end());
  }
  return out;
}

std::vector<Runtime::CheckedNode> Runtime::checked_nodes() {
  std::lock_guard lock(mu_);
  std::vector<CheckedNode> out;
  const config::UserConfig* user = config_->find_user(config_->health_check.user);
  if (!user) return out;
  for (const auto& [name, db] : config_->databases) {
    if (db.replicas.empty()) continue;
    auto primary = node_state_locked(name, address_of(db.host, db.port), false);
    out.push_back({name, target_locked(db.host, db.port, db, *user), primary, primary});
    for (const auto& r : db.replicas) {
      out.push_back({name, target_locked(r.host, r.port, db, *user),
                     node_state_locked(name, address_of(r.host, r.port), true), primary});
    }
  }
  return out;
}

bool Runtime::statement_known(const std::string& name) const {
  std::lock_guard lock(statements_mu_);
  return known_statements_.count(name) != 0;
}

void Runtime::statement_accepted(const std::string& name) {
  constexpr size_t kMaxKnownStatements = 100000;
  std::lock_guard lock(statements_mu_);
  if (known_statements_.size() >= kMaxKnownStatements) known_statements_.clear();
  known_statements_.insert(name);
}

auth::ScramSecret Runtime::scram_secret_for(const config::UserConfig& user) {
  if (!user.scram_secret.empty()) {
    auto parsed = auth::parse_scram_secret(user.scram_secret);
    if (parsed) return *parsed;  // validated at config load; fall through defensively
  }
  std::lock_guard lock(mu_);
  auto it = scram_cache_.find(user.name);
  if (it != scram_cache_.end() && it->second.first == user.password) return it->second.second;
  std::string salt(16, '\0');
  auth::random_bytes(salt.data(), salt.size());
  auto secret = auth::make_scram_secret(user.password, salt, auth::kDefaultScramIterations);
  scram_cache_[user.name] = {user.password, secret};
  return secret;
}

}  // namespace pgmux::session
