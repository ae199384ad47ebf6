// The pgmux process: worker threads (one io_context each, SO_REUSEPORT listeners),
// signals (SIGTERM/SIGINT graceful shutdown, SIGHUP reload), pool maintenance.
// A Server is created, started and run from the main thread only.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pgmux/config/config.hpp"
#include "pgmux/util/result.hpp"

namespace pgmux::server {

// Loads what the configuration names outside itself (tls: cert_file and key_file), to
// check it: an error names the config file, line and key as a parse error does.
std::optional<config::ConfigError> check_config_files(const config::Config& config);

class Server {
 public:
  Server(std::shared_ptr<const config::Config> config, std::string config_path);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Loads the TLS files and binds every worker's listener. An error names the file, line
  // and key, or the address, and the reason.
  util::Status start();
  // Serves until SIGTERM/SIGINT and the graceful shutdown that follows; returns the
  // process exit code.
  int run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pgmux::server
