// The per-request socket calls, made without glibc's thread-cancellation bracket.
// recv(2), send(2) and sendmsg(2) are cancellation points: glibc wraps each call in
// __pthread_enable_asynccancel / __pthread_disable_asynccancel, about 30 instructions per
// call and four calls per proxied transaction. pgmux never cancels a thread, so these go
// straight through syscall(2). Same results as recv(2) / send(2) / sendmsg(2): the byte
// count, or -1 with errno set.
#pragma once

#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>

namespace pgmux::nocancel {

inline long recv(int fd, void* data, size_t size, int flags) {
  return ::syscall(SYS_recvfrom, fd, data, size, flags, nullptr, nullptr);
}

inline long send(int fd, const void* data, size_t size, int flags) {
  return ::syscall(SYS_sendto, fd, data, size, flags, nullptr, 0);
}

inline long sendmsg(int fd, const msghdr* msg, int flags) {
  return ::syscall(SYS_sendmsg, fd, msg, flags);
}

}  // namespace pgmux::nocancel
