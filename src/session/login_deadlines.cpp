// One timer per worker for every login's deadline (see login_deadlines.hpp).
#include "pgmux/session/login_deadlines.hpp"

#include <algorithm>

namespace pgmux::session {

LoginWatch::LoginWatch(LoginDeadlines& deadlines, pool::Clock::time_point deadline,
                       Expiry on_expiry, void* context)
    : deadline_(deadline), on_expiry_(on_expiry), context_(context) {
  deadlines.add(*this);
}

void LoginDeadlines::add(LoginWatch& watch) {
  watches_.push_back(watch);
  if (!armed_ || watch.deadline_ < armed_for_) arm(watch.deadline_);
}

// Setting the expiry cancels a wait still pending (its handler sees an error and does
// nothing), so one wait at most is live.
void LoginDeadlines::arm(pool::Clock::time_point at) {
  armed_ = true;
  armed_for_ = at;
  timer_.expires_at(at);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) sweep();
  });
}

// Ends the logins past their deadline and arms the timer for the earliest left.
void LoginDeadlines::sweep() {
  armed_ = false;
  const auto now = pool::Clock::now();
  auto next = pool::Clock::time_point::max();
  for (auto it = watches_.begin(); it != watches_.end();) {
    LoginWatch& watch = *it;
    if (watch.deadline_ > now) {
      next = std::min(next, watch.deadline_);
      ++it;
      continue;
    }
    it = watches_.erase(it);
    watch.expired_ = true;
    watch.on_expiry_(watch.context_);
  }
  if (next != pool::Clock::time_point::max()) arm(next);
}

}  // namespace pgmux::session
