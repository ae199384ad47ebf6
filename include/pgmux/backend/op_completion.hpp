// The end of an Asio operation of pgmux's own (read_op.hpp's reads, park.hpp's parked
// coroutines): the handler bound to its results is moved out, the operation's memory
// freed (the handler may own it), then the handler invoked through its work tracking,
// unless the operation is only being destroyed (`owner` null, at shutdown). What
// Asio's own operations' do_complete do; checked against Boost 1.81.
#pragma once

#include <boost/asio.hpp>
#include <memory>
#include <utility>

namespace pgmux::op_detail {

template <class Op, class Binder, class Handler, class IoExecutor, class... Results>
void complete(void* owner, Op* op, Handler& handler_in_op,
              boost::asio::detail::handler_work<Handler, IoExecutor>& work_in_op,
              const Results&... results) {
  namespace ad = boost::asio::detail;
  typename Op::ptr p = {std::addressof(handler_in_op), op, op};
  ad::handler_work<Handler, IoExecutor> w(std::move(work_in_op));
  Binder handler(handler_in_op, results...);
  p.h = std::addressof(handler.handler_);
  p.reset();
  if (owner) {
    ad::fenced_block b(ad::fenced_block::half);
    w.complete(handler, handler.handler_);
  }
}

}  // namespace pgmux::op_detail
