// The socket read every engine module uses (read_some in backend/asio.hpp), built on
// Asio's epoll reactor. Include only through backend/asio.hpp.
//
// Why not socket.async_read_some: Asio starts every read with a speculative recv, and
// only when that returns EAGAIN waits for epoll. A proxy's reads mostly wait (the
// server has not answered yet; the client has not sent its next query), so every wait
// cost one recv that returned nothing — 1.5 to 2.4 extra system calls per transaction.
// Asio's reactor can skip the speculative attempt: an operation that reports
// `done_and_exhausted` clears the descriptor's "try speculative" flag, and only an
// epoll event sets it again. Asio's own receive reports that only at end of stream.
// This one also reports it when a read left room in the buffer: the socket's queue was
// empty then, and because the socket is registered edge-triggered, data arriving later
// raises an event that sets the flag again (or performs the queued read). So no data is
// missed and no wait is longer; the decision is taken inside perform(), under the
// descriptor's lock, so it cannot race with an event.
// Except the end of the stream: a peer that sends its last bytes and closes (a server's
// FATAL, then its exit) can have both in the queue when the read runs, which returns the
// bytes and leaves the end for the next read, with the event that announced both
// already taken. So the sockets are also registered for EPOLLRDHUP (at a socket's first
// read that leaves room, which makes epoll report it again if its end is queued), and a
// read that left room is not the last one tried at once when the descriptor's latest
// event said the peer has shut down (or hung up or failed): the next read then finds the
// end of the stream without waiting for an event that will not come.
#pragma once

#include <boost/asio.hpp>
#include <boost/version.hpp>
#include <sys/epoll.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

#include "pgmux/backend/frame_alloc.hpp"
#include "pgmux/backend/nocancel.hpp"
#include "pgmux/backend/op_completion.hpp"

#if !defined(BOOST_ASIO_HAS_EPOLL) || defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
#error "pgmux's socket reads are built on Asio's epoll reactor"
#endif
// The reactor operation interface used here (reactor_op, start_op, per_descriptor_data,
// the socket implementation's fields) is Asio's internal one: checked against Boost 1.81,
// which CMakeLists.txt requires exactly. Check it again before moving to another Boost.
static_assert(BOOST_VERSION / 100 == 1081, "read_op.hpp is written against Asio of Boost 1.81");

namespace pgmux::read_op_detail {

namespace asio = boost::asio;
namespace ad = boost::asio::detail;
using tcp = asio::ip::tcp;
using Reactor = ad::epoll_reactor;

// The reactor state of a socket (descriptor, flags, registration), from its protected
// implementation object.
struct SocketAccess : tcp::socket {
  static auto& impl(tcp::socket& socket) {
    return (socket.*(&SocketAccess::impl_)).get_implementation();
  }
  // The socket's executor by reference (get_executor() copies the type-erased executor).
  static const executor_type& executor(tcp::socket& socket) {
    return (socket.*(&SocketAccess::impl_)).get_executor();
  }
};

// Counts io_contexts destroyed in this process: a context destroyed and another made at
// the same address must not find the old one's reactor in a thread's cache below.
inline std::atomic<uint64_t> g_contexts_ended{0};

// Registered in every context a read uses; its end bumps g_contexts_ended.
class ContextEndWatch : public asio::execution_context::service {
 public:
  static inline asio::execution_context::id id;
  explicit ContextEndWatch(asio::execution_context& context)
      : asio::execution_context::service(context) {}
  ~ContextEndWatch() override { g_contexts_ended.fetch_add(1, std::memory_order_release); }

