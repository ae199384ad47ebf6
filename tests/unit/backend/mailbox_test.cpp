// Unit tests for backend::Mailbox: tasks posted from any thread run on the event loop's
// thread (an io_context without Asio's locks, as a worker's), each once, in each
// poster's order; tasks posted before the loop runs or by a task; tasks left when the
// mailbox goes are destroyed, not run; host names resolved through the mailbox.
#include "pgmux/backend/mailbox.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

namespace pgmux::backend {
namespace {

// An io_context as a worker's: no locks, a mailbox, run on a thread of its own.
struct Loop {
  asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE};
  std::optional<Mailbox> mailbox;
  std::thread thread;
  std::thread::id thread_id;

  Loop() { mailbox.emplace(io); }
  void start() {
    thread = std::thread([this] {
      thread_id = std::this_thread::get_id();
      mailbox->bind_to_this_thread();
      io.run();
    });
  }
  // Stops the loop after what was posted so far has run.
  void stop_and_join() {
    mailbox->post([this] { io.stop(); });
    thread.join();
  }
};

TEST(MailboxTest, TasksFromManyThreadsRunOnTheLoopOnceEachInPosterOrder) {
  Loop loop;
  loop.start();
  constexpr int kPosters = 4;
  constexpr int kTasks = 20000;
  std::vector<std::vector<int>> seen(kPosters);  // touched only on the loop's thread
  std::atomic<int> off_thread{0};
  std::vector<std::thread> posters;
  for (int p = 0; p < kPosters; ++p) {
    posters.emplace_back([&, p] {
      for (int i = 0; i < kTasks; ++i) {
        loop.mailbox->post([&, p, i] {
          if (std::this_thread::get_id() != loop.thread_id) ++off_thread;
          seen[p].push_back(i);
        });
      }
    });
  }
  for (auto& t : posters) t.join();
  loop.stop_and_join();
  EXPECT_EQ(off_thread.load(), 0);
  for (int p = 0; p < kPosters; ++p) {
    ASSERT_EQ(seen[p].size(), static_cast<size_t>(kTasks)) << "poster " << p;
    for (int i = 0; i < kTasks; ++i) ASSERT_EQ(seen[p][i], i) << "poster " << p;
  }
  EXPECT_EQ(loop.mailbox->tasks_run(), uint64_t{kPosters} * kTasks + 1);
}

TEST(MailboxTest, PostedBeforeTheLoopRunsAndFromATask) {
  Loop loop;
  std::vector<int> order;  // touched on the loop's thread, read after the join
  std::atomic<bool> third{false};
  loop.mailbox->post([&] {
    order.push_back(1);
    loop.mailbox->post([&] {  // to its own mailbox: runs later
      order.push_back(3);
      third = true;
    });
    order.push_back(2);
  });
  loop.start();
  while (!third) std::this_thread::yield();
  // The loop took its queue since: this post must wake it again.
  loop.mailbox->post([&] { order.push_back(4); });
  loop.stop_and_join();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4}));
}

TEST(MailboxTest, TasksLeftWhenTheMailboxGoesAreDestroyedNotRun) {
  auto held = std::make_shared<int>(7);
  bool ran = false;
  {
    asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE};
    Mailbox mailbox(io);
    mailbox.post([held, &ran] { ran = true; });
    EXPECT_EQ(held.use_count(), 2);
  }
  EXPECT_FALSE(ran);
  EXPECT_EQ(held.use_count(), 1);
}

TEST(MailboxTest, AHostNameIsResolvedOffTheLoopAndAnsweredOnIt) {
  Loop loop;
  loop.start();
  std::atomic<bool> done{false};
  error_code got_ec = asio::error::would_block;
  size_t endpoints = 0;
  bool on_loop = false;
  bool loopback = true;
  loop.mailbox->post([&] {
    asio::co_spawn(
        loop.io,
        [&]() -> awaitable<void> {
          EXPECT_EQ(Mailbox::current(), &*loop.mailbox);
          auto [ec, results] = co_await resolve("localhost", "5432");
          on_loop = std::this_thread::get_id() == loop.thread_id;
          got_ec = ec;
          for (const auto& r : results) {
            ++endpoints;
            loopback = loopback && r.endpoint().address().is_loopback() &&
                       r.endpoint().port() == 5432;
          }
          done = true;
        },
        asio::detached);
  });
  while (!done) std::this_thread::yield();
  loop.stop_and_join();
  EXPECT_FALSE(got_ec) << got_ec.message();
  EXPECT_GT(endpoints, 0u);
  EXPECT_TRUE(loopback);
  EXPECT_TRUE(on_loop);
}

TEST(MailboxTest, AnUnknownNameFailsThroughTheMailbox) {
  Loop loop;
  loop.start();
  std::atomic<bool> done{false};
  error_code got_ec;
  loop.mailbox->post([&] {
    asio::co_spawn(
        loop.io,
        [&]() -> awaitable<void> {
          auto [ec, results] = co_await resolve("no-such-host.invalid", "5432");
          got_ec = ec;
          done = true;
        },
        asio::detached);
  });
  while (!done) std::this_thread::yield();
  loop.stop_and_join();
  EXPECT_TRUE(got_ec);
}

}  // namespace
}  // namespace pgmux::backend
