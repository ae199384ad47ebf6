// The admin audit log: JSON lines written with one write(2) each under a mutex.
// AuditLog is thread-safe; the formatting functions are pure.
#include "pgmux/admin/audit.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace pgmux::admin {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not one
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
size_t utf8_sequence(std::string_view s, size_t i) {
  auto at = [&s](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = at(i);
  size_t n = c < 0x80                 ? 1
             : c >= 0xC2 && c <= 0xDF ? 2
             : c >= 0xE0 && c <= 0xEF ? 3
             : c >= 0xF0 && c <= 0xF4 ? 4
                                      : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((at(i + k) & 0xC0) != 0x80) return 0;
  }
  unsigned char d = n > 1 ? at(i + 1) : 0;
  if ((c == 0xE0 && d < 0xA0) || (c == 0xED && d > 0x9F) || (c == 0xF0 && d < 0x90) ||
      (c == 0xF4 && d > 0x8F)) {
    return 0;
  }
  return n;
}

void append_escaped(std::string& out, unsigned char c) {
  switch (c) {
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
    default:
      break;
  }
  if (c < 0x20 || c == 0x7F) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\u%04x", c);
    out += buf;
    return;
  }
  out += static_cast<char>(c);
}

// "2026-11-28T03:04:05.123Z".
std::string iso8601_millis(std::chrono::system_clock::time_point time) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  long millis = static_cast<long>(ms % 1000);
  if (millis < 0) {
    millis += 1000;
    --seconds;
  }
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03ldZ", date, millis);
  return out;
}

// Writes all of `line`, retrying after EINTR and short writes.
bool write_all(int fd, std::string_view line) {
  while (!line.empty()) {
    ssize_t n = ::write(fd, line.data(), line.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    line.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

std::string audit_error(const util::Error& error) {
  return "error: " + error.code + " " + error.message;
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size();) {
    size_t n = utf8_sequence(text, i);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
    } else if (n == 1) {
      append_escaped(out, static_cast<unsigned char>(text[i++]));
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out + '"';
}

std::string format_audit_line(const AuditEntry& entry, std::chrono::system_clock::time_point time) {
  std::string line = "{\"time\":" + json_string(iso8601_millis(time));
  line += ",\"event\":" + json_string(entry.event);
  line += ",\"user\":" + json_string(entry.user);
  line += ",\"client\":" + json_string(entry.client);
  line += ",\"command\":" + json_string(entry.command);
  line += ",\"result\":" + json_string(entry.result);
  return line + "}\n";
}

util::Result<std::unique_ptr<AuditLog>> AuditLog::open(const std::string& path) {
  if (path.empty()) return std::unique_ptr<AuditLog>(new AuditLog(STDERR_FILENO, false));
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    return util::make_error("audit_log",
                            "cannot open audit log \"" + path + "\": " + std::strerror(errno));
  }
  return std::unique_ptr<AuditLog>(new AuditLog(fd, true));
}

AuditLog::~AuditLog() {
  if (owns_fd_) ::close(fd_);
}

void AuditLog::write(const AuditEntry& entry) {
  std::string line = format_audit_line(entry, std::chrono::system_clock::now());
  std::lock_guard lock(mu_);
  if (!write_all(fd_, line)) ++failed_writes_;
}

uint64_t AuditLog::failed_writes() const {
  std::lock_guard lock(mu_);
  return failed_writes_;
}

}  // namespace pgmux::admin
