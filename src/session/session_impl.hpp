// The Session class: one client connection from accept to close. Private to the
// session module. A Session lives on one worker thread; only that thread touches it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <unordered_map>
#include <vector>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

#include "pgmux/admin/command.hpp"
#include "pgmux/backend/server_connection.hpp"
#include "pgmux/protocol/messages.hpp"
#include "pgmux/session/runtime.hpp"
#include "pgmux/sql/lexer.hpp"
#include "pgmux/util/buffer.hpp"
#include "pgmux/util/fifo.hpp"

namespace pgmux::session {

// How much a read of a client or server socket asks room for.
constexpr size_t kReadChunk = 16 * 1024;

// The first words of a Query that pgmux acts on: `SET`/`RESET pgmux.route`, answered
// by pgmux at idle (answer_route_setting), and the statements a pool mode refuses
// (refusal_for). Every Query is looked at once with all of them (kActedOnWords): a
// Query led by none of them skips both checks.
inline constexpr sql::LeadingKeywords kRouteSettingWords("SET", "RESET");
inline constexpr sql::LeadingKeywords kRefusedWords("PREPARE", "EXECUTE", "DEALLOCATE",
                                                    "LISTEN", "BEGIN", "START");
inline constexpr sql::LeadingKeywords kActedOnWords("SET", "RESET", "PREPARE", "EXECUTE",
                                                    "DEALLOCATE", "LISTEN", "BEGIN", "START");
static_assert(kActedOnWords.covers(kRouteSettingWords) && kActedOnWords.covers(kRefusedWords));

// An ErrorResponse's fields (session.cpp).
protocol::ErrorFields error_fields(std::string_view severity, std::string_view code,
                                   std::string message);

// How the attached phase (a server serving this client) ended.
enum class PumpEnd {
  kReleased,          // transaction over, server clean: give it back
  kClientGone,        // client closed or reset the connection
  kClientTerminated,  // client sent Terminate
  kClientError,       // client broke the protocol; it was sent a FATAL error
  kServerGone,        // server connection failed
  kInterrupted,       // shutdown asked the session to stop while it was clean
};

// Wakes a session waiting for a server (or a RESUME): the session parks in `slot`, and
// wake() unparks it. On the session's own thread that is done at once: a session queues
// itself and parks without yielding to anything else on its thread, so a wake from there
// (a server released by a neighbour, the usual case) finds the wait it is meant for, or
// none. From another thread the unpark goes through the worker's mailbox; the generation
// check keeps such a late wake from ending a later wait.
//
// The wait's deadline (query_wait_timeout) is kept by a timer that is not armed and
// cancelled per wait (that was most of a wait's cost): once armed it runs across waits,
// and is armed again only for an earlier deadline, or when it fires while a later one
// is pending. When it fires past the deadline of the wait in progress, that wait ends
// with timed_out.
class SessionWaiter : public pool::Waiter, public std::enable_shared_from_this<SessionWaiter> {
 public:
  explicit SessionWaiter(Worker& worker)
      : executor(worker.io.get_executor()),
        slot(worker.io),
        mailbox_(worker.mailbox),
        deadline_timer_(worker.io) {}
  void wake() override {
    if (executor.running_in_this_thread()) {
      slot.unpark();
      return;
    }
    uint64_t g = generation.load();
    mailbox_.post([self = shared_from_this(), g] {
      if (self->generation.load() == g) self->slot.unpark();
    });
  }
  // Call before parking: the wait ends by `deadline` at the latest.
  void end_by(pool::Clock::time_point deadline);

  const asio::io_context::executor_type executor;
  ParkingSlot slot;
  std::atomic<uint64_t> generation{0};

 private:
  void on_deadline(uint64_t arming);
  backend::Mailbox& mailbox_;
  pool::Clock::time_point deadline_{};
  asio::steady_timer deadline_timer_;
  bool armed_ = false;
  pool::Clock::time_point armed_for_{};
  uint64_t armings_ = 0;
};

// The session's side of a server it keeps between transactions (pool::Holder). The
// pool's reclaim comes to the session through its worker's mailbox, if the session is
// still there (`session` is cleared when it ends; both on the session's worker).
class SessionHolder : public pool::Holder, public std::enable_shared_from_this<SessionHolder> {
 public:
  SessionHolder(Session& owner, backend::Mailbox& mailbox) : session(&owner), mailbox_(mailbox) {}
  void reclaim() override;
  Session* session;

