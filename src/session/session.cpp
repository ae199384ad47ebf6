// Session serving loop: waits for a client request, gives it a server (servers.cpp),
// lets the attached phase (attached.cpp) forward until the transaction (transaction
// mode) or the session (session mode) ends, and hands the server back clean. Runs on
// the session's worker thread.
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

protocol::ErrorFields error_fields(std::string_view severity, std::string_view code,
                                   std::string message) {
  protocol::ErrorFields f;
  f.severity = std::string(severity);
  f.sqlstate = std::string(code);
  f.message = std::move(message);
  return f;
}

Session::Session(tcp::socket socket, Worker& worker)
    : client_(std::move(socket)),
      worker_(worker),
      runtime_(worker.runtime),
      config_(worker.runtime.config()),
      connected_at_(std::chrono::system_clock::now()) {
  error_code ec;
  auto ep = client_.remote_endpoint(ec);
  peer_ = ec ? "unknown" : ep.address().to_string() + ":" + std::to_string(ep.port());
  cin_.use_small_storage(cin_storage_.data(), cin_storage_.size());
  worker_.sessions.insert(this);
  ++runtime_.clients;
  runtime_.counters.accepted.fetch_add(1, std::memory_order_relaxed);
}

Session::~Session() {
  if (server_) drop_server();
  give_back_held(true);  // (an ended session gave it back in run(): here the loop is gone)
  if (holder_) holder_->session = nullptr;
  if (key_pid_) runtime_.cancels().remove(key_pid_);
  if (entry_) --entry_->stats.clients;
  worker_.sessions.erase(this);
  --runtime_.clients;
}

awaitable<void> run_session(tcp::socket socket, Worker& worker) {
  return Session::run(std::make_unique<tcp::socket>(std::move(socket)), worker);
}

void request_shutdown(Worker& worker) {
  for (Session* s : worker.sessions) s->request_shutdown();
}

void force_close(Worker& worker) {
  for (Session* s : worker.sessions) s->force_close();
}

void Session::request_shutdown() {
  shutdown_ = true;
  bool clean_attached = server_ && entry_ && entry_->mode == config::PoolMode::kSession &&
                        server_clean() && server_->txn_status == 'I' && !a_busy_;
  if (idle_ || clean_attached) {
    error_code ec;
    client_.cancel(ec);
  }
}

void Session::force_close() {
  error_code ec;
  client_.close(ec);
}

void Session::cancel_io() {
  error_code ec;
  client_.cancel(ec);
  if (server_) server_->socket().cancel(ec);
}

awaitable<void> Session::run(std::unique_ptr<tcp::socket> socket, Worker& worker) {
  Session s(std::move(*socket), worker);
  socket.reset();
  try {
    if (!co_await s.start()) co_return;
    co_await s.serve_client();
    s.give_back_held();
    spdlog::info("client {} disconnected: user \"{}\" database \"{}\"", s.peer_, s.user_,
                 s.database_);
  } catch (const std::exception& e) {
    spdlog::error("session ended by an internal error: {}", e.what());
  }
}

Session::ClientStep Session::client_step() {
  plain_query_ = nullptr;
  auto header = protocol::parse_header(cin_.readable(), config_->max_message_size);
  if (header.status == protocol::FrameStatus::kFrame) {
    if (header.type == protocol::msg::kTerminate) return ClientStep::kEnd;
    if (!server_) {  // (the callees' first checks made here: they are not inlined)
      const char type = header.type;
      if (type == protocol::msg::kQuery ? answer_route_setting(header)
                                        : rename_ &&
                                              (type == protocol::msg::kParse ||
                                               type == protocol::msg::kClose ||
                                               type == protocol::msg::kSync) &&
                                              answer_locally()) {
        return ClientStep::kAnswer;
      }
    }
    return ClientStep::kRequest;
  }
  if (header.status == protocol::FrameStatus::kError) {
    put_fatal(sqlstate::kProtocolViolation, header.error());
    return ClientStep::kFatal;
  }
  if (shutdown_) {
    put_fatal(sqlstate::kAdminShutdown, "terminating connection due to administrator command");
    return ClientStep::kFatal;
  }
  return ClientStep::kRead;
}

