// Server: workers, listeners, signals, reload, maintenance and graceful shutdown
// (see server.hpp). Control work runs on the main thread's io_context; sessions on
// the workers'.
#include "pgmux/server/server.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cstdlib>
#include <set>
#include <thread>

#include "pgmux/admin/audit.hpp"
#include "pgmux/backend/asio.hpp"
#include "pgmux/metrics/exporter.hpp"
#include "pgmux/session/runtime.hpp"

namespace pgmux::server {
namespace {

using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
constexpr std::chrono::seconds kMaintenanceInterval{1};
constexpr std::chrono::seconds kStatsPeriod{15};  // SHOW STATS averages

// A worker's io_context runs without any of Asio's locks (UNSAFE: the per-descriptor
// locks, 4 pairs per transaction, and the scheduler's, about 2 pairs): every socket and
// timer of a worker is used, moved out of its event loop and closed only on that worker's
// thread (session::destroy_on_owner, ServerConnection::move_to), and other threads hand
// it work only through its mailbox (backend/mailbox.hpp), never by posting to `io`.
struct WorkerThread {
  WorkerThread(unsigned id, session::Runtime& runtime)
      : io(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE),
        guard(io.get_executor()),
        worker(id, io, runtime),
        acceptor(io) {}
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  session::Worker worker;
  tcp::acceptor acceptor;
  std::thread thread;
};

awaitable<void> accept_loop(tcp::acceptor& acceptor, session::Worker& worker) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(use_nothrow);
    if (ec) {
      if (!acceptor.is_open() || ec == asio::error::operation_aborted) co_return;
      spdlog::error("accept failed: {}", ec.message());
      asio::steady_timer pause(worker.io, std::chrono::milliseconds(100));
      co_await pause.async_wait(use_nothrow);  // e.g. out of file descriptors
      continue;
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    asio::co_spawn(worker.io, session::run_session(std::move(socket), worker), asio::detached);
  }
}

// Opens one connection for min_pool_size and puts it into the pool.
awaitable<void> warm_connect(std::shared_ptr<session::PoolEntry> entry,
                             std::chrono::milliseconds timeout, unsigned worker) {
  auto conn = co_await backend::connect_server(entry->target, timeout, worker);
  if (!conn) {
    entry->pool.connect_failed(conn.error().message, pool::Clock::now());
    spdlog::warn("warming pool for {}: {}", entry->target.address(), conn.error().message);
    co_return;
  }
  entry->pool.connected();
  if (!entry->pool.has_server_params()) {
    entry->pool.set_server_params((*conn)->params());
  }
  auto refused = entry->pool.release(std::move(*conn), pool::Clock::now());
}

constexpr std::string_view kHealthQuery =
    "SELECT pg_is_in_recovery()::text, "
    "(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
    "ELSE pg_current_wal_insert_lsn() END)::text, "
    "(CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() "
    "THEN 0 ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) "
    "END)::float8::text";

void mark_down(const session::Runtime::CheckedNode& n, const std::string& why) {
  if (n.node->healthy.exchange(false)) {
    spdlog::warn("health check: {} node {} of database \"{}\" is down: {}",
                 n.node->replica ? "replica" : "primary", n.node->address, n.database, why);
  }
}

void record_check(session::Runtime& runtime, const session::Runtime::CheckedNode& n,
                  const std::vector<std::optional<std::string>>& row) {
  if (row.size() < 3 || !row[0] || !row[1] || !row[2]) return mark_down(n, "unexpected answer");
  bool in_recovery = *row[0] == "true";
  bool wrong = in_recovery != n.node->replica;
  if (wrong && !n.node->wrong_role.exchange(true)) {
    spdlog::error("health check: node {} of database \"{}\" is configured as {} but is {}; "
                  "not used as one",
                  n.node->address, n.database, n.node->replica ? "a replica" : "the primary",
                  in_recovery ? "in recovery" : "not in recovery (a primary)");
  } else if (!wrong && n.node->wrong_role.exchange(false)) {
    spdlog::info("health check: node {} of database \"{}\" is back in its configured role",
                 n.node->address, n.database);
  }
  auto now = pool::Clock::now();
  n.node->lsn = session::parse_lsn(*row[1]);
  if (!n.node->replica) {
    n.node->add_wal_sample(now, n.node->lsn);
  } else {
    // Lag in time: how long ago the primary wrote the oldest WAL this replica has not
    // replayed (from the primary's checks), so an idle primary or WAL without commits
    // never looks like lag. Without that history, PostgreSQL's own estimate.
    uint64_t primary = n.primary->lsn.load();
    uint64_t replayed = n.node->lsn.load();
    n.node->lag_bytes = primary > replayed ? primary - replayed : 0;
    auto behind = n.primary->lag_behind(replayed, now);
    n.node->lag_ms = behind ? behind->count()
                            : static_cast<int64_t>(std::strtod(row[2]->c_str(), nullptr) * 1000.0);
  }
  if (!n.node->healthy.exchange(true)) {
    // Connect failures seen while it was down must not keep clients away now.
    for (auto& entry : runtime.pools()) {
      if (entry->node == n.node) entry->pool.reset_backoff();
    }
    spdlog::info("health check: {} node {} of database \"{}\" is up",
                 n.node->replica ? "replica" : "primary", n.node->address, n.database);
  }
}

// Checks one node every health_check.interval until shutdown, over a connection of its
// own: reachability, role, WAL position and replay lag.
awaitable<void> health_loop(session::Runtime& runtime, session::Runtime::CheckedNode n) {
  std::unique_ptr<backend::ServerConnection> conn;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!runtime.shutting_down) {
    auto config = runtime.config();
    auto timeout = config->health_check.timeout;
    if (!conn) {
      auto opened = co_await backend::connect_server(n.target, timeout, 0);
      if (opened) {
        conn = std::move(*opened);
      } else {
        mark_down(n, opened.error().message);
      }
    }
    if (conn) {
      auto row = co_await backend::fetch_row(*conn, kHealthQuery, timeout);
      if (row) {
        record_check(runtime, n, *row);
      } else {
        mark_down(n, row.error().message);
        conn.reset();
      }
    }
    timer.expires_after(config->health_check.interval);
    co_await timer.async_wait(use_nothrow);
  }
}

}  // namespace