 private:
  backend::Mailbox& mailbox_;
};

// What a session needs only while it serves a request (waiting for a server, attached,
// giving the server back). Taken from a per-thread free list when a request starts and
// given back when the session goes idle: an idle client holds none, and a request
// allocates nothing. Only the session's worker thread touches it.
struct RequestState {
  explicit RequestState(const asio::any_io_executor& ex) : kick(ex) {}
  // Empties it for the next request, keeping small capacities.
  void clear() {
    pending_fatal.reset();
    retry_input.clear();
    if (retry_input.capacity() > kMaxKeptRetryCapacity) std::string().swap(retry_input);
    gather.clear();
    gather_out.clear();
    statement_text.clear();
    statement_name.clear();
    statement_in_input = {};
    statement_more = 0;
  }
  static constexpr size_t kMaxKeptRetryCapacity = 1 << 16;

  // Wakes client_to_server when an answer went out.
  asio::steady_timer kick;
  std::shared_ptr<SessionWaiter> waiter;               // made on the first wait
  std::optional<protocol::ErrorFields> pending_fatal;  // sent once the attached phase ends
  std::string retry_input;  // client bytes sent to a replica, while none came back
  std::vector<asio::const_buffer> gather;      // client -> server pieces
  std::vector<asio::const_buffer> gather_out;  // server -> client pieces
  std::string statement_text;  // slow-query log: first statement of the running request
  std::string statement_name;  // ... or the client's prepared statement it executes
  // A Query's text where it still is, in the session's client input (cin_): copied into
  // statement_text only when a slow query is logged, or before cin_ is written again
  // (Session::client_room, keep_statement_text), whichever comes first.
  std::string_view statement_in_input;
  // Bytes of that statement's text (up to the log's limit) still to come: a message
  // forwarded while it arrives, whose later parts are appended as they pass.
  size_t statement_more = 0;
};

// The client's `pgmux.route` setting.
enum class RouteOverride : uint8_t { kAuto, kPrimary, kReplica };
std::optional<RouteOverride> route_override_from(std::string_view value);

class Session {
 public:
  Session(tcp::socket socket, Worker& worker);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Serves one client connection until it ends (run_session). The Session lives in this
  // coroutine's frame; after the login, serve_client() serves the requests and waits
  // for the next: an idle client holds these two frames and no other. (`socket` comes
  // through the heap: a socket parameter would stay in the frame, moved-from, for the
  // session's life.)
  static awaitable<void> run(std::unique_ptr<tcp::socket> socket, Worker& worker);
  void request_shutdown();
  void force_close();
  // Cancels the pending operations on the client's socket and on the server's, if any
  // (a login past its deadline).
  void cancel_io();

  // For SHOW CLIENTS / SHOW SERVERS (worker thread only).
  metrics::ClientSnapshot describe() const;
  // The server this client holds, if any.
  std::optional<metrics::ServerSnapshot> describe_server() const;
  const std::string& database() const { return database_; }
  // KILL: closes the client connection; the server it holds is closed, not reused.
  void kill();

 private:
  // ---- login (login.cpp) ----
  // Login, or the admin console for its clients; true when requests are served next.
  awaitable<bool> start();
  awaitable<bool> login();
  awaitable<bool> read_startup(protocol::StartupPacket& packet);
  awaitable<void> handle_cancel_request(const protocol::StartupPacket& packet);
  awaitable<bool> authenticate(const config::UserConfig* user, const std::string& user_name);
  awaitable<bool> authenticate_scram(const config::UserConfig* user, const std::string& user_name);
  awaitable<bool> authenticate_md5(const config::UserConfig& user);
  awaitable<std::optional<std::string_view>> read_password_message();
  // Reads until cin_ holds one whole message; nullopt after a FATAL (malformed message)
  // or when the client left. It asks cin_ for no more room than the message needs.
  awaitable<std::optional<protocol::Header>> read_login_message(uint32_t max_length);
  // `gucs`: the settings from the startup packet (login() holds them); given the
  // server's spelling of their names here.
  awaitable<bool> finish_login(backend::ParamMap& gucs);
  // Takes user, database and GUCs from the startup packet; false after a FATAL.
  awaitable<bool> take_startup_params(const protocol::StartupPacket& packet,
                                      backend::ParamMap& gucs);
  bool needs_login_sync(const backend::ParamMap& gucs) const;