// With nothing buffered the session gives back its buffer block and request state (an
// idle client holds neither; one that holds a server keeps its request state, as it
// would keep it while attached, until the server is reclaimed) and the read lands in
// cin_'s small storage.
asio::mutable_buffer Session::begin_idle_read() {
  idle_ = true;
  keep_statement_text();
  if (cin_.empty()) {
    cin_.release();
    if (!server_ && !held_) release_request();
  }
  return read_room(cin_);
}

bool Session::end_idle_read(std::tuple<error_code, size_t> result) {
  auto [ec, n] = result;
  idle_ = false;
  cin_.commit(n);
  return !ec || (ec == asio::error::operation_aborted && shutdown_);
}

// The client's requests, one after another, until the client leaves or the session has
// to end. A request: a server for it, the attached phase, and giving the server back. A
// read whose replica dies before anything reached the client is sent again once, to
// another node. The usual request (an idle server in the pool, in line with the
// client's settings, a plain round trip) runs in this frame alone: it awaits only the
// reads and writes of the relay below and, when every server is busy, the pool's
// hand-over of one; every other step that may wait is a coroutine of its own, entered
// only when it has to wait. (A coroutine per request and one for the relay cost about
// 200 instructions per transaction each: frame, resumption, return.) This frame lives
// as long as the client, so it is part of an idle client's memory (about 930 bytes):
// what is awaited here is kept few (one read operation, KeptRead, for every read of
// both sockets, and one park, KeptPark, for every wait for a server, both resuming this
// frame without an operation allocated per await; a write the socket did not take at
// once goes to a coroutine of its own).
awaitable<void> Session::serve_client() {
  KeptRead read;  // every read of this frame
  KeptPark park;  // every wait for a server in this frame
  for (;;) {
    auto step = client_step();
    if (step == ClientStep::kRead) {
      co_await read.on(client_, begin_idle_read(), worker_.read_services);
      if (!end_idle_read(read.result())) co_return;
      continue;
    }
    if (step == ClientStep::kAnswer || step == ClientStep::kFatal) {
      if (!co_await write_client(out_) || step == ClientStep::kFatal) co_return;
      continue;
    }
    if (step == ClientStep::kEnd) co_return;
    bool read_only = false;
    if (!group_->replicas.empty()) {
      auto decided = request_is_read_only();
      if (!decided) {  // a statement that decides the route is still arriving
        if (!co_await read_client_more()) co_return;
        continue;
      }
      read_only = *decided;
    }

    request_at_ = pool::Clock::now();
    auto asked = request_at_;  // when the pool is asked for a server (the wait is timed from it)
    if (runtime_.pauses().paused(database_)) {  // checked here: no coroutine frame when not
      if (auto refused = co_await wait_while_paused()) {
        if (*refused == Next::kEnd) co_return;
        continue;
      }
      asked = pool::Clock::now();
    }
    Next next = Next::kContinue;
    for (bool retried = false;; asked = pool::Clock::now()) {
      bool node = pick_node(read_only);
      std::optional<pool::Checkout> got;
      if (node && !(held_ && take_held(asked))) got = checkout_now(asked);
      if (!node || got) {  // no idle server (or no node for a read): wait, connect or fail
        bool acquired = false;
        if (node && !entry_->node->replica && got->kind == pool::Checkout::Kind::kWait) {
          // The usual wait (every server busy) parks in this frame: no coroutine per
          // waiting request. The wait is timed from `asked` (read when the pool was
          // asked, in this handler run). What is not a server handed over goes on in
          // acquire_later, as does a server found closed (after asking the pool again).
          waiting_ = true;
          co_await begin_wait(asked).park_with(park);
          const auto woke = pool::Clock::now();
          const AfterPark after = after_park(*got, woke);
          if (after == AfterPark::kTaken) {
            waiting_ = false;
            note_wait(woke - asked);
            acquired = true;
            asked = woke;  // a reading of this handler run again
          } else {
            acquired = co_await acquire_later(read_only, got, asked, after == AfterPark::kEmpty);
            asked = {};
          }
        } else {
          acquired = co_await acquire_later(read_only, got, asked, false);
          asked = {};  // no longer a reading of this handler run (send_clock_ below)
        }
        if (!acquired) {
          if (shutdown_) next = Next::kEnd;
          break;
        }
      } else {
        shard_->wait_duration.observe(pool::Clock::duration::zero());
      }
      if (!group_->replicas.empty()) {
        (entry_->node->replica ? shard_->statements_to_replica : shard_->statements_to_primary)
            .add();
      }
      if (!server_->in_line_with(baseline_.get(), changes_.get())) {
        asked = {};
        if (!co_await sync_params()) {
          next = Next::kEnd;
          break;
        }
      }
      NodeState& node_state = *entry_->node;
      ++node_state.in_flight;
      retry_capture_ = node_state.replica && !retried;
      request().retry_input.clear();
      begin_attached();

      // The relay (transaction and statement mode): one read and one write on each
      // socket per round trip, no timer, no second coroutine, no cancellation; the
      // reads and writes are awaited here (`read`, send_at_once). It ends with the
      // transaction (kReleased), or with nullopt where the exchange needs both
      // directions at once (answers still coming while the client sends more, COPY,
      // extended-protocol messages not yet closed by a Sync, a server message arriving
      // unasked): full_duplex() takes over from there, as it serves session mode.
      std::optional<PumpEnd> relayed;
      auto& in = server_->in();
      Batch batch;  // one for both directions: the frame lives as long as the client
      error_code ec;
      if (pooled_) send_clock_ = asked;  // zero if awaited since
      ready_clock_ = {};  // set by note_ready, cleared after each await below
      while (pooled_) {
        if (!cin_.empty()) {
          client_batch(batch);
          send_clock_ = {};
          if (!segments_.empty()) {
            if (auto* rest = send_segments(ec)) {
              ec = co_await write_rest(server_->socket(), *rest);
              ready_clock_ = {};
            }
            if (ec) {
              relayed = PumpEnd::kServerGone;
              break;
            }
          }
          if ((relayed = client_sent(batch))) break;
        }
        send_clock_ = {};
        // Answers due: read the server. Else, with the server owing nothing (inside a
        // transaction, between statements): read the client. (One read in this frame
        // for both: each awaited operation takes room in the frame for the session's
        // whole life.)
        const bool answers_due =
            outstanding_ > 0 && !unsynced_ && !copy_in_ && c_remaining_ == 0 && cin_.empty();
        if (!answers_due &&
            (outstanding_ > 0 || unsynced_ || copy_in_ || !in.empty() || s_remaining_ > 0)) {
          break;  // full duplex from here
        }
        tcp::socket& from = answers_due ? server_->socket() : client_;
        auto room = answers_due ? read_room(in, kReadChunk) : client_room(kReadChunk);
        co_await read.on(from, room, worker_.read_services);
        ready_clock_ = {};
        if (!answers_due) {
          if ((relayed = client_read(read.result()))) break;
          continue;
        }
        if ((relayed = server_read(read.result()))) break;
        server_batch(batch);
        if (batch.terminate) {
          relayed = PumpEnd::kServerGone;
          break;
        }
        if (!runs_.empty()) {
          retry_capture_ = false;  // the client has seen part of the answer
          if (auto* rest = send_runs(in.readable().data(), ec)) {
            ec = co_await write_rest(client_, *rest);
            ready_clock_ = {};
          }
          if (ec) {
            relayed = PumpEnd::kClientGone;
            break;
          }
        }
        if ((relayed = server_sent(batch))) break;
      }
      PumpEnd end = PumpEnd::kReleased;
      if (relayed) {
        end = *relayed;
      } else {
        end = co_await full_duplex();
      }

      --node_state.in_flight;
      if (end == PumpEnd::kServerGone && node_state.replica) {
        node_state.healthy = false;  // until the health checker finds it well again
        if (retry_capture_) {
          retry_elsewhere();
          retried = true;
          continue;
        }
      }
      if (end == PumpEnd::kReleased && !request().pending_fatal && !params_dirty_ &&
          (read_only || !notes_writes()) && !shutdown_) {
        // ready_clock_: the reading of note_ready for the ReadyForQuery that ended the
        // relay, in this handler run (none if an await came after it).
        hold_or_release_server(relayed && ready_clock_ != pool::Clock::time_point{}
                                   ? ready_clock_
                                   : pool::Clock::now());
      } else {
        next = co_await end_request(end, read_only);
      }
      break;
    }
    if (next == Next::kEnd) co_return;
  }
}

