// read_some() and KeptRead: the engine's socket reads. After a read that drained the socket, the next
// read waits for epoll instead of first trying a recv that finds nothing; data that
// arrives at any point is still read, cancellation still works, and the awaiting
// coroutine resumes on its own thread whichever io_context the socket is in.
//
// The recv calls are counted by defining recv() and syscall() in this test binary: Asio's
// own reads call ::recv, read_some calls syscall(SYS_recvfrom, ...) (nocancel::recv), and
// the executable's own definitions are the ones those calls bind to.
#include <dlfcn.h>

#include <gtest/gtest.h>

#include <thread>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdarg>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pgmux/backend/asio.hpp"

namespace {
std::atomic<int> g_recv_calls{0};

using SyscallFn = long (*)(long, ...);
SyscallFn real_syscall() {
  static const auto fn = reinterpret_cast<SyscallFn>(dlsym(RTLD_NEXT, "syscall"));
  return fn;
}
}  // namespace

extern "C" ssize_t recv(int fd, void* buf, size_t n, int flags) {
  g_recv_calls.fetch_add(1);
  return real_syscall()(SYS_recvfrom, fd, buf, n, flags, nullptr, nullptr);
}

// Like glibc's syscall(): takes the six argument registers whatever the call passed (the
// kernel reads only those the system call has).
extern "C" long syscall(long number, ...) noexcept {
  va_list ap;
  va_start(ap, number);
  long args[6];
  for (long& arg : args) arg = va_arg(ap, long);
  va_end(ap);
  if (number == SYS_recvfrom) g_recv_calls.fetch_add(1);
  return real_syscall()(number, args[0], args[1], args[2], args[3], args[4], args[5]);
}

namespace pgmux {
namespace {

using namespace std::chrono_literals;

struct Result {
  error_code ec;
  size_t n = 0;
};

class ReadSomeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    peer_.connect(acceptor.local_endpoint());
    acceptor.accept(socket_);
  }

  void send(const std::string& bytes) { ASSERT_EQ(peer_.send(asio::buffer(bytes)), bytes.size()); }

  // Starts a read into buf_ (`size` bytes of room); its result lands in result_.
  void start_read(size_t size = sizeof(buf_)) {
    result_.reset();
    read_some(socket_, asio::buffer(buf_, size), [this](error_code ec, size_t n) {
      result_ = Result{ec, n};
    });
  }

  // Runs the loop until the read started last has completed (bounded).
  bool finish_read() {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!result_ && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_one_for(100ms);
    }
    return result_.has_value();
  }

  std::string got() const { return std::string(buf_, result_->n); }

  // Reads `last` (what the peer sent before shutting down), then the end of stream.
  void read_last_then_end_of_stream(const std::string& last) {
    start_read();
    ASSERT_TRUE(finish_read());
    EXPECT_EQ(got(), last);
    start_read();
    ASSERT_TRUE(finish_read()) << "the end of stream was never reported";
    EXPECT_EQ(result_->ec, asio::error::eof);
  }

  // A coroutine reading buf_ through one KeptRead until a read fails: what each read got
  // goes to `got`, the error to `last`.
  void spawn_kept_reader(std::vector<std::string>& got, std::optional<error_code>& last) {
    asio::co_spawn(io_, [this, &got, &last]() -> awaitable<void> {
      const auto services = read_op_detail::services_for(io_);
      KeptRead read;
      for (;;) {
        co_await read.on(socket_, asio::buffer(buf_), services);
        auto [ec, n] = read.result();
        if (ec) {
          last = ec;
          co_return;
        }
        got.emplace_back(buf_, n);
      }
    }, asio::detached);
  }

  // Runs the loop until `done` (bounded); its last answer.
  bool run_until(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_one_for(100ms);
    }
    return done();
  }

  // A read that waits in the loop for `bytes`, the way a server's answer is read: the
  // socket is drained when it completes.
  void first_read_waits_for(const std::string& bytes) {
    start_read();
    io_.restart();
    io_.poll();
    ASSERT_FALSE(result_);
    send(bytes);
    ASSERT_TRUE(finish_read());
    ASSERT_FALSE(result_->ec);
    ASSERT_EQ(got(), bytes);
  }


  asio::io_context io_;
  tcp::socket socket_{io_};
  asio::io_context peer_io_;
  tcp::socket peer_{peer_io_};
  char buf_[64];
  std::optional<Result> result_;
};