  // ---- serving (session.cpp) ----
  // What the buffered client bytes call for next. kAnswer and kFatal: out_ holds what
  // to send (an answer pgmux gives itself, a FATAL error).
  enum class ClientStep { kRequest, kAnswer, kRead, kEnd, kFatal };
  ClientStep client_step();
  // A read while waiting for the client: where it lands, then taking in what it read
  // (false when the session should end).
  asio::mutable_buffer begin_idle_read();
  bool end_idle_read(std::tuple<error_code, size_t> result);
  // The request state, taken from the thread's free list if the session holds none.
  RequestState& request() { return request_ ? *request_ : take_request(); }
  RequestState& take_request();
  void release_request();
  SessionWaiter& waiter() {
    RequestState& r = request();
    return r.waiter ? *r.waiter : make_waiter();
  }
  SessionWaiter& make_waiter();
  // Gets a server for this client (servers.cpp, as are release_server() and the other
  // ways a server is given back): checkout_now() takes an idle one if the pool has
  // it, acquire_server() goes on from the pool's answer otherwise (waiting, or opening a
  // new one). The error, if any, is worded for the client.
  std::optional<pool::Checkout> checkout_now(pool::Clock::time_point now);
  bool move_server_here();
  bool take_server(std::unique_ptr<pool::PooledServer> server, pool::Clock::time_point now);
  // A server idle for a while may have been closed by PostgreSQL (or have sent
  // something unasked): one MSG_PEEK tells. Just-released ones skip the syscall. False:
  // it was closed, and is dropped.
  bool open_after_idle(pool::Clock::time_point now) {
    return now - server_->idle_since <= kIdleCheckAfter || still_open();
  }
  bool still_open();
  awaitable<std::optional<protocol::ErrorFields>> acquire_server(pool::Checkout got);
  awaitable<std::optional<protocol::ErrorFields>> acquire_server();
  // A wait for a server (serve_client's and acquire_server's), in steps around
  // `co_await begin_wait(asked).park(...)` (it times out query_wait_timeout after
  // `asked`): after_park then says whether a server was taken (end_wait: what the pool
  // has now), the wait ended with nothing (timeout, shutdown), or `got` is what to go on
  // with (a connect slot, a failure, a wait again).
  ParkingSlot& begin_wait(pool::Clock::time_point asked);
  pool::Checkout end_wait(pool::Clock::time_point woke);
  enum class AfterPark { kTaken, kEmpty, kGoOn };
  AfterPark after_park(pool::Checkout& got, pool::Clock::time_point woke);
  protocol::ErrorFields wait_ended_empty() const;
  awaitable<std::optional<protocol::ErrorFields>> open_server();
  // Brings the server's parameters in line with the client's (SET/RESET). False after
  // a failure (server dropped, FATAL sent).
  awaitable<bool> sync_params();
  // The attached phase (attached.cpp): begin_attached(), then serve_client()'s relay in
  // transaction and statement mode, full_duplex() in session mode and where the relay
  // hands over.
  void begin_attached();
  awaitable<PumpEnd> full_duplex();
  // The steps of both, each a plain function around one awaited read or write:
  // client_batch() scans cin_ into a Batch (what to send: segments_to_send(); a
  // Batch is filled in place, not returned: moving its string costs), client_sent() takes
  // the sent bytes out of cin_; server_batch() and server_sent() the same for the
  // server's buffer (runs_to_send()); client_read() and server_read() take in a read.
  struct Batch {
    size_t used = 0;
    bool terminate = false;  // client: Terminate; server: a malformed message
    bool saw_ready = false;
    std::string error;
    void reset() {
      used = 0;
      terminate = saw_ready = false;
      error.clear();
    }
  };
  void client_batch(Batch& batch);
  std::optional<PumpEnd> client_sent(Batch& batch);
  void server_batch(Batch& batch);
  std::optional<PumpEnd> server_sent(const Batch& batch);
  std::optional<PumpEnd> client_read(std::tuple<error_code, size_t> result);
  std::optional<PumpEnd> server_read(std::tuple<error_code, size_t> result);
  awaitable<std::optional<PumpEnd>> forward_client();
  awaitable<std::optional<PumpEnd>> forward_server();
  awaitable<std::optional<PumpEnd>> read_client();
  awaitable<std::optional<PumpEnd>> read_server();
  awaitable<PumpEnd> client_to_server();
  awaitable<PumpEnd> server_to_client();
  std::vector<asio::const_buffer>& segments_to_send();
  std::vector<asio::const_buffer>& runs_to_send(const char* base);
  // The relay's sends: segments_ to the server, runs_ (of `base`) to the client, as much
  // as the socket takes now (one piece, the usual case, without building a list). What
  // is left to write (for write_rest), or null when all went (or `ec` says it failed).
  std::vector<asio::const_buffer>* send_segments(error_code& ec);
  std::vector<asio::const_buffer>* send_runs(const char* base, error_code& ec);
  std::optional<PumpEnd> transaction_end();
  // ---- forwarding (forwarding.cpp) ----
  // Walks client bytes: counts requests, renames prepared statements, replaces
  // statements pooling cannot serve. Fills segments_/scratch_ with what to send and
  // returns how many bytes of `data` it used.
  size_t scan_client(std::string_view data, bool& terminate, std::string& error);
  // Walks server bytes: transaction status, parameters, replies to injected messages.
  // Fills runs_ with what to forward and returns how many bytes it used.
  size_t scan_server(std::string_view data, bool& saw_ready, bool& bad);
  // Result of looking at one client message that may need rewriting.
  struct Rewrite {
    enum Kind { kPass, kNeedMore, kReplace } kind = kPass;
    size_t consumed = 0;  // original bytes replaced (kReplace)
    size_t stream = 0;    // original body bytes after them that pass unchanged
    size_t skip = 0;      // original bytes not yet received that must be dropped
  };
  Rewrite rewrite_client_message(std::string_view at, const protocol::Header& header);
  Rewrite rewrite_parse(std::string_view body, size_t wire_size);
  Rewrite rewrite_bind(std::string_view at, const protocol::Header& header);
  Rewrite rewrite_target(std::string_view body, char type, size_t wire_size);
  Rewrite rewrite_query(std::string_view at, const protocol::Header& header);
  void ensure_prepared(const std::string& server_name, const std::string& parse_message);
  void make_room();
  void expect_reply(char type, bool swallow, const std::string& name, bool had_before,
                    const std::string& client_name = {});
  void drop_failed_replies();
  void on_command_complete(std::string_view tag);
  bool answer_locally();
  // The value the client's session should show for `name`, or null.
  const std::string* wanted(std::string_view name) const;
  void set_wanted(const std::string& name, const std::string& value);

