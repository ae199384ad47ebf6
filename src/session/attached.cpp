// The attached phase: a server serves this client. Transaction and statement mode's
// round trip on one coroutine (relay), and full-duplex forwarding for what needs both
// directions at once and for session mode. Runs on the session's worker thread.
#include <spdlog/spdlog.h>

// GCC 12 reports Asio's coroutine frames, allocated by awaitable_frame_base's own
// operator new and freed by its operator delete, as mismatched when it inlines them
// into some of this file's coroutines (which ones depends on inlining): a known false
// positive of -Wmismatched-new-delete on coroutine frames.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include "pgmux/protocol/sqlstate.hpp"
#include "session_impl.hpp"

namespace pgmux::session {
namespace sqlstate = protocol::sqlstate;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr size_t kMaxRetryCopy = 1 << 20;  // a larger read is not retried on another node

}  // namespace

awaitable<PumpEnd> Session::attached() {
  outstanding_ = 0;
  unsynced_ = false;
  c_remaining_ = 0;
  s_remaining_ = 0;
  a_busy_ = false;
  releasing_ = false;
  answered_ = false;
  copy_in_ = false;
  sent_epoch_ = 0;
  recv_epoch_ = 0;
  replies_.clear();
  request().pending_fatal.reset();
  if (cancel_target_) {
    cancel_target_->set(server_->peer, server_->backend_pid, server_->backend_secret);
  }
  if (pooled_) {
    if (auto end = co_await relay()) co_return *end;
  }
  auto result = co_await (client_to_server() || server_to_client());
  co_return result.index() == 0 ? std::get<0>(result) : std::get<1>(result);
}

// Transaction and statement pooling's usual exchange, on this one coroutine: forward
// the client's requests, relay the answers until every request has its ReadyForQuery,
// and read the client only while the server owes nothing. That is one read and one
// write on each socket per round trip, and no timer, no second coroutine and no
// cancellation. nullopt: the exchange needs both directions at once (answers still
// coming while the client sends more, COPY, extended-protocol messages not yet closed
// by a Sync, a server message arriving unasked): full duplex takes over from here.
awaitable<std::optional<PumpEnd>> Session::relay() {
  auto& in = server_->in();
  for (;;) {
    if (!cin_.empty()) {
      if (auto end = co_await forward_client()) co_return end;
    }
    if (outstanding_ > 0 && !unsynced_ && !copy_in_ && c_remaining_ == 0 && cin_.empty()) {
      if (auto end = co_await read_server()) co_return end;
      if (auto end = co_await forward_server()) co_return end;
      continue;
    }
    if (outstanding_ > 0 || unsynced_ || copy_in_ || !in.empty() || s_remaining_ > 0) {
      co_return std::nullopt;
    }
    // Inside a transaction, between statements: the server owes nothing.
    if (auto end = co_await read_client()) co_return end;
  }
}

// Sends the whole messages cin_ holds (rewritten where pooling needs it) to the server.
// The end of the attached phase when the client left, broke the protocol or the server
// connection failed.
awaitable<std::optional<PumpEnd>> Session::forward_client() {
  bool terminate = false;
  std::string error;
  size_t n = scan_client(cin_.readable(), terminate, error);
  if (!segments_.empty()) {
    a_busy_ = true;
    auto [ec, w] = co_await send_all(server_->socket(), segments_to_send());
    a_busy_ = false;
    if (ec) co_return PumpEnd::kServerGone;
  }
  if (retry_capture_) {
    auto& retry_input = request().retry_input;
    if (retry_input.size() + n <= kMaxRetryCopy) {
      retry_input.append(cin_.readable().substr(0, n));
    } else {
      retry_capture_ = false;
    }
  }
  cin_.consume(n);
  if (terminate) co_return PumpEnd::kClientTerminated;
  if (!error.empty()) {
    request().pending_fatal = error_fields("FATAL", sqlstate::kProtocolViolation, std::move(error));
    co_return PumpEnd::kClientError;
  }
  co_return std::nullopt;
}

// Sends what the server's buffer holds on to the client; the end of the attached phase
// when the transaction is over (the server is clean) or a connection failed.
awaitable<std::optional<PumpEnd>> Session::forward_server() {
  auto& in = server_->in();
  bool saw_ready = false, bad = false;
  size_t n = scan_server(in.readable(), saw_ready, bad);
  if (bad) co_return PumpEnd::kServerGone;
  if (!runs_.empty()) {
    retry_capture_ = false;  // the client has seen part of the answer
    auto [ec, w] = co_await send_all(client_, runs_to_send(in.readable().data()));
    if (ec) co_return PumpEnd::kClientGone;
  }
  in.consume(n);
  if (saw_ready && in.empty() && outstanding_ == 0 && !unsynced_ && c_remaining_ == 0 &&
      !a_busy_) {
    if (auto end = transaction_end()) {
      releasing_ = true;
      co_return end;
    }
  }
  co_return std::nullopt;
}

