// Replaces the global operator new/delete (see freed_scan.hpp). Over-aligned
// forms keep the library's implementation; nothing here allocates while
// armed, so the hook cannot recurse.
#include "freed_scan.hpp"

#include <malloc.h>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <new>

namespace {

// Upper-case hex of every secret, concatenated with '|' between them, in a
// fixed array: the hook must not allocate. 64 KiB is plenty for a key set.
constexpr std::size_t kMaxSecrets = 64 * 1024;
char g_secrets[kMaxSecrets];
std::size_t g_secrets_len = 0;
std::atomic<bool> g_armed{false};
std::atomic<std::size_t> g_hits{0}, g_scanned{0};
char g_first_hit[ntsd::test::FreedScan::kWindow + 1];

bool is_hex(unsigned char c) { return std::isxdigit(c) != 0; }

// True if the kWindow bytes at `p` (all hex digits) appear in a secret.
bool in_secret(const unsigned char* p) {
  constexpr std::size_t w = ntsd::test::FreedScan::kWindow;
  char up[w];
  for (std::size_t i = 0; i < w; ++i) up[i] = static_cast<char>(std::toupper(p[i]));
  return memmem(g_secrets, g_secrets_len, up, w) != nullptr;
}

void scan(const void* block, std::size_t n) {
  if (!g_armed.load(std::memory_order_relaxed) || block == nullptr) return;
  g_scanned.fetch_add(1, std::memory_order_relaxed);
  const auto* b = static_cast<const unsigned char*>(block);
  constexpr std::size_t w = ntsd::test::FreedScan::kWindow;
  std::size_t run = 0;
  for (std::size_t i = 0; i < n; ++i) {
    run = is_hex(b[i]) ? run + 1 : 0;
    if (run >= w && in_secret(b + i + 1 - w)) {
      if (g_hits.fetch_add(1) == 0) std::memcpy(g_first_hit, b + i + 1 - w, w);
      return;
    }
  }
}

void release(void* p, std::size_t n) {
  scan(p, n);
  std::free(p);
}

void release(void* p) {
  if (p != nullptr) release(p, malloc_usable_size(p));
}

}  // namespace

namespace ntsd::test {

FreedScan::FreedScan(const std::vector<std::string>& hex_secrets) {
  g_secrets_len = 0;
  for (const auto& h : hex_secrets) {
    if (g_secrets_len + h.size() + 1 > kMaxSecrets) std::abort();
    for (char c : h) g_secrets[g_secrets_len++] = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    g_secrets[g_secrets_len++] = '|';
  }
  g_hits = 0;
  g_scanned = 0;
  g_armed = true;
}

FreedScan::~FreedScan() { g_armed = false; }

std::size_t FreedScan::hits() const { return g_hits.load(); }
std::size_t FreedScan::scanned() const { return g_scanned.load(); }
std::string FreedScan::first_hit() const {
  return hits() ? std::string(g_first_hit, kWindow) : std::string();
}

}  // namespace ntsd::test

void* operator new(std::size_t n) {
  if (void* p = std::malloc(n != 0 ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return std::malloc(n != 0 ? n : 1); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return std::malloc(n != 0 ? n : 1); }
void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t n) noexcept {
  if (p != nullptr) release(p, n);
}
void operator delete[](void* p, std::size_t) noexcept { release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { release(p); }
