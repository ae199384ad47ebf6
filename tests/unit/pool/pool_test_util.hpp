// Helpers shared by the pool unit tests: a fake server, a fake waiter that counts
// wakes, and shortcuts for taking connect slots and checking stats. Test-only.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <ostream>

#include <gtest/gtest.h>

#include "pgmux/pool/pool.hpp"

namespace pgmux::pool {

// Readable failure messages for Checkout kinds.
inline void PrintTo(Checkout::Kind kind, std::ostream* os) {
  constexpr const char* kNames[] = {"kServer", "kConnect", "kWait", "kFail"};
  *os << kNames[static_cast<int>(kind)];
}

namespace testing {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using Kind = Checkout::Kind;

// A fixed start of time; tests move it forward explicitly.
inline const Clock::time_point kT0 = Clock::time_point{} + hours(24);

// A server connection that is only an id (and counts leave_worker() calls).
class FakeServer : public PooledServer {
 public:
  FakeServer(int server_id, unsigned owner, Clock::time_point created) : id(server_id) {
    worker = owner;
    created_at = created;
  }
  void leave_worker() override { ++left_worker; }
  int id;
  int left_worker = 0;
};

// Counts wake() calls; a waiting thread can block in wait_woken() until one arrives.
class FakeWaiter : public Waiter {
 public:
  void wake() override {
    std::lock_guard lock(mu_);
    ++wakes;
    woken_ = true;
    cv_.notify_one();
  }
  void reset() {
    std::lock_guard lock(mu_);
    woken_ = false;
  }
  void wait_woken() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return woken_; });
  }
  std::atomic<int> wakes{0};

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;
};

// Limits with round numbers: idle_timeout 10 min, lifetime 1 h, login_retry 1 s.
inline PoolLimits limits_of(uint32_t pool_size, uint32_t min_pool_size = 0) {
  PoolLimits l;
  l.pool_size = pool_size;
  l.min_pool_size = min_pool_size;
  l.idle_timeout = minutes(10);
  l.lifetime = hours(1);
  l.login_retry = seconds(1);
  return l;
}

inline std::shared_ptr<FakeWaiter> waiter() { return std::make_shared<FakeWaiter>(); }

inline int id_of(const std::unique_ptr<PooledServer>& s) {
  return static_cast<const FakeServer&>(*s).id;
}

// Takes a connect slot and turns it into a live server (checked out to the caller).
inline std::unique_ptr<PooledServer> open_server(Pool& pool, int id, unsigned worker,
                                                 Clock::time_point now = kT0) {
  auto got = pool.checkout(worker, waiter(), now);
  EXPECT_EQ(got.kind, Kind::kConnect);
  pool.connected();
  return std::make_unique<FakeServer>(id, worker, now);
}

// Checks every PoolStats count.
inline void expect_stats(const Pool& pool, uint32_t total, uint32_t idle, uint32_t connecting,
                         uint32_t waiting) {
  PoolStats s = pool.stats();
  EXPECT_EQ(s.total, total) << "total";
  EXPECT_EQ(s.idle, idle) << "idle";
  EXPECT_EQ(s.connecting, connecting) << "connecting";
  EXPECT_EQ(s.waiting, waiting) << "waiting";
}

}  // namespace testing
}  // namespace pgmux::pool
