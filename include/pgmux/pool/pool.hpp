// A pool of server connections for one (database, user): the pool_size limit, the FIFO
// queue of waiting clients, per-worker idle lists, servers held by their last client
// between transactions, idle/lifetime expiry and connect backoff. Pure bookkeeping: it
// never touches a socket, it only moves owned PooledServer objects and calls
// Waiter::wake() and Holder::reclaim(). Thread-safe: every public member but may_hold()
// (one atomic load) takes the pool's mutex (util::Mutex).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pgmux/util/mutex.hpp"

namespace pgmux::pool {

using Clock = std::chrono::steady_clock;
using Duration = std::chrono::milliseconds;

// What a pool needs to know about a server connection; the connection itself derives
// from this. `worker` is the worker thread whose event loop owns the socket.
class PooledServer {
 public:
  virtual ~PooledServer() = default;
  // Called by release() on the releasing thread (the server's own worker) when the server
  // goes to a waiter on another worker, before that waiter can see it.
  virtual void leave_worker() {}
  unsigned worker = 0;
  Clock::time_point created_at{};
  Clock::time_point idle_since{};  // last released (handed to a waiter or listed idle)
};

// A client waiting for a server. wake() is called with the pool's lock held, from any
// thread; it must only schedule work (post to the waiter's own event loop) and must not
// call back into the pool. After wake() (or a timeout) the waiter calls
// Pool::finish_wait() to collect what it was given.
class Waiter {
 public:
  virtual ~Waiter() = default;
  virtual void wake() = 0;

 private:
  friend class Pool;
  std::unique_ptr<PooledServer> granted_;
  bool may_connect_ = false;
  bool queued_ = false;
  unsigned worker_ = 0;  // the worker thread the waiting session runs on
  std::string error_;  // set when the pool gave up on this waiter (no server reachable)
};

// A client that keeps its server between transactions while no client waits for one
// (Pool::hold): its next transaction then needs no checkout and no release. The pool
// counts a held server as idle (stats, for_each_idle, expiry) and takes it back when
// another client needs it, or to close it: reclaim().
class Holder {
 public:
  virtual ~Holder() = default;
  // Called with the pool's lock held, from any thread: must only post to the holder's
  // own worker, where the holder then checks Pool::reclaimed() and gives the server back
  // with Pool::give_back() (unless it took the server up again meanwhile and found it
  // reclaimed there: Pool::unhold()).
  virtual void reclaim() = 0;

 private:
  friend class Pool;
  enum class State : uint8_t { kFree, kHeld, kReclaimed };
  State state_ = State::kFree;
  bool close_ = false;              // reclaimed to be closed (expiry, RECONNECT), not handed on
  PooledServer* server_ = nullptr;  // while held: read by the pool under its lock only
  Holder* prev_ = nullptr;          // the pool's list of held servers of one worker
  Holder* next_ = nullptr;
};

struct PoolLimits {
  uint32_t pool_size = 20;
  uint32_t min_pool_size = 0;
  Duration idle_timeout = std::chrono::minutes(10);
  Duration lifetime = std::chrono::hours(1);
  Duration login_retry = std::chrono::seconds(1);
};

struct Checkout {
  enum class Kind {
    kServer,   // `server` is an idle connection, now the caller's
    kConnect,  // the caller holds a slot: open a connection, then connected()/connect_failed()
    kWait,     // queued (checkout) or still nothing (finish_wait: timed out, dequeued)
    kFail,     // the server is in connect backoff: `error` says why
  };
  Kind kind = Kind::kWait;
  std::unique_ptr<PooledServer> server;
  // kFail: why. Behind a pointer: a waiting request moves its Checkout several times,
  // and moving even an empty std::string costs a call to memcpy.
  std::unique_ptr<std::string> error;
  std::string_view why() const { return error ? std::string_view(*error) : std::string_view(); }
};

struct PoolStats {
  uint32_t total = 0;       // servers that exist or are being opened
  uint32_t idle = 0;
  uint32_t idle_stale = 0;  // of `idle`: idle since before stats()'s `stale_before`
  uint32_t connecting = 0;
  uint32_t waiting = 0;     // clients queued
  Clock::time_point oldest_wait_since{};  // meaningful when waiting > 0
  uint64_t opened = 0;      // servers that became live (connected()), ever
  uint64_t closed = 0;      // live servers whose slot was freed (drop, expiry, refusal), ever
};

class Pool {
 public:
  // A released server goes to the oldest waiter, or to a waiter on the server's own
  // worker that queued less than this after the oldest (and is among the first
  // kLocalGrantScan): the handoff then stays on one thread (no cross-thread wake-up, no
  // moving the socket to another event loop). The oldest is overtaken only by waiters
  // that queued within the window after it, so it waits at most as long as serving those
  // takes. 1 ms moved a server across workers on a quarter of all transactions with 50
  // or 500 clients on two workers (the workers' queues drift apart by more than that);
  // 10 ms, on under a tenth, at 10-15% less CPU per transaction.
  static constexpr auto kLocalGrantWindow = std::chrono::milliseconds(10);
  static constexpr size_t kLocalGrantScan = 64;

