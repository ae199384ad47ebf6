// Pool bookkeeping (see pool.hpp). Every public member locks mu_; wake() is called
// with it held and only posts.
#include "pgmux/pool/pool.hpp"

#include <algorithm>

namespace pgmux::pool {

Pool::Pool(PoolLimits limits, unsigned workers)
    : limits_(limits), idle_(std::max(1u, workers)), held_(std::max(1u, workers)) {}

Checkout Pool::checkout(unsigned worker, const std::shared_ptr<Waiter>& waiter,
                        Clock::time_point now) {
  std::lock_guard lock(mu_);
  Checkout out;
  if (auto server = pop_idle(worker)) {
    out.kind = Checkout::Kind::kServer;
    out.server = std::move(server);
    return out;
  }
  grant_free_slots_locked(now);  // clients queued through a backoff come first
  if (in_backoff(now) && total_ == 0) {
    out.kind = Checkout::Kind::kFail;
    out.error = std::make_unique<std::string>(last_error_);
    return out;
  }
  // A held server is taken back (at the cost of a post to its worker) before a new one
  // is opened (a login to PostgreSQL).
  if (total_ < limits_.pool_size && held_count_ == 0 && !uncovered_waiters_locked() &&
      !in_backoff(now)) {
    ++total_;
    ++connecting_;
    out.kind = Checkout::Kind::kConnect;
    return out;
  }
  waiter->granted_.reset();
  waiter->may_connect_ = false;
  waiter->error_.clear();
  waiter->queued_ = true;
  waiter->worker_ = worker;
  waiters_.emplace_back(waiter, now);
  note_waiters_locked();
  if (held_count_ > 0) reclaim_for_waiter_locked(worker);
  out.kind = Checkout::Kind::kWait;
  return out;
}

Checkout Pool::finish_wait(const std::shared_ptr<Waiter>& waiter, Clock::time_point now) {
  std::lock_guard lock(mu_);
  Checkout out;
  if (waiter->granted_) {
    out.kind = Checkout::Kind::kServer;
    out.server = std::move(waiter->granted_);
  } else if (waiter->may_connect_) {
    waiter->may_connect_ = false;
    if (in_backoff(now)) {
      --total_;
      --connecting_;
      out.kind = Checkout::Kind::kFail;
      out.error = std::make_unique<std::string>(last_error_);
      grant_free_slots_locked(now);  // fails the other waiters if no server is left
    } else {
      out.kind = Checkout::Kind::kConnect;
    }
  } else if (!waiter->error_.empty()) {
    out.kind = Checkout::Kind::kFail;
    out.error = std::make_unique<std::string>(std::move(waiter->error_));
    waiter->error_.clear();
  } else {
    if (waiter->queued_) {
      auto it = std::find_if(waiters_.begin(), waiters_.end(),
                             [&](const auto& w) { return w.first == waiter; });
      if (it != waiters_.end()) waiters_.erase(it);
      note_waiters_locked();
      waiter->queued_ = false;
    }
    out.kind = Checkout::Kind::kWait;
  }
  return out;
}

std::unique_ptr<PooledServer> Pool::release(std::unique_ptr<PooledServer> server,
                                            Clock::time_point now) {
  std::lock_guard lock(mu_);
  server->idle_since = now;  // free from now, whether it waits in a list or not
  return release_locked(std::move(server), now);
}

std::unique_ptr<PooledServer> Pool::release_locked(std::unique_ptr<PooledServer> server,
                                                   Clock::time_point now) {
  if (now - server->created_at >= limits_.lifetime || total_ > limits_.pool_size) {
    --total_;
    ++closed_;
    grant_free_slots_locked(now);
    return server;
  }
  if (!waiters_.empty()) {
    auto it = waiter_for_locked(*server);
    grant_waiter_locked(it, std::move(server));
  } else {
    push_idle(std::move(server));
  }
  return nullptr;
}

bool Pool::reclaimed(const Holder& holder) const {
  std::lock_guard lock(mu_);
  return holder.state_ == Holder::State::kReclaimed;
}

std::unique_ptr<PooledServer> Pool::give_back(Holder& holder,
                                              std::unique_ptr<PooledServer> server,
                                              Clock::time_point now, bool close) {
  std::lock_guard lock(mu_);
  if (holder.state_ == Holder::State::kHeld) {
    unlink_held_locked(holder);
  } else if (holder.state_ == Holder::State::kReclaimed && !holder.close_) {
    --reclaiming_;
  }
  close = close || holder.close_;
  holder.state_ = Holder::State::kFree;
  holder.close_ = false;
  if (close) {
    --total_;
    ++closed_;
    grant_free_slots_locked(now);
    return server;
  }
  // idle_since stays the hold's: a server idle that long is checked before reuse.
  return release_locked(std::move(server), now);
}

void Pool::reclaim_held_locked(Holder& holder, bool close) {
  unlink_held_locked(holder);
  holder.state_ = Holder::State::kReclaimed;
  holder.close_ = close;
  if (!close) ++reclaiming_;
  holder.reclaim();
}

void Pool::reclaim_for_waiter_locked(unsigned worker) {
  if (!uncovered_waiters_locked()) return;
  Holder* holder = worker < held_.size() ? held_[worker].head : nullptr;
  for (size_t w = 0; !holder && w < held_.size(); ++w) holder = held_[w].head;
  if (holder) reclaim_held_locked(*holder, false);
}

void Pool::drop() {
  std::lock_guard lock(mu_);
  --total_;
  ++closed_;
  if (total_ < limits_.pool_size && uncovered_waiters_locked()) grant_next_waiter_locked(nullptr);
}

void Pool::connected() {
  std::lock_guard lock(mu_);
  --connecting_;
  ++opened_;
  failures_ = 0;
  last_error_.clear();
}

void Pool::connect_failed(const std::string& error, Clock::time_point now) {
  std::lock_guard lock(mu_);
  --connecting_;
  --total_;
  ++failures_;
  auto factor = 1u << std::min<uint32_t>(failures_ - 1, 4);
  retry_at_ = now + limits_.login_retry * factor;
  last_error_ = error;
  grant_free_slots_locked(now);  // existing servers, if any, will serve the waiters
}

std::vector<std::unique_ptr<PooledServer>> Pool::take_expired(Clock::time_point now) {
  std::lock_guard lock(mu_);
  std::vector<std::unique_ptr<PooledServer>> out;
  for (auto& list : idle_) {
    for (auto it = list.begin(); it != list.end();) {
      bool too_old = now - (*it)->created_at >= limits_.lifetime;
      bool too_idle = now - (*it)->idle_since >= limits_.idle_timeout &&
                      total_ > limits_.min_pool_size;
      if (too_old || too_idle || total_ > limits_.pool_size) {
        out.push_back(std::move(*it));
        it = list.erase(it);
        --total_;
        --idle_count_;
        ++closed_;
      } else {
        ++it;
      }
    }
  }
  // Held servers: reclaimed to be closed; their slots stay counted until given back.
  uint32_t closing = 0;
  for (auto& list : held_) {
    for (Holder* h = list.head; h;) {
      Holder* next = h->next_;
      const PooledServer& s = *h->server_;
      bool too_old = now - s.created_at >= limits_.lifetime;
      bool too_idle = now - s.idle_since >= limits_.idle_timeout &&
                      total_ - closing > limits_.min_pool_size;
      if (too_old || too_idle || total_ - closing > limits_.pool_size) {
        reclaim_held_locked(*h, true);
        ++closing;
      }
      h = next;
    }
  }
  return out;
}

uint32_t Pool::reserve_warm_slots(Clock::time_point now) {
  std::lock_guard lock(mu_);
  grant_free_slots_locked(now);
  if (in_backoff(now) || total_ >= limits_.min_pool_size) return 0;
  uint32_t n = limits_.min_pool_size - total_;
  total_ += n;
  connecting_ += n;
  return n;
}

std::vector<std::unique_ptr<PooledServer>> Pool::take_all_idle() {
  std::lock_guard lock(mu_);
  std::vector<std::unique_ptr<PooledServer>> out;
  for (auto& list : idle_) {
    for (auto& s : list) out.push_back(std::move(s));
    list.clear();
  }
  total_ -= idle_count_;
  closed_ += idle_count_;
  idle_count_ = 0;
  for (auto& list : held_) {
    while (list.head) reclaim_held_locked(*list.head, true);
  }
  return out;
}

void Pool::wake_all() {
  std::lock_guard lock(mu_);
  for (auto& [waiter, since] : waiters_) {
    waiter->queued_ = false;
    waiter->wake();
  }
  waiters_.clear();
  note_waiters_locked();
}

void Pool::reset_backoff() {
  std::lock_guard lock(mu_);
  failures_ = 0;
  last_error_.clear();
}

void Pool::set_limits(const PoolLimits& limits) {
  std::lock_guard lock(mu_);
  limits_ = limits;
  while (total_ < limits_.pool_size && uncovered_waiters_locked()) {
    grant_next_waiter_locked(nullptr);
  }
}

PoolLimits Pool::limits() const {
  std::lock_guard lock(mu_);
  return limits_;
}

PoolStats Pool::stats(Clock::time_point stale_before) const {
  std::lock_guard lock(mu_);
  PoolStats s;
  s.total = total_;
  s.idle = idle_count_ + held_count_;
  s.opened = opened_;
  s.closed = closed_;
  for (const auto& list : idle_) {
    for (const auto& server : list) s.idle_stale += server->idle_since < stale_before;
  }
  for (const auto& list : held_) {
    for (const Holder* h = list.head; h; h = h->next_) {
      s.idle_stale += h->server_->idle_since < stale_before;
    }
  }
  s.connecting = connecting_;
  s.waiting = static_cast<uint32_t>(waiters_.size());
  if (!waiters_.empty()) s.oldest_wait_since = waiters_.front().second;
  return s;
}

void Pool::for_each_idle(const std::function<void(const PooledServer&)>& visit) const {
  std::lock_guard lock(mu_);
  for (const auto& list : idle_) {
    for (const auto& server : list) visit(*server);
  }
  for (const auto& list : held_) {
    for (const Holder* h = list.head; h; h = h->next_) visit(*h->server_);
  }
}

bool Pool::has_server_params() const {
  std::lock_guard lock(mu_);
  return server_params_ != nullptr;
}

std::shared_ptr<const Pool::Params> Pool::server_params() const {
  std::lock_guard lock(mu_);
  return server_params_;
}

void Pool::set_server_params(Params params) {
  std::lock_guard lock(mu_);
  server_params_ = std::make_shared<const Params>(std::move(params));
}

std::unique_ptr<PooledServer> Pool::pop_idle(unsigned worker) {
  if (idle_count_ == 0) return nullptr;
  auto take = [&](std::vector<std::unique_ptr<PooledServer>>& list) {
    auto s = std::move(list.back());
    list.pop_back();
    --idle_count_;
    return s;
  };
  if (worker < idle_.size() && !idle_[worker].empty()) return take(idle_[worker]);
  for (auto& list : idle_) {
    if (!list.empty()) return take(list);
  }
  return nullptr;
}

// Hands `server` (or, when null, a connect slot) to the oldest waiter.
void Pool::grant_next_waiter_locked(std::unique_ptr<PooledServer> server) {
  grant_waiter_locked(waiters_.begin(), std::move(server));
}

Pool::WaiterQueue::iterator Pool::waiter_for_locked(const PooledServer& server) {
  auto oldest = waiters_.begin();
  if (oldest->first->worker_ == server.worker) return oldest;  // (one worker: always)
  size_t scanned = 0;
  for (auto it = oldest; it != waiters_.end() && scanned < kLocalGrantScan &&
                         it->second - oldest->second < kLocalGrantWindow;
       ++it, ++scanned) {
    if (it->first->worker_ == server.worker) return it;
  }
  return oldest;
}

void Pool::grant_waiter_locked(WaiterQueue::iterator it, std::unique_ptr<PooledServer> server) {
  auto waiter = std::move(it->first);
  if (it == waiters_.begin()) {
    waiters_.pop_front();  // the usual case, without erase's general moves
  } else {
    waiters_.erase(it);
  }
  note_waiters_locked();
  waiter->queued_ = false;
  if (server) {
    if (waiter->worker_ != server->worker) server->leave_worker();
    waiter->granted_ = std::move(server);
  } else {
    ++total_;
    ++connecting_;
    waiter->may_connect_ = true;
  }
  waiter->wake();
}

// Free slots go to the oldest waiters as connect slots, except during a backoff; a
// backoff with no server left fails every waiter, since no release would wake them.
void Pool::grant_free_slots_locked(Clock::time_point now) {
  if (in_backoff(now)) {
    if (total_ == 0) fail_waiters_locked(last_error_);
    return;
  }
  while (total_ < limits_.pool_size && uncovered_waiters_locked()) {
    grant_next_waiter_locked(nullptr);
  }
}

void Pool::fail_waiters_locked(const std::string& error) {
  for (auto& [waiter, since] : waiters_) {
    waiter->queued_ = false;
    waiter->error_ = error;
    waiter->wake();
  }
  waiters_.clear();
  note_waiters_locked();
}

void Pool::push_idle(std::unique_ptr<PooledServer> server) {
  unsigned w = server->worker < idle_.size() ? server->worker : 0;
  idle_[w].push_back(std::move(server));
  ++idle_count_;
}

}  // namespace pgmux::pool