struct Server::Impl {
  Impl(std::shared_ptr<const config::Config> config, std::string path)
      : config_path(std::move(path)), runtime(std::move(config)) {}

  std::string config_path;
  session::Runtime runtime;  // declared before the workers: outlives their sessions
  asio::io_context control{1};
  std::vector<std::unique_ptr<WorkerThread>> workers;
  unsigned next_warm_worker = 0;
  std::set<std::pair<std::string, std::string>> checked;  // (database, node) with a health loop
  std::unique_ptr<metrics::Exporter> exporter;
  std::mutex reload_mu;  // one reload at a time (SIGHUP and RELOAD)
  std::chrono::steady_clock::time_point next_stats_sample{};

  util::Status bind(WorkerThread& w, const tcp::endpoint& endpoint);
  awaitable<void> handle_signals();
  awaitable<void> maintenance();
  void maintain_pools();
  std::string reload(const std::string& user, const std::string& client);
  std::string apply_reload();
  util::Status start_observability();
  awaitable<void> shutdown();
};

Server::Server(std::shared_ptr<const config::Config> config, std::string config_path)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(config_path))) {}

Server::~Server() {
  impl_->exporter.reset();  // no scrape runs past this point
  for (auto& entry : impl_->runtime.pools()) entry->pool.take_all_idle();
  impl_->workers.clear();  // io_contexts (and any session frames) go first
}