void Session::note_wait(pool::Clock::duration waited) {
  shard_->wait_time_us.add(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(waited).count()));
  shard_->wait_duration.observe(waited);
}

// serve_client's way to a server when the pool had no idle one (`got`: what it said; or
// what came after serve_client's own wait, which `ended_empty`), or reads had no node
// (`got` empty). False when the request was refused (reject_request).
awaitable<bool> Session::acquire_later(bool read_only, std::optional<pool::Checkout>& got,
                                       pool::Clock::time_point asked, bool ended_empty) {
  std::optional<protocol::ErrorFields> failed;
  if (!got) {
    failed = no_replica_error();
  } else if (ended_empty) {
    failed = wait_ended_empty();
  } else {
    waiting_ = true;
    if (entry_->node->replica) {  // may fall back to another node
      failed = co_await route_and_acquire(read_only, std::move(*got));
    } else {
      failed = co_await acquire_server(std::move(*got));
    }
  }
  waiting_ = false;
  if (failed) {
    co_await reject_request(*failed);
    co_return false;
  }
  note_wait(pool::Clock::now() - asked);
  co_return true;
}

// A replica failed before the client saw any of its answer: the request goes again,
// to another node.
void Session::retry_elsewhere() {
  spdlog::warn("client {}: replica {} failed during a read; retrying elsewhere", peer_,
               entry_->node->address);
  shard_->retries.add();
  forget_replies();
  drop_server();
  auto& retry_input = request().retry_input;
  retry_input.append(cin_.readable());
  keep_statement_text();
  cin_.clear();
  cin_.append(retry_input);
  c_remaining_ = c_skip_ = 0;
}

