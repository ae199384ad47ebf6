// Parsing of admin console commands (SHOW POOLS, PAUSE db, ...) sent as simple-query
// text to the `pgmux` virtual database. Pure; every function is thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "pgmux/util/result.hpp"

namespace pgmux::admin {

struct Command {
  enum class Kind {
    kShowPools,
    kShowStats,
    kShowClients,
    kShowServers,
    kShowDatabases,
    kShowConfig,
    kShowVersion,
    kShowHelp,
    kShowNodes,
    kShowUsers,
    kShowLists,
    kPause,
    kResume,
    kReload,
    kKill,
    kReconnect,
    kShutdown,
    kSet,    // SET x = y: accepted and ignored, as PgBouncer does for drivers
    kEmpty,  // only whitespace, comments or semicolons: answer EmptyQueryResponse
  };
  Kind kind = Kind::kEmpty;
  // PAUSE / RESUME / KILL / RECONNECT: the database; empty means every database.
  // Double quotes are removed ("" stands for one quote); unquoted names keep their case.
  std::string argument;
  // The command normalized for the audit log: keywords upper case, single spaces,
  // the argument double-quoted when it is not a plain lower-case identifier.
  std::string text;
};

// Parses one console command. Keywords are case-insensitive; whitespace, comments and
// trailing semicolons are ignored. Errors carry a SQLSTATE in Error::code: 42601 for an
// unknown or malformed command, 0A000 for more than one statement in the query.
util::Result<Command> parse_command(std::string_view sql);

// True when only admin users may run the command: everything but SHOW, SET and empty.
bool requires_admin(Command::Kind kind);

}  // namespace pgmux::admin
