// Replaces the global operator new/delete with counting versions (see
// alloc_counter.hpp). Over-aligned forms keep the library's implementation.
#include "alloc_counter.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<std::size_t> g_calls{0};
}  // namespace

namespace ntsd::test {
std::size_t operator_new_calls() noexcept {
  return g_calls.load(std::memory_order_relaxed);
}
}  // namespace ntsd::test

void* operator new(std::size_t n) {
  g_calls.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n != 0 ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  return operator new(n);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
// The engines' factories use the nothrow forms: they must pair with the
// replaced delete too.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  g_calls.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n != 0 ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept {
  return operator new(n, t);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
