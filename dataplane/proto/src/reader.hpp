// Bounds-checked big-endian reader and writer over spans. Every access is
// checked; a failed read leaves the reader in a failed state and returns 0.
#pragma once

#include <bit>
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

// Unchecked big-endian loads and stores: callers check the total length once
// up front (e.g. parse_header's 48 bytes). memcpy of a fixed size plus a byte
// swap compiles to one load or store; no struct is ever cast onto packet memory.
template <typename T>
inline T to_be(T v) noexcept {
  if constexpr (std::endian::native == std::endian::big || sizeof(T) == 1) {
    return v;
  } else if constexpr (sizeof(T) == 2) {
    return __builtin_bswap16(v);
  } else if constexpr (sizeof(T) == 4) {
    return __builtin_bswap32(v);
  } else {
    return __builtin_bswap64(v);
  }
}
template <typename T>
inline T load_be(const std::uint8_t* p) noexcept {
  T v;
  std::memcpy(&v, p, sizeof v);
  return to_be(v);
}
template <typename T>
inline void store_be(std::uint8_t* p, T v) noexcept {
  v = to_be(v);
  std::memcpy(p, &v, sizeof v);
}
inline void put16(std::uint8_t* p, std::uint16_t v) noexcept {
  store_be(p, v);
}
inline void put32(std::uint8_t* p, std::uint32_t v) noexcept {
  store_be(p, v);
}
inline void put64(std::uint8_t* p, std::uint64_t v) noexcept {
  store_be(p, v);
}
inline std::uint16_t get16(const std::uint8_t* p) noexcept {
  return load_be<std::uint16_t>(p);
}
inline std::uint32_t get32(const std::uint8_t* p) noexcept {
  return load_be<std::uint32_t>(p);
}
inline std::uint64_t get64(const std::uint8_t* p) noexcept {
  return load_be<std::uint64_t>(p);
}

constexpr std::size_t pad4(std::size_t n) noexcept {
  return (n + 3) & ~std::size_t{3};
}

}  // namespace ntsd::proto::detail

namespace ntsd::proto::detail {

// One step of the RFC 7822 extension-field walk (wire.hpp's EfStep).
// parse_efs, the server's classify and ef_step (ntsgen's cheap checks) all
// walk with it, so they agree on every malformed packet.
using proto::EfStep;

inline EfStep next_ef(Bytes pkt, std::size_t& pos, bool allow_mac, Ef& e) noexcept {
  if (pos >= pkt.size()) return EfStep::kEnd;
  const std::size_t rest = pkt.size() - pos;
  // RFC 7822 §7.5: a MAC (20 or 24 bytes) or a crypto-NAK (4 bytes) may end
  // the packet; since every EF that ends a packet without a MAC is ≥ 28
  // bytes, these lengths are never an EF.
  if (allow_mac && (rest == 4 || rest == 20 || rest == 24)) return EfStep::kMac;
  if (rest < kEfHeaderLen) return EfStep::kTruncated;
  const std::uint16_t type = get16(pkt.data() + pos);
  const std::uint16_t len = get16(pkt.data() + pos + 2);
  if (len < kMinEfLen || len % 4 != 0) return EfStep::kBadLength;
  if (len > rest) return EfStep::kTruncated;
  e.type = type;
  e.offset = static_cast<std::uint16_t>(pos);
  e.len = len;
  e.body = pkt.subspan(pos + kEfHeaderLen, len - kEfHeaderLen);
  pos += len;
  return EfStep::kEf;
}

// The Authenticator EF's body (RFC 8915 §5.6), inline for the server's
// classify (once per NTS request): both lengths are read after one check
// that the body has them, and one check that the padded nonce and
// ciphertext fit (each padded length ≤ 65536: the sum cannot overflow).
// The same verdicts as reading field by field with a Reader.
inline bool parse_auth_body(Bytes body, AuthBody& out, std::size_t n_req) noexcept {
  if (body.size() < 4) return false;
  const std::size_t nonce_len = get16(body.data());
  const std::size_t ct_len = get16(body.data() + 2);
  const std::size_t nonce_room = pad4(nonce_len);
  const std::size_t ct_room = pad4(ct_len);
  const std::size_t rest = body.size() - 4;
  if (nonce_len == 0 || nonce_room + ct_room > rest) return false;
  out.nonce = body.subspan(4, nonce_len);
  out.ciphertext = body.subspan(4 + nonce_room, ct_len);
  // RFC 8915 §5.6: a nonce shorter than N_REQ needs at least N_REQ − N_LEN
  // bytes of additional padding.
  const std::size_t left = rest - nonce_room - ct_room;
  if (nonce_len < n_req && left < n_req - nonce_len) return false;
  out.reaches_16 = nonce_len >= kNonceLen || left >= kNonceLen - nonce_len;
  return true;
}

}  // namespace ntsd::proto::detail
