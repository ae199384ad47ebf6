// Parses the read/write-splitting parts of the configuration: a database's `primary:`,
// `replicas:` and `routing:`, and the top-level `health_check:`. Internal to the config
// module. Not thread-safe: each call works through the parse's one Reader.
#pragma once

#include <string>
#include <vector>

#include "pgmux/config/config.hpp"
#include "yaml_reader.hpp"

namespace pgmux::config::detail {

// `primary: {host, port}` into the database's host and port. host is required.
bool parse_primary(Reader& reader, const Entry& entry, DatabaseConfig& db);

// `replicas:`, a sequence of {host, port, weight} mappings, into db.replicas;
// `lines[i]` gets the line of replica i for later errors.
bool parse_replicas(Reader& reader, const Entry& entry, DatabaseConfig& db,
                    std::vector<int>& lines);

// Fails when a replica has the primary's address or the address of an earlier replica
// (`lines` as filled by parse_replicas).
bool check_replica_addresses(Reader& reader, const DatabaseConfig& db,
                             const std::vector<int>& lines);

// `routing:` into db.routing.
bool parse_routing(Reader& reader, const Entry& entry, RoutingConfig& routing);

// `health_check:` as read, before its user is checked against `users:`.
struct HealthCheckDraft {
  HealthCheckConfig config;
  bool user_given = false;
  int user_line = 0;
};
bool parse_health_check(Reader& reader, const Entry& entry, HealthCheckDraft& draft);

// Where the first database with replicas declared them; empty `path` when none has.
struct ReplicasSite {
  std::string path;  // "databases.<name>.replicas"
  int line = 0;
};

// Sets config.health_check from `draft`: the named user, which must exist and have a
// server password, or else the first user in file order (`user_order`) that has one.
// Fails when no user qualifies and `replicas` names a database that needs checks.
bool resolve_health_check(Reader& reader, const HealthCheckDraft& draft,
                          const std::vector<std::string>& user_order, const ReplicasSite& replicas,
                          Config& config);

}  // namespace pgmux::config::detail
