// The Session class: one client connection from accept to close. Private to the
// session module. A Session lives on one worker thread; only that thread touches it.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "pgmux/backend/server_connection.hpp"
#include "pgmux/protocol/messages.hpp"
#include "pgmux/session/runtime.hpp"
#include "pgmux/util/buffer.hpp"

namespace pgmux::session {

// How the attached phase (a server serving this client) ended.
enum class PumpEnd {
  kReleased,          // transaction over, server clean: give it back
  kClientGone,        // client closed or reset the connection
  kClientTerminated,  // client sent Terminate
  kClientError,       // client broke the protocol; it was sent a FATAL error
  kServerGone,        // server connection failed
  kInterrupted,       // shutdown asked the session to stop while it was clean
};

class Session {
 public:
  Session(tcp::socket socket, Worker& worker);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  awaitable<void> run();
  void request_shutdown();
  void force_close();

 private:
  // ---- login (login.cpp) ----
  awaitable<bool> login();
  awaitable<bool> read_startup(protocol::StartupPacket& packet);
  awaitable<void> handle_cancel_request(const protocol::StartupPacket& packet);
  awaitable<bool> authenticate(const config::UserConfig* user, const std::string& user_name);
  awaitable<bool> authenticate_scram(const config::UserConfig* user, const std::string& user_name);
  awaitable<bool> authenticate_md5(const config::UserConfig& user);
  awaitable<std::optional<std::string_view>> read_password_message();
  awaitable<bool> finish_login();
  // Takes user, database and GUCs from the startup packet; false after a FATAL.
  awaitable<bool> take_startup_params(const protocol::StartupPacket& packet);
  bool needs_login_sync() const;

  // ---- serving (session.cpp) ----
  awaitable<void> serve();
  awaitable<bool> read_client_message_header();
  // Gets a server for this client (idle, new, or after waiting). The error, if any,
  // is worded for the client.
  awaitable<std::optional<protocol::ErrorFields>> acquire_server();
  awaitable<std::optional<protocol::ErrorFields>> open_server();
  // Brings the server's parameters in line with the client's (SET/RESET).
  awaitable<std::optional<protocol::ErrorFields>> sync_params();
  awaitable<PumpEnd> attached();
  awaitable<PumpEnd> client_to_server();
  awaitable<PumpEnd> server_to_client();
  size_t scan_client(std::string_view data, bool& terminate, std::string& error);
  size_t scan_server(std::string_view data, bool& saw_ready, bool& bad);
  bool server_clean() const;
  void release_server();
  void drop_server();
  awaitable<void> finish_server(PumpEnd end);
  awaitable<bool> drain_server();
  awaitable<bool> discard_answers();
  awaitable<void> reject_request(const protocol::ErrorFields& error);

  // ---- helpers ----
  awaitable<bool> write_client(std::string_view data);
  awaitable<void> send_fatal(std::string_view sqlstate, std::string message);
  std::string client_desc() const;

  tcp::socket client_;
  Worker& worker_;
  Runtime& runtime_;
  std::shared_ptr<const config::Config> config_;
  std::string peer_;  // client address for logs

  util::Buffer cin_;  // bytes from the client not yet forwarded
  std::string out_;   // messages pgmux itself writes

  std::string user_;
  std::string database_;
  std::shared_ptr<PoolEntry> entry_;
  backend::ParamMap desired_;  // parameter values this client's session should see
  backend::ParamMap startup_gucs_;  // settings from the startup packet (canonical names)
  std::map<std::string, std::string> baseline_;  // a fresh server's ParameterStatus values
  std::shared_ptr<class SessionWaiter> waiter_;
  std::optional<protocol::ErrorFields> pending_fatal_;  // sent once the attached phase ends
  std::shared_ptr<CancelTarget> cancel_target_;
  uint32_t key_pid_ = 0;
  uint32_t key_secret_ = 0;
  bool logged_in_ = false;

  // Attached phase state.
  std::unique_ptr<backend::ServerConnection> server_;
  int outstanding_ = 0;      // Query/Sync/FunctionCall sent without their ReadyForQuery
  size_t c_remaining_ = 0;   // bytes left of the client message being forwarded
  size_t s_remaining_ = 0;   // bytes left of the server message being forwarded
  bool a_busy_ = false;      // client->server write in progress
  bool releasing_ = false;   // the attached phase is ending
  bool shutdown_ = false;
  bool idle_ = false;        // waiting for the client with no server
};

}  // namespace pgmux::session