  // ---- routing (routing.cpp) ----
  std::optional<bool> request_is_read_only();
  bool statement_read_only(std::string_view query) const;
  std::shared_ptr<PoolEntry> choose_entry(bool read_only);
  bool answer_route_setting(const protocol::Header& header);
  bool notes_writes() const;
  awaitable<void> note_write();
  // Picks the node for the buffered request (false: reads have nowhere to go), then
  // gets a server there (falling back from a failing replica); the error is worded
  // for the client.
  bool pick_node(bool read_only);
  protocol::ErrorFields no_replica_error() const;
  awaitable<std::optional<protocol::ErrorFields>> route_and_acquire(bool read_only,
                                                                    pool::Checkout got);
  enum class Next { kContinue, kEnd };
  awaitable<void> serve_client();
  awaitable<bool> acquire_later(bool read_only, std::optional<pool::Checkout>& got,
                                pool::Clock::time_point asked, bool ended_empty);
  void note_wait(pool::Clock::duration waited);
  void retry_elsewhere();
  awaitable<Next> end_request(PumpEnd end, bool read_only);
  awaitable<bool> read_client_more();
  void forget_replies();
  awaitable<void> read_back_settings();
  bool server_clean() const;
  void release_server(pool::Clock::time_point now = pool::Clock::now());
  bool reusable(const backend::ServerConnection& server) const;
  // At the end of a transaction (transaction and statement mode): keeps the server in
  // held_ for the client's next one while no client waits (pool::Pool::hold), else
  // release_server(). The next request takes it up again (take_held: serve_client's,
  // and checkout_now's for any other way to a server) unless the pool reclaimed it
  // meanwhile (on_reclaim gives it back at once).
  void hold_or_release_server(pool::Clock::time_point now) {
    if (!entry_->pool.may_hold() || !hold_server(now)) release_server(now);
  }
  bool hold_server(pool::Clock::time_point now);
  // The held server for this request: false when the pool reclaimed it (it is given
  // back here) or it turned out closed (dropped). Inline: once per transaction.
  bool take_held(pool::Clock::time_point now) {
    if (!entry_->pool.unhold(*holder_)) {
      give_back_held();
      return false;
    }
    server_ = std::move(held_);
    return open_after_idle(now);
  }
  // Gives held_ back to its pool (closed when `close`, or when it may not be reused).
  void give_back_held(bool close = false);
  friend class SessionHolder;
  void on_reclaim();
  void drop_server();
  awaitable<void> finish_server(PumpEnd end);
  awaitable<bool> drain_server();
  awaitable<bool> discard_answers();
  awaitable<void> reject_request(const protocol::ErrorFields& error);