  Pool(PoolLimits limits, unsigned workers);

  // Non-blocking. Prefers an idle server of `worker`, then any idle server (the caller
  // moves its socket), then a connect slot while fewer than pool_size exist and no one
  // is queued; otherwise queues `waiter` (FIFO) and returns kWait. During a connect
  // backoff it returns kFail only when no server exists; while some do, it queues.
  Checkout checkout(unsigned worker, const std::shared_ptr<Waiter>& waiter, Clock::time_point now);
  // Collects a queued waiter's grant (kServer or kConnect). If nothing was granted
  // yet, dequeues the waiter and returns kWait: the caller gives up (timeout/shutdown).
  Checkout finish_wait(const std::shared_ptr<Waiter>& waiter, Clock::time_point now);

  // A clean server comes back, on its own worker's thread: to the oldest waiter if any
  // (or to a waiter on the server's worker that queued within kLocalGrantWindow after the
  // oldest; one on another worker gets it after PooledServer::leave_worker()), else to
  // its worker's idle list. A server past its lifetime is refused: it is returned (its
  // slot freed) and the caller closes it.
  [[nodiscard]] std::unique_ptr<PooledServer> release(std::unique_ptr<PooledServer> server,
                                                      Clock::time_point now);
  // At a transaction's end, instead of release(): the caller keeps `server` (clean, on
  // its own worker) for its next transaction, counted idle, when no client waits, the
  // server is within its lifetime and the pool within its size. False: release() it.
  // (Inline, as unhold(): both run once per transaction.)
  bool hold(Holder& holder, PooledServer& server, Clock::time_point now) {
    std::lock_guard lock(mu_);
    if (!waiters_.empty() || total_ > limits_.pool_size ||
        now - server.created_at >= limits_.lifetime) {
      return false;
    }
    server.idle_since = now;
    holder.state_ = Holder::State::kHeld;
    holder.server_ = &server;
    HeldList& list = held_list(server);
    holder.prev_ = list.tail;
    holder.next_ = nullptr;
    (list.tail ? list.tail->next_ : list.head) = &holder;
    list.tail = &holder;
    ++held_count_;
    return true;
  }
  // Without the lock: false when clients were waiting a moment ago (hold() would refuse;
  // release() at once). A true may be stale: hold() decides.
  bool may_hold() const { return !waiting_.load(std::memory_order_relaxed); }
  // The holder takes its held server up again: true, unless the pool reclaimed it, which
  // the holder then gives back with give_back().
  bool unhold(Holder& holder) {
    std::lock_guard lock(mu_);
    if (holder.state_ != Holder::State::kHeld) return false;
    unlink_held_locked(holder);
    holder.state_ = Holder::State::kFree;
    return true;
  }
  // For the work reclaim() posted: whether the pool still wants the server back (the
  // holder may have given it back, or held another one, since).
  bool reclaimed(const Holder& holder) const;
  // The holder gives back its server, held or reclaimed: as release() does, or closed
  // (returned, its slot freed) when the pool reclaimed it to close it or `close`.
  [[nodiscard]] std::unique_ptr<PooledServer> give_back(Holder& holder,
                                                        std::unique_ptr<PooledServer> server,
                                                        Clock::time_point now, bool close);

  // A server that was checked out is gone (closed, broken, expired): frees its slot.
  void drop();
  // A kConnect slot became a live server: it is returned with release() when clean.
  void connected();
  // A kConnect slot failed: frees the slot and starts (or lengthens) the backoff. When
  // no server is left at all, every waiter is woken with the error (no hangs).
  void connect_failed(const std::string& error, Clock::time_point now);

