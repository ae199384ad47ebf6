// Parses `tls:` and `server_tls:`; see tls_parser.hpp.
#include "tls_parser.hpp"

namespace pgmux::config {
namespace {

constexpr std::string_view kTlsKeys[] = {"mode", "cert_file", "key_file", "min_version", "ciphers"};
// "prefer" is "allow": on the server's side both accept TLS without requiring it.
constexpr std::string_view kTlsModeNames[] = {"disable", "allow", "prefer", "require"};
constexpr TlsMode kTlsModes[] = {TlsMode::kDisable, TlsMode::kAllow, TlsMode::kAllow,
                                 TlsMode::kRequire};
constexpr std::string_view kTlsVersions[] = {"1.2", "1.3"};
constexpr std::string_view kServerTlsKeys[] = {"mode", "ca_file"};
constexpr std::string_view kServerTlsModeNames[] = {"disable", "prefer", "require", "verify-ca",
                                                    "verify-full"};

}  // namespace

std::string_view to_string(ServerTlsMode mode) {
  return kServerTlsModeNames[static_cast<size_t>(mode)];
}

std::string_view to_string(TlsMode mode) {
  switch (mode) {
    case TlsMode::kDisable:
      return "disable";
    case TlsMode::kAllow:
      return "allow";
    case TlsMode::kRequire:
      return "require";
  }
  return "disable";
}

namespace detail {

bool parse_tls(Reader& reader, const Entry& entry, TlsConfig& tls) {
  tls.line = entry.key_line;
  return reader.for_each_entry(entry, [&](const Entry& field) {
    size_t index = 0;
    if (field.name == "mode") {
      if (!reader.read_choice(field, kTlsModeNames, index)) return false;
      tls.mode = kTlsModes[index];
      return true;
    }
    if (field.name == "cert_file") {
      tls.cert_line = field.value_line;
      return reader.read_nonempty(field, tls.cert_file);
    }
    if (field.name == "key_file") {
      tls.key_line = field.value_line;
      return reader.read_nonempty(field, tls.key_file);
    }
    if (field.name == "min_version") {
      if (!reader.read_choice(field, kTlsVersions, index)) return false;
      tls.min_version = std::string(kTlsVersions[index]);
      return true;
    }
    if (field.name == "ciphers") {
      tls.ciphers_line = field.value_line;
      return reader.read_nonempty(field, tls.ciphers);
    }
    return reader.unknown_key(field, kTlsKeys);
  });
}

bool parse_server_tls(Reader& reader, const Entry& entry, ServerTlsConfig& tls) {
  tls.line = entry.key_line;
  return reader.for_each_entry(entry, [&](const Entry& field) {
    size_t index = 0;
    if (field.name == "mode") {
      if (!reader.read_choice(field, kServerTlsModeNames, index)) return false;
      tls.mode = static_cast<ServerTlsMode>(index);
      return true;
    }
    if (field.name == "ca_file") {
      tls.ca_line = field.value_line;
      return reader.read_nonempty(field, tls.ca_file);
    }
    return reader.unknown_key(field, kServerTlsKeys);
  });
}

bool check_tls(Reader& reader, Config& config) {
  auto config_relative = [&](const std::string& path) {
    auto slash = config.source_path.rfind('/');
    if (path.empty() || path[0] == '/' || slash == std::string::npos) return path;
    return config.source_path.substr(0, slash + 1) + path;
  };
  TlsConfig& tls = config.tls;
  if (tls.mode != TlsMode::kDisable) {
    const char* missing = tls.cert_file.empty()  ? "cert_file"
                          : tls.key_file.empty() ? "key_file"
                                                 : nullptr;
    if (missing) {
      return reader.fail(
          tls.line, std::string("tls.") + missing,
          std::string("required when tls.mode is ") + std::string(to_string(tls.mode)));
    }
    tls.cert_file = config_relative(tls.cert_file);
    tls.key_file = config_relative(tls.key_file);
  }
  ServerTlsConfig& server = config.server_tls;
  if ((server.mode == ServerTlsMode::kVerifyCa || server.mode == ServerTlsMode::kVerifyFull) &&
      server.ca_file.empty()) {
    return reader.fail(server.line, "server_tls.ca_file",
                       "required when server_tls.mode is " + std::string(to_string(server.mode)));
  }
  server.ca_file = config_relative(server.ca_file);
  return true;
}

}  // namespace detail
}  // namespace pgmux::config