namespace {

util::Status listen_error(const tcp::endpoint& endpoint, const std::string& why) {
  return util::make_error("listen", "could not listen on " + endpoint.address().to_string() + ":" +
                                        std::to_string(endpoint.port()) + ": " + why);
}

// The workers' listeners share the port through SO_REUSEPORT, which would as gladly
// share it with another process of the same user already listening there (a second
// pgmux started by mistake), each then getting part of the connections. A plain bind
// first, without SO_REUSEPORT, fails when anything listens on the address.
util::Status check_port_free(asio::io_context& io, const tcp::endpoint& endpoint) {
  if (endpoint.port() == 0) return util::Ok{};
  tcp::acceptor probe(io);
  error_code ec;
  probe.open(endpoint.protocol(), ec);
  if (!ec) probe.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) probe.bind(endpoint, ec);
  if (ec == asio::error::address_in_use) {
    return listen_error(endpoint, ec.message() + " (another process listens there)");
  }
  if (ec) return listen_error(endpoint, ec.message());
  return util::Ok{};
}

}  // namespace

util::Status Server::Impl::bind(WorkerThread& w, const tcp::endpoint& endpoint) {
  error_code ec;
  w.acceptor.open(endpoint.protocol(), ec);
  if (!ec) w.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) w.acceptor.set_option(reuse_port(true), ec);
  if (!ec) w.acceptor.bind(endpoint, ec);
  if (!ec) w.acceptor.listen(4096, ec);
  if (ec) return listen_error(endpoint, ec.message());
  return util::Ok{};
}

namespace {

struct LoadedTls {
  backend::TlsContextPtr for_clients, for_servers;
};

// Both TLS contexts of `config` (read from their files now), or the first error.
std::variant<LoadedTls, config::ConfigError> load_tls(const config::Config& config) {
  auto for_clients = backend::load_client_tls(config);
  if (auto* error = std::get_if<config::ConfigError>(&for_clients)) return *error;
  auto for_servers = backend::load_server_tls(config);
  if (auto* error = std::get_if<config::ConfigError>(&for_servers)) return *error;
  return LoadedTls{std::get<backend::TlsContextPtr>(std::move(for_clients)),
                   std::get<backend::TlsContextPtr>(std::move(for_servers))};
}

}  // namespace

std::optional<config::ConfigError> check_config_files(const config::Config& config) {
  auto tls = load_tls(config);
  if (auto* error = std::get_if<config::ConfigError>(&tls)) return *error;
  return std::nullopt;
}

util::Status Server::start() {
  auto config = impl_->runtime.config();
  auto tls = load_tls(*config);
  if (auto* error = std::get_if<config::ConfigError>(&tls)) {
    return util::make_error("tls", error->to_string());
  }
  auto& loaded = std::get<LoadedTls>(tls);
  impl_->runtime.set_tls(std::move(loaded.for_clients), std::move(loaded.for_servers));
  std::string host = config->listen.host;
  if (host == "*") host = "0.0.0.0";
  error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) {
    tcp::resolver resolver(impl_->control);
    auto results = resolver.resolve(host, std::to_string(config->listen.port), ec);
    if (ec || results.empty()) {
      return util::make_error("listen", "could not resolve listen.host \"" + host + "\"");
    }
    address = results.begin()->endpoint().address();
  }
  tcp::endpoint endpoint(address, config->listen.port);
  if (auto status = check_port_free(impl_->control, endpoint); !status) return status;
  for (unsigned i = 0; i < config->workers; ++i) {
    impl_->workers.push_back(std::make_unique<WorkerThread>(i, impl_->runtime));
    auto status = impl_->bind(*impl_->workers.back(), endpoint);
    if (!status) return status;
    impl_->runtime.add_worker(&impl_->workers.back()->worker);
  }
  return impl_->start_observability();
}

