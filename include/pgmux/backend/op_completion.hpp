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

// The work of an operation whose handler runs on the operation's own io_context thread
// (the caller made sure): nothing to track, and the handler is called here, as
// handler_work does when neither executor needs work tracked.
struct DirectWork {
  DirectWork() = default;
  template <class Handler, class IoExecutor>
  DirectWork(Handler&, const IoExecutor&) {}
  template <class Function, class Handler>
  void complete(Function& function, Handler& handler) {
    boost_asio_handler_invoke_helpers::invoke(function, handler);
  }
};

// `Work`: the operation's boost::asio::detail::handler_work, or DirectWork.
template <class Op, class Binder, class Handler, class Work, class... Results>
void complete(void* owner, Op* op, Handler& handler_in_op, Work& work_in_op,
              const Results&... results) {
  namespace ad = boost::asio::detail;
  typename Op::ptr p = {std::addressof(handler_in_op), op, op};
  Work w(std::move(work_in_op));
  Binder handler(handler_in_op, results...);
  p.h = std::addressof(handler.handler_);
  p.reset();
  if (owner) {
    ad::fenced_block b(ad::fenced_block::half);
    w.complete(handler, handler.handler_);
  }
}

}  // namespace pgmux::op_detail
