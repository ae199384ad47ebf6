// A first-in first-out queue over a vector: unlike std::deque it allocates nothing
// while empty and reuses its storage once drained. Not thread-safe.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace pgmux::util {

template <class T>
class Fifo {
 public:
  bool empty() const { return head_ == items_.size(); }
  size_t size() const { return items_.size() - head_; }
  T& front() { return items_[head_]; }
  T& operator[](size_t i) { return items_[head_ + i]; }
  const T& operator[](size_t i) const { return items_[head_ + i]; }

  void push_back(T item) { items_.push_back(std::move(item)); }
  void pop_front() { erase_front(1); }
  // Removes the first `n` items (n <= size()).
  void erase_front(size_t n) {
    head_ += n;
    if (head_ == items_.size()) {
      clear();
    } else if (head_ > 64 && head_ * 2 > items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }
  void clear() {
    items_.clear();
    head_ = 0;
  }

 private:
  std::vector<T> items_;
  size_t head_ = 0;
};

}  // namespace pgmux::util
