// Session parameters that follow a client from server to server: parsing the startup
// packet's settings and building the SET/RESET statements that bring a server in line.
// Pure functions; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pgmux/util/result.hpp"

namespace pgmux::session {

using Params = std::map<std::string, std::string, std::less<>>;

// Parameters a client cannot set (reported by the server, owned by the server).
bool is_read_only_param(std::string_view name);
// Letters, digits, '_' and '.' only (what pgmux is willing to put into a SET).
bool is_valid_param_name(std::string_view name);
// The name the server reports for `name` (GUC names are case-insensitive): the
// spelling used in `reported` if it is there, else lower case.
std::string canonical_param_name(std::string_view name, const Params& reported);

// The settings in a startup packet's `options` value: "-c name=value",
// "-cname=value" and "--name=value", separated by spaces ("\ " is a space in a value).
// Anything else is an error (code 0A000).
util::Result<std::vector<std::pair<std::string, std::string>>> parse_options(
    std::string_view options);

std::string quote_literal(std::string_view value);
std::string quote_name(std::string_view name);  // each dotted part double-quoted

// SQL that makes a server whose current values are `server` show the values a client
// should see: `baseline` (what a fresh server reports) overridden by `changes` (the
// client's own settings). set_config() for every settable value that differs (one
// SELECT), RESET for every setting the server has that neither names. Empty when
// nothing differs. `changed` and `reset` receive the names concerned.
std::string build_sync_sql(const Params& baseline, const Params& changes, const Params& server,
                           std::vector<std::string>& changed, std::vector<std::string>& reset);

}  // namespace pgmux::session
