// Parses `primary:`, `replicas:`, `routing:` and `health_check:`; see routing_parser.hpp.
// Not thread-safe: one Reader per parse.
#include "routing_parser.hpp"

#include <string_view>
#include <utility>

#include "parse_util.hpp"

namespace pgmux::config::detail {
namespace {

constexpr int64_t kMaxWeight = 1000;
constexpr uint64_t kMaxLagBytes = 1ull << 40;

constexpr std::string_view kPrimaryKeys[] = {"host", "port"};
constexpr std::string_view kReplicaKeys[] = {"host", "port", "weight"};
constexpr std::string_view kHealthCheckKeys[] = {"interval", "timeout", "user"};
constexpr std::string_view kRoutingKeys[] = {
    "read_write_split", "max_replica_lag",        "max_replica_lag_bytes", "fallback_to_primary",
    "strict",           "write_functions",        "extra_write_functions", "read_only_functions",
    "read_your_writes", "read_your_writes_window"};
constexpr std::string_view kReadYourWritesNames[] = {"off", "window", "lsn"};

struct BoolKey {
  std::string_view name;
  bool RoutingConfig::*field;
};
constexpr BoolKey kRoutingBools[] = {
    {"read_write_split", &RoutingConfig::read_write_split},
    {"fallback_to_primary", &RoutingConfig::fallback_to_primary},
    {"strict", &RoutingConfig::strict},
};

struct DurationKey {
  std::string_view name;
  Duration RoutingConfig::*field;
};
constexpr DurationKey kRoutingDurations[] = {
    {"max_replica_lag", &RoutingConfig::max_replica_lag},
    {"read_your_writes_window", &RoutingConfig::read_your_writes_window},
};

std::string address_of(const std::string& host, uint16_t port) {
  return host + ":" + std::to_string(port);
}

bool parse_replica(Reader& reader, const Entry& entry, ReplicaConfig& replica) {
  bool ok = reader.for_each_entry(entry, [&](const Entry& field) {
    if (field.name == "host") return reader.read_nonempty(field, replica.host);
    if (field.name == "port") return reader.read_port(field, replica.port);
    if (field.name == "weight") return reader.read_uint32(field, 1, kMaxWeight, replica.weight);
    return reader.unknown_key(field, kReplicaKeys);
  });
  if (!ok) return false;
  if (replica.host.empty()) {
    return reader.fail(entry.key_line, entry.path + ".host", "required key is missing");
  }
  return true;
}

// Reads a function-name list, dropping schema qualifiers: statements are classified by
// the unqualified name of each call, so "my_schema.bump" must be kept as "bump".
bool read_functions(Reader& reader, const Entry& e, std::vector<std::string>& out) {
  if (!reader.read_name_list(e, out, Reader::NameKind::kFunction)) return false;
  for (std::string& name : out) name.erase(0, name.rfind('.') + 1);
  return true;
}

bool routing_field(Reader& reader, const Entry& e, RoutingConfig& routing) {
  for (const BoolKey& key : kRoutingBools) {
    if (e.name == key.name) return reader.read_bool(e, routing.*key.field);
  }
  for (const DurationKey& key : kRoutingDurations) {
    if (e.name == key.name) return reader.read_duration(e, routing.*key.field);
  }
  if (e.name == "max_replica_lag_bytes") {
    return reader.read_size(e, 0, kMaxLagBytes, routing.max_replica_lag_bytes);
  }
  if (e.name == "write_functions")
    return read_functions(reader, e, routing.write_functions.emplace());
  if (e.name == "extra_write_functions") {
    return read_functions(reader, e, routing.extra_write_functions);
  }
  if (e.name == "read_only_functions") {
    return read_functions(reader, e, routing.read_only_functions.emplace());
  }
  if (e.name == "read_your_writes") {
    size_t index = 0;
    if (!reader.read_choice(e, kReadYourWritesNames, index)) return false;
    routing.read_your_writes = static_cast<ReadYourWrites>(index);
    return true;
  }
  return reader.unknown_key(e, kRoutingKeys);
}

// Fails on a named health-check user that is unknown or has no server password.
bool check_named_user(Reader& reader, const HealthCheckDraft& draft, const Config& config) {
  const std::string& name = draft.config.user;
  const UserConfig* user = config.find_user(name);
  if (user == nullptr) {
    std::vector<std::string_view> names;
    for (const auto& [known, unused] : config.users) names.push_back(known);
    std::string message = "unknown user \"" + name + "\"";
    std::string_view suggestion = closest_match(name, names);
    if (!suggestion.empty()) message += "; did you mean \"" + std::string(suggestion) + "\"?";
    return reader.fail(draft.user_line, "health_check.user", std::move(message));
  }
  if (user->server_password.empty()) {
    return reader.fail(draft.user_line, "health_check.user",
                       "user \"" + name + "\" has no server password to log in with (set users." +
                           name + ".server_password)");
  }
  return true;
}

}  // namespace

bool parse_primary(Reader& reader, const Entry& entry, DatabaseConfig& db) {
  std::string host;
  uint16_t port = DatabaseConfig{}.port;
  bool ok = reader.for_each_entry(entry, [&](const Entry& field) {
    if (field.name == "host") return reader.read_nonempty(field, host);
    if (field.name == "port") return reader.read_port(field, port);
    return reader.unknown_key(field, kPrimaryKeys);
  });
  if (!ok) return false;
  if (host.empty()) {
    return reader.fail(entry.key_line, entry.path + ".host", "required key is missing");
  }
  db.host = std::move(host);
  db.port = port;
  return true;
}

bool parse_replicas(Reader& reader, const Entry& entry, DatabaseConfig& db,
                    std::vector<int>& lines) {
  db.replicas.clear();
  lines.clear();
  return reader.for_each_element(entry, "a sequence of mappings", [&](const Entry& element) {
    ReplicaConfig replica;
    if (!parse_replica(reader, element, replica)) return false;
    db.replicas.push_back(std::move(replica));
    lines.push_back(element.key_line);
    return true;
  });
}

bool check_replica_addresses(Reader& reader, const DatabaseConfig& db,
                             const std::vector<int>& lines) {
  std::string primary = address_of(db.host, db.port);
  for (size_t i = 0; i < db.replicas.size(); ++i) {
    std::string address = address_of(db.replicas[i].host, db.replicas[i].port);
    std::string path = "databases." + db.name + ".replicas[" + std::to_string(i) + "]";
    if (address == primary) {
      return reader.fail(lines[i], path, "replica " + address + " is the primary");
    }
    for (size_t j = 0; j < i; ++j) {
      if (address != address_of(db.replicas[j].host, db.replicas[j].port)) continue;
      return reader.fail(lines[i], path,
                         "replica " + address + " is listed twice (first on line " +
                             std::to_string(lines[j]) + ")");
    }
  }
  return true;
}

bool parse_routing(Reader& reader, const Entry& entry, RoutingConfig& routing) {
  return reader.for_each_entry(
      entry, [&](const Entry& field) { return routing_field(reader, field, routing); });
}

bool parse_health_check(Reader& reader, const Entry& entry, HealthCheckDraft& draft) {
  HealthCheckConfig& config = draft.config;
  return reader.for_each_entry(entry, [&](const Entry& field) {
    if (field.name == "interval") return reader.read_duration(field, config.interval);
    if (field.name == "timeout") return reader.read_duration(field, config.timeout);
    if (field.name == "user") {
      draft.user_given = true;
      draft.user_line = field.value_line;
      return reader.read_nonempty(field, config.user);
    }
    return reader.unknown_key(field, kHealthCheckKeys);
  });
}

bool resolve_health_check(Reader& reader, const HealthCheckDraft& draft,
                          const std::vector<std::string>& user_order, const ReplicasSite& replicas,
                          Config& config) {
  config.health_check = draft.config;
  if (draft.user_given) return check_named_user(reader, draft, config);
  for (const std::string& name : user_order) {
    if (config.users.at(name).server_password.empty()) continue;
    config.health_check.user = name;
    return true;
  }
  if (replicas.path.empty()) return true;
  return reader.fail(replicas.line, replicas.path,
                     "health checks of replicas need a user with a server password, and no "
                     "user has one (set a server_password, or name a user in "
                     "health_check.user)");
}

}  // namespace pgmux::config::detail
