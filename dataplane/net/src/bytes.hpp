// Bounds-checked big-endian access. Reads out of range return 0 and writes
// out of range do nothing: callers check lengths first, these make a missed
// check harmless instead of undefined.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>

namespace ntsd::net::detail {

inline std::uint8_t u8(std::span<const std::uint8_t> b, std::size_t off) noexcept {
  return off < b.size() ? b[off] : 0;
}
inline std::uint16_t be16(std::span<const std::uint8_t> b, std::size_t off) noexcept {
  return off + 2 <= b.size() ? static_cast<std::uint16_t>(b[off] << 8 | b[off + 1]) : 0;
}
inline void put16(std::span<std::uint8_t> b, std::size_t off, std::uint16_t v) noexcept {
  if (off + 2 > b.size()) return;
  b[off] = static_cast<std::uint8_t>(v >> 8);
  b[off + 1] = static_cast<std::uint8_t>(v);
}
inline bool equal(std::span<const std::uint8_t> b, std::size_t off, const std::uint8_t* p,
                  std::size_t n) noexcept {
  return off + n <= b.size() && std::memcmp(b.data() + off, p, n) == 0;
}
// Swaps two equal-size non-overlapping ranges inside b, of at most 16
// bytes (addresses and ports). Whole-range copies through temporaries: the
// callers pass constant sizes, so these become one load and one store per
// side instead of a byte loop.
inline void swap_ranges(std::span<std::uint8_t> b, std::size_t a, std::size_t c, std::size_t n) noexcept {
  std::uint8_t ta[16], tc[16];
  if (n > sizeof ta || a + n > b.size() || c + n > b.size()) return;
  std::memcpy(ta, b.data() + a, n);
  std::memcpy(tc, b.data() + c, n);
  std::memcpy(b.data() + a, tc, n);
  std::memcpy(b.data() + c, ta, n);
}

}  // namespace ntsd::net::detail