awaitable<PumpEnd> Session::client_to_server() {
  for (;;) {
    if (!cin_.empty()) {
      if (auto end = co_await forward_client()) co_return *end;
    }
    if (releasing_) co_return PumpEnd::kInterrupted;
    if (outstanding_ > 0 && !unsynced_ && !copy_in_ && c_remaining_ == 0 && cin_.empty() &&
        !answered_) {
      // Every request is sent whole: the client now waits for answers. Read it again
      // once something has come back (or COPY asks for data), which in the plain
      // request/answer case is never: the server is released first, and no read (and
      // no speculative recv that finds nothing) is spent.
      request().kick.expires_at(asio::steady_timer::time_point::max());
      waiting_for_answer_ = true;
      co_await request().kick.async_wait(use_nothrow);
      waiting_for_answer_ = false;
      if (releasing_ || !answered_) co_return PumpEnd::kInterrupted;
    }
    answered_ = false;
    auto end = co_await read_client();
    if (releasing_) co_return PumpEnd::kInterrupted;
    if (end) co_return *end;
  }
}

// segments_ (pieces of cin_ and scratch_) as one gathered write to the server.
std::vector<asio::const_buffer>& Session::segments_to_send() {
  const char* base = cin_.readable().data();
  auto& gather = request().gather;
  gather.clear();
  for (const auto& seg : segments_) {
    const char* from = seg.scratch ? scratch_.data() : base;
    gather.emplace_back(from + seg.offset, seg.length);
  }
  shard_->bytes_received.add(asio::buffer_size(gather));
  return gather;
}

awaitable<PumpEnd> Session::server_to_client() {
  auto& in = server_->in();
  for (;;) {
    if (!in.empty()) {
      if (auto end = co_await forward_server()) co_return *end;
      if (!runs_.empty()) {
        answered_ = true;
        if (waiting_for_answer_) request().kick.cancel();  // the client may have more to say
      }
    }
    if (auto end = co_await read_server()) co_return *end;
  }
}

// Reads what the client or the server has sent into cin_ or the server's buffer. The end
// of the attached phase when the read failed (cancelled: interrupted; else the peer left).
awaitable<std::optional<PumpEnd>> Session::read_client() {
  auto [ec, n] = co_await read_some(client_, read_room(cin_, kReadChunk), use_nothrow);
  cin_.commit(n);
  if (!ec) co_return std::nullopt;
  co_return ec == asio::error::operation_aborted ? PumpEnd::kInterrupted : PumpEnd::kClientGone;
}

awaitable<std::optional<PumpEnd>> Session::read_server() {
  auto& in = server_->in();
  auto [ec, n] = co_await read_some(server_->socket(), read_room(in, kReadChunk), use_nothrow);
  in.commit(n);
  if (!ec) co_return std::nullopt;
  co_return ec == asio::error::operation_aborted ? PumpEnd::kInterrupted : PumpEnd::kServerGone;
}

// Every request has its answer: whether the attached phase ends here.
std::optional<PumpEnd> Session::transaction_end() {
  switch (entry_->mode) {
    case config::PoolMode::kSession:
      if (shutdown_ && server_->txn_status == 'I') return PumpEnd::kReleased;
      return std::nullopt;
    case config::PoolMode::kStatement:
      if (server_->txn_status != 'I') {
        request().pending_fatal = error_fields("FATAL", sqlstate::kFeatureNotSupported,
                                      "transaction blocks are not allowed in statement pooling "
                                      "mode");
        return PumpEnd::kClientError;
      }
      return PumpEnd::kReleased;
    case config::PoolMode::kTransaction:
      if (server_->txn_status != 'I') return std::nullopt;
      return PumpEnd::kReleased;
  }
  return std::nullopt;
}

// runs_ (pieces of the server's buffer at `base`) as one gathered write to the client.
std::vector<asio::const_buffer>& Session::runs_to_send(const char* base) {
  auto& gather_out = request().gather_out;
  gather_out.clear();
  for (const auto& [offset, length] : runs_) gather_out.emplace_back(base + offset, length);
  shard_->bytes_sent.add(asio::buffer_size(gather_out));
  return gather_out;
}

}  // namespace pgmux::session
