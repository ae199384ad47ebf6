// A mutex for short critical sections taken on the hot path (a pool's checkout and
// release, twice per transaction). Uncontended, lock and unlock are one atomic
// instruction each, inline; pthread_mutex_lock and unlock cost about 55 instructions a
// pair through their calls. Contended, a thread sleeps on a futex (C++20 atomic wait)
// until the holder wakes it: no spinning, so a holder preempted on a busy machine costs
// its waiters sleep, not CPU.
//
// States: 0 free; 1 held, no thread asleep; 2 held, a thread may be asleep (the unlock
// that finds 2 wakes one). A thread that had to sleep takes the lock in state 2, so the
// unlock after it wakes the next, if any. Meets the Lockable requirements
// (std::lock_guard, std::unique_lock, std::scoped_lock).
#pragma once

#include <atomic>
#include <cstdint>

namespace pgmux::util {

class Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() {
    uint32_t expected = 0;
    if (state_.compare_exchange_strong(expected, 1, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
      return;
    }
    lock_contended(expected);
  }

  bool try_lock() {
    uint32_t expected = 0;
    return state_.compare_exchange_strong(expected, 1, std::memory_order_acquire,
                                          std::memory_order_relaxed);
  }

  void unlock() {
    if (state_.fetch_sub(1, std::memory_order_release) != 1) {  // was 2: someone may sleep
      state_.store(0, std::memory_order_release);
      state_.notify_one();
    }
  }

 private:
  void lock_contended(uint32_t seen) {
    if (seen != 2) seen = state_.exchange(2, std::memory_order_acquire);
    while (seen != 0) {
      state_.wait(2, std::memory_order_relaxed);
      seen = state_.exchange(2, std::memory_order_acquire);
    }
  }

  std::atomic<uint32_t> state_{0};
};

}  // namespace pgmux::util
