// A worker's mailbox: how any thread hands work to a worker's event loop.
//
// A worker's io_context runs without any of Asio's locks (BOOST_ASIO_CONCURRENCY_HINT_UNSAFE:
// about 160 instructions fewer per transaction, the scheduler's lock taken and released
// twice per round trip among them), so nothing but its own thread may touch it: no
// asio::post, co_spawn, dispatch, timer or socket call from elsewhere. Work for a worker
// from another thread (a server released to a client waiting there, a server to destroy
// or a moved socket to close on its owner, the admin console's questions, reload and
// shutdown) goes through its Mailbox: post() queues a task under a short lock and, when
// the queue was empty, writes the mailbox's eventfd; the worker's pending read of that
// eventfd completes on the worker's thread and runs every queued task there, in the
// order they were posted.
//
// A host name is resolved (getaddrinfo, which blocks) on a thread of the mailbox's own,
// started at the first name it resolves, and the answer comes back through the mailbox
// (resolve()); Asio's own resolver would post its answer into the worker's io_context
// from its thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "pgmux/backend/asio.hpp"
#include "pgmux/util/mutex.hpp"

namespace pgmux::backend {

class Mailbox {
 public:
  // Starts the read of the eventfd on `io`: construct on io's thread or before it runs.
  explicit Mailbox(asio::io_context& io);
  ~Mailbox();
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // Any thread: runs `task` (a callable taking nothing, move-only allowed) on the
  // mailbox's event loop thread. Tasks still queued when the mailbox is destroyed are
  // destroyed without running.
  template <class F>
  void post(F&& task) {
    push(std::make_unique<TaskOf<std::decay_t<F>>>(std::forward<F>(task)));
  }

  // The mailbox of the event loop this thread runs, or null (not a worker thread).
  static Mailbox* current();
  // Called on the thread that runs this mailbox's event loop, before it runs it.
  void bind_to_this_thread();

  uint64_t tasks_run() const { return tasks_run_; }  // owner thread only

  // Owner thread: resolves `host`:`port` on the mailbox's resolver thread; `done(ec,
  // results)` runs on the owner thread. Left unanswered (destroyed) if the mailbox goes
  // first.
  using Results = tcp::resolver::results_type;
  template <class Done>
  void resolve(std::string host, std::string port, Done&& done) {
    push_resolve(std::move(host), std::move(port),
                 std::make_unique<ResolvedOf<std::decay_t<Done>>>(std::forward<Done>(done)));
  }

 private:
  struct Task {
    virtual ~Task() = default;
    virtual void run() = 0;
  };
  template <class F>
  struct TaskOf final : Task {
    explicit TaskOf(F f) : f(std::move(f)) {}
    void run() override { f(); }
    F f;
  };

  struct Resolved {
    virtual ~Resolved() = default;
    virtual void run(error_code ec, Results results) = 0;
  };
  template <class F>
  struct ResolvedOf final : Resolved {
    explicit ResolvedOf(F f) : f(std::move(f)) {}
    void run(error_code ec, Results results) override { std::move(f)(ec, std::move(results)); }
    F f;
  };
  struct ResolveRequest {
    std::string host, port;
    std::unique_ptr<Resolved> done;
  };

  void push(std::unique_ptr<Task> task);
  void push_resolve(std::string host, std::string port, std::unique_ptr<Resolved> done);
  void resolve_loop();
  void arm();
  void run_queued();

  asio::posix::stream_descriptor event_;
  uint64_t count_ = 0;  // what the eventfd read returns
  util::Mutex mu_;
  std::vector<std::unique_ptr<Task>> queue_;  // under mu_
  bool signaled_ = false;  // under mu_: the eventfd was written since the queue was last taken
  std::vector<std::unique_ptr<Task>> running_;  // owner thread only
  uint64_t tasks_run_ = 0;

  std::mutex resolve_mu_;
  std::condition_variable resolve_cv_;
  std::deque<ResolveRequest> resolve_queue_;  // under resolve_mu_
  bool resolve_stop_ = false;                 // under resolve_mu_
  std::thread resolver_;                      // started by the first resolve()
};

// Resolves `host`:`port` for a coroutine: on a worker thread (one with a mailbox), by the
// mailbox's resolver thread; elsewhere (an io_context with Asio's locks) by Asio's
// resolver on the coroutine's own io_context.
awaitable<std::tuple<error_code, tcp::resolver::results_type>> resolve(std::string host,
                                                                        std::string port);

}  // namespace pgmux::backend
