// Helpers for the metrics tests: a deadline-bounded HTTP GET to 127.0.0.1 over a POSIX socket,
// a scrape of pgmux's /metrics, and a small parser of the Prometheus text exposition.
// Thread-safety: free functions, no shared state; safe from any thread.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "harness.hpp"

namespace pgmux::itest::metrics_util {

// Outcome of http_get: status 0 with `error` set when no complete response arrived in time.
struct HttpResponse {
  int status = 0;
  std::string headers;  // status line and header lines, lower-cased
  std::string body;     // de-chunked when the response was chunked
  std::string error;
  bool ok() const { return status == 200 && error.empty(); }
};

namespace detail {

// Closes the descriptor on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Waits for `events` on fd until `deadline`; false on timeout or poll error.
inline bool wait_fd(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n > 0) return true;
    if (n == 0 || errno != EINTR) return false;
  }
}

// Decodes a chunked body; nullopt when it is malformed or cut short.
inline std::optional<std::string> dechunk(const std::string& raw) {
  std::string out;
  size_t pos = 0;
  for (;;) {
    size_t eol = raw.find("\r\n", pos);
    if (eol == std::string::npos) return std::nullopt;
    size_t size = std::strtoul(raw.substr(pos, eol - pos).c_str(), nullptr, 16);
    pos = eol + 2;
    if (size == 0) return out;
    if (pos + size > raw.size()) return std::nullopt;
    out.append(raw, pos, size);
    pos += size + 2;  // the chunk and its CRLF
  }
}

// Connects to 127.0.0.1:port before `deadline`; returns the socket or -1 (with `error`).
inline int connect_loopback(uint16_t port, Clock::time_point deadline, std::string& error) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int so_error = 0;
  socklen_t len = sizeof so_error;
  if (rc != 0 && errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline)) {
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
    rc = so_error == 0 ? 0 : -1;
    errno = so_error;
  }
  if (rc != 0) {
    error = "connect to 127.0.0.1:" + std::to_string(port) + ": " +
            (errno ? std::strerror(errno) : "timed out");
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sets `r.error` and returns r.
inline HttpResponse failed(HttpResponse& r, std::string error) {
  r.status = 0;
  r.error = std::move(error);
  return r;
}

}  // namespace detail

// GET http://127.0.0.1:<port><path> (HTTP/1.0, so the server closes after one response), all
// of it within `timeout`.
inline HttpResponse http_get(uint16_t port, const std::string& path, Millis timeout = 5s) {
  HttpResponse r;
  auto deadline = Clock::now() + timeout;
  detail::Fd sock{detail::connect_loopback(port, deadline, r.error)};
  if (sock.fd < 0) return r;
  std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1:" + std::to_string(port) +
                        "\r\nAccept: */*\r\nConnection: close\r\n\r\n";
  for (size_t sent = 0; sent < request.size();) {
    ssize_t n = ::send(sock.fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!detail::wait_fd(sock.fd, POLLOUT, deadline)) return detail::failed(r, "send timed out");
    } else {
      return detail::failed(r, std::string("send: ") + std::strerror(errno));
    }
  }
  std::string raw;
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(sock.fd, buf, sizeof buf, 0);
    if (n > 0) {
      raw.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno == EAGAIN || errno == EINTR) {
      if (!detail::wait_fd(sock.fd, POLLIN, deadline))
        return detail::failed(r, "response timed out");
    } else {
      return detail::failed(r, std::string("recv: ") + std::strerror(errno));
    }
  }
  size_t split = raw.find("\r\n\r\n");
  if (split == std::string::npos || raw.compare(0, 5, "HTTP/") != 0) {
    return detail::failed(r, "malformed response: " + raw.substr(0, 200));
  }
  r.headers = lower(raw.substr(0, split));
  r.body = raw.substr(split + 4);
  size_t space = r.headers.find(' ');
  r.status = std::atoi(r.headers.c_str() + (space == std::string::npos ? 0 : space + 1));
  if (r.headers.find("transfer-encoding: chunked") != std::string::npos) {
    auto body = detail::dechunk(r.body);
    if (!body) return detail::failed(r, "malformed chunked body");
    r.body = *body;
  }
  return r;
}

