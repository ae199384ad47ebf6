// The pgmux process: worker threads (one io_context each, SO_REUSEPORT listeners),
// signals (SIGTERM/SIGINT graceful shutdown, SIGHUP reload), pool maintenance.
// A Server is created, started and run from the main thread only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pgmux/config/config.hpp"
#include "pgmux/util/result.hpp"

namespace pgmux::server {

class Server {
 public:
  Server(std::shared_ptr<const config::Config> config, std::string config_path);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds every worker's listener. An error names the address and the reason.
  util::Status start();
  // Serves until SIGTERM/SIGINT and the graceful shutdown that follows; returns the
  // process exit code.
  int run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pgmux::server
