// A hand-written protocol client for what libpq hides or cannot send: login failures (a wrong
// answer to whatever authentication request comes), Close, CancelRequest, oversized messages.
// Thread-safety: no shared state; a RawConn belongs to one thread.
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

}  // namespace

// A non-blocking socket whose every operation respects the current deadline.
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
  void set_deadline(Clock::time_point deadline) { deadline_ = deadline; }
  // True once a read saw EOF or a socket error.
  bool closed() const { return closed_; }

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
      if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
        closed_ = true;
        return false;
      }
      if (!wait(POLLIN)) return false;
    }
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  Clock::time_point deadline_;
};

std::map<char, std::string> error_fields(const std::string& body) {
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

std::vector<std::string> data_row_values(const std::string& body) {
  std::vector<std::string> values;
  if (body.size() < 2) return values;
  size_t count = (static_cast<unsigned char>(body[0]) << 8) | static_cast<unsigned char>(body[1]);
  size_t at = 2;
  for (size_t i = 0; i < count && at + 4 <= body.size(); ++i) {
    uint32_t len = read_be32(body, at);
    at += 4;
    if (len == 0xffffffffu) { values.emplace_back(); continue; }
    values.push_back(body.substr(at, len));
    at += len;
  }
  return values;
}

std::string message_types(const std::vector<RawMessage>& messages) {
  std::string types;
  for (const auto& m : messages) types += m.type;
  return types;
}

namespace {

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
      outcome.error_fields = error_fields(body);
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


namespace fe {

std::string query(const std::string& sql) { return message('Q', sql + '\0'); }

std::string parse(const std::string& statement, const std::string& sql) {
  return message('P', statement + '\0' + sql + '\0' + std::string(2, '\0'));
}

std::string bind(const std::string& portal, const std::string& statement,
                 const std::vector<std::string>& params) {
  std::string body = portal + '\0' + statement + '\0' + std::string(2, '\0');  // all text
  body += static_cast<char>(params.size() >> 8);
  body += static_cast<char>(params.size() & 0xff);
  for (const auto& p : params) body += be32(static_cast<uint32_t>(p.size())) + p;
  return message('B', body + std::string(2, '\0'));  // results: all text
}

std::string describe(char kind, const std::string& name) {
  return message('D', std::string(1, kind) + name + '\0');
}

std::string execute(const std::string& portal, uint32_t max_rows) {
  return message('E', portal + '\0' + be32(max_rows));
}

std::string close(char kind, const std::string& name) {
  return message('C', std::string(1, kind) + name + '\0');
}

std::string sync() { return message('S', ""); }

std::string terminate() { return message('X', ""); }

}  // namespace fe

RawConn::RawConn() = default;
RawConn::~RawConn() = default;

bool RawConn::connect(uint16_t port, Millis timeout) {
  sock_ = std::make_unique<RawSocket>(port, Clock::now() + timeout);
  if (!sock_->connected()) {
    problem_ = "could not connect to port " + std::to_string(port);
    return false;
  }
  return true;
}

bool RawConn::send_startup(const std::map<std::string, std::string>& params, Millis timeout) {
  std::string startup = be32(196608);
  for (const auto& [key, value] : params) startup += key + '\0' + value + '\0';
  startup += '\0';
  return send(be32(static_cast<uint32_t>(startup.size() + 4)) + startup, timeout);
}

bool RawConn::login(uint16_t port, const std::map<std::string, std::string>& params,
                    Millis timeout) {
  if (!connect(port, timeout) || !send_startup(params, timeout)) return false;
  for (std::vector<RawMessage> got = read_until_ready(timeout); const auto& m : got) {
    if (m.type == 'E') problem_ = "login failed: " + error_fields(m.body)['M'];
    if (m.type == 'R' && read_be32(m.body, 0) != 0) problem_ = "login asks for a password";
    if (m.type == 'K') {
      backend_pid_ = read_be32(m.body, 0);
      backend_secret_ = read_be32(m.body, 4);
    }
    if (m.type == 'Z' && problem_.empty()) return true;
  }
  if (problem_.empty()) problem_ = "no ReadyForQuery after the StartupMessage";
  return false;
}

bool RawConn::send(const std::string& bytes, Millis timeout) {
  if (!sock_) return false;
  sock_->set_deadline(Clock::now() + timeout);
  return sock_->send_all(bytes);
}

std::optional<RawMessage> RawConn::read(Millis timeout) {
  if (!sock_) return std::nullopt;
  sock_->set_deadline(Clock::now() + timeout);
  RawMessage m;
  if (!sock_->read_message(&m.type, &m.body)) return std::nullopt;
  return m;
}

std::vector<RawMessage> RawConn::read_until_ready(Millis timeout) {
  auto deadline = Clock::now() + timeout;
  std::vector<RawMessage> out;
  while (auto m = read(Millis(remaining_ms(deadline)))) {
    out.push_back(std::move(*m));
    if (out.back().type == 'Z') break;
  }
  return out;
}

bool RawConn::closed() const { return sock_ && sock_->closed(); }

bool send_cancel_request(uint16_t port, uint32_t pid, uint32_t secret, Millis timeout) {
  RawSocket sock(port, Clock::now() + timeout);
  if (!sock.connected() || !sock.send_all(be32(16) + be32(80877102) + be32(pid) + be32(secret))) {
    return false;
  }
  char type = 0;
  std::string body;
  while (sock.read_message(&type, &body)) {
  }
  return true;
}

}  // namespace pgmux::itest
