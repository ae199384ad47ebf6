// RequestState's per-thread free list: a session takes one when a request starts and
// gives it back when it goes idle. Runs on the session's worker thread only.
#include "session_impl.hpp"

namespace pgmux::session {
namespace {

constexpr size_t kMaxSpareRequests = 256;  // request states kept per thread

std::vector<std::unique_ptr<RequestState>>& spare_requests() {
  thread_local std::vector<std::unique_ptr<RequestState>> spare;
  return spare;
}

}  // namespace

RequestState& Session::take_request() {
  auto& spare = spare_requests();
  if (spare.empty()) {
    request_ = std::make_unique<RequestState>(client_.get_executor());
  } else {
    request_ = std::move(spare.back());
    spare.pop_back();
  }
  return *request_;
}

void Session::release_request() {
  if (!request_) return;
  auto& spare = spare_requests();
  if (spare.size() < kMaxSpareRequests) {
    request_->clear();
    spare.push_back(std::move(request_));
  }
  request_.reset();
}

SessionWaiter& Session::make_waiter() {
  auto& w = request().waiter;
  w = std::make_shared<SessionWaiter>(worker_);
  return *w;
}

void SessionWaiter::end_by(pool::Clock::time_point deadline) {
  deadline_ = deadline;
  if (armed_ && armed_for_ <= deadline) return;  // fires in time (and re-arms if early)
  armed_ = true;
  armed_for_ = deadline;
  uint64_t arming = ++armings_;
  deadline_timer_.expires_at(deadline);  // a pending wait ends as replaced (armings_)
  deadline_timer_.async_wait([weak = weak_from_this(), arming](const error_code&) {
    if (auto self = weak.lock()) self->on_deadline(arming);
  });
}

void SessionWaiter::on_deadline(uint64_t arming) {
  if (arming != armings_) return;  // armed again since, for an earlier deadline
  armed_ = false;
  if (!slot.parked()) return;
  if (pool::Clock::now() >= deadline_) {
    slot.unpark(asio::error::timed_out);
  } else {
    end_by(deadline_);  // the wait in progress began after this arming
  }
}

}  // namespace pgmux::session
