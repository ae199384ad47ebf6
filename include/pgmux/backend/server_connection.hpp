// Server connections: one logged-in PostgreSQL connection owned by a pool, and the
// coroutines that open it, run pgmux's own queries on it and cancel its queries.
// A ServerConnection is used by one session at a time, on one worker thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <optional>
#include <vector>

#include "pgmux/backend/asio.hpp"
#include "pgmux/backend/prepared_set.hpp"
#include "pgmux/backend/tls.hpp"
#include "pgmux/pool/pool.hpp"
#include "pgmux/protocol/framing.hpp"
#include "pgmux/util/buffer.hpp"
#include "pgmux/util/result.hpp"

namespace pgmux::backend {

using ParamMap = std::map<std::string, std::string, std::less<>>;

// The one shared, immutable copy of `map` in this process: two maps with the same contents
// interned give the same pointer (while either is held), so equal settings compare by
// address. Any thread (a mutex, taken when a client's settings change, not per request).
std::shared_ptr<const ParamMap> intern_params(ParamMap map);

// Where and as whom to log in.
struct ServerTarget {
  std::string host;
  uint16_t port = 5432;
  std::string dbname;
  std::string user;
  std::string password;  // empty: none (only trust works)
  // server_tls: the context to connect with (null: plain TCP), and whether TLS is a must
  // (else a server that answers the SSLRequest 'N' is talked to in plain text: prefer).
  TlsContextPtr tls;
  bool tls_required = false;

  std::string address() const { return host + ":" + std::to_string(port); }
};

class ServerConnection : public pool::PooledServer {
 public:
  explicit ServerConnection(tcp::socket socket) : socket_(std::move(socket)) {}

  tcp::socket& socket() { return socket_; }
  util::Buffer& in() { return in_; }

  // Workers' event loops run without per-descriptor locks: only a socket's own worker may
  // take it out of its loop. Released to a waiter on another worker, the connection leaves
  // its loop on the releasing thread (leave_worker); taken from another worker's idle list,
  // it goes on with a duplicate of the descriptor and the old socket is left for its
  // worker to close (close_moved_socket).
  //
  // Moves the (idle) connection to this thread's event loop (`executor`, worker
  // `new_worker`). Sets `left_behind` to the old socket when its worker must close it.
  // False when that failed (out of descriptors): the connection is unusable; destroy it
  // on its old worker.
  [[nodiscard]] bool move_to(const asio::any_io_executor& executor, unsigned new_worker,
                             std::unique_ptr<tcp::socket>& left_behind);
  void leave_worker() override;
  ~ServerConnection() override;
  // Registers the socket with its event loop afresh; on its worker's thread.
  void reregister();
  // Whether an idle connection still looks usable: nothing unread, not closed by the
  // server (one non-blocking MSG_PEEK).
  bool idle_check();

  // The server's current values: ParameterStatus + what pgmux SET. Changed only through
  // set_param()/erase_param()/erase_params_if(), which forget in_line_with().
  const ParamMap& params() const { return params_; }
  void set_param(std::string name, std::string value) {
    params_[std::move(name)] = std::move(value);
    in_line_with_.reset();
  }
  void erase_param(const std::string& name) {
    params_.erase(name);
    in_line_with_.reset();
  }
  template <class Pred>
  void erase_params_if(Pred pred) {
    std::erase_if(params_, pred);
    in_line_with_.reset();
  }
  // Whether these parameters were last found in line with a client's settings — the
  // pool's baseline and the client's changes to it (interned: intern_params) — and have
  // not changed since: then a client with the same settings has nothing to SET, and
  // skips comparing the maps. Two address comparisons.
  bool in_line_with(const ParamMap* baseline, const ParamMap* changes) const {
    return in_line_with_.get() == baseline && in_line_changes_.get() == changes;
  }
  // Both are held, so their addresses cannot be reused by other maps.
  void set_in_line_with(std::shared_ptr<const ParamMap> baseline,
                        std::shared_ptr<const ParamMap> changes) {
    in_line_with_ = std::move(baseline);
    in_line_changes_ = std::move(changes);
  }

  uint32_t backend_pid = 0;
  uint32_t backend_secret = 0;
  tcp::endpoint peer;
  char txn_status = 'I';
  PreparedSet prepared;     // statements pgmux prepared here (transaction/statement mode)

 private:
  tcp::socket socket_;
  int detached_fd_ = -1;  // the descriptor between leave_worker() and move_to()
  util::Buffer in_;
  ParamMap params_;
  std::shared_ptr<const ParamMap> in_line_with_;
  std::shared_ptr<const ParamMap> in_line_changes_;
};

// Connects and logs in (SCRAM-SHA-256, md5, cleartext or trust, as the server asks).
// Errors: 08006 when the server cannot be reached or the login times out, the server's
// own SQLSTATE when it refuses the login.
awaitable<util::Result<std::unique_ptr<ServerConnection>>> connect_server(
    const ServerTarget& target, std::chrono::milliseconds timeout, unsigned worker);

// Runs one simple-protocol query for pgmux itself (SET, ROLLBACK, DISCARD ALL) and
// reads through its ReadyForQuery, keeping `params`/`txn_status` current and
// discarding the results. An ErrorResponse becomes the returned error (the
// connection is still usable); I/O failure or timeout -> 08006 (connection unusable).
awaitable<util::Status> run_internal_query(ServerConnection& server, std::string_view sql,
                                           std::chrono::milliseconds timeout);

// Like run_internal_query, for a query returning one row: its values (nullopt: NULL).
awaitable<util::Result<std::vector<std::optional<std::string>>>> fetch_row(ServerConnection& server,
                                                            std::string_view sql,
                                                            std::chrono::milliseconds timeout);

// On the thread of the worker `socket` was moved away from (ServerConnection::move_to):
// takes it out of that worker's event loop and closes this duplicate of the descriptor.
void close_moved_socket(tcp::socket& socket);

// Sends a CancelRequest for (pid, secret) to `peer` on a new connection.
awaitable<void> send_cancel(tcp::endpoint peer, uint32_t pid, uint32_t secret,
                            std::chrono::milliseconds timeout);

// Reads until `buffer` holds one whole message (of at most `max_length`); returns its
// header. Not for the hot path.
awaitable<util::Result<protocol::Header>> read_message(tcp::socket& socket, util::Buffer& buffer,
                                                          uint32_t max_length);

}  // namespace pgmux::backend
