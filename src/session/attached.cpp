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

// The end of the attached phase when a read failed: cancelled, interrupted; else the
// peer (`gone`) left.
std::optional<PumpEnd> read_failed(const error_code& ec, PumpEnd gone) {
  if (!ec) return std::nullopt;
  return ec == asio::error::operation_aborted ? PumpEnd::kInterrupted : gone;
}

}  // namespace

void Session::begin_attached() {
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
}

awaitable<PumpEnd> Session::full_duplex() {
  auto result = co_await (client_to_server() || server_to_client());
  co_return result.index() == 0 ? std::get<0>(result) : std::get<1>(result);
}

void Session::client_batch(Batch& batch) {
  batch.reset();
  batch.used = scan_client(cin_.readable(), batch.terminate, batch.error);
}

// The end of the attached phase when the client left or broke the protocol.
std::optional<PumpEnd> Session::client_sent(Batch& batch) {
  if (retry_capture_) {
    auto& retry_input = request().retry_input;
    if (retry_input.size() + batch.used <= kMaxRetryCopy) {
      retry_input.append(cin_.readable().substr(0, batch.used));
    } else {
      retry_capture_ = false;
    }
  }
  cin_.consume(batch.used);
  if (batch.terminate) return PumpEnd::kClientTerminated;
  if (!batch.error.empty()) {
    request().pending_fatal =
        error_fields("FATAL", sqlstate::kProtocolViolation, std::move(batch.error));
    return PumpEnd::kClientError;
  }
  return std::nullopt;
}

void Session::server_batch(Batch& batch) {
  batch.reset();
  batch.used = scan_server(server_->in().readable(), batch.saw_ready, batch.terminate);
}

// The end of the attached phase when the transaction is over (the server is clean).
std::optional<PumpEnd> Session::server_sent(const Batch& batch) {
  auto& in = server_->in();
  in.consume(batch.used);
  if (batch.saw_ready && in.empty() && outstanding_ == 0 && !unsynced_ && c_remaining_ == 0 &&
      !a_busy_) {
    if (auto end = transaction_end()) {
      releasing_ = true;
      return end;
    }
  }
  return std::nullopt;
}

std::optional<PumpEnd> Session::client_read(std::tuple<error_code, size_t> result) {
  auto [ec, n] = result;
  cin_.commit(n);
  return read_failed(ec, PumpEnd::kClientGone);
}

std::optional<PumpEnd> Session::server_read(std::tuple<error_code, size_t> result) {
  auto [ec, n] = result;
  server_->in().commit(n);
  return read_failed(ec, PumpEnd::kServerGone);
}

// Full duplex's steps, one coroutine each (both directions run at once there).
awaitable<std::optional<PumpEnd>> Session::forward_client() {
  Batch batch;
  client_batch(batch);
  if (!segments_.empty()) {
    a_busy_ = true;
    auto [ec, w] = co_await send_all(server_->socket(), segments_to_send());
    a_busy_ = false;
    if (ec) co_return PumpEnd::kServerGone;
  }
  co_return client_sent(batch);
}

awaitable<std::optional<PumpEnd>> Session::forward_server() {
  Batch batch;
  server_batch(batch);
  if (batch.terminate) co_return PumpEnd::kServerGone;
  if (!runs_.empty()) {
    retry_capture_ = false;  // the client has seen part of the answer
    auto [ec, w] = co_await send_all(client_, runs_to_send(server_->in().readable().data()));
    if (ec) co_return PumpEnd::kClientGone;
  }
  co_return server_sent(batch);
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

awaitable<std::optional<PumpEnd>> Session::read_client() {
  auto got = co_await read_some(client_, client_room(kReadChunk), deferred_nothrow);
  co_return client_read(got);
}

awaitable<std::optional<PumpEnd>> Session::read_server() {
  auto got = co_await read_some(server_->socket(), read_room(server_->in(), kReadChunk),
                                deferred_nothrow);
  co_return server_read(got);
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

namespace {

// Sends `buffer` now; what the socket did not take goes into `rest` (returned), else null.
std::vector<asio::const_buffer>* send_one(tcp::socket& socket, asio::const_buffer buffer,
                                          std::vector<asio::const_buffer>& rest,
                                          error_code& ec) {
  ec = send_at_once(socket, buffer);
  if (ec || buffer.size() == 0) return nullptr;
  rest.assign(1, buffer);
  return &rest;
}

std::vector<asio::const_buffer>* send_list(tcp::socket& socket,
                                           std::vector<asio::const_buffer>& buffers,
                                           error_code& ec) {
  ec = send_at_once(socket, buffers);
  return ec || buffers.empty() ? nullptr : &buffers;
}

}  // namespace

std::vector<asio::const_buffer>* Session::send_segments(error_code& ec) {
  if (segments_.size() == 1 && !segments_[0].scratch) {
    const Segment& seg = segments_[0];
    shard_->bytes_received.add(seg.length);
    return send_one(server_->socket(),
                    asio::buffer(cin_.readable().data() + seg.offset, seg.length),
                    request().gather, ec);
  }
  return send_list(server_->socket(), segments_to_send(), ec);
}

std::vector<asio::const_buffer>* Session::send_runs(const char* base, error_code& ec) {
  if (runs_.size() == 1) {
    const auto [offset, length] = runs_[0];
    shard_->bytes_sent.add(length);
    return send_one(client_, asio::buffer(base + offset, length), request().gather_out, ec);
  }
  return send_list(client_, runs_to_send(base), ec);
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
