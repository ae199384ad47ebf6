// A growable byte buffer with a read and a write cursor, for socket I/O: read into
// write_area(), commit() what arrived, look at readable(), consume() what was handled.
// Memory is released with release() while a connection is idle; blocks of the default
// size come from and go back to a small per-thread free list, so taking one per
// request costs no malloc. A Buffer is not thread-safe (it may move between threads
// while empty or idle).
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace pgmux::util {

class Buffer {
 public:
  static constexpr size_t kDefaultCapacity = 16 * 1024;

  std::string_view readable() const { return {data_.get() + begin_, end_ - begin_}; }
  size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }

  // Makes room for at least `n` more bytes after the readable ones (compacting first,
  // growing only when compacting is not enough) and returns the writable area.
  char* write_area(size_t n = 1) {
    reserve_tail(n);
    return data_.get() + end_;
  }
  size_t writable() const { return cap_ - end_; }
  void commit(size_t n) { end_ += n; }

  void consume(size_t n) {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  void append(std::string_view s) {
    std::memcpy(write_area(s.size()), s.data(), s.size());
    commit(s.size());
  }
  void clear() { begin_ = end_ = 0; }
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { free_block(); }

  // Frees the memory when nothing is buffered (idle connections cost nothing).
  void release() {
    if (empty()) {
      free_block();
      begin_ = end_ = 0;
    }
  }
  size_t capacity() const { return cap_; }

 private:
  static constexpr size_t kMaxFreeBlocks = 256;  // per thread: 4 MiB at most

  static std::vector<std::unique_ptr<char[]>>& free_blocks() {
    thread_local std::vector<std::unique_ptr<char[]>> blocks;
    return blocks;
  }
  static std::unique_ptr<char[]> take_block(size_t cap) {
    auto& blocks = free_blocks();
    if (cap == kDefaultCapacity && !blocks.empty()) {
      auto block = std::move(blocks.back());
      blocks.pop_back();
      return block;
    }
    return std::make_unique_for_overwrite<char[]>(cap);
  }
  void free_block() {
    if (data_ && cap_ == kDefaultCapacity && free_blocks().size() < kMaxFreeBlocks) {
      free_blocks().push_back(std::move(data_));
    }
    data_.reset();
    cap_ = 0;
  }

  void reserve_tail(size_t n) {
    if (cap_ - end_ >= n) return;
    size_t used = end_ - begin_;
    if (begin_ > 0 && cap_ - used >= n) {
      std::memmove(data_.get(), data_.get() + begin_, used);
    } else {
      size_t cap = cap_ ? cap_ : kDefaultCapacity;
      while (cap - used < n) cap *= 2;
      auto bigger = take_block(cap);
      if (used) std::memcpy(bigger.get(), data_.get() + begin_, used);
      free_block();
      data_ = std::move(bigger);
      cap_ = cap;
    }
    begin_ = 0;
    end_ = used;
  }

  std::unique_ptr<char[]> data_;
  size_t cap_ = 0;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace pgmux::util
