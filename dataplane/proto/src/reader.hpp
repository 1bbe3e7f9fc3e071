// Bounds-checked big-endian reader and writer over spans. Every access is
// checked; a failed read leaves the reader in a failed state and returns 0.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>

#include "ntsd/crypto/siv.hpp"
#include "ntsd/proto/wire.hpp"

namespace ntsd::proto::detail {

class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> b) noexcept : b_(b) {}
  bool ok() const noexcept { return ok_; }
  std::size_t pos() const noexcept { return pos_; }
  std::size_t left() const noexcept { return ok_ ? b_.size() - pos_ : 0; }

  std::uint8_t u8() noexcept { return need(1) ? b_[pos_++] : 0; }
  std::uint16_t u16() noexcept {
    if (!need(2)) return 0;
    std::uint16_t v = static_cast<std::uint16_t>(b_[pos_] << 8 | b_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  std::uint32_t u32() noexcept {
    std::uint32_t hi = u16();
    return hi << 16 | u16();
  }
  std::uint64_t u64() noexcept {
    std::uint64_t hi = u32();
    return hi << 32 | u32();
  }
  std::span<const std::uint8_t> bytes(std::size_t n) noexcept {
    if (!need(n)) return {};
    auto s = b_.subspan(pos_, n);
    pos_ += n;
    return s;
  }

 private:
  bool need(std::size_t n) noexcept {
    if (!ok_ || b_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    return true;
  }
  std::span<const std::uint8_t> b_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

// Unchecked big-endian stores: callers check the total length once up front.
inline void put16(std::uint8_t* p, std::uint16_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
inline void put32(std::uint8_t* p, std::uint32_t v) noexcept {
  put16(p, static_cast<std::uint16_t>(v >> 16));
  put16(p + 2, static_cast<std::uint16_t>(v));
}
inline void put64(std::uint8_t* p, std::uint64_t v) noexcept {
  put32(p, static_cast<std::uint32_t>(v >> 32));
  put32(p + 4, static_cast<std::uint32_t>(v));
}
inline std::uint16_t get16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}
inline std::uint64_t get64(const std::uint8_t* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}

constexpr std::size_t pad4(std::size_t n) noexcept {
  return (n + 3) & ~std::size_t{3};
}

}  // namespace ntsd::proto::detail
