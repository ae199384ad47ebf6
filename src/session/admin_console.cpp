// The admin console: clients of config.admin.database talk to pgmux itself over the
// simple query protocol (SHOW ..., PAUSE, RESUME, RELOAD, KILL, RECONNECT, SHUTDOWN).
// Each command is audited. Runs on the session's worker thread; figures from other
// workers are collected on their own threads.
#include <spdlog/spdlog.h>

#include "pgmux/admin/audit.hpp"
#include "pgmux/admin/command.hpp"
#include "pgmux/admin/views.hpp"
#include "pgmux/protocol/sqlstate.hpp"
#include "session_impl.hpp"

namespace pgmux::session {
namespace sqlstate = protocol::sqlstate;
using Kind = admin::Command::Kind;

namespace {

constexpr uint32_t kMaxAdminMessage = 1u << 20;
constexpr std::chrono::milliseconds kPausePoll{10};

util::Error admin_error(std::string_view code, std::string message) {
  return util::Error{std::string(code), std::move(message)};
}

// Runs on `worker`'s thread: what its sessions show.
std::vector<metrics::ClientSnapshot> clients_on(Worker* worker) {
  std::vector<metrics::ClientSnapshot> out;
  for (Session* s : worker->sessions) {
    auto c = s->describe();
    if (!c.user.empty() && c.pid != 0) out.push_back(std::move(c));
  }
  return out;
}

std::vector<metrics::ServerSnapshot> servers_on(Worker* worker) {
  std::vector<metrics::ServerSnapshot> out;
  for (Session* s : worker->sessions) {
    if (auto server = s->describe_server()) out.push_back(std::move(*server));
  }
  return out;
}

// `collect(worker)` run on `worker`'s thread, its answer handed back to the awaiting
// coroutine on `home`'s thread: both ways through the workers' mailboxes.
template <class T>
awaitable<T> ask_worker(Worker& home, Worker* worker, T (*collect)(Worker*)) {
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(T)>(
      [&home, worker, collect](auto handler) {
        worker->mailbox.post([&home, worker, collect, handler = std::move(handler)]() mutable {
          home.mailbox.post([handler = std::move(handler), answer = collect(worker)]() mutable {
            std::move(handler)(std::move(answer));
          });
        });
      },
      asio::use_awaitable);
}

// Idle servers of every pool (read under each pool's lock).
std::vector<metrics::ServerSnapshot> idle_servers(Runtime& runtime) {
  std::vector<metrics::ServerSnapshot> out;
  auto now = pool::Clock::now();
  for (const auto& entry : runtime.pools()) {
    entry->pool.for_each_idle([&](const pool::PooledServer& p) {
      const auto& conn = static_cast<const backend::ServerConnection&>(p);
      metrics::ServerSnapshot s;
      s.user = entry->target.user;
      s.database = entry->database;
      s.node = entry->node->address;
      s.role = entry->node->replica ? "replica" : "primary";
      s.state = now - conn.idle_since > kIdleCheckAfter ? "used" : "idle";
      s.pid = conn.backend_pid;
      s.connect_time = wall_seconds(conn.created_at);
      s.idle_seconds = std::chrono::duration<double>(now - conn.idle_since).count();
      s.prepared_statements = static_cast<uint32_t>(conn.prepared.size());
      out.push_back(std::move(s));
    });
  }
  return out;
}

// Closes idle servers on the worker that owns each one.
void close_idle(Runtime& runtime, std::vector<std::unique_ptr<pool::PooledServer>> servers) {
  for (auto& server : servers) destroy_on_owner(runtime, std::move(server));
}

// The pools of `database` (every pool when empty).
std::vector<std::shared_ptr<PoolEntry>> pools_of(Runtime& runtime, const std::string& database) {
  auto pools = runtime.pools();
  if (!database.empty()) {
    std::erase_if(pools, [&](const auto& e) { return e->database != database; });
  }
  return pools;
}

bool servers_busy(const std::vector<std::shared_ptr<PoolEntry>>& pools) {
  for (const auto& e : pools) {
    auto s = e->pool.stats();
    if (s.total - s.idle - s.connecting > 0) return true;
  }
  return false;
}

}  // namespace

// After authentication as a user of admin.admin_users or admin.stats_users: the login
// reply of the console. Others are refused.
awaitable<bool> Session::finish_admin_login() {
  const auto& a = config_->admin;
  admin_full_ = std::find(a.admin_users.begin(), a.admin_users.end(), user_) != a.admin_users.end();
  bool stats = std::find(a.stats_users.begin(), a.stats_users.end(), user_) != a.stats_users.end();
  if (!admin_full_ && !stats) {
    co_await send_fatal(sqlstate::kInsufficientPrivilege,
                        "permission denied for the admin console: user \"" + user_ +
                            "\" is in neither admin.admin_users nor admin.stats_users");
    spdlog::warn("client {}: user \"{}\" refused by the admin console", peer_, user_);
    co_return false;
  }
  admin_ = true;
  out_.clear();
  protocol::write_auth_ok(out_);
  std::string version = "15.0 (pgmux " + runtime_.version + ")";
  std::pair<std::string_view, std::string_view> params[] = {
      {"server_version", version},
      {"server_encoding", "UTF8"},
      {"client_encoding", "UTF8"},
      {"DateStyle", "ISO, MDY"},
      {"integer_datetimes", "on"},
      {"standard_conforming_strings", "on"},
      {"application_name", "pgmux"},
  };
  for (auto [name, value] : params) protocol::write_parameter_status(out_, name, value);
  cancel_target_ = std::make_shared<CancelTarget>();  // never has a query to cancel
  std::tie(key_pid_, key_secret_) = runtime_.cancels().add(cancel_target_);
  protocol::write_backend_key_data(out_, key_pid_, key_secret_);
  protocol::write_ready_for_query(out_, 'I');
  spdlog::info("client {} logged in to the admin console as \"{}\"", peer_, user_);
  co_return co_await write_client(out_);
}

awaitable<void> Session::serve_admin() {
  bool skipping = false;  // after an extended-protocol message, until Sync
  for (;;) {
    idle_ = true;
    auto header = co_await backend::read_message(client_, cin_, kMaxAdminMessage);
    idle_ = false;
    if (!header) {
      if (header.error().code == sqlstate::kProtocolViolation) {
        co_await send_fatal(sqlstate::kProtocolViolation, header.error().message);
      }
      co_return;
    }
    std::string_view body = cin_.readable().substr(protocol::kHeaderSize, header->length - 4);
    out_.clear();
    switch (header->type) {
      case protocol::msg::kTerminate:
        co_return;
      case protocol::msg::kQuery: {
        if (!body.empty() && body.back() == '\0') body.remove_suffix(1);
        std::string text(body);
        cin_.consume(header->wire_size());
        co_await run_admin_command(text);
        protocol::write_ready_for_query(out_, 'I');
        break;
      }
      case protocol::msg::kSync:
        cin_.consume(header->wire_size());
        skipping = false;
        protocol::write_ready_for_query(out_, 'I');
        break;
      default: {
        cin_.consume(header->wire_size());
        if (skipping) continue;
        skipping = true;
        protocol::ErrorFields e;
        e.severity = "ERROR";
        e.sqlstate = std::string(sqlstate::kFeatureNotSupported);
        e.message = "the admin console accepts the simple query protocol only";
        protocol::write_error_response(out_, e);
        break;
      }
    }
    if (shutdown_ && out_.empty()) co_return;
    if (!co_await write_client(out_)) co_return;
    if (shutdown_) co_return;
  }
}

// Runs one console command, appends its reply (without ReadyForQuery) to out_, and
// audits it.
awaitable<void> Session::run_admin_command(const std::string& text) {
  auto command = admin::parse_command(text);
  util::Status done = util::Ok{};
  if (!command) {
    done = command.error();
  } else if (command->kind == Kind::kEmpty) {
    protocol::write_empty_query_response(out_);
    co_return;
  } else if (admin::requires_admin(command->kind) && !admin_full_) {
    done = admin_error(sqlstate::kInsufficientPrivilege,
                       "permission denied: only admin.admin_users may run " +
                           command->text.substr(0, command->text.find(' ')));
  } else {
    done = co_await execute_admin(*command);
  }
  runtime_.counters.admin_commands.fetch_add(1, std::memory_order_relaxed);
  admin::AuditEntry entry;
  entry.event = "admin_command";
  entry.user = user_;
  entry.client = peer_;
  entry.command = command ? command->text : text;
  entry.result = done ? "ok" : admin::audit_error(done.error());
  if (auto audit = runtime_.audit()) audit->write(entry);
  if (!done) {
    protocol::ErrorFields e;
    e.severity = "ERROR";
    e.sqlstate = done.error().code;
    e.message = done.error().message;
    protocol::write_error_response(out_, e);
  }
}

awaitable<util::Status> Session::execute_admin(const admin::Command& command) {
  const std::string& db = command.argument;
  bool known = db.empty() || config_->find_database(db);
  switch (command.kind) {
    case Kind::kPause:
    case Kind::kResume:
    case Kind::kKill:
    case Kind::kReconnect:
      if (!known) {
        co_return admin_error(sqlstate::kInvalidCatalogName,
                              "database \"" + db + "\" does not exist");
      }
      break;
    default:
      break;
  }
  switch (command.kind) {
    case Kind::kPause: co_return co_await admin_pause(db);
    case Kind::kResume: co_return admin_resume(db);
    case Kind::kKill: co_return co_await admin_kill(db);
    case Kind::kReconnect: co_return admin_reconnect(db);
    case Kind::kReload: {
      std::string error = runtime_.reload ? runtime_.reload(user_, peer_) : "not available";
      if (!error.empty()) co_return admin_error(sqlstate::kConfigFileError, error);
      protocol::write_command_complete(out_, "RELOAD");
      co_return util::Ok{};
    }
    case Kind::kShutdown:
      if (runtime_.shutdown) runtime_.shutdown();
      protocol::write_command_complete(out_, "SHUTDOWN");
      co_return util::Ok{};
    case Kind::kSet:
      protocol::write_command_complete(out_, "SET");
      co_return util::Ok{};
    default:
      co_await show_admin(command.kind);
      co_return util::Ok{};
  }
}

awaitable<void> Session::show_admin(admin::Command::Kind kind) {
  admin::Table table;
  switch (kind) {
    case Kind::kShowPools: table = admin::pools_table(runtime_.snapshot().pools); break;
    case Kind::kShowStats:
      table = admin::stats_table(runtime_.snapshot().pools, runtime_.stats_period.averages());
      break;
    case Kind::kShowClients: {
      std::vector<metrics::ClientSnapshot> all;
      for (Worker* w : runtime_.workers()) {
        auto part = co_await ask_worker(worker_, w, &clients_on);
        all.insert(all.end(), part.begin(), part.end());
      }
      table = admin::clients_table(all);
      break;
    }
    case Kind::kShowServers: {
      std::vector<metrics::ServerSnapshot> all;
      for (Worker* w : runtime_.workers()) {
        auto part = co_await ask_worker(worker_, w, &servers_on);
        all.insert(all.end(), part.begin(), part.end());
      }
      auto idle = idle_servers(runtime_);
      all.insert(all.end(), idle.begin(), idle.end());
      table = admin::servers_table(all);
      break;
    }
    case Kind::kShowDatabases: {
      std::map<std::string, uint32_t> connections;
      for (const auto& e : runtime_.pools()) connections[e->database] += e->pool.stats().total;
      auto paused = runtime_.pauses().paused_databases();
      std::set<std::string> names(paused.begin(), paused.end());
      if (runtime_.pauses().all_paused()) {
        for (const auto& [name, d] : config_->databases) names.insert(name);
      }
      table = admin::databases_table(*runtime_.config(), names, connections);
      break;
    }
    case Kind::kShowConfig: table = admin::config_table(*runtime_.config()); break;
    case Kind::kShowVersion: table = admin::version_table(runtime_.version); break;
    case Kind::kShowHelp: table = admin::help_table(); break;
    case Kind::kShowNodes: table = admin::nodes_table(runtime_.snapshot().nodes); break;
    case Kind::kShowUsers: table = admin::users_table(*runtime_.config()); break;
    case Kind::kShowLists: {
      admin::ListCounts counts;
      auto config = runtime_.config();
      counts.databases = static_cast<uint32_t>(config->databases.size());
      counts.users = static_cast<uint32_t>(config->users.size());
      auto pools = runtime_.pools();
      counts.pools = static_cast<uint32_t>(pools.size());
      counts.used_clients = runtime_.clients;
      for (const auto& e : pools) {
        auto s = e->pool.stats();
        counts.used_servers += s.total - s.idle - s.connecting;
        counts.free_servers += s.idle;
      }
      table = admin::lists_table(counts);
      break;
    }
    default: break;
  }
  admin::write_table(out_, table);
}

// PAUSE: new transactions of `database` (every database when empty) wait; the command
// returns once no server of it is in use.
awaitable<util::Status> Session::admin_pause(const std::string& database) {
  runtime_.pauses().pause(database);
  spdlog::info("admin {}: PAUSE {}: waiting for transactions to finish", user_,
               database.empty() ? "(all)" : database);
  asio::steady_timer timer(client_.get_executor());
  auto& gate = runtime_.pauses();
  while (servers_busy(pools_of(runtime_, database)) && gate.paused(database)) {
    timer.expires_after(kPausePoll);
    co_await timer.async_wait(use_nothrow);
    if (shutdown_) co_return admin_error(sqlstate::kAdminShutdown, "shutting down");
  }
  protocol::write_command_complete(out_, "PAUSE");
  co_return util::Ok{};
}

util::Status Session::admin_resume(const std::string& database) {
  auto& gate = runtime_.pauses();
  bool paused = database.empty() ? (gate.all_paused() || !gate.paused_databases().empty())
                                 : (gate.paused(database) && !gate.all_paused());
  if (!paused) {
    return admin_error(sqlstate::kObjectNotInPrerequisiteState,
                       database.empty() ? "nothing is paused"
                                        : "database \"" + database + "\" is not paused");
  }
  gate.resume(database);
  protocol::write_command_complete(out_, "RESUME");
  return util::Ok{};
}

// KILL: closes every client of `database` and every server connection of its pools.
awaitable<util::Status> Session::admin_kill(const std::string& database) {
  for (Worker* w : runtime_.workers()) {
    w->mailbox.post([w, database] {
      for (Session* s : w->sessions) {
        if (s->database() == database && !s->admin_) s->kill();
      }
    });
  }
  for (const auto& e : pools_of(runtime_, database)) close_idle(runtime_, e->pool.take_all_idle());
  protocol::write_command_complete(out_, "KILL");
  co_return util::Ok{};
}

// RECONNECT: servers of `database` (all when empty) are closed and opened afresh:
// idle ones now, busy ones when they are given back.
util::Status Session::admin_reconnect(const std::string& database) {
  auto now = pool::Clock::now().time_since_epoch().count();
  for (const auto& e : pools_of(runtime_, database)) {
    e->reconnect_before = now + 1;
    close_idle(runtime_, e->pool.take_all_idle());
  }
  protocol::write_command_complete(out_, "RECONNECT");
  return util::Ok{};
}

}  // namespace pgmux::session
