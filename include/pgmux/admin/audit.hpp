// The audit log: one JSON line per admin command and per reload, appended to a file
// (or stderr) and flushed at once. AuditLog is thread-safe; the free functions are pure.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "pgmux/util/result.hpp"

namespace pgmux::admin {

struct AuditEntry {
  std::string user;     // who ran it (empty for a reload by signal)
  std::string client;   // "host:port" of the client, or e.g. "SIGHUP"
  std::string command;  // Command::text; sql::redact_literals(query) when it did not parse
  std::string result;   // "ok" or "error: <SQLSTATE> <message>" (see audit_error)
  std::string event;    // "admin_command" or "reload"
};

// "error: <code> <message>" for AuditEntry::result.
std::string audit_error(const util::Error& error);

// `text` as a JSON string literal, quotes included: ", \ and control characters
// escaped (\u00XX), invalid UTF-8 bytes replaced by \ufffd.
std::string json_string(std::string_view text);

// One line of the log, newline included:
// {"time":"2026-11-28T03:04:05.123Z","event":...,"user":...,"client":...,
//  "command":...,"result":...}
std::string format_audit_line(const AuditEntry& entry, std::chrono::system_clock::time_point time);

class AuditLog {
 public:
  // Opens `path` for appending (created with mode 0640 when missing); an empty path
  // writes to stderr. The error names the path and the reason.
  static util::Result<std::unique_ptr<AuditLog>> open(const std::string& path);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends one line stamped with the current time, with a single write(2): nothing
  // is buffered. Write errors are counted, not thrown.
  void write(const AuditEntry& entry);
  // Lines that could not be written completely.
  uint64_t failed_writes() const;

 private:
  AuditLog(int fd, bool owns_fd) : fd_(fd), owns_fd_(owns_fd) {}

  mutable std::mutex mu_;
  int fd_;
  bool owns_fd_;
  uint64_t failed_writes_ = 0;
};

}  // namespace pgmux::admin
