// Unit tests for util::Mutex: mutual exclusion under contention (threads sleeping on
// the futex and woken), try_lock, and use through std::lock_guard / std::unique_lock.
#include "pgmux/util/mutex.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace pgmux::util {
namespace {

TEST(MutexTest, ExcludesUnderContention) {
  // More threads than cores, a critical section long enough to be preempted in: holders
  // get descheduled and waiters sleep. A lost update means two threads were inside.
  Mutex mu;
  uint64_t counter = 0;  // not atomic: only the mutex orders the increments
  uint64_t shadow = 0;
  constexpr int kThreads = 6;
  constexpr int kRounds = 100'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRounds; ++i) {
        std::lock_guard lock(mu);
        uint64_t seen = counter;
        shadow += 3;
        counter = seen + 1;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter, uint64_t{kThreads} * kRounds);
  EXPECT_EQ(shadow, uint64_t{kThreads} * kRounds * 3);
}

TEST(MutexTest, TryLockFailsWhileHeldAndSucceedsAfter) {
  Mutex mu;
  ASSERT_TRUE(mu.try_lock());
  bool other_got_it = true;
  std::thread([&] { other_got_it = mu.try_lock(); }).join();
  EXPECT_FALSE(other_got_it);
  mu.unlock();
  std::thread([&] {
    other_got_it = mu.try_lock();
    if (other_got_it) mu.unlock();
  }).join();
  EXPECT_TRUE(other_got_it);
}

TEST(MutexTest, ABlockedLockerIsWokenByUnlock) {
  Mutex mu;
  std::unique_lock held(mu);
  std::atomic<bool> asking{false};
  std::atomic<bool> inside{false};
  std::thread other([&] {
    asking = true;
    std::lock_guard lock(mu);
    inside = true;
  });
  while (!asking) std::this_thread::yield();
  EXPECT_FALSE(inside.load());  // the lock is held: it cannot be inside
  held.unlock();
  other.join();  // returns only if the unlock let it in
  EXPECT_TRUE(inside.load());
  EXPECT_TRUE(mu.try_lock());  // and it left the mutex free
  mu.unlock();
}

}  // namespace
}  // namespace pgmux::util
