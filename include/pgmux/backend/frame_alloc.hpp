// Where Asio's coroutine frames come from: util::FramePool's per-thread size-class
// lists instead of Asio's recycling cache (a few slots scanned first-fit, which the
// frames of sessions waiting for a server outnumber: with 50 clients on a pool of 20,
// 1.7 frames per transaction went back to malloc). Include only through
// backend/asio.hpp, before any coroutine is defined: an explicit specialization must
// precede every use.
#pragma once

#include <boost/asio.hpp>
#include <boost/version.hpp>
#include <cstddef>

#include "pgmux/util/frame_pool.hpp"

static_assert(BOOST_VERSION / 100 == 1081, "frame_alloc.hpp is written against Asio of Boost 1.81");
// Frames ask for Asio's default alignment, which FramePool's blocks (operator new) have.
static_assert(BOOST_ASIO_DEFAULT_ALIGN <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);

namespace boost::asio::detail {

template <>
inline void* thread_info_base::allocate<thread_info_base::awaitable_frame_tag>(
    awaitable_frame_tag, thread_info_base*, std::size_t size, std::size_t) {
  return pgmux::util::FramePool::allocate(size);
}

template <>
inline void thread_info_base::deallocate<thread_info_base::awaitable_frame_tag>(
    awaitable_frame_tag, thread_info_base*, void* pointer, std::size_t size) {
  pgmux::util::FramePool::deallocate(pointer, size);
}

}  // namespace boost::asio::detail
