// A growable byte buffer with a read and a write cursor, for socket I/O: read into
// write_area(), commit() what arrived, look at readable(), consume() what was handled.
// Memory is released with release() while a connection is idle; blocks of the default
// size come from and go back to a small per-thread free list, so taking one per
// request costs no malloc. A buffer may also be given small storage of its owner's,
// used while it holds no block: what fits there takes no block at all. A Buffer is not
// thread-safe (it may move between threads while empty or idle).
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace pgmux::util {

class Buffer {
 public:
  static constexpr size_t kDefaultCapacity = 16 * 1024;
  static constexpr size_t kMaxFreeBlocks = 256;  // per thread: 4 MiB at most

  std::string_view readable() const { return {data_ + begin_, end_ - begin_}; }
  size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }

  // Makes room for at least `n` more bytes after the readable ones (compacting first,
  // growing only when compacting is not enough) and returns the writable area.
  char* write_area(size_t n = 1) {
    reserve_tail(n);
    return data_ + end_;
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

  // Makes `storage` (`size` bytes that outlive the buffer) its memory whenever it holds
  // no block. Call while the buffer holds nothing.
  void use_small_storage(char* storage, size_t size) {
    free_block();
    small_ = storage;
    small_cap_ = size;
    data_ = small_;
    cap_ = small_cap_;
    begin_ = end_ = 0;
  }

  // Gives back the block (to the free list) when nothing is buffered: an idle
  // connection then holds no memory of the buffer's but its small storage.
  void release() {
    if (empty()) {
      free_block();
      begin_ = end_ = 0;
    }
  }
  size_t capacity() const { return cap_; }
  // Whether the buffer holds a block (not only its small storage).
  bool holds_block() const { return data_ != nullptr && data_ != small_; }
  // Blocks in this thread's free list.
  static size_t free_blocks_kept() { return free_blocks().count; }

 private:
  // The per-thread free list, linked through the blocks themselves (cheaper per take
  // and give than a vector of owners: two of each per transaction). Freed at thread exit.
  struct FreeBlocks {
    char* head = nullptr;
    size_t count = 0;
    FreeBlocks() = default;
    FreeBlocks(const FreeBlocks&) = delete;
    FreeBlocks& operator=(const FreeBlocks&) = delete;
    ~FreeBlocks() {
      while (head) delete[] pop();
    }
    char* pop() {
      char* block = head;
      std::memcpy(&head, block, sizeof head);
      --count;
      return block;
    }
    void push(char* block) {
      std::memcpy(block, &head, sizeof head);
      head = block;
      ++count;
    }
  };
  static FreeBlocks& free_blocks() {
    thread_local FreeBlocks blocks;
    return blocks;
  }
  static char* take_block(size_t cap) {
    if (cap == kDefaultCapacity) {
      if (auto& blocks = free_blocks(); blocks.head) return blocks.pop();
    }
    return std::make_unique_for_overwrite<char[]>(cap).release();
  }
  // Back to the small storage (or none); the block goes to the free list or is freed.
  void free_block() {
    if (holds_block()) {
      auto& blocks = free_blocks();
      if (cap_ == kDefaultCapacity && blocks.count < kMaxFreeBlocks) {
        blocks.push(data_);
      } else {
        delete[] data_;
      }
    }
    data_ = small_;
    cap_ = small_cap_;
  }

  void reserve_tail(size_t n) {
    if (cap_ - end_ >= n) return;
    // Empty and without a block (given back while idle): a block from the free list,
    // the usual case of a read after a release, kept inline.
    if (begin_ == end_ && !holds_block() && n <= kDefaultCapacity) {
      if (auto& blocks = free_blocks(); blocks.head) {
        data_ = blocks.pop();
        cap_ = kDefaultCapacity;
        begin_ = end_ = 0;
        return;
      }
    }
    grow(n);
  }
  [[gnu::noinline]] void grow(size_t n) {
    size_t used = end_ - begin_;
    if (begin_ > 0 && cap_ - used >= n) {
      std::memmove(data_, data_ + begin_, used);
    } else {
      size_t cap = holds_block() ? cap_ : kDefaultCapacity;
      while (cap - used < n) cap *= 2;
      char* bigger = take_block(cap);
      if (used) std::memcpy(bigger, data_ + begin_, used);
      free_block();
      data_ = bigger;
      cap_ = cap;
    }
    begin_ = 0;
    end_ = used;
  }

  char* data_ = nullptr;  // a block of ours, small_, or null
  size_t cap_ = 0;
  size_t begin_ = 0;
  size_t end_ = 0;
  char* small_ = nullptr;
  size_t small_cap_ = 0;
};

}  // namespace pgmux::util
