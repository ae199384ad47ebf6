// A hand-written protocol client for the login failures libpq hides: StartupMessage, then a
// deliberately wrong answer to whatever authentication request comes. Thread-safe (no shared state).
#include "harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace pgmux::itest {

namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

std::string be32(uint32_t v) {
  v = htonl(v);
  return std::string(reinterpret_cast<const char*>(&v), 4);
}

uint32_t read_be32(const std::string& s, size_t at) {
  uint32_t v = 0;
  if (at + 4 <= s.size()) memcpy(&v, s.data() + at, 4);
  return ntohl(v);
}

std::string message(char type, const std::string& body) {
  return std::string(1, type) + be32(static_cast<uint32_t>(body.size() + 4)) + body;
}

// A blocking-free socket whose every operation respects one deadline.
class RawSocket {
 public:
  RawSocket(uint16_t port, Clock::time_point deadline) : deadline_(deadline) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (connected_) fcntl(fd_, F_SETFL, O_NONBLOCK);
  }
  ~RawSocket() { if (fd_ >= 0) close(fd_); }
  bool connected() const { return connected_; }

  bool send_all(const std::string& data) {
    for (size_t done = 0; done < data.size();) {
      ssize_t n = send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n > 0) { done += n; continue; }
      if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
      if (!wait(POLLOUT)) return false;
    }
    return true;
  }

  // Reads one backend message; false on EOF, error or deadline.
  bool read_message(char* type, std::string* body) {
    std::string header;
    if (!recv_exact(5, &header)) return false;
    *type = header[0];
    uint32_t len = read_be32(header, 1);
    if (len < 4 || len > (1u << 20)) return false;
    return recv_exact(len - 4, body);
  }

 private:
  bool wait(short events) {
    pollfd p{fd_, events, 0};
    return poll(&p, 1, remaining_ms(deadline_)) == 1;
  }
  bool recv_exact(size_t n, std::string* out) {
    out->clear();
    while (out->size() < n) {
      char buf[4096];
      ssize_t got = recv(fd_, buf, std::min(sizeof buf, n - out->size()), 0);
      if (got > 0) { out->append(buf, got); continue; }
      if (got == 0 || (errno != EAGAIN && errno != EINTR)) return false;
      if (!wait(POLLIN)) return false;
    }
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
  Clock::time_point deadline_;
};

std::map<char, std::string> parse_error_fields(const std::string& body) {
  std::map<char, std::string> fields;
  for (size_t at = 0; at < body.size() && body[at] != '\0';) {
    char code = body[at++];
    size_t end = body.find('\0', at);
    if (end == std::string::npos) break;
    fields[code] = body.substr(at, end - at);
    at = end + 1;
  }
  return fields;
}

// The answer to an Authentication request `code` (body after the code), or "" to just read on.
std::string wrong_answer(uint32_t code, const std::string& rest) {
  static const std::string kNonce = "rawclientnonce0123456789";
  if (code == 3) return message('p', std::string("not-the-password") + '\0');
  if (code == 5) return message('p', "md5" + std::string(32, '0') + '\0');
  if (code == 10) {
    std::string first = "n,,n=,r=" + kNonce;
    return message('p', std::string("SCRAM-SHA-256") + '\0' + be32(first.size()) + first);
  }
  if (code == 11) {
    size_t r = rest.find("r=");
    std::string nonce = r == std::string::npos ? kNonce : rest.substr(r + 2, rest.find(',', r) - r - 2);
    return message('p', "c=biws,r=" + nonce + ",p=" + std::string(43, 'A') + "=");
  }
  return "";
}

}  // namespace

RawLoginOutcome raw_login_wrong_password(uint16_t port, const std::string& user,
                                         const std::string& database, Millis timeout) {
  RawLoginOutcome outcome;
  RawSocket sock(port, Clock::now() + timeout);
  if (!sock.connected()) {
    outcome.problem = "could not connect to port " + std::to_string(port);
    return outcome;
  }
  std::string params = std::string("user") + '\0' + user + '\0' + "database" + '\0' + database +
                       '\0' + '\0';
  std::string startup = be32(196608) + params;
  if (!sock.send_all(be32(static_cast<uint32_t>(startup.size() + 4)) + startup)) {
    outcome.problem = "could not send the StartupMessage";
    return outcome;
  }
  char type = 0;
  std::string body;
  while (sock.read_message(&type, &body)) {
    if (type == 'E') {
      outcome.error_fields = parse_error_fields(body);
      return outcome;
    }
    if (type != 'R') continue;  // NoticeResponse and the like
    uint32_t code = read_be32(body, 0);
    outcome.auth_requests.push_back(static_cast<int>(code));
    if (code == 0) {
      outcome.authenticated = true;
      return outcome;
    }
    std::string answer = wrong_answer(code, body.substr(4));
    if (!answer.empty() && !sock.send_all(answer)) break;
  }
  outcome.problem = "connection ended (or timed out) without an ErrorResponse";
  return outcome;
}

}  // namespace pgmux::itest
