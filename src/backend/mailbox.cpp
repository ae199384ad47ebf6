// Mailbox (see mailbox.hpp).
#include "pgmux/backend/mailbox.hpp"

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace pgmux::backend {
namespace {

thread_local Mailbox* t_current = nullptr;

int make_eventfd() {
  int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  return fd;
}

}  // namespace

Mailbox::Mailbox(asio::io_context& io) : event_(io, make_eventfd()) { arm(); }

// The resolver thread ends first (after the name it may be resolving): nothing posts
// here after that. Requests and tasks still queued are destroyed, not run.
Mailbox::~Mailbox() {
  {
    std::lock_guard lock(resolve_mu_);
    resolve_stop_ = true;
  }
  resolve_cv_.notify_one();
  if (resolver_.joinable()) resolver_.join();
  if (t_current == this) t_current = nullptr;
}

Mailbox* Mailbox::current() { return t_current; }

void Mailbox::bind_to_this_thread() { t_current = this; }

void Mailbox::push(std::unique_ptr<Task> task) {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(task));
    wake = !signaled_;
    signaled_ = true;
  }
  if (wake) {
    const uint64_t one = 1;
    ssize_t n;
    do {
      n = ::write(event_.native_handle(), &one, sizeof one);
    } while (n < 0 && errno == EINTR);
    // EAGAIN only if the counter were near 2^64: it is read to zero on every wake.
  }
}

// The read completes when the eventfd's counter is non-zero (a first post since the
// last take); Asio tries the read at once, so a write that came before it is not missed.
void Mailbox::arm() {
  event_.async_read_some(asio::buffer(&count_, sizeof count_), [this](error_code ec, size_t) {
    if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) return;
    if (ec) {  // not seen; re-arming could spin on it
      spdlog::error("worker mailbox: read failed, no more tasks taken: {}", ec.message());
      return;
    }
    run_queued();
    arm();
  });
}

void Mailbox::run_queued() {
  {
    std::lock_guard lock(mu_);
    running_.swap(queue_);
    signaled_ = false;  // a post from now on writes the eventfd again
  }
  for (auto& task : running_) {
    try {
      task->run();
    } catch (const std::exception& e) {
      spdlog::error("worker mailbox: a task failed: {}", e.what());
    }
    task.reset();  // what it holds goes now, on this thread
    ++tasks_run_;
  }
  running_.clear();
}

void Mailbox::push_resolve(std::string host, std::string port, std::unique_ptr<Resolved> done) {
  {
    std::lock_guard lock(resolve_mu_);
    resolve_queue_.push_back({std::move(host), std::move(port), std::move(done)});
  }
  resolve_cv_.notify_one();
  if (!resolver_.joinable()) resolver_ = std::thread([this] { resolve_loop(); });
}

void Mailbox::resolve_loop() {
  asio::io_context io(1);  // a synchronous resolve needs one; it never runs
  tcp::resolver resolver(io);
  std::unique_lock lock(resolve_mu_);
  for (;;) {
    resolve_cv_.wait(lock, [&] { return resolve_stop_ || !resolve_queue_.empty(); });
    if (resolve_stop_) return;
    ResolveRequest request = std::move(resolve_queue_.front());
    resolve_queue_.pop_front();
    lock.unlock();
    error_code ec;
    Results results = resolver.resolve(request.host, request.port, ec);
    post([done = std::move(request.done), ec, results = std::move(results)]() mutable {
      done->run(ec, std::move(results));
    });
    lock.lock();
  }
}

namespace {

awaitable<std::tuple<error_code, tcp::resolver::results_type>> resolve_here(std::string host,
                                                                             std::string port) {
  tcp::resolver resolver(co_await asio::this_coro::executor);
  co_return co_await resolver.async_resolve(host, port, use_nothrow);
}

// The initiation of a resolve through `home`. A named type rather than a lambda: GCC 12
// copies a capturing lambda temporary in a co_await expression byte by byte into the
// coroutine frame, which breaks its std::string members.
struct InitiateResolve {
  Mailbox* home;
  std::string host;
  std::string port;
  template <class Handler>
  void operator()(Handler&& handler) {
    home->resolve(std::move(host), std::move(port),
                  [h = std::forward<Handler>(handler)](error_code ec,
                                                       Mailbox::Results results) mutable {
                    std::move(h)(ec, std::move(results));
                  });
  }
};

}  // namespace

// Not a coroutine itself (async_initiate makes the awaitable), for the reason above.
awaitable<std::tuple<error_code, tcp::resolver::results_type>> resolve(std::string host,
                                                                        std::string port) {
  Mailbox* home = Mailbox::current();
  if (!home) return resolve_here(std::move(host), std::move(port));
  return asio::async_initiate<decltype(use_nothrow), void(error_code, Mailbox::Results)>(
      InitiateResolve{home, std::move(host), std::move(port)}, use_nothrow);
}

}  // namespace pgmux::backend