// The body of GET /metrics on pgmux's metrics port; an empty string when the scrape failed
// (no exposition is ever empty: build info and process metrics are always there).
inline std::string scrape(uint16_t port, Millis timeout = 5s) {
  HttpResponse r = http_get(port, "/metrics", timeout);
  return r.ok() ? r.body : std::string();
}

// Percent-encodes everything but unreserved characters, for a URL query value.
inline std::string url_encode(const std::string& text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// One sample line of the exposition.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Parses one sample line (`name{a="x",b="y"} value [timestamp]`); nullopt when malformed.
inline std::optional<Sample> parse_sample(const std::string& line) {
  Sample s;
  size_t pos = line.find_first_of("{ ");
  if (pos == std::string::npos || pos == 0) return std::nullopt;
  s.name = line.substr(0, pos);
  if (line[pos] == '{') {
    ++pos;
    while (pos < line.size() && line[pos] != '}') {
      size_t eq = line.find("=\"", pos);
      if (eq == std::string::npos) return std::nullopt;
      std::string key = line.substr(pos, eq - pos), value;
      for (pos = eq + 2; pos < line.size() && line[pos] != '"'; ++pos) {
        if (line[pos] == '\\' && pos + 1 < line.size()) {
          ++pos;
          value += line[pos] == 'n' ? '\n' : line[pos];
        } else {
          value += line[pos];
        }
      }
      if (pos >= line.size()) return std::nullopt;
      s.labels[key] = value;
      ++pos;  // closing quote
      if (pos < line.size() && line[pos] == ',') ++pos;
    }
    if (pos >= line.size()) return std::nullopt;
    ++pos;  // '}'
  }
  const char* start = line.c_str() + pos;
  char* end = nullptr;
  s.value = std::strtod(start, &end);
  if (end == start) return std::nullopt;
  return s;
}

// Every sample line of `exposition` (comments and blank lines skipped; malformed lines too).
inline std::vector<Sample> parse_exposition(const std::string& exposition) {
  std::vector<Sample> out;
  size_t pos = 0;
  while (pos < exposition.size()) {
    size_t eol = exposition.find('\n', pos);
    if (eol == std::string::npos) eol = exposition.size();
    std::string line = exposition.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.empty() || line[0] == '#') continue;
    if (auto s = parse_sample(line)) out.push_back(std::move(*s));
  }
  return out;
}

// Values of the series called `name` whose labels include every pair of `labels`.
inline std::vector<double> values(const std::string& exposition, const std::string& name,
                                  const std::map<std::string, std::string>& labels = {}) {
  std::vector<double> out;
  for (const Sample& s : parse_exposition(exposition)) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : labels) {
      auto it = s.labels.find(k);
      if (it == s.labels.end() || it->second != v) match = false;
    }
    if (match) out.push_back(s.value);
  }
  return out;
}

// The value of the one series `name` with labels including `labels`; nullopt when there is
// none or more than one.
inline std::optional<double> value(const std::string& exposition, const std::string& name,
                                   const std::map<std::string, std::string>& labels = {}) {
  auto v = values(exposition, name, labels);
  if (v.size() != 1) return std::nullopt;
  return v.front();
}

// As value(), but `absent` when no series matches (a labelled counter not yet incremented is
// left out of the exposition). Still nullopt when several match.
inline std::optional<double> value_or(const std::string& exposition, const std::string& name,
                                      const std::map<std::string, std::string>& labels,
                                      double absent) {
  auto v = values(exposition, name, labels);
  if (v.empty()) return absent;
  if (v.size() != 1) return std::nullopt;
  return v.front();
}

}  // namespace pgmux::itest::metrics_util