TEST_F(ReadSomeTest, AReadThatDrainedTheSocketWaitsWithoutTryingFirst) {
  ASSERT_NO_FATAL_FAILURE(first_read_waits_for("abc"));
  ASSERT_FALSE(result_->ec);
  EXPECT_EQ(got(), "abc");

  int before = g_recv_calls.load();
  start_read();
  io_.restart();
  io_.poll();
  EXPECT_FALSE(result_) << "nothing was sent";
  EXPECT_EQ(g_recv_calls.load(), before) << "a recv that could only find nothing";
  send("def");
  ASSERT_TRUE(finish_read());
  ASSERT_FALSE(result_->ec);
  EXPECT_EQ(got(), "def");
  EXPECT_EQ(g_recv_calls.load(), before + 1) << "one recv, when epoll said data is there";
}

TEST_F(ReadSomeTest, DataSentBeforeTheNextReadStartsIsRead) {
  ASSERT_NO_FATAL_FAILURE(first_read_waits_for("abc"));
  send("def");  // before the next read exists, and before the loop sees the event
  start_read();
  ASSERT_TRUE(finish_read());
  ASSERT_FALSE(result_->ec);
  EXPECT_EQ(got(), "def");
}

TEST_F(ReadSomeTest, DataSeenByTheLoopWhileNoReadWaitsIsRead) {
  ASSERT_NO_FATAL_FAILURE(first_read_waits_for("abc"));
  send("def");
  io_.restart();
  io_.run_for(50ms);  // the loop takes the socket's event with no read waiting
  int before = g_recv_calls.load();
  start_read();
  ASSERT_TRUE(finish_read());
  EXPECT_EQ(got(), "def");
  EXPECT_EQ(g_recv_calls.load(), before + 1);
}

TEST_F(ReadSomeTest, AReadThatFilledItsBufferReadsAgainAtOnce) {
  send(std::string(30, 'x'));
  start_read(10);
  ASSERT_TRUE(finish_read());
  EXPECT_EQ(result_->n, 10u);
  int before = g_recv_calls.load();
  start_read(10);  // more may be waiting: tried before any wait
  ASSERT_TRUE(finish_read());
  EXPECT_EQ(result_->n, 10u);
  EXPECT_EQ(g_recv_calls.load(), before + 1);
}

TEST_F(ReadSomeTest, ACancelledReadLeavesTheSocketUsable) {
  asio::cancellation_signal cancel;
  std::optional<Result> cancelled;
  read_some(socket_, asio::buffer(buf_),
            asio::bind_cancellation_slot(cancel.slot(), [&](error_code ec, size_t n) {
              cancelled = Result{ec, n};
            }));
  io_.restart();
  io_.poll();
  ASSERT_FALSE(cancelled);
  cancel.emit(asio::cancellation_type::terminal);
  io_.restart();
  io_.run_for(100ms);
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(cancelled->ec, asio::error::operation_aborted);

  send("after");
  start_read();
  ASSERT_TRUE(finish_read());
  ASSERT_FALSE(result_->ec);
  EXPECT_EQ(got(), "after");
}

TEST_F(ReadSomeTest, EndOfStreamIsAnError) {
  send("last");
  peer_.shutdown(tcp::socket::shutdown_send);
  ASSERT_NO_FATAL_FAILURE(read_last_then_end_of_stream("last"));
}

// The peer's last bytes and its end of stream, both in the socket's queue when a read
// runs (a server's FATAL, then its exit): the read takes the bytes, and the next read
// must see the end although the event that announced it has been taken already.
TEST_F(ReadSomeTest, EndOfStreamBehindTheLastBytesOfOneEventIsRead) {
  ASSERT_NO_FATAL_FAILURE(first_read_waits_for("abc"));
  start_read();  // waits: the socket is drained
  io_.restart();
  io_.poll();
  ASSERT_FALSE(result_);
  send("last");
  peer_.shutdown(tcp::socket::shutdown_send);  // both before the loop looks again
  ASSERT_TRUE(finish_read());
  EXPECT_EQ(got(), "last");
  start_read();
  ASSERT_TRUE(finish_read()) << "the end of stream was never reported";
  EXPECT_EQ(result_->ec, asio::error::eof);
}

TEST_F(ReadSomeTest, EndOfStreamSeenByTheLoopWhileNoReadWaitsIsRead) {
  ASSERT_NO_FATAL_FAILURE(first_read_waits_for("abc"));
  send("last");
  peer_.shutdown(tcp::socket::shutdown_send);
  io_.restart();
  io_.run_for(50ms);  // the loop takes the socket's event with no read waiting
  ASSERT_NO_FATAL_FAILURE(read_last_then_end_of_stream("last"));
}