 private:
  void shutdown() override {}
};

// The reactor and the scheduler of a socket's io_context.
struct ContextServices {
  Reactor* reactor = nullptr;
  ad::scheduler* scheduler = nullptr;
};

// The services of `context` (a lookup under the service registry's mutex), for a caller
// that keeps them: a worker, for its sockets' reads, or services_of below.
inline ContextServices services_for(asio::execution_context& context) {
  asio::use_service<ContextEndWatch>(context);
  return {&asio::use_service<Reactor>(context), &asio::use_service<ad::scheduler>(context)};
}

// The services of the socket's io_context. The lookup takes the service registry's
// mutex, so each thread keeps the last answer (one io_context per worker thread), and
// asks again when the context differs or any context has ended since.
inline const ContextServices& services_of(tcp::socket& socket) {
  thread_local asio::execution_context* cached_context = nullptr;
  thread_local ContextServices cached;
  thread_local uint64_t cached_epoch = 0;
  asio::execution_context& context =
      asio::query(SocketAccess::executor(socket), asio::execution::context);
  uint64_t epoch = g_contexts_ended.load(std::memory_order_acquire);
  if (&context != cached_context || epoch != cached_epoch) {
    cached = services_for(context);
    cached_context = &context;
    cached_epoch = epoch;
  }
  return cached;
}

inline Reactor& reactor_of(tcp::socket& socket) { return *services_of(socket).reactor; }

// Whether this thread is running `scheduler`'s event loop. A read initiated there is
// awaited by a coroutine of that same io_context (a coroutine runs on its executor's
// thread, a pgmux thread runs one io_context, and pgmux uses no strands), so its
// completion may resume the coroutine directly: no comparison of type-erased executors,
// no work tracking (DirectWork; about 150 instructions per transaction). A read started
// from elsewhere (another io_context's thread, or outside any) completes through the
// handler's executor as Asio's own reads do.
inline bool running_here(ad::scheduler* scheduler) {
  using CallStack = ad::call_stack<ad::thread_context, ad::thread_info_base>;
  return CallStack::contains(static_cast<ad::thread_context*>(scheduler)) != nullptr;
}

// Members Asio keeps private that watching for the peer's close needs: a descriptor's
// reactor and registered events, the reactor's epoll descriptor, and the events of the
// descriptor's latest epoll report (left in its operation base for perform_io). Named
// through explicit instantiations, where access is not checked.
template <class Tag, typename Tag::type Member>
struct PrivateMember {
  friend typename Tag::type member_of(Tag) { return Member; }
};
struct DescriptorReactor {
  using type = Reactor* Reactor::descriptor_state::*;
  friend type member_of(DescriptorReactor);
};
struct RegisteredEvents {
  using type = uint32_t Reactor::descriptor_state::*;
  friend type member_of(RegisteredEvents);
};
struct EpollFd {
  using type = int Reactor::*;
  friend type member_of(EpollFd);
};
struct ReadyEvents {
  using type = unsigned int ad::scheduler_operation::*;
  friend type member_of(ReadyEvents);
};
template struct PrivateMember<DescriptorReactor, &Reactor::descriptor_state::reactor_>;
template struct PrivateMember<RegisteredEvents, &Reactor::descriptor_state::registered_events_>;
template struct PrivateMember<EpollFd, &Reactor::epoll_fd_>;
template struct PrivateMember<ReadyEvents, &ad::scheduler_operation::task_result_>;

// The descriptor's latest reported events (its operation base is a private one: a
// C-style cast reaches it).
inline unsigned int& ready_events(Reactor::per_descriptor_data state) {
  return ((ad::scheduler_operation*)state)->*member_of(ReadyEvents{});
}

// After a read that left room: whether the read after it must be tried at once, the
// peer's end of the stream being possibly still queued. A socket is registered for
// EPOLLRDHUP here, at its first such read (on its io_context's thread): the change
// makes epoll report the socket again if it is readable now (its end already queued), so
// that read waits for that report safely. A failed registration leaves the socket as
// Asio registered it, and every read after a short one is then tried at once.
[[gnu::noinline]] inline bool register_peer_close(int fd, Reactor::per_descriptor_data state) {
  uint32_t& registered = state->*member_of(RegisteredEvents{});
  Reactor& reactor = *(state->*member_of(DescriptorReactor{}));
  epoll_event ev{};
  ev.events = registered | EPOLLRDHUP;
  ev.data.ptr = state;
  if (::epoll_ctl(reactor.*member_of(EpollFd{}), EPOLL_CTL_MOD, fd, &ev) != 0) return true;
  registered = ev.events;
  ready_events(state) = 0;  // (a descriptor state is reused; epoll reports afresh)
  return false;
}

inline bool peer_may_have_closed(int fd, Reactor::per_descriptor_data state) {
  const uint32_t registered = state->*member_of(RegisteredEvents{});
  if ((registered & EPOLLRDHUP) == 0) return register_peer_close(fd, state);
  return (ready_events(state) & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
}

// What Asio's non_blocking_recv1 does for a stream socket, through nocancel::recv: a
// reactor operation's perform step for a read of `fd`, whose reactor state is `state`,
// into `buffer`.
inline ad::reactor_op::status perform_recv(int fd, Reactor::per_descriptor_data state,
                                           asio::mutable_buffer buffer,
                                           boost::system::error_code& ec, std::size_t& bytes) {
  long n;
  do {
    n = nocancel::recv(fd, buffer.data(), buffer.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return ad::reactor_op::not_done;  // stays queued until epoll reports the socket readable
    }
    ec = boost::system::error_code(errno, asio::error::get_system_category());
    bytes = 0;
    return ad::reactor_op::done;
  }
  bytes = static_cast<std::size_t>(n);
  ec = n == 0 ? boost::system::error_code(asio::error::eof) : boost::system::error_code();
  // Room left (or end of stream): the socket's queue is empty, unless the peer's end of
  // the stream is still to be read (header comment).
  if (bytes == buffer.size() || (n > 0 && peer_may_have_closed(fd, state))) {
    return ad::reactor_op::done;
  }
  return ad::reactor_op::done_and_exhausted;
}

// Queues `op`, a read of `size` bytes of room on the socket whose implementation is
// `impl`, on its reactor; or, for an empty buffer or a socket that cannot be made
// non-blocking (the error left in the operation), completes it at once.
template <class Impl>
void queue_read(Reactor& reactor, Impl& impl, ad::reactor_op* op, std::size_t size,
                bool is_continuation) {
  const bool nonblocking =
      size > 0 &&
      ((impl.state_ & ad::socket_ops::non_blocking) ||
       ad::socket_ops::set_internal_non_blocking(impl.socket_, impl.state_, true, op->ec_));
  if (nonblocking) {
    reactor.start_op(Reactor::read_op, impl.socket_, impl.reactor_data_, op, is_continuation,
                     true);
  } else {
    reactor.post_immediate_completion(op, is_continuation);  // empty buffer, or an error
  }
}

template <class Handler, class IoExecutor, class Work = ad::handler_work<Handler, IoExecutor>>
class ReadOp : public ad::reactor_op {
 public:
  BOOST_ASIO_DEFINE_HANDLER_PTR(ReadOp);

  ReadOp(int fd, Reactor::per_descriptor_data state, asio::mutable_buffer buffer,
         Handler& handler, const IoExecutor& io_ex)
      : ad::reactor_op(boost::system::error_code(), &ReadOp::do_perform, &ReadOp::do_complete),
        fd_(fd),
        state_(state),
        buffer_(buffer),
        handler_(std::move(handler)),
        work_(handler_, io_ex) {}

  static status do_perform(ad::reactor_op* base) {
    auto* o = static_cast<ReadOp*>(base);
    return perform_recv(o->fd_, o->state_, o->buffer_, o->ec_, o->bytes_transferred_);
  }

  static void do_complete(void* owner, ad::operation* base, const boost::system::error_code&,
                          std::size_t) {
    auto* o = static_cast<ReadOp*>(base);
    op_detail::complete<ReadOp, ad::binder2<Handler, boost::system::error_code, std::size_t>>(
        owner, o, o->handler_, o->work_, o->ec_, o->bytes_transferred_);
  }

 private:
  int fd_;
  Reactor::per_descriptor_data state_;
  asio::mutable_buffer buffer_;
  Handler handler_;
  Work work_;
};

// Per-operation cancellation (the `||` of the full-duplex pair cancels the losing read).
class Cancellation {
 public:
  Cancellation(Reactor* reactor, Reactor::per_descriptor_data* data, int fd)
      : reactor_(reactor), data_(data), fd_(fd) {}
  void operator()(asio::cancellation_type_t type) {
    if (!!(type & (asio::cancellation_type::terminal | asio::cancellation_type::partial |
                   asio::cancellation_type::total))) {
      reactor_->cancel_ops_by_key(fd_, *data_, Reactor::read_op, this);
    }
  }

 private:
  Reactor* reactor_;
  Reactor::per_descriptor_data* data_;
  int fd_;
};

struct InitiateRead {
  tcp::socket* socket;
  const ContextServices* known = nullptr;  // the socket's io_context's, if the caller has them

  template <class Handler>
  void operator()(Handler&& handler_in, asio::mutable_buffer buffer) const {
    using H = std::decay_t<Handler>;
    using Ex = tcp::socket::executor_type;
    H handler(std::forward<Handler>(handler_in));
    const ContextServices& services = known ? *known : services_of(*socket);
    if (running_here(services.scheduler)) {
      start<ReadOp<H, Ex, op_detail::DirectWork>>(handler, buffer, *services.reactor);
    } else {
      start<ReadOp<H, Ex>>(handler, buffer, *services.reactor);
    }
  }

  template <class Op, class H>
  void start(H& handler, asio::mutable_buffer buffer, Reactor& reactor) const {
    auto& impl = SocketAccess::impl(*socket);
    const bool is_continuation = boost_asio_handler_cont_helpers::is_continuation(handler);
    auto slot = asio::get_associated_cancellation_slot(handler);

    typename Op::ptr p = {std::addressof(handler), Op::ptr::allocate(handler), nullptr};
    p.p = new (p.v) Op(impl.socket_, impl.reactor_data_, buffer, handler,
                       SocketAccess::executor(*socket));
    if (slot.is_connected()) {
      p.p->cancellation_key_ =
          &slot.template emplace<Cancellation>(&reactor, &impl.reactor_data_, impl.socket_);
    }
    queue_read(reactor, impl, p.p, buffer.size(), is_continuation);
    p.v = p.p = nullptr;
  }
};

// What a read completes with.
using ReadResult = std::tuple<boost::system::error_code, std::size_t>;

// A read operation that a coroutine keeps (in its frame) and uses for one read after
// another on its own io_context's thread: `co_await read.on(socket, buffer, services)`,
// then `read.result()`. The per-request path's two reads (the client's next request,
// the server's answer) go through one: no operation allocated and freed per read, no
// handler moved through async_initiate's, as_tuple's and the binder's layers; the
// completion resumes the coroutine's frames itself (op_detail::HeldThread), as Asio's
// handler for an awaited operation does (about 330 instructions per transaction of two
// reads, by callgrind). Not cancellable per operation (for a read never raced against
// another with `||`); closing or cancelling the socket ends it with operation_aborted,
// as it does Asio's.
class KeptRead : public ad::reactor_op {
 public:
  KeptRead() : ad::reactor_op(boost::system::error_code(), &KeptRead::do_perform,
                              &KeptRead::do_complete) {}
  KeptRead(const KeptRead&) = delete;
  KeptRead& operator=(const KeptRead&) = delete;

  // What `co_await` takes: Asio's awaitable calls it with the awaiting frame once the
  // coroutine has suspended (as it starts its own operations), and the read starts then.
  struct Start {
    KeptRead* read;
    op_detail::HeldThread::Thread* operator()(op_detail::HeldThread::Frame* frame) const {
      read->held_.hold(frame);
      read->start();
      return nullptr;
    }
  };

  // Prepares a read of `socket` into `buffer`, for a coroutine running on the thread of
  // the socket's io_context, whose services `services` are.
  Start on(tcp::socket& socket, asio::mutable_buffer buffer, const ContextServices& services) {
    socket_ = &socket;
    buffer_ = buffer;
    reactor_ = services.reactor;
    BOOST_ASIO_ASSERT(running_here(services.scheduler));
    return Start{this};
  }

  ReadResult result() const { return {ec_, bytes_transferred_}; }

 private:
  void start() {
    ec_ = boost::system::error_code();
    bytes_transferred_ = 0;
    auto& impl = SocketAccess::impl(*socket_);
    fd_ = impl.socket_;
    state_ = impl.reactor_data_;
    queue_read(*reactor_, impl, this, buffer_.size(), false);
  }

  static status do_perform(ad::reactor_op* base) {
    auto* o = static_cast<KeptRead*>(base);
    return perform_recv(o->fd_, o->state_, o->buffer_, o->ec_, o->bytes_transferred_);
  }

  static void do_complete(void* owner, ad::operation* base, const boost::system::error_code&,
                          std::size_t) {
    static_cast<KeptRead*>(base)->held_.complete(owner);
  }

  tcp::socket* socket_ = nullptr;
  asio::mutable_buffer buffer_;
  Reactor* reactor_ = nullptr;
  int fd_ = -1;
  Reactor::per_descriptor_data state_ = nullptr;
  op_detail::HeldThread held_;  // while a read is queued
};

}  // namespace pgmux::read_op_detail
