// send_all(): writes that skip the reactor when the socket takes them at once.
#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <cerrno>

#include "pgmux/backend/asio.hpp"
#include "pgmux/backend/nocancel.hpp"

namespace pgmux {
namespace {

constexpr size_t kMaxIov = 64;

// Runs `send` (a non-blocking send call) until it is not interrupted. Returns the bytes
// sent; a full socket buffer is not an error (0), a failed connection is (`ec`).
template <class Send>
size_t sent_now(Send send, error_code& ec) {
  for (;;) {
    long n = send();
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      ec = error_code(errno, asio::error::get_system_category());
    }
    return 0;
  }
}

// One sendmsg with MSG_DONTWAIT (sent_now). `offered`: the bytes passed (of the first
// kMaxIov buffers).
size_t send_now(tcp::socket& socket, const asio::const_buffer* buffers, size_t count,
                error_code& ec, size_t& offered) {
  std::array<iovec, kMaxIov> iov;
  count = std::min(count, kMaxIov);
  offered = 0;
  for (size_t i = 0; i < count; ++i) {
    iov[i].iov_base = const_cast<void*>(buffers[i].data());
    iov[i].iov_len = buffers[i].size();
    offered += buffers[i].size();
  }
  msghdr msg{};
  msg.msg_iov = iov.data();
  msg.msg_iovlen = count;
  return sent_now(
      [&] { return nocancel::sendmsg(socket.native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL); },
      ec);
}

// Drops the first `n` bytes from a list of buffers.
void advance(std::vector<asio::const_buffer>& buffers, size_t n) {
  size_t whole = 0;
  while (whole < buffers.size() && n >= buffers[whole].size()) n -= buffers[whole++].size();
  buffers.erase(buffers.begin(), buffers.begin() + static_cast<std::ptrdiff_t>(whole));
  if (!buffers.empty()) buffers.front() += n;
}

}  // namespace

error_code send_at_once(tcp::socket& socket, std::vector<asio::const_buffer>& buffers) {
  error_code ec;
  size_t offered;
  size_t sent = send_now(socket, buffers.data(), buffers.size(), ec, offered);
  if (ec || (sent == offered && buffers.size() <= kMaxIov)) {  // the usual case: all sent
    buffers.clear();
  } else {
    advance(buffers, sent);
  }
  return ec;
}

awaitable<std::tuple<error_code, size_t>> send_all(tcp::socket& socket,
                                                  std::vector<asio::const_buffer>& buffers) {
  size_t total = asio::buffer_size(buffers);
  if (auto ec = send_at_once(socket, buffers)) co_return std::tuple{ec, size_t{0}};
  if (buffers.empty()) co_return std::tuple{error_code{}, total};
  size_t sent = total - asio::buffer_size(buffers);
  auto [wec, rest] = co_await asio::async_write(socket, buffers, use_nothrow);
  co_return std::tuple{wec, sent + rest};
}

awaitable<error_code> write_rest(tcp::socket& socket, std::vector<asio::const_buffer>& buffers) {
  auto [ec, n] = co_await asio::async_write(socket, buffers, use_nothrow);
  co_return ec;
}

error_code send_at_once(tcp::socket& socket, asio::const_buffer& buffer) {
  error_code ec;
  buffer += sent_now(
      [&] {
        return nocancel::send(socket.native_handle(), buffer.data(), buffer.size(),
                              MSG_DONTWAIT | MSG_NOSIGNAL);
      },
      ec);
  return ec;
}

awaitable<std::tuple<error_code, size_t>> send_all(tcp::socket& socket, asio::const_buffer buffer) {
  const size_t total = buffer.size();
  if (auto ec = send_at_once(socket, buffer)) co_return std::tuple{ec, total - buffer.size()};
  if (buffer.size() == 0) co_return std::tuple{error_code{}, total};
  const size_t sent = total - buffer.size();
  auto [wec, rest] = co_await asio::async_write(socket, buffer, use_nothrow);
  co_return std::tuple{wec, sent + rest};
}

}  // namespace pgmux