// The audit log, the metrics endpoint and the control hooks of the admin console.
util::Status Server::Impl::start_observability() {
  auto config = runtime.config();
  runtime.version = PGMUX_VERSION_STRING;
  auto audit = admin::AuditLog::open(config->admin.audit_log);
  if (!audit) return util::make_error("audit_log", audit.error().message);
  runtime.set_audit(std::move(*audit));
  runtime.reload = [this](const std::string& user, const std::string& client) {
    return reload(user, client);
  };
  runtime.shutdown = [this] {
    asio::co_spawn(control, shutdown(), asio::detached);
  };
  if (!config->metrics.enabled) return util::Ok{};
  auto started = metrics::Exporter::start(config->metrics.host, config->metrics.port,
                                          [this] { return runtime.snapshot(); });
  if (!started) return util::make_error("metrics", started.error().message);
  exporter = std::move(*started);
  spdlog::info("metrics on http://{}:{}/metrics", config->metrics.host, exporter->port());
  return util::Ok{};
}

int Server::run() {
  auto config = impl_->runtime.config();
  for (auto& w : impl_->workers) {
    asio::co_spawn(w->io, accept_loop(w->acceptor, w->worker), asio::detached);
    w->thread = std::thread([w = w.get()] {
      w->worker.mailbox.bind_to_this_thread();
      w->io.run();
    });
  }
  spdlog::info("listening on {}:{} with {} worker thread(s)", config->listen.host,
               config->listen.port, impl_->workers.size());
  asio::co_spawn(impl_->control, impl_->handle_signals(), asio::detached);
  asio::co_spawn(impl_->control, impl_->maintenance(), asio::detached);
  impl_->control.run();
  for (auto& w : impl_->workers) {
    if (w->thread.joinable()) w->thread.join();
  }
  spdlog::info("pgmux stopped");
  return 0;
}

awaitable<void> Server::Impl::handle_signals() {
  asio::signal_set signals(control, SIGINT, SIGTERM, SIGHUP);
  for (;;) {
    auto [ec, sig] = co_await signals.async_wait(use_nothrow);
    if (ec) co_return;
    if (sig == SIGHUP) {
      reload("", "SIGHUP");
      continue;
    }
    spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    co_await shutdown();
    co_return;
  }
}

// Reloads the configuration file and audits the attempt; "" on success, else why not.
std::string Server::Impl::reload(const std::string& user, const std::string& client) {
  std::lock_guard lock(reload_mu);
  std::string error = apply_reload();
  runtime.counters.reloads.fetch_add(1, std::memory_order_relaxed);
  admin::AuditEntry entry;
  entry.event = "reload";
  entry.user = user;
  entry.client = client;
  entry.command = "RELOAD " + config_path;
  entry.result = error.empty() ? "ok" : admin::audit_error({"F0000", error});
  if (auto audit = runtime.audit()) audit->write(entry);
  return error;
}

std::string Server::Impl::apply_reload() {
  auto loaded = config::load_config_file(config_path);
  if (auto* error = std::get_if<config::ConfigError>(&loaded)) {
    spdlog::error("reload refused, configuration unchanged: {}", error->to_string());
    return "reload refused, configuration unchanged: " + error->to_string();
  }
  auto fresh = std::make_shared<const config::Config>(std::get<config::Config>(std::move(loaded)));
  auto tls = load_tls(*fresh);  // the files are read again: a renewed certificate
  if (auto* error = std::get_if<config::ConfigError>(&tls)) {
    spdlog::error("reload refused, configuration unchanged: {}", error->to_string());
    return "reload refused, configuration unchanged: " + error->to_string();
  }
  auto old = runtime.config();
  if (fresh->workers != old->workers || fresh->listen.host != old->listen.host ||
      fresh->listen.port != old->listen.port || fresh->metrics.host != old->metrics.host ||
      fresh->metrics.port != old->metrics.port || fresh->metrics.enabled != old->metrics.enabled) {
    spdlog::warn("reload: listen, metrics and workers changes take effect only after a restart");
  }
  if (fresh->admin.audit_log != old->admin.audit_log) {
    auto audit = admin::AuditLog::open(fresh->admin.audit_log);
    if (!audit) {
      spdlog::error("reload refused, configuration unchanged: {}", audit.error().message);
      return "reload refused, configuration unchanged: " + audit.error().message;
    }
    runtime.set_audit(std::move(*audit));
  }
  auto& files = std::get<LoadedTls>(tls);
  runtime.set_tls(std::move(files.for_clients), std::move(files.for_servers));
  auto retired = runtime.set_config(fresh);
  for (auto& entry : retired) {
    for (auto& server : entry->pool.take_all_idle()) {
      session::destroy_on_owner(runtime, std::move(server));
    }
  }
  spdlog::info("configuration reloaded from {} ({} pool(s) retired)", config_path, retired.size());
  return {};
}

