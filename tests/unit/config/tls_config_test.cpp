// Unit tests for `tls:`: defaults, accepted forms, paths made the config file's, and one
// test per kind of mistake (line, key, message).
#include <gtest/gtest.h>

#include "config_test_util.hpp"
#include "pgmux/config/config.hpp"

namespace pgmux::config {
namespace {

using testing::fake_env;
using testing::kMinimal;
using testing::parse_error;
using testing::parse_ok;

// kMinimal (lines 1-6) followed by `extra` from line 7.
std::string with(const std::string& extra) { return kMinimal + extra; }

TEST(TlsConfigTest, OffByDefault) {
  Config c = parse_ok(kMinimal);
  EXPECT_EQ(c.tls.mode, TlsMode::kDisable);
  EXPECT_EQ(c.tls.cert_file, "");
  EXPECT_EQ(c.tls.min_version, "1.2");
}

TEST(TlsConfigTest, RequireWithFiles) {
  Config c =
      parse_ok(with("tls:\n  mode: require\n  cert_file: /etc/pgmux/server.crt\n"
                    "  key_file: /etc/pgmux/server.key\n  min_version: \"1.3\"\n"
                    "  ciphers: HIGH:!aNULL\n"));
  EXPECT_EQ(c.tls.mode, TlsMode::kRequire);
  EXPECT_EQ(c.tls.cert_file, "/etc/pgmux/server.crt");
  EXPECT_EQ(c.tls.key_file, "/etc/pgmux/server.key");
  EXPECT_EQ(c.tls.min_version, "1.3");
  EXPECT_EQ(c.tls.ciphers, "HIGH:!aNULL");
  EXPECT_EQ(c.tls.line, 7);
  EXPECT_EQ(c.tls.cert_line, 9);
  EXPECT_EQ(c.tls.key_line, 10);
  EXPECT_EQ(c.tls.ciphers_line, 12);
}

TEST(TlsConfigTest, PreferIsAllow) {
  const std::string files = "  cert_file: /c.pem\n  key_file: /k.pem\n";
  EXPECT_EQ(parse_ok(with("tls:\n  mode: prefer\n" + files)).tls.mode, TlsMode::kAllow);
  EXPECT_EQ(parse_ok(with("tls:\n  mode: allow\n" + files)).tls.mode, TlsMode::kAllow);
  EXPECT_EQ(parse_ok(with("tls:\n  mode: disable\n")).tls.mode, TlsMode::kDisable);
}

TEST(TlsConfigTest, RelativePathsAreTheConfigFilesDirectorys) {
  LoadResult r = parse_config(with("tls:\n  mode: allow\n  cert_file: certs/server.crt\n"
                                   "  key_file: /abs/server.key\n"),
                              "/etc/pgmux/pgmux.yaml", fake_env());
  ASSERT_TRUE(std::holds_alternative<Config>(r)) << std::get<ConfigError>(r).to_string();
  const Config& c = std::get<Config>(r);
  EXPECT_EQ(c.tls.cert_file, "/etc/pgmux/certs/server.crt");
  EXPECT_EQ(c.tls.key_file, "/abs/server.key");
}

TEST(TlsConfigTest, PathsFromTheEnvironment) {
  Config c = parse_ok(with("tls:\n  mode: require\n  cert_file: ${CERT}\n  key_file: ${KEY}\n"),
                      fake_env({{"CERT", "/run/secrets/crt"}, {"KEY", "/run/secrets/key"}}));
  EXPECT_EQ(c.tls.cert_file, "/run/secrets/crt");
  EXPECT_EQ(c.tls.key_file, "/run/secrets/key");
}

TEST(TlsConfigTest, ModeNeedsBothFiles) {
  ConfigError e = parse_error(with("tls:\n  mode: require\n  key_file: /k.pem\n"));
  EXPECT_EQ(e.line, 7);
  EXPECT_EQ(e.key, "tls.cert_file");
  EXPECT_EQ(e.message, "required when tls.mode is require");
  e = parse_error(with("tls:\n  mode: prefer\n  cert_file: /c.pem\n"));
  EXPECT_EQ(e.key, "tls.key_file");
  EXPECT_EQ(e.message, "required when tls.mode is allow");
}

TEST(TlsConfigTest, UnknownMode) {
  ConfigError e = parse_error(with("tls:\n  mode: verify-full\n"));
  EXPECT_EQ(e.line, 8);
  EXPECT_EQ(e.key, "tls.mode");
  EXPECT_NE(e.message.find("require"), std::string::npos) << e.message;
}

TEST(TlsConfigTest, UnknownVersion) {
  ConfigError e = parse_error(with("tls:\n  min_version: \"1.1\"\n"));
  EXPECT_EQ(e.line, 8);
  EXPECT_EQ(e.key, "tls.min_version");
}

TEST(TlsConfigTest, UnknownKey) {
  ConfigError e = parse_error(with("tls:\n  cert_fle: /c.pem\n"));
  EXPECT_EQ(e.line, 8);
  EXPECT_EQ(e.key, "tls.cert_fle");
  EXPECT_EQ(e.message, "unknown key; did you mean \"cert_file\"?");
}

TEST(TlsConfigTest, EmptyFileName) {
  ConfigError e = parse_error(with("tls:\n  mode: allow\n  cert_file: \"\"\n  key_file: /k\n"));
  EXPECT_EQ(e.line, 9);
  EXPECT_EQ(e.key, "tls.cert_file");
}

// --- server_tls ---------------------------------------------------------------------

TEST(ServerTlsConfigTest, OffByDefault) {
  Config c = parse_ok(kMinimal);
  EXPECT_EQ(c.server_tls.mode, ServerTlsMode::kDisable);
  EXPECT_EQ(c.server_tls.ca_file, "");
}

TEST(ServerTlsConfigTest, EveryMode) {
  const std::pair<const char*, ServerTlsMode> modes[] = {
      {"disable", ServerTlsMode::kDisable},
      {"prefer", ServerTlsMode::kPrefer},
      {"require", ServerTlsMode::kRequire},
      {"verify-ca", ServerTlsMode::kVerifyCa},
      {"verify-full", ServerTlsMode::kVerifyFull}};
  for (const auto& [name, mode] : modes) {
    Config c =
        parse_ok(with(std::string("server_tls:\n  mode: ") + name + "\n  ca_file: /ca.crt\n"));
    EXPECT_EQ(c.server_tls.mode, mode) << name;
    EXPECT_EQ(to_string(mode), name);
  }
}

TEST(ServerTlsConfigTest, CaFileIsTheConfigFilesWhenRelative) {
  LoadResult r = parse_config(with("server_tls:\n  mode: verify-full\n  ca_file: ca/root.crt\n"),
                              "/etc/pgmux/pgmux.yaml", fake_env());
  ASSERT_TRUE(std::holds_alternative<Config>(r)) << std::get<ConfigError>(r).to_string();
  EXPECT_EQ(std::get<Config>(r).server_tls.ca_file, "/etc/pgmux/ca/root.crt");
}

TEST(ServerTlsConfigTest, VerifyingNeedsCaFile) {
  for (const char* mode : {"verify-ca", "verify-full"}) {
    ConfigError e = parse_error(with(std::string("server_tls:\n  mode: ") + mode + "\n"));
    EXPECT_EQ(e.line, 7);
    EXPECT_EQ(e.key, "server_tls.ca_file");
    EXPECT_EQ(e.message, std::string("required when server_tls.mode is ") + mode);
  }
  EXPECT_EQ(parse_ok(with("server_tls:\n  mode: require\n")).server_tls.mode,
            ServerTlsMode::kRequire);
}

TEST(ServerTlsConfigTest, UnknownModeAndKey) {
  ConfigError e = parse_error(with("server_tls:\n  mode: allow\n"));
  EXPECT_EQ(e.line, 8);
  EXPECT_EQ(e.key, "server_tls.mode");
  e = parse_error(with("server_tls:\n  ca: /ca.crt\n"));
  EXPECT_EQ(e.line, 8);
  EXPECT_EQ(e.key, "server_tls.ca");
}

}  // namespace
}  // namespace pgmux::config
