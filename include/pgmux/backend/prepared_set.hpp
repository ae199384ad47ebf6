// The prepared statements one server connection holds (pgmux's names), in least-
// recently-used order, so a per-server cap can evict the coldest with a Close.
// Not thread-safe: owned by one ServerConnection.
#pragma once

#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace pgmux::backend {

class PreparedSet {
 public:
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  size_t size() const { return index_.size(); }

  // Marks `name` as most recently used if it is here; false if it is not.
  bool touch_if_present(const std::string& name) {
    auto it = index_.find(name);
    if (it == index_.end()) return false;
    order_.splice(order_.end(), order_, it->second);
    return true;
  }
  // Marks `name` as most recently used (inserting it if new).
  void touch(const std::string& name) {
    if (touch_if_present(name)) return;
    order_.push_back(name);
    index_.emplace(name, std::prev(order_.end()));
  }
  void erase(const std::string& name) {
    auto it = index_.find(name);
    if (it == index_.end()) return;
    order_.erase(it->second);
    index_.erase(it);
  }
  // The least recently used name, if any.
  std::optional<std::string> coldest() const {
    if (order_.empty()) return std::nullopt;
    return order_.front();
  }
  void clear() {
    order_.clear();
    index_.clear();
  }

 private:
  std::list<std::string> order_;
  std::unordered_map<std::string, std::list<std::string>::iterator> index_;
};

}  // namespace pgmux::backend
