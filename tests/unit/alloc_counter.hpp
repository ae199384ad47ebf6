// Replaces global operator new/delete with versions that count allocations in
// g_allocations, for tests that check code does not allocate. Include it from exactly
// one source file of a test binary (it defines the replacement operators).
#pragma once

#include <cstdlib>
#include <new>

// The helpers stay out of line so the compiler pairs new/delete with these, not malloc.
namespace {
size_t g_allocations = 0;
[[gnu::noinline]] void* counted_alloc(size_t size) {
  ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void counted_free(void* p) noexcept { std::free(p); }
}  // namespace

void* operator new(size_t size) { return counted_alloc(size); }
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete(void* p, size_t) noexcept { counted_free(p); }
