// A session's server: getting one from the pool (an idle one, one moved in from
// another worker, or a new connection), bringing its settings in line with the
// client's, and giving it back clean or dropping it. Runs on the session's worker
// thread.
#include <spdlog/spdlog.h>

// GCC 12: the false positive of -Wmismatched-new-delete on Asio's coroutine frames
// (see session.cpp).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include "pgmux/protocol/sqlstate.hpp"
#include "pgmux/session/params.hpp"
#include "session_impl.hpp"

namespace pgmux::session {
namespace sqlstate = protocol::sqlstate;

namespace {

constexpr std::chrono::seconds kInternalQueryTimeout{10};
constexpr std::chrono::seconds kDrainTimeout{5};

}  // namespace

// Asks the pool for a server. nullopt: the session holds one now (an idle server that
// passed its idle check); otherwise what the pool said (wait, connect or fail), for
// acquire_server.
std::optional<pool::Checkout> Session::checkout_now(pool::Clock::time_point now) {
  if (held_ && take_held(now)) return std::nullopt;
  waiter();  // made before the pool may queue it
  for (;;) {
    auto got = entry_->pool.checkout(worker_.id, request_->waiter, now);
    if (got.kind != pool::Checkout::Kind::kServer) return got;
    if (take_server(std::move(got.server), now)) return std::nullopt;
  }
}

// Makes `server` (from the pool) this session's. False when it turned out closed.
bool Session::take_server(std::unique_ptr<pool::PooledServer> server,
                          pool::Clock::time_point now) {
  server_.reset(static_cast<backend::ServerConnection*>(server.release()));
  if (server_->worker != worker_.id && !move_server_here()) return false;
  return open_after_idle(now);
}

// open_after_idle's check of a server idle for a while.
bool Session::still_open() {
  if (server_->idle_check()) return true;
  spdlog::info("server connection to {} was closed while idle; dropping it",
               entry_->target.address());
  drop_server();
  return false;
}

// Moves server_ (released to this session by another worker, or taken from another
// worker's idle list) to this worker's event loop; a socket left behind is closed on its
// old worker's thread. False when that failed (out of descriptors): the server is
// dropped, on its old worker.
bool Session::move_server_here() {
  Worker& from = worker_of(runtime_, server_->worker);
  std::unique_ptr<tcp::socket> old;
  if (!server_->move_to(client_.get_executor(), worker_.id, old)) {
    spdlog::warn("could not move a server connection to {} to worker {} (no descriptor to "
                 "duplicate it into); dropping it", entry_->target.address(), worker_.id);
    auto doomed = std::move(server_);
    drop_server();
    destroy_on_owner(runtime_, std::move(doomed));
    return false;
  }
  shard_->server_moves.add();
  if (old) from.mailbox.post([s = std::move(old)] { backend::close_moved_socket(*s); });
  return true;
}

// A server from the pool in use (login's, where nothing else waits on the request).
awaitable<std::optional<protocol::ErrorFields>> Session::acquire_server() {
  auto got = checkout_now(pool::Clock::now());
  if (!got) co_return std::nullopt;
  co_return co_await acquire_server(std::move(*got));
}

// A wait for a server, queued by the pool: the deadline set, then the slot to park in.
// Nothing else runs on this thread between queueing and parking, and a wake from another
// thread comes through the worker's mailbox: a wake cannot come before the park.
ParkingSlot& Session::begin_wait(pool::Clock::time_point asked) {
  SessionWaiter& waiter = this->waiter();
  waiter.end_by(asked + config_->query_wait_timeout);
  return waiter.slot;
}

// Why a wait ended with nothing: shutdown, or query_wait_timeout.
protocol::ErrorFields Session::wait_ended_empty() const {
  if (shutdown_) {
    return error_fields("FATAL", sqlstate::kAdminShutdown,
                        "terminating connection due to administrator command");
  }
  return error_fields(
      "ERROR", sqlstate::kQueryCanceled,
      "canceling statement due to query_wait_timeout: no server connection became free "
      "within " + std::to_string(config_->query_wait_timeout.count()) + " ms");
}

// After the park: what the pool has for this session now (`woke`: the clock then).
pool::Checkout Session::end_wait(pool::Clock::time_point woke) {
  auto got = entry_->pool.finish_wait(request_->waiter, woke);
  ++request_->waiter->generation;
  return got;
}

// After a park (serve_client's or acquire_server's): the server handed over is taken
// (kTaken); a server found closed makes the pool asked again (kTaken with an idle one,
// else kGoOn with its answer in `got`); kEmpty when the wait ended with nothing; kGoOn
// with a connect slot or a failure.
Session::AfterPark Session::after_park(pool::Checkout& got, pool::Clock::time_point woke) {
  got = end_wait(woke);
  if (got.kind == pool::Checkout::Kind::kWait) return AfterPark::kEmpty;  // timed out, shutdown
  if (got.kind != pool::Checkout::Kind::kServer) return AfterPark::kGoOn;
  if (take_server(std::move(got.server), woke)) return AfterPark::kTaken;
  auto again = checkout_now(pool::Clock::now());
  if (!again) return AfterPark::kTaken;  // an idle one this time
  got = std::move(*again);
  return AfterPark::kGoOn;
}

// Goes on from what checkout_now() got: waits for a server, or opens one.
awaitable<std::optional<protocol::ErrorFields>> Session::acquire_server(pool::Checkout got) {
  for (;;) {
    if (got.kind == pool::Checkout::Kind::kWait) {
      co_await begin_wait(pool::Clock::now()).park(deferred_nothrow);
      switch (after_park(got, pool::Clock::now())) {
        case AfterPark::kTaken:
          co_return std::nullopt;
        case AfterPark::kEmpty:
          co_return wait_ended_empty();
        case AfterPark::kGoOn:
          continue;  // `got`: a connect slot, a failure, or a wait again
      }
    }
    switch (got.kind) {
      case pool::Checkout::Kind::kServer:
        if (take_server(std::move(got.server), pool::Clock::now())) co_return std::nullopt;
        break;
      case pool::Checkout::Kind::kConnect:
        co_return co_await open_server();
      case pool::Checkout::Kind::kFail:
        co_return error_fields("ERROR", sqlstate::kConnectionFailure, std::string(got.why()));
      case pool::Checkout::Kind::kWait:
        break;  // (waited above)
    }
    auto again = checkout_now(pool::Clock::now());
    if (!again) co_return std::nullopt;
    got = std::move(*again);
  }
}

// Opens a new server connection in a connect slot the pool granted.
awaitable<std::optional<protocol::ErrorFields>> Session::open_server() {
  auto& pool = entry_->pool;
  auto conn = co_await backend::connect_server(entry_->target, config_->server_connect_timeout,
                                               worker_.id);
  if (!conn) {
    pool.connect_failed(conn.error().message, pool::Clock::now());
    spdlog::warn("server login to {} as \"{}\" failed: {}", entry_->target.address(),
                 entry_->target.user, conn.error().message);
    co_return error_fields("ERROR", conn.error().code, conn.error().message);
  }
  pool.connected();
  if (!pool.has_server_params()) {
    pool.set_server_params((*conn)->params());
  }
  server_ = std::move(*conn);
  spdlog::debug("opened server connection to {} (pid {})", entry_->target.address(),
                server_->backend_pid);
  co_return std::nullopt;
}

// Called when the server was not last found in line with this client's settings
// (usually it was: most clients of a pool connect alike). False when that failed: the
// server is dropped and the client has its FATAL.
awaitable<bool> Session::sync_params() {
  std::vector<std::string> changed, reset;
  std::string sql = build_sync_sql(*baseline_, *changes_, server_->params(), changed, reset);
  if (sql.empty()) {
    server_->set_in_line_with(baseline_, changes_);
    co_return true;
  }
  auto status = co_await backend::run_internal_query(*server_, sql, kInternalQueryTimeout);
  if (!status) {
    drop_server();
    co_await send_fatal(status.error().code, status.error().message);
    co_return false;
  }
  for (const auto& name : changed) {
    if (baseline_->count(name)) {
      auto spelled = server_->params().find(name);  // the server's spelling of the value
      set_wanted(name, spelled != server_->params().end() ? spelled->second : std::string());
    } else {
      auto own = changes_->find(name);
      server_->set_param(name, own != changes_->end() ? own->second : std::string());
    }
  }
  for (const auto& name : reset) server_->erase_param(name);
  co_return true;
}

bool Session::server_clean() const {
  return server_ && outstanding_ == 0 && !unsynced_ && s_remaining_ == 0 && c_remaining_ == 0 &&
         server_->in().empty();
}

void Session::release_server(pool::Clock::time_point now) {
  if (!reusable(*server_)) {
    drop_server();
    return;
  }
  if (cancel_target_) cancel_target_->clear();
  server_->in().release();
  std::unique_ptr<pool::PooledServer> s(server_.release());
  auto refused = entry_->pool.release(std::move(s), now);
  // A refused (expired) server is closed as `refused` goes out of scope.
}

// Whether `server`, clean, may serve again: not after KILL, not in a pool a reload
// retired, not opened before a RECONNECT.
bool Session::reusable(const backend::ServerConnection& server) const {
  return !entry_->retired && !killed_ &&
         server.created_at.time_since_epoch().count() >= entry_->reconnect_before.load();
}

bool Session::hold_server(pool::Clock::time_point now) {
  if (!pooled_ || !reusable(*server_)) return false;
  if (!holder_) holder_ = std::make_shared<SessionHolder>(*this, worker_.mailbox);
  if (!entry_->pool.hold(*holder_, *server_, now)) return false;
  if (cancel_target_) cancel_target_->clear();  // no query of the client's to cancel
  held_ = std::move(server_);
  return true;
}

void Session::give_back_held(bool close) {
  if (!held_) return;
  held_->in().release();  // kept while held; an idle server in the pool holds no block
  close = close || !reusable(*held_);
  auto closed = entry_->pool.give_back(*holder_, std::move(held_), pool::Clock::now(), close);
  // A closed server's socket is closed as `closed` goes out of scope (on its own worker).
}

void Session::on_reclaim() {
  if (!held_ || !entry_->pool.reclaimed(*holder_)) return;
  give_back_held();
  if (idle_ && cin_.empty()) release_request();  // as begin_idle_read does without a server
}

void SessionHolder::reclaim() {
  mailbox_.post([self = shared_from_this()] {
    if (self->session) self->session->on_reclaim();
  });
}

void Session::drop_server() {
  if (cancel_target_) cancel_target_->clear();
  server_.reset();
  entry_->pool.drop();
}

// Reads and discards the server's answers to what the client sent before it left, so
// that the connection can be reused. False when that did not finish in time.
awaitable<bool> Session::drain_server() {
  // Half a message, or work not yet closed by a Sync (which would commit it): only
  // closing the connection makes the server abort it, as for any client that leaves.
  if (c_remaining_ > 0 || unsynced_) co_return false;
  if (server_clean()) co_return true;
  auto done = co_await with_timeout(discard_answers(), kDrainTimeout);
  co_return done && *done;
}

awaitable<bool> Session::discard_answers() {
  auto& in = server_->in();
  for (;;) {
    bool saw_ready = false, bad = false;
    size_t n = scan_server(in.readable(), saw_ready, bad);
    if (bad) co_return false;
    in.consume(n);
    if (outstanding_ == 0 && s_remaining_ == 0 && in.empty()) co_return true;
    auto [ec, m] = co_await read_some(server_->socket(), read_room(in, kReadChunk), use_nothrow);
    in.commit(m);
    if (ec) co_return false;
  }
}

// The client is gone (or the session is ending): make the server clean and give it
// back, or close it.
awaitable<void> Session::finish_server(PumpEnd end) {
  if (!server_) co_return;
  if (cancel_target_) cancel_target_->clear();
  if (end == PumpEnd::kServerGone || killed_) {
    drop_server();
    co_return;
  }
  if (!co_await drain_server()) {
    spdlog::info("closing server connection (pid {}): client left with a request running",
                 server_->backend_pid);
    co_await backend::send_cancel(server_->peer, server_->backend_pid, server_->backend_secret,
                                  config_->server_connect_timeout);
    drop_server();
    co_return;
  }
  if (server_->txn_status != 'I') {
    auto status = co_await backend::run_internal_query(*server_, "ROLLBACK", kInternalQueryTimeout);
    if (!status || server_->txn_status != 'I') {
      drop_server();
      co_return;
    }
  }
  if (entry_->mode == config::PoolMode::kSession && !config_->server_reset_query.empty()) {
    auto status = co_await backend::run_internal_query(*server_, config_->server_reset_query,
                                                       kInternalQueryTimeout);
    if (!status) {
      drop_server();
      co_return;
    }
    server_->erase_params_if([&](const auto& p) { return !baseline_->count(p.first); });
  }
  release_server();
}

}  // namespace pgmux::session
