// The end of an Asio operation of pgmux's own (read_op.hpp's reads, park.hpp's parked
// coroutines): the handler bound to its results is moved out, the operation's memory
// freed (the handler may own it), then the handler invoked through its work tracking,
// unless the operation is only being destroyed (`owner` null, at shutdown). What
// Asio's own operations' do_complete do; checked against Boost 1.81.
#pragma once

#include <boost/asio.hpp>
#include <memory>
#include <optional>
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

// The thread of execution (Asio's awaitable_thread: the frames it pumps) of a coroutine
// suspended on one of pgmux's operations kept in its own frame (read_op.hpp's KeptRead,
// park.hpp's KeptPark), taken from the frame when it suspended. While held, it owns the
// frames, one of which holds the operation: so the operation outlives every completion.
class HeldThread {
 public:
  using Executor = boost::asio::any_io_executor;
  using Thread = boost::asio::detail::awaitable_thread<Executor>;
  using Frame = boost::asio::detail::awaitable_frame_base<Executor>;

  // Takes the frame's thread: Asio's pump stops once the frame has given it up.
  void hold(Frame* frame) { thread_.emplace(std::move(*frame->detach_thread())); }

  // The operation's completion: resumes the frames (owner non-null), as Asio's handler
  // for an awaited operation does, or, when the operation is only being destroyed (the
  // io_context going away), lets the thread go, whose destructor hands the frames to
  // the executor to destroy. Nothing of the operation is touched after this.
  void complete(void* owner) {
    Thread thread(std::move(*thread_));
    thread_.reset();
    if (owner) {
      boost::asio::detail::fenced_block b(boost::asio::detail::fenced_block::half);
      thread.launch();  // attaches the frames to `thread` and resumes the top one
    }
  }

 private:
  std::optional<Thread> thread_;
};

}  // namespace pgmux::op_detail
