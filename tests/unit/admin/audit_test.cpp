// Tests for the admin audit log: JSON line format and escaping, file creation and
// appending. Single-threaded except ConcurrentWritersKeepLinesWhole.
#include "pgmux/admin/audit.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace pgmux::admin {
namespace {

using namespace std::chrono_literals;

// 2026-11-28T03:04:05.123Z
const std::chrono::system_clock::time_point kTime =
    std::chrono::system_clock::time_point{} + 1795835045123ms;

AuditEntry entry(std::string command) {
  return AuditEntry{"alice", "10.0.0.5:40000", std::move(command), "ok", "admin_command"};
}

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pgmux_audit_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string dir_;
};

TEST(FormatAuditLine, FieldsInOrder) {
  EXPECT_EQ(format_audit_line(entry("SHOW POOLS"), kTime),
            "{\"time\":\"2026-11-28T03:04:05.123Z\",\"event\":\"admin_command\","
            "\"user\":\"alice\",\"client\":\"10.0.0.5:40000\",\"command\":\"SHOW POOLS\","
            "\"result\":\"ok\"}\n");
}

TEST(FormatAuditLine, EscapesQuotesBackslashAndNewline) {
  std::string line = format_audit_line(entry("PAUSE \"a\\b\"\nRELOAD"), kTime);
  EXPECT_NE(line.find("\"command\":\"PAUSE \\\"a\\\\b\\\"\\u000aRELOAD\""), std::string::npos)
      << line;
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // one line: only the final newline
}

TEST(JsonString, ControlCharactersAsUnicodeEscapes) {
  EXPECT_EQ(json_string(std::string("a\x01\t\r\x1f\x7f", 6)),
            "\"a\\u0001\\u0009\\u000d\\u001f\\u007f\"");
}

TEST(JsonString, ValidUtf8KeptInvalidBytesReplaced) {
  EXPECT_EQ(json_string("caf\xC3\xA9"), "\"caf\xC3\xA9\"");
  EXPECT_EQ(json_string("a\xFF"
                        "b"),
            "\"a\\ufffdb\"");
  EXPECT_EQ(json_string("\xC3"), "\"\\ufffd\"");                        // truncated sequence
  EXPECT_EQ(json_string("\xC0\xAF"), "\"\\ufffd\\ufffd\"");             // overlong
  EXPECT_EQ(json_string("\xED\xA0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");  // surrogate
}

TEST(JsonString, NulByte) { EXPECT_EQ(json_string(std::string("a\0b", 3)), "\"a\\u0000b\""); }

TEST(AuditError, CodeAndMessage) {
  EXPECT_EQ(audit_error(util::Error{"42601", "unknown command"}), "error: 42601 unknown command");
}

TEST_F(TempDir, FileCreatedWithMode0640AndAppended) {
  std::string path = dir_ + "/audit.log";
  mode_t old_mask = umask(0022);
  {
    auto log = AuditLog::open(path);
    ASSERT_TRUE(log.ok()) << log.error().message;
    (*log)->write(entry("SHOW POOLS"));
  }
  umask(old_mask);
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  {
    auto log = AuditLog::open(path);
    ASSERT_TRUE(log.ok());
    (*log)->write(entry("RELOAD"));
    EXPECT_EQ((*log)->failed_writes(), 0u);
  }
  std::string text = read(path);
  size_t first = text.find("\"command\":\"SHOW POOLS\"");
  size_t second = text.find("\"command\":\"RELOAD\"");
  EXPECT_NE(first, std::string::npos) << text;
  EXPECT_NE(second, std::string::npos) << text;
  EXPECT_LT(first, second);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2);
}

TEST_F(TempDir, LineVisibleBeforeClose) {
  std::string path = dir_ + "/audit.log";
  auto log = AuditLog::open(path);
  ASSERT_TRUE(log.ok());
  (*log)->write(entry("SHUTDOWN"));
  EXPECT_NE(read(path).find("SHUTDOWN"), std::string::npos);
}

TEST_F(TempDir, OpenFailureNamesThePath) {
  std::string path = dir_ + "/missing/dir/audit.log";
  auto log = AuditLog::open(path);
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.error().message.find(path), std::string::npos) << log.error().message;
  EXPECT_NE(log.error().message.find("No such file"), std::string::npos) << log.error().message;
}

TEST_F(TempDir, ConcurrentWritersKeepLinesWhole) {
  std::string path = dir_ + "/audit.log";
  auto log = AuditLog::open(path);
  ASSERT_TRUE(log.ok());
  AuditLog& audit = **log;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&audit] {
      for (int i = 0; i < 100; ++i) audit.write(entry("SHOW STATS"));
    });
  }
  for (auto& th : threads) th.join();
  std::istringstream lines(read(path));
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    ASSERT_EQ(line.front(), '{');
    ASSERT_EQ(line.back(), '}');
  }
  EXPECT_EQ(count, 400);
}

TEST(AuditLog, EmptyPathIsStderr) {
  auto log = AuditLog::open("");
  ASSERT_TRUE(log.ok());
  testing::internal::CaptureStderr();
  (*log)->write(entry("SHOW VERSION"));
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("\"command\":\"SHOW VERSION\""), std::string::npos) << err;
}

}  // namespace
}  // namespace pgmux::admin