// As above before the socket's first read (its registration for the peer's close comes
// with that read).
TEST_F(ReadSomeTest, EndOfStreamBeforeTheFirstReadIsRead) {
  send("only");
  peer_.shutdown(tcp::socket::shutdown_send);
  asio::steady_timer pause(io_, 50ms);  // work, so that the loop waits on epoll meanwhile
  pause.async_wait([](error_code) {});
  io_.restart();
  io_.run();  // the loop takes the socket's event with no read waiting
  ASSERT_NO_FATAL_FAILURE(read_last_then_end_of_stream("only"));
}

TEST_F(ReadSomeTest, ClosingTheSocketAbortsAWaitingRead) {
  start_read();
  io_.restart();
  io_.poll();
  ASSERT_FALSE(result_);
  socket_.close();
  ASSERT_TRUE(finish_read());
  EXPECT_EQ(result_->ec, asio::error::operation_aborted);
}

// KeptRead: one operation in the coroutine's frame for read after read (the session's
// hot path). Each read completes with what arrived, a drained socket is waited on
// without a recv that finds nothing, and the coroutine goes on after each.
TEST_F(ReadSomeTest, AKeptReadServesReadAfterRead) {
  std::vector<std::string> got;
  std::optional<error_code> last;
  spawn_kept_reader(got, last);
  io_.poll();
  EXPECT_TRUE(got.empty());
  const std::vector<std::string> sent{"one", "two", "three"};
  for (const std::string& bytes : sent) {
    const size_t had = got.size();
    int before = g_recv_calls.load();
    io_.restart();
    io_.poll();
    EXPECT_EQ(g_recv_calls.load(), before) << "a recv that could only find nothing";
    send(bytes);
    run_until([&] { return got.size() != had; });
    EXPECT_EQ(g_recv_calls.load(), before + 1) << "one recv, when epoll said data is there";
  }
  EXPECT_EQ(got, sent);
  peer_.shutdown(tcp::socket::shutdown_send);
  ASSERT_TRUE(run_until([&] { return last.has_value(); }));
  EXPECT_EQ(*last, asio::error::eof);
}

// The kept read, as EndOfStreamBehindTheLastBytesOfOneEventIsRead.
TEST_F(ReadSomeTest, AKeptReadSeesEndOfStreamBehindTheLastBytesOfOneEvent) {
  std::vector<std::string> got;
  std::optional<error_code> last;
  spawn_kept_reader(got, last);
  io_.poll();
  send("first");
  ASSERT_TRUE(run_until([&] { return got.size() == 1; }));
  io_.restart();
  io_.poll();  // the next read waits
  send("last");
  peer_.shutdown(tcp::socket::shutdown_send);
  ASSERT_TRUE(run_until([&] { return last.has_value(); })) << "the end of stream was never reported";
  EXPECT_EQ(got, (std::vector<std::string>{"first", "last"}));
  EXPECT_EQ(*last, asio::error::eof);
}

TEST_F(ReadSomeTest, ClosingTheSocketAbortsAWaitingKeptRead) {
  const auto services = read_op_detail::services_for(io_);
  std::optional<error_code> got;
  asio::co_spawn(io_, [&]() -> awaitable<void> {
    KeptRead read;
    co_await read.on(socket_, asio::buffer(buf_), services);
    got = std::get<0>(read.result());
  }, asio::detached);
  io_.poll();
  ASSERT_FALSE(got);
  socket_.close();
  io_.restart();
  io_.run_for(100ms);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, asio::error::operation_aborted);
}