awaitable<void> Server::Impl::maintenance() {
  asio::steady_timer timer(control);
  maintain_pools();
  while (!runtime.shutting_down) {
    timer.expires_after(kMaintenanceInterval);
    auto [ec] = co_await timer.async_wait(use_nothrow);
    if (ec || runtime.shutting_down) co_return;
    maintain_pools();
  }
}

void Server::Impl::maintain_pools() {
  auto config = runtime.config();
  auto now = pool::Clock::now();
  if (now >= next_stats_sample) {
    runtime.stats_period.sample(now, runtime.snapshot().pools);
    next_stats_sample = now + kStatsPeriod;
  }
  for (auto& n : runtime.checked_nodes()) {
    if (checked.emplace(n.database, n.node->address).second) {
      asio::co_spawn(control, health_loop(runtime, std::move(n)), asio::detached);
    }
  }
  for (auto& entry : runtime.pools()) {
    for (auto& server : entry->pool.take_expired(now)) {
      session::destroy_on_owner(runtime, std::move(server));
    }
    uint32_t slots = entry->pool.reserve_warm_slots(now);
    for (uint32_t i = 0; i < slots; ++i) {
      auto& w = *workers[next_warm_worker++ % workers.size()];
      w.worker.mailbox.post([&w, entry, timeout = config->server_connect_timeout] {
        asio::co_spawn(w.io, warm_connect(entry, timeout, w.worker.id), asio::detached);
      });
    }
  }
}

awaitable<void> Server::Impl::shutdown() {
  if (runtime.shutting_down.exchange(true)) co_return;  // already under way
  auto deadline = std::chrono::steady_clock::now() + runtime.config()->shutdown_timeout;
  for (auto& w : workers) {
    w->worker.mailbox.post([w = w.get()] {
      error_code ignored;
      w->acceptor.close(ignored);
      session::request_shutdown(w->worker);
    });
  }
  for (auto& entry : runtime.pools()) entry->pool.wake_all();
  runtime.pauses().resume("");  // sessions held by PAUSE see the shutdown and end
  asio::steady_timer timer(control);
  auto wait_for_clients = [&](std::chrono::steady_clock::time_point until) -> awaitable<void> {
    while (runtime.clients.load() > 0 && std::chrono::steady_clock::now() < until) {
      timer.expires_after(std::chrono::milliseconds(20));
      co_await timer.async_wait(use_nothrow);
    }
  };
  co_await wait_for_clients(deadline);
  if (runtime.clients.load() > 0) {
    spdlog::warn("shutdown_timeout reached; closing {} client connection(s)",
                 runtime.clients.load());
    for (auto& w : workers) {
      w->worker.mailbox.post([w = w.get()] { session::force_close(w->worker); });
    }
    co_await wait_for_clients(std::chrono::steady_clock::now() + std::chrono::seconds(2));
  }
  for (auto& entry : runtime.pools()) {
    for (auto& server : entry->pool.take_all_idle()) {
      session::destroy_on_owner(runtime, std::move(server));
    }
  }
  // Each worker runs what its mailbox holds (the servers above closed), then stops.
  for (auto& w : workers) {
    w->worker.mailbox.post([w = w.get()] {
      w->guard.reset();
      w->io.stop();
    });
  }
  control.stop();
}

}  // namespace pgmux::server