  // ---- accounting (accounting.cpp): metrics, SHOW figures, slow-query log ----
  // Makes `entry` the session's current pool (moves the clients gauge).
  void set_entry(std::shared_ptr<PoolEntry> entry);
  // A request (Query/Sync/FunctionCall) went to the server.
  void note_request_sent();
  // A ReadyForQuery came back with transaction status `status`.
  void note_ready(char status);
  // An ErrorResponse came back (its body).
  void note_error(std::string_view body);
  // The first statement of a request, for the slow-query log (Query, Parse or Bind).
  // `body`: what is here of a message whose body is `body_length` bytes.
  void note_statement(char type, std::string_view body, size_t body_length);
  void note_statement_more(std::string_view part);
  void log_slow_query(std::chrono::nanoseconds took);
  // Copies a Query's text still in cin_ (RequestState::statement_in_input) into
  // statement_text: before anything writes to cin_ again.
  void keep_statement_text() {
    if (request_ && !request_->statement_in_input.empty()) copy_statement_text();
  }
  void copy_statement_text();
  // Room in cin_ for a read of the client (read_room), the statement text kept first.
  asio::mutable_buffer client_room(size_t n) {
    keep_statement_text();
    return read_room(cin_, n);
  }
  // Waits while the session's database is PAUSEd. When query_wait_timeout passes (or
  // shutdown begins) first, refuses the request and says what serve_client does next.
  awaitable<std::optional<Next>> wait_while_paused();
  // The admin console, for clients of config.admin.database (admin_console.cpp).
  awaitable<void> serve_admin();
  awaitable<bool> finish_admin_login();
  awaitable<void> run_admin_command(const std::string& text);
  awaitable<util::Status> execute_admin(const admin::Command& command);
  awaitable<void> show_admin(admin::Command::Kind kind);
  awaitable<util::Status> admin_pause(const std::string& database);
  util::Status admin_resume(const std::string& database);
  awaitable<util::Status> admin_kill(const std::string& database);
  util::Status admin_reconnect(const std::string& database);

  // ---- helpers ----
  awaitable<bool> write_client(std::string_view data);
  awaitable<void> send_fatal(std::string_view sqlstate, std::string message);
  void count_auth_failure();
  // Puts a FATAL ErrorResponse in out_ (in place of what it held).
  void put_fatal(std::string_view sqlstate, std::string message);

  tcp::socket client_;
  Worker& worker_;
  Runtime& runtime_;
  std::shared_ptr<const config::Config> config_;
  std::string peer_;  // client address for logs
  // Set when the client asked for TLS and got 'S': client_ is then the session's end of
  // the TLS relay's socket pair (tls.hpp).
  std::shared_ptr<backend::TlsState> tls_;

  util::Buffer cin_;  // bytes from the client not yet forwarded
  // cin_'s memory while it holds no block: where an idle client's next read and the
  // login's messages land, so neither takes a buffer block.
  std::array<char, 256> cin_storage_;
  std::string out_;   // messages pgmux itself writes

  std::string user_;
  std::string database_;
  std::shared_ptr<PoolGroup> group_;  // primary and replica pools of (database, user)
  std::shared_ptr<PoolEntry> entry_;  // the pool in use: the primary's or a replica's
  size_t next_replica_ = 0;
  std::optional<pool::Clock::time_point> last_write_;
  uint64_t client_lsn_ = 0;      // read_your_writes: lsn — WAL position of the last write
  // The client's settings that differ from baseline_ (or that baseline_ lacks): what
  // its session should show is baseline_ overridden by these.
  // The client's changes to the baseline, interned (backend::intern_params): a server
  // synced with equal settings holds the same pointer.
  std::shared_ptr<const backend::ParamMap> changes_ = backend::intern_params({});
  // A fresh server's ParameterStatus values (shared by the pool's sessions).
  std::shared_ptr<const pool::Pool::Params> baseline_;
  std::unique_ptr<RequestState> request_;  // while serving a request
  std::shared_ptr<CancelTarget> cancel_target_;
  uint32_t key_pid_ = 0;
  uint32_t key_secret_ = 0;

