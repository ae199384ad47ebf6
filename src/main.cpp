// pgmux entry point: command line, configuration loading and checking, logging setup.
#include <csignal>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <iostream>
#include <memory>
#include <string>

#include "pgmux/config/config.hpp"
#include "pgmux/server/server.hpp"

namespace {

constexpr const char* kDefaultConfig = "/etc/pgmux/pgmux.yaml";

void print_usage(std::ostream& out) {
  out << "pgmux " PGMUX_VERSION " - connection-pooling PostgreSQL proxy\n\n"
         "Usage: pgmux [-c FILE] [--check]\n\n"
         "  -c, --config FILE   configuration file (default " << kDefaultConfig << ")\n"
         "      --check         validate the configuration and exit (0 valid, 2 invalid)\n"
         "  -h, --help          show this help\n"
         "  -V, --version       show the version\n\n"
         "Signals: SIGTERM/SIGINT shut down gracefully, SIGHUP reloads the configuration.\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::string path = kDefaultConfig;
  bool check = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if ((arg == "-c" || arg == "--config") && i + 1 < argc) {
      path = argv[++i];
    } else if (arg.rfind("--config=", 0) == 0) {
      path = arg.substr(9);
    } else if (arg == "--check") {
      check = true;
    } else if (arg == "-h" || arg == "--help") {
      print_usage(std::cout);
      return 0;
    } else if (arg == "-V" || arg == "--version") {
      std::cout << "pgmux " PGMUX_VERSION "\n";
      return 0;
    } else {
      std::cerr << "pgmux: unknown option \"" << arg << "\"\n\n";
      print_usage(std::cerr);
      return 2;
    }
  }

  auto loaded = pgmux::config::load_config_file(path);
  if (auto* error = std::get_if<pgmux::config::ConfigError>(&loaded)) {
    std::cerr << "pgmux: " << error->to_string() << "\n";
    return 2;
  }
  // The files the configuration names (TLS) are checked as part of it.
  if (auto error = pgmux::server::check_config_files(std::get<pgmux::config::Config>(loaded))) {
    std::cerr << "pgmux: " << error->to_string() << "\n";
    return 2;
  }
  if (check) {
    std::cout << "configuration file " << path << " is valid\n";
    return 0;
  }
  auto config =
      std::make_shared<const pgmux::config::Config>(std::get<pgmux::config::Config>(std::move(loaded)));

  auto logger = spdlog::stderr_color_mt("pgmux");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  spdlog::set_level(spdlog::level::from_str(config->log_level));

  std::signal(SIGHUP, SIG_IGN);  // until the server's signal handlers are installed
  pgmux::server::Server server(config, path);
  if (auto status = server.start(); !status) {
    spdlog::critical("{}", status.error().message);
    return 1;
  }
  return server.run();
}
