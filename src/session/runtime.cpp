// Runtime, CancelRegistry (see runtime.hpp). All members lock their own mutex.
#include "pgmux/session/runtime.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

namespace pgmux::session {
namespace {

uint32_t random_u32() {
  uint32_t v = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v) != 1) std::abort();
  return v;
}

}  // namespace

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

backend::ServerTarget target_for(const config::DatabaseConfig& db, const config::UserConfig& user) {
  return backend::ServerTarget{db.host, db.port, db.dbname, user.name, user.server_password};
}

bool same_target(const backend::ServerTarget& a, const backend::ServerTarget& b) {
  return a.host == b.host && a.port == b.port && a.dbname == b.dbname && a.user == b.user &&
         a.password == b.password;
}

}  // namespace

std::vector<std::shared_ptr<PoolEntry>> Runtime::set_config(
    std::shared_ptr<const config::Config> config) {
  std::lock_guard lock(mu_);
  config_ = std::move(config);
  std::vector<std::shared_ptr<PoolEntry>> retired;
  for (auto it = pools_.begin(); it != pools_.end();) {
    const auto* db = config_->find_database(it->first.first);
    const auto* user = config_->find_user(it->first.second);
    auto& entry = it->second;
    if (db && user && db->pool_mode == entry->mode &&
        same_target(target_for(*db, *user), entry->target)) {
      entry->pool.set_limits(limits_for(*config_, *db));
      ++it;
    } else {
      entry->retired = true;
      retired.push_back(std::move(entry));
      it = pools_.erase(it);
    }
  }
  return retired;
}

std::shared_ptr<PoolEntry> Runtime::pool_for(const config::DatabaseConfig& db,
                                             const config::UserConfig& user) {
  std::lock_guard lock(mu_);
  auto key = std::make_pair(db.name, user.name);
  auto it = pools_.find(key);
  if (it != pools_.end()) return it->second;
  auto entry = std::make_shared<PoolEntry>(limits_for(*config_, db), config_->workers,
                                           target_for(db, user), db.pool_mode);
  pools_.emplace(key, entry);
  return entry;
}

std::vector<std::shared_ptr<PoolEntry>> Runtime::pools() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<PoolEntry>> out;
  for (auto& [key, entry] : pools_) out.push_back(entry);
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
  RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size()));
  auto secret = auth::make_scram_secret(user.password, salt, auth::kDefaultScramIterations);
  scram_cache_[user.name] = {user.password, secret};
  return secret;
}

}  // namespace pgmux::session