  // Prepared statements (transaction/statement mode): the client's names -> pgmux's
  // content-addressed server names and the Parse that creates them.
  struct Statement {
    std::string server_name;
    std::string parse_message;
    bool read_only = false;  // may run on a replica
  };
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, Statement, NameHash, std::equal_to<>> statements_;
  // Replies to Parse/Close messages sent, in order: which to hide from the client and
  // how to undo their assumed effect when the server skips them after an error.
  struct PendingReply {
    char type;                // '1' (ParseComplete) or '3' (CloseComplete)
    uint64_t epoch;           // requests (Sync/Query) sent before it
    bool swallow;             // injected by pgmux: the client never asked for it
    bool had_before;          // was `name` prepared on the server before this message
    std::string name;         // server statement affected; empty when none
    std::string client_name;  // client statement created by this Parse; empty when none
  };
  util::Fifo<PendingReply> replies_;
  uint64_t sent_epoch_ = 0;
  uint64_t recv_epoch_ = 0;

  // Output assembly: what to send to the server (pieces of cin_ and of scratch_), and
  // which runs of the server's buffer go to the client.
  struct Segment {
    bool scratch;
    size_t offset;
    size_t length;
  };
  std::vector<Segment> segments_;
  std::string scratch_;
  std::vector<std::pair<size_t, size_t>> runs_;
  size_t c_skip_ = 0;  // bytes of a replaced client message still to drop
  // The Query at the head of cin_ that client_step found led by none of kActedOnWords,
  // or null: rewrite_query skips its refusal check for it. Set by client_step for its
  // request only, cleared by the next client_step and by every scan_client.
  const char* plain_query_ = nullptr;

  // Attached phase state.
  std::unique_ptr<backend::ServerConnection> server_;
  // Between transactions: the last server, kept while no client waits (entry_'s pool
  // counts it idle). Never at once with server_.
  std::unique_ptr<backend::ServerConnection> held_;
  std::shared_ptr<SessionHolder> holder_;  // made on the first hold
  size_t c_remaining_ = 0;   // bytes left of the client message being forwarded
  size_t s_remaining_ = 0;   // bytes left of the server message being forwarded

  // Accounting.
  metrics::PoolShard* shard_ = nullptr;  // entry_'s counters for this worker
  pool::Clock::time_point query_at_{};   // oldest unanswered request sent (epoch: none)
  pool::Clock::time_point xact_at_{};    // current transaction's first request (epoch: none)
  std::chrono::system_clock::time_point connected_at_;
  pool::Clock::time_point request_at_{};  // steady: one clock read per request
  // Clock readings passed between steps of one handler run (no await in between), so a
  // round trip reads the clock twice, not four times: serve_client's reading at the
  // checkout for the request's send (note_request_sent), note_ready's for the release.
  // Zero when there is none; never read after an await.
  pool::Clock::time_point send_clock_{};
  pool::Clock::time_point ready_clock_{};

  int outstanding_ = 0;      // Query/Sync/FunctionCall sent without their ReadyForQuery
  // Flags, together to save padding.
  RouteOverride route_ = RouteOverride::kAuto;
  bool retry_capture_ = false;  // retry_input holds what was sent (a read on a replica)
  bool rename_ = false;        // transaction/statement mode with max_prepared_statements > 0
  bool pooled_ = false;        // transaction or statement mode
  bool params_dirty_ = false;
  bool auth_failure_counted_ = false;  // the client ran SET/RESET/DISCARD in this transaction
  bool unsynced_ = false;    // extended-protocol messages sent after the last Sync
  bool a_busy_ = false;      // client->server write in progress
  bool releasing_ = false;   // the attached phase is ending
  bool answered_ = false;    // the server sent something since the client was last read
  bool copy_in_ = false;     // COPY FROM STDIN: the server waits for the client's data
  bool waiting_for_answer_ = false;  // client_to_server waits on the kick timer
  bool shutdown_ = false;
  bool idle_ = false;        // waiting for the client with no server
  bool killed_ = false;      // KILL: the server is closed, not given back
  bool waiting_ = false;     // waiting for a server (or a RESUME)
  bool admin_ = false;          // a client of the admin console
  bool admin_full_ = false;     // an admin_users member (else SHOW only)
};

}  // namespace pgmux::session
