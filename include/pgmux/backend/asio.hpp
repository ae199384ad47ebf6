// Asio aliases and small coroutine helpers shared by the engine modules (backend,
// session, server). Include only from those: Asio is kept out of the pure modules.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <chrono>
#include <optional>

namespace pgmux {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
template <class T = void>
using awaitable = asio::awaitable<T>;

// Completion token for expected errors: results come back as (error_code, ...) tuples.
inline constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

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