// The waiting read holds the coroutine's frames, which hold the read: an io_context
// destroyed then must free them all, as it frees a coroutine awaiting Asio's own read.
TEST(KeptReadContextTest, DestroyingTheContextFreesACoroutineWaitingOnIt) {
  auto alive = std::make_shared<int>(0);
  std::weak_ptr<int> watch = alive;
  auto io = std::make_unique<asio::io_context>(1);
  std::optional<tcp::acceptor> acceptor(
      std::in_place, *io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::optional<tcp::socket> peer(std::in_place, *io);
  tcp::socket socket(*io);
  peer->connect(acceptor->local_endpoint());
  acceptor->accept(socket);
  const auto services = read_op_detail::services_for(*io);
  bool resumed = false;
  // The socket is the coroutine's (as a session's client socket is its frame's): it goes
  // with the frames, while the io_context's services are still there.
  asio::co_spawn(*io, [held = std::move(alive), socket = std::move(socket), &services,
                       &resumed]() mutable -> awaitable<void> {
    KeptRead read;
    char buf[8];
    co_await read.on(socket, asio::buffer(buf), services);
    resumed = true;
  }, asio::detached);
  io->poll();
  EXPECT_FALSE(watch.expired());  // the waiting coroutine holds it
  peer.reset();
  acceptor.reset();
  io.reset();
  EXPECT_TRUE(watch.expired()) << "the waiting coroutine was not freed";
  EXPECT_FALSE(resumed);
}

// The reactor lookup is cached per thread. A context made where an ended one was (the
// same address) must be served by its own reactor, not the ended one's.
TEST(ReadSomeContextTest, ReactorLookupFollowsANewContextAtTheSameAddress) {
  using read_op_detail::Reactor;
  std::optional<asio::io_context> io;
  io.emplace();
  const void* first_context = &*io;
  const void* first_reactor = nullptr;
  {
    tcp::socket socket(*io, tcp::v4());
    first_reactor = &read_op_detail::reactor_of(socket);
    EXPECT_EQ(first_reactor, &asio::use_service<Reactor>(*io));
  }
  io.reset();
  // Take the ended reactor's memory, so the next one is made elsewhere.
  std::vector<std::unique_ptr<char[]>> blockers;
  for (int i = 0; i < 16; ++i) blockers.emplace_back(new char[sizeof(Reactor)]);
  io.emplace();
  ASSERT_EQ(&*io, first_context);
  tcp::socket socket(*io, tcp::v4());
  Reactor* current = &asio::use_service<Reactor>(*io);
  ASSERT_NE(static_cast<const void*>(current), first_reactor) << "the test needs a new address";
  EXPECT_EQ(&read_op_detail::reactor_of(socket), current);

  // And reads work through it.
  tcp::acceptor acceptor(*io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket server(*io), peer(*io);
  peer.connect(acceptor.local_endpoint());
  acceptor.accept(server);
  char buf[16];
  std::optional<Result> result;
  read_some(server, asio::buffer(buf), [&](error_code ec, size_t n) { result = Result{ec, n}; });
  ASSERT_EQ(peer.send(asio::buffer(std::string("x"))), 1u);
  io->run_for(std::chrono::seconds(5));
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->ec);
  EXPECT_EQ(result->n, 1u);
}

}  // namespace
}  // namespace pgmux

namespace pgmux {
namespace {

// A coroutine awaiting a read of a socket of its own io_context is resumed by the read's
// completion directly; one awaiting a socket of another io_context (run by another
// thread) must still be resumed on its own thread.
TEST(ReadSomeContextTest, ACoroutineIsResumedOnItsOwnThreadWhateverContextTheSocketIsIn) {
  asio::io_context own(1), other(1);
  auto other_guard = asio::make_work_guard(other);
  std::thread other_thread([&] { other.run(); });
  tcp::acceptor acceptor(own, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket local(own), local_peer(own);
  local_peer.connect(acceptor.local_endpoint());
  acceptor.accept(local);
  tcp::socket foreign(other), foreign_peer(own);
  foreign_peer.connect(acceptor.local_endpoint());
  acceptor.accept(foreign);
  ASSERT_EQ(local_peer.send(asio::buffer(std::string("a"))), 1u);
  ASSERT_EQ(foreign_peer.send(asio::buffer(std::string("b"))), 1u);

  std::thread::id own_thread = std::this_thread::get_id();
  std::thread::id after_local, after_foreign;
  std::string got;
  char buf[8];
  asio::co_spawn(own, [&]() -> awaitable<void> {
    auto [ec1, n1] = co_await read_some(local, asio::buffer(buf), deferred_nothrow);
    after_local = std::this_thread::get_id();
    got.append(buf, n1);
    auto [ec2, n2] = co_await read_some(foreign, asio::buffer(buf), deferred_nothrow);
    after_foreign = std::this_thread::get_id();
    got.append(buf, n2);
  }, asio::detached);
  own.run_for(5s);
  other_guard.reset();
  other.stop();
  other_thread.join();
  EXPECT_EQ(got, "ab");
  EXPECT_EQ(after_local, own_thread);
  EXPECT_EQ(after_foreign, own_thread) << "resumed on the socket's thread, not its own";
}

}  // namespace
}  // namespace pgmux