// The end of a request other than a plain release: an error to pass on, settings to
// read back, a write to note, or the server not going back to the pool.
awaitable<Session::Next> Session::end_request(PumpEnd end, bool read_only) {
  if (auto& fatal = request().pending_fatal) {
    co_await send_fatal(fatal->sqlstate, fatal->message);
  }
  if (end == PumpEnd::kReleased) {
    if (params_dirty_) co_await read_back_settings();
    if (!read_only && notes_writes()) co_await note_write();
    if (!shutdown_) {
      release_server();
      co_return Next::kContinue;
    }
  }
  co_await finish_server(end);
  if (end == PumpEnd::kServerGone) {
    co_await send_fatal(sqlstate::kConnectionFailure,
                        "server connection lost; the transaction in progress, if any, was "
                        "rolled back by the server");
  } else if (end == PumpEnd::kReleased || end == PumpEnd::kInterrupted) {
    co_await send_fatal(sqlstate::kAdminShutdown,
                        "terminating connection due to administrator command");
  }
  co_return Next::kEnd;
}

awaitable<bool> Session::read_client_more() {
  auto [ec, n] = co_await read_some(client_, client_room(kReadChunk), use_nothrow);
  cin_.commit(n);
  co_return !ec;
}

// Answers a request that cannot get a server with an error, keeping the client's
// connection usable: skips the request's messages (through Sync, or one Query), then
// sends the error and ReadyForQuery.
awaitable<void> Session::reject_request(const protocol::ErrorFields& error) {
  if (error.severity == "FATAL") {
    co_await send_fatal(error.sqlstate, error.message);
    shutdown_ = true;
    co_return;
  }
  for (;;) {
    auto header = protocol::frame_message(cin_.readable(), config_->max_message_size);
    if (header.status == protocol::FrameStatus::kFrame) {
      cin_.consume(header.wire_size());
      if (header.type == protocol::msg::kQuery || header.type == protocol::msg::kSync) break;
      if (header.type == protocol::msg::kTerminate) co_return;
      continue;
    }
    if (header.status == protocol::FrameStatus::kError) co_return;
    auto [ec, n] = co_await read_some(client_, client_room(kReadChunk), use_nothrow);
    cin_.commit(n);
    if (ec) co_return;
  }
  out_.clear();
  protocol::write_error_response(out_, error);
  protocol::write_ready_for_query(out_, 'I');
  co_await write_client(out_);
}

awaitable<bool> Session::write_client(std::string_view data) {
  auto [ec, n] = co_await send_all(client_, asio::buffer(data));
  co_return !ec;
}

awaitable<void> Session::send_fatal(std::string_view code, std::string message) {
  put_fatal(code, std::move(message));
  co_await write_client(out_);
}

void Session::put_fatal(std::string_view code, std::string message) {
  out_.clear();
  protocol::write_error_response(out_, error_fields("FATAL", code, std::move(message)));
}

}  // namespace pgmux::session
