// Helpers shared by the config unit tests: a fake environment and variant unpacking.
// Test-only; not thread-safe.
#pragma once

#include <map>
#include <string>

#include <gtest/gtest.h>

#include "pgmux/config/config.hpp"

namespace pgmux::config::testing {

// A stored SCRAM secret of the right shape (not derived from any real password).
inline const std::string kScramSecret =
    "SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$"
    "h7BOWJYfmpnYU9QEagtbeT58Pku9IfWsqPsXwgzbHYs=:s+rNM0M7MbUlI1EDLJs+ei56p3ONXezfDdbGJoCFPAY=";
// md5 of "secret" + "app".
inline const std::string kMd5Hash = "md56a422f785c9e20873908ce25d1736ae2";

// The smallest valid configuration: one user, one database.
inline const std::string kMinimal =
    "users:\n"
    "  app:\n"
    "    password: secret\n"
    "databases:\n"
    "  appdb:\n"
    "    host: db.example\n";

// An EnvLookup that sees only `vars`.
inline EnvLookup fake_env(std::map<std::string, std::string> vars = {}) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// Parses `yaml` as "test.yaml"; fails the test and returns a default Config on error.
inline Config parse_ok(const std::string& yaml, const EnvLookup& env = fake_env()) {
  LoadResult result = parse_config(yaml, "test.yaml", env);
  if (const auto* error = std::get_if<ConfigError>(&result)) {
    ADD_FAILURE() << "unexpected error: " << error->to_string();
    return Config{};
  }
  return std::get<Config>(std::move(result));
}

// Parses `yaml` as "test.yaml"; fails the test and returns an empty error when it loads.
inline ConfigError parse_error(const std::string& yaml, const EnvLookup& env = fake_env()) {
  LoadResult result = parse_config(yaml, "test.yaml", env);
  if (std::holds_alternative<Config>(result)) {
    ADD_FAILURE() << "configuration unexpectedly loaded:\n" << yaml;
    return ConfigError{};
  }
  return std::get<ConfigError>(std::move(result));
}

}  // namespace pgmux::config::testing
