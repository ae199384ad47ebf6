// Per-thread free lists of coroutine frames, by size class. Asio's own recycling cache
// for frames is a small array scanned linearly, first fit: with more sessions waiting
// for a server than it has slots, the request path's frames go back to malloc (1.7 per
// transaction with 50 clients on a pool of 20). Here each 64-byte size class keeps its
// own list, so taking and giving back a frame is a push or a pop, however many frames
// are out. A frame may be given back on another thread than the one that took it (it
// joins that thread's list). Pure: no Asio.
#pragma once

#include <array>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace pgmux::util {

class FramePool {
 public:
  static constexpr std::size_t kGranule = 64;
  static constexpr std::size_t kClasses = 32;  // frames up to 2 KiB are kept
  // Per class and thread, what the kept frames may add up to (frames in flight come and
  // go by the waiting sessions' count, not the sessions'): 16 MiB a thread at most.
  static constexpr std::size_t kMaxKeptBytes = 512 * 1024;
  static constexpr std::size_t max_kept(std::size_t size) { return class_cap(size_class(size)); }

  static void* allocate(std::size_t size) {
    const std::size_t c = size_class(size);
    if (c < kClasses) {
      Lists& lists = lists_of_thread();
      if (Node* node = lists.head[c]) {
        lists.head[c] = node->next;
        --lists.count[c];
        return node;
      }
      return ::operator new((c + 1) * kGranule);
    }
    return ::operator new(size);
  }

  static void deallocate(void* pointer, std::size_t size) noexcept {
    const std::size_t c = size_class(size);
    if (c < kClasses) {
      Lists& lists = lists_of_thread();
      if (lists.count[c] < class_cap(c)) {
        auto* node = static_cast<Node*>(pointer);
        node->next = lists.head[c];
        lists.head[c] = node;
        ++lists.count[c];
        return;
      }
      ::operator delete(pointer, (c + 1) * kGranule);
      return;
    }
    ::operator delete(pointer, size);
  }

  // Frames kept in this thread's lists (for tests).
  static std::size_t kept() {
    std::size_t n = 0;
    for (std::size_t c : lists_of_thread().count) n += c;
    return n;
  }

  static constexpr std::size_t size_class(std::size_t size) {
    return (size + kGranule - 1) / kGranule - 1;
  }
  static constexpr std::size_t class_cap(std::size_t c) { return kMaxKeptBytes / ((c + 1) * kGranule); }

 private:
  struct Node {
    Node* next;
  };
  struct Lists {
    std::array<Node*, kClasses> head{};
    std::array<std::size_t, kClasses> count{};
    ~Lists() {
      for (std::size_t c = 0; c < kClasses; ++c) {
        while (Node* node = head[c]) {
          head[c] = node->next;
          ::operator delete(node, (c + 1) * kGranule);
        }
      }
    }
  };
  static Lists& lists_of_thread() {
    thread_local Lists lists;
    return lists;
  }
};

}  // namespace pgmux::util