  // Idle servers past idle_timeout (above min_pool_size) or past lifetime; their slots
  // are freed. The caller closes them. Held ones are reclaimed to be closed by their
  // holders.
  std::vector<std::unique_ptr<PooledServer>> take_expired(Clock::time_point now);
  // Reserves connect slots to bring the pool up to min_pool_size (none during backoff);
  // returns how many the caller must open (each then connected()/connect_failed()).
  // Called periodically: first hands free slots to clients queued through a backoff.
  uint32_t reserve_warm_slots(Clock::time_point now);
  // Removes and returns every idle server (RECONNECT, shutdown); slots freed. Held ones
  // are reclaimed to be closed by their holders.
  std::vector<std::unique_ptr<PooledServer>> take_all_idle();
  // Wakes every waiter with nothing granted (shutdown): each sees kWait from finish_wait.
  void wake_all();

  // Ends a connect backoff early (a health check found the server up again).
  void reset_backoff();

  void set_limits(const PoolLimits& limits);
  PoolLimits limits() const;
  // `stale_before`: idle servers idle since before it are counted in idle_stale.
  PoolStats stats(Clock::time_point stale_before = {}) const;
  // Calls `visit` for each idle server with the pool's lock held; `visit` must not call
  // back into the pool, and must not keep the reference.
  void for_each_idle(const std::function<void(const PooledServer&)>& visit) const;

  // ParameterStatus values of a freshly opened server: what a new client is told at
  // login (learned from the first connection).
  using Params = std::map<std::string, std::string, std::less<>>;  // lookup by string_view
  bool has_server_params() const;
  std::shared_ptr<const Params> server_params() const;  // null until learned
  void set_server_params(Params params);

 private:
  struct HeldList {
    Holder* head = nullptr;  // held longest
    Holder* tail = nullptr;
  };
  HeldList& held_list(const PooledServer& server) {
    return held_[server.worker < held_.size() ? server.worker : 0];
  }
  bool in_backoff(Clock::time_point now) const { return failures_ > 0 && now < retry_at_; }
  std::unique_ptr<PooledServer> pop_idle(unsigned worker);
  using WaiterQueue = std::deque<std::pair<std::shared_ptr<Waiter>, Clock::time_point>>;
  void grant_next_waiter_locked(std::unique_ptr<PooledServer> server);
  void grant_waiter_locked(WaiterQueue::iterator it, std::unique_ptr<PooledServer> server);
  WaiterQueue::iterator waiter_for_locked(const PooledServer& server);
  void grant_free_slots_locked(Clock::time_point now);
  void fail_waiters_locked(const std::string& error);
  void push_idle(std::unique_ptr<PooledServer> server);
  std::unique_ptr<PooledServer> release_locked(std::unique_ptr<PooledServer> server,
                                               Clock::time_point now);
  void unlink_held_locked(Holder& holder) {
    HeldList& list = held_list(*holder.server_);
    (holder.prev_ ? holder.prev_->next_ : list.head) = holder.next_;
    (holder.next_ ? holder.next_->prev_ : list.tail) = holder.prev_;
    holder.prev_ = holder.next_ = nullptr;
    holder.server_ = nullptr;
    --held_count_;
  }
  // Takes a held server back from its holder: to hand on (the oldest held, of `worker`'s
  // first), or to close.
  void reclaim_held_locked(Holder& holder, bool close);
  void reclaim_for_waiter_locked(unsigned worker);
  // Waiters not served by a reclaim under way: they may have free slots.
  bool uncovered_waiters_locked() const {
    return reclaiming_ == 0 ? !waiters_.empty() : waiters_.size() > reclaiming_;
  }
  void note_waiters_locked() { waiting_.store(!waiters_.empty(), std::memory_order_relaxed); }

  mutable util::Mutex mu_;  // taken twice per transaction: see util/mutex.hpp
  PoolLimits limits_;
  std::vector<std::vector<std::unique_ptr<PooledServer>>> idle_;  // per worker, LIFO
  WaiterQueue waiters_;
  std::atomic<bool> waiting_{false};  // !waiters_.empty(), for may_hold()
  std::vector<HeldList> held_;  // per worker
  uint32_t held_count_ = 0;
  uint32_t reclaiming_ = 0;  // held servers reclaimed for waiters, not yet given back
  uint32_t total_ = 0;
  uint32_t idle_count_ = 0;
  uint32_t connecting_ = 0;
  uint32_t failures_ = 0;
  uint64_t opened_ = 0;
  uint64_t closed_ = 0;
  Clock::time_point retry_at_{};
  std::string last_error_;
  std::shared_ptr<const Params> server_params_;
};

}  // namespace pgmux::pool
