// Parking a coroutine until something on its own thread says go: `co_await
// slot.park(token)` suspends it, `slot.unpark(ec)` queues its resumption. It is what a
// session waiting for a server sleeps on. A timer did that before (armed per wait,
// cancelled by the wake): two locked operations on the reactor's timer heap per wait,
// most of what a wait cost. Parking is a list insert and, on the waking thread, a push
// onto the scheduler's thread-private queue. Include only through backend/asio.hpp.
//
// Built on Asio's scheduler operation interface (scheduler_operation,
// post_deferred_completion), like read_op.hpp; checked against Boost 1.81. A coroutine
// parks from its own io_context's thread, so its completion resumes it directly
// (op_detail::DirectWork), as read_op.hpp's reads started there do.
#pragma once

#include <boost/asio.hpp>
#include <boost/version.hpp>
#include <memory>
#include <type_traits>
#include <utility>

#include "pgmux/backend/frame_alloc.hpp"
#include "pgmux/backend/op_completion.hpp"

static_assert(BOOST_VERSION / 100 == 1081, "park.hpp is written against Asio of Boost 1.81");

namespace pgmux {
class ParkingSlot;
}

namespace pgmux::park_detail {

namespace asio = boost::asio;
namespace ad = boost::asio::detail;

// A parked coroutine's completion, in its io_context's ParkingLot until unparked.
struct ParkedOp : ad::scheduler_operation {
  explicit ParkedOp(func_type complete) : ad::scheduler_operation(complete) {}
  boost::system::error_code ec;  // what the park completes with
  ParkedOp** slot = nullptr;     // the ParkingSlot's pointer to this
  ParkedOp* prev = nullptr;
  ParkedOp* next = nullptr;
};

// The parked operations of one io_context. Owning them here (not only in the slots)
// is what lets the io_context's destruction free a coroutine still parked, as it frees
// one waiting on a socket or a timer. Touched only by the io_context's own thread.
class ParkingLot : public asio::execution_context::service {
 public:
  static inline asio::execution_context::id id;
  explicit ParkingLot(asio::execution_context& context)
      : asio::execution_context::service(context),
        scheduler_(asio::use_service<ad::scheduler>(context)) {}

  void add(ParkedOp* op) {
    op->prev = nullptr;
    op->next = head_;
    if (head_) head_->prev = op;
    head_ = op;
    scheduler_.work_started();  // outstanding until its completion runs
  }
  // Takes `op` out and queues its completion (on this thread: no lock).
  void complete(ParkedOp* op, boost::system::error_code ec) {
    remove(op);
    op->ec = ec;
    scheduler_.post_deferred_completion(op);
  }

 private:
  void remove(ParkedOp* op) {
    if (op->prev) op->prev->next = op->next; else head_ = op->next;
    if (op->next) op->next->prev = op->prev;
    op->prev = op->next = nullptr;
  }
  void shutdown() override {
    while (ParkedOp* op = head_) {
      remove(op);
      *op->slot = nullptr;
      op->destroy();  // frees the handler (and the coroutine it would resume)
    }
  }

  ad::scheduler& scheduler_;
  ParkedOp* head_ = nullptr;
};

template <class Handler>
class ParkOp : public ParkedOp {
 public:
  BOOST_ASIO_DEFINE_HANDLER_PTR(ParkOp);

  explicit ParkOp(Handler& handler)
      : ParkedOp(&ParkOp::do_complete), handler_(std::move(handler)) {}

  static void do_complete(void* owner, ad::operation* base, const boost::system::error_code&,
                          std::size_t) {
    auto* o = static_cast<ParkOp*>(base);
    op_detail::complete<ParkOp, ad::binder1<Handler, boost::system::error_code>>(
        owner, o, o->handler_, o->work_, o->ec);
  }

 private:
  Handler handler_;
  op_detail::DirectWork work_;
};

// A park operation a coroutine keeps in its frame for one park after another
// (ParkingSlot::park_with): nothing allocated per park, and the completion resumes the
// coroutine's frames itself (op_detail::HeldThread). `ec` is what the last park ended with.
class KeptPark : public ParkedOp {
 public:
  KeptPark() : ParkedOp(&KeptPark::do_complete) {}
  KeptPark(const KeptPark&) = delete;
  KeptPark& operator=(const KeptPark&) = delete;

 private:
  friend class pgmux::ParkingSlot;
  static void do_complete(void* owner, ad::operation* base, const boost::system::error_code&,
                          std::size_t) {
    static_cast<KeptPark*>(base)->held_.complete(owner);
  }
  op_detail::HeldThread held_;  // while parked
};

}  // namespace pgmux::park_detail

namespace pgmux {

using park_detail::KeptPark;

// Where one coroutine of an io_context parks (one at a time). Use on that io_context's
// thread only (park from a coroutine of that io_context).
class ParkingSlot {
 public:
  explicit ParkingSlot(boost::asio::io_context& io)
      : lot_(boost::asio::use_service<park_detail::ParkingLot>(io)) {}
  ParkingSlot(const ParkingSlot&) = delete;
  ParkingSlot& operator=(const ParkingSlot&) = delete;
  // A coroutine still parked here is resumed (aborted) rather than left in the lot with
  // a pointer back to this slot.
  ~ParkingSlot() { unpark(boost::asio::error::operation_aborted); }

  bool parked() const { return op_ != nullptr; }

  // Completes (void(error_code)) when unpark() is called: with its code.
  template <class Token>
  auto park(Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [this](auto&& handler) {
          using H = std::decay_t<decltype(handler)>;
          using Op = park_detail::ParkOp<H>;
          H h(std::forward<decltype(handler)>(handler));
          typename Op::ptr p = {std::addressof(h), Op::ptr::allocate(h), nullptr};
          p.p = new (p.v) Op(h);
          enter(p.p);
          p.v = p.p = nullptr;
        },
        token);
  }

  // `co_await slot.park_with(kept)`: the same park, with an operation the coroutine keeps
  // in its frame (KeptPark); what it ended with is then `kept.ec`.
  struct ParkStart {
    ParkingSlot* slot;
    park_detail::KeptPark* op;
    op_detail::HeldThread::Thread* operator()(op_detail::HeldThread::Frame* frame) const {
      op->held_.hold(frame);
      slot->enter(op);
      return nullptr;
    }
  };
  ParkStart park_with(park_detail::KeptPark& kept) { return ParkStart{this, &kept}; }

  // Resumes the parked coroutine, if any, with `ec` (from the slot's thread).
  void unpark(boost::system::error_code ec = {}) {
    if (park_detail::ParkedOp* op = op_) {
      op_ = nullptr;
      lot_.complete(op, ec);
    }
  }

 private:
  void enter(park_detail::ParkedOp* op) {
    op->ec = {};
    op->slot = &op_;
    op_ = op;
    lot_.add(op);
  }

  park_detail::ParkingLot& lot_;
  park_detail::ParkedOp* op_ = nullptr;
};

}  // namespace pgmux
