// Parses the TLS parts of the configuration: `tls:` (for clients) and `server_tls:` (to
// PostgreSQL), and checks them once the whole file is read. Internal to the config
// module. Not thread-safe: each call works through the parse's one Reader.
#pragma once

#include "pgmux/config/config.hpp"
#include "yaml_reader.hpp"

namespace pgmux::config::detail {

// `tls: {mode, cert_file, key_file, min_version, ciphers}` into `tls`.
bool parse_tls(Reader& reader, const Entry& entry, TlsConfig& tls);
// `server_tls: {mode, ca_file}` into `tls`.
bool parse_server_tls(Reader& reader, const Entry& entry, ServerTlsConfig& tls);
// tls: a mode other than disable needs both files; server_tls: the verify modes need
// ca_file. Relative file paths are made the config file's (config.source_path).
bool check_tls(Reader& reader, Config& config);

}  // namespace pgmux::config::detail
