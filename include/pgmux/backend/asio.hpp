// Asio aliases and small coroutine helpers shared by the engine modules (backend,
// session, server). Include only from those: Asio is kept out of the pure modules.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <chrono>
#include <optional>
#include <tuple>
#include <vector>

#include "pgmux/backend/frame_alloc.hpp"
#include "pgmux/backend/park.hpp"
#include "pgmux/backend/read_op.hpp"
#include "pgmux/util/buffer.hpp"

namespace pgmux {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
template <class T = void>
using awaitable = asio::awaitable<T>;

// Completion token for expected errors: results come back as (error_code, ...) tuples.
inline constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
// The same for operations awaited on a hot path: co_await of a deferred operation keeps
// its state in the awaiting coroutine's frame instead of a coroutine frame of its own.
inline constexpr auto deferred_nothrow = asio::as_tuple(asio::deferred);

// Where a read into `buffer` lands: at least `n` free bytes, made before the size is
// taken. (`asio::buffer(b.write_area(n), b.writable())` leaves the order of the two
// calls to the compiler; GCC takes the size first, and a read into an empty buffer
// completes at once with 0 bytes, a wasted trip through the scheduler.)
inline asio::mutable_buffer read_room(util::Buffer& buffer, size_t n = 1) {
  char* at = buffer.write_area(n);
  return asio::buffer(at, buffer.writable());
}

// Reads what `socket` has into `buffer`, waiting for at least one byte (or an error).
// Every socket read in the engine goes through this instead of async_read_some: after
// a read that drained the socket, the next one waits for epoll without first trying a
// recv that would return EAGAIN (read_op.hpp says why that is safe).
template <class Token>
auto read_some(tcp::socket& socket, asio::mutable_buffer buffer, Token&& token) {
  return asio::async_initiate<Token, void(error_code, size_t)>(
      read_op_detail::InitiateRead{&socket}, token, buffer);
}
// The same, for a socket of the io_context whose services (read_op_detail::services_for)
// the caller keeps: a worker's sessions, on their hot path.
template <class Token>
auto read_some(tcp::socket& socket, asio::mutable_buffer buffer,
               const read_op_detail::ContextServices& services, Token&& token) {
  return asio::async_initiate<Token, void(error_code, size_t)>(
      read_op_detail::InitiateRead{&socket, &services}, token, buffer);
}

// read_some for a coroutine on its hot path, on the socket's own io_context thread:
// one operation kept in the coroutine's frame for all its reads (read_op.hpp).
using read_op_detail::KeptRead;

// Writes `buffers` whole. What the socket takes at once goes out in one non-blocking
// sendmsg from the calling thread; only a remainder waits for the reactor. (An
// asynchronous write that completes at once still costs a trip through the scheduler,
// and with it a non-blocking epoll_wait.) `buffers` is consumed.
awaitable<std::tuple<error_code, size_t>> send_all(tcp::socket& socket,
                                                  std::vector<asio::const_buffer>& buffers);
awaitable<std::tuple<error_code, size_t>> send_all(tcp::socket& socket, asio::const_buffer buffer);

// send_all in two steps, for coroutines on the per-request path that should not create
// a coroutine frame per write: send_at_once sends what the socket takes now and drops
// it from `buffers`; anything left (rarely: a full socket buffer) is written by
// `co_await write_rest(socket, buffers)`, a coroutine of its own, so that the caller's
// frame holds no write operation (a session's frame lives as long as its client).
error_code send_at_once(tcp::socket& socket, std::vector<asio::const_buffer>& buffers);
awaitable<error_code> write_rest(tcp::socket& socket, std::vector<asio::const_buffer>& buffers);
// The same for one buffer (a send(2), no list): `buffer` is left holding what was not sent.
error_code send_at_once(tcp::socket& socket, asio::const_buffer& buffer);

// Runs `op`; if it has not finished after `timeout`, cancels it and returns nullopt.
template <class T>
awaitable<std::optional<T>> with_timeout(awaitable<T> op, std::chrono::milliseconds timeout) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
  auto result = co_await (std::move(op) || timer.async_wait(use_nothrow));
  if (result.index() == 0) co_return std::move(std::get<0>(result));
  co_return std::nullopt;
}

}  // namespace pgmux
