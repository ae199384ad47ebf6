// The login deadlines (client_login_timeout) of one worker's sessions, kept by one
// timer for all of them. The timer is armed for the earliest deadline and stays armed
// across logins: with one timeout for every login, a login that starts later ends
// later, so a new login arms nothing. (A timer armed and cancelled per login, raced
// against the login by a parallel group, cost a timerfd_settime, two spawned coroutines
// and about 7,000 instructions per login.) Use on the worker's thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/list.hpp>

#include "pgmux/pool/pool.hpp"

namespace pgmux::session {

class LoginDeadlines;

// One login's deadline, registered while it lives (it unlinks itself when destroyed).
// `on_expiry(context)` runs on the worker's thread once the deadline has passed, unless
// the watch was destroyed first; `expired()` says whether it ran.
class LoginWatch : public boost::intrusive::list_base_hook<
                       boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
 public:
  using Expiry = void (*)(void* context);
  LoginWatch(LoginDeadlines& deadlines, pool::Clock::time_point deadline, Expiry on_expiry,
             void* context);
  LoginWatch(const LoginWatch&) = delete;
  LoginWatch& operator=(const LoginWatch&) = delete;
  bool expired() const { return expired_; }

 private:
  friend class LoginDeadlines;
  pool::Clock::time_point deadline_;
  Expiry on_expiry_;
  void* context_;
  bool expired_ = false;
};

class LoginDeadlines {
 public:
  explicit LoginDeadlines(boost::asio::io_context& io) : timer_(io) {}
  LoginDeadlines(const LoginDeadlines&) = delete;
  LoginDeadlines& operator=(const LoginDeadlines&) = delete;
  // Logins being watched.
  size_t size() const { return watches_.size(); }

 private:
  friend class LoginWatch;
  void add(LoginWatch& watch);
  void arm(pool::Clock::time_point at);
  void sweep();

  using List = boost::intrusive::list<LoginWatch, boost::intrusive::constant_time_size<false>>;
  List watches_;
  boost::asio::steady_timer timer_;
  bool armed_ = false;
  pool::Clock::time_point armed_for_{};
};

}  // namespace pgmux::session
