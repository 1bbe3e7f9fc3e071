// 128-bit block helpers shared by the burst AES-SIV engines: the S2V
// arithmetic of RFC 5297 §2.3/§2.4 done on the CPU between multi-buffer
// passes. Private to crypto/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "ntsd/crypto/siv.hpp"

namespace ntsd::crypto::mb {

// Runs `chunk_fn` over ops in pieces of at most `chunk`, the size every
// burst engine sizes its scratch for; larger bursts are split, never queued.
template <std::size_t chunk, typename Op, typename Status, typename Fn>
void for_each_chunk(std::span<Op> ops, std::span<Status> status, Fn&& chunk_fn) noexcept {
  if (status.size() != ops.size()) return;
  for (std::size_t i = 0; i < ops.size(); i += chunk) {
    const std::size_t n = ops.size() - i < chunk ? ops.size() - i : chunk;
    chunk_fn(ops.subspan(i, n), status.subspan(i, n));
  }
}

// Whether an op is well formed for its direction: the shared validation, so
// that an op an engine refuses gets the fallback's (the reference's) status.
inline bool valid_op(const SivOp& op, bool sealing) noexcept {
  return (sealing ? validate_seal_op(op) : validate_open_op(op)) == SivStatus::kOk;
}

// Ops the AES-NI and IPsec-MB engines run themselves: well formed, with
// AES-128 or AES-256 halves (AEAD 15 and 17; AES-192 goes to the fallback).
inline bool burst_eligible(const SivOp& op, bool sealing) noexcept {
  return valid_op(op, sealing) && (op.key->size() == 32 || op.key->size() == 64);
}

// Hands ops to `engine` in the given direction (an engine's fallback path).
inline void run_ops(SivEngine& engine, bool sealing, std::span<const SivOp> ops,
                    std::span<SivStatus> status) noexcept {
  if (sealing)
    engine.seal(ops, status);
  else
    engine.open(ops, status);
}

// Whether [a, a + na) and [b, b + nb) share a byte, for non-empty ranges:
// detail::overlaps (siv.hpp) without its emptiness test, which the engines'
// one-pass admissions (admit_fast) decide once per chunk from its shape.
inline bool ranges_overlap(const void* a, std::size_t na, const void* b, std::size_t nb) noexcept {
  const auto pa = reinterpret_cast<std::uintptr_t>(a);
  const auto pb = reinterpret_cast<std::uintptr_t>(b);
  return pa < pb + nb && pb < pa + na;
}

struct alignas(16) Block {
  std::uint8_t b[16];
};

// RFC 5297 §2.3: dbl(S) = S << 1, xor 0x87 into the last byte if the top
// bit was set. Branch-free: S holds secret-derived values. Two big-endian
// 64-bit halves: the S2V chain runs this once per AD component per op.
inline Block dbl(const Block& s) noexcept {
  std::uint64_t hi, lo;
  std::memcpy(&hi, s.b, 8);
  std::memcpy(&lo, s.b + 8, 8);
  hi = __builtin_bswap64(hi);
  lo = __builtin_bswap64(lo);
  const std::uint64_t carry = (std::uint64_t{0} - (hi >> 63)) & 0x87;
  hi = __builtin_bswap64((hi << 1) | (lo >> 63));
  lo = __builtin_bswap64((lo << 1) ^ carry);
  Block r;
  std::memcpy(r.b, &hi, 8);
  std::memcpy(r.b + 8, &lo, 8);
  return r;
}

inline void xor_into(std::uint8_t* dst, const std::uint8_t* src, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) dst[i] ^= src[i];
}

inline Block xor_blocks(const Block& a, const Block& b) noexcept {
  std::uint64_t a0, a1, b0, b1;
  std::memcpy(&a0, a.b, 8);
  std::memcpy(&a1, a.b + 8, 8);
  std::memcpy(&b0, b.b, 8);
  std::memcpy(&b1, b.b + 8, 8);
  a0 ^= b0;
  a1 ^= b1;
  Block r;
  std::memcpy(r.b, &a0, 8);
  std::memcpy(r.b + 8, &a1, 8);
  return r;
}

// RFC 5297 §2.4, the |Sn| < 128 case: T = dbl(D) xor pad(Sn), where
// pad appends a single 1 bit and zeros.
inline Block dbl_xor_pad(const Block& d, const std::uint8_t* p, std::size_t n) noexcept {
  Block t = dbl(d);
  for (std::size_t i = 0; i < n; ++i) t.b[i] ^= p[i];
  t.b[n] ^= 0x80;
  return t;
}

// RFC 5297 §2.5: the CTR counter is V with bits 63 and 31 (the top bits of
// bytes 8 and 12) cleared, so a 32- or 64-bit counter increment never carries
// into the next word, whichever width the CTR implementation uses.
inline Block ctr_iv(const std::uint8_t* v) noexcept {
  Block q;
  std::memcpy(q.b, v, 16);
  q.b[8] &= 0x7f;
  q.b[12] &= 0x7f;
  return q;
}

// Constant-time tag comparison (no early exit on the first differing byte).
inline bool tags_equal(const std::uint8_t* a, const std::uint8_t* b) noexcept {
  std::uint8_t diff = 0;
  for (int i = 0; i < 16; ++i) diff |= static_cast<std::uint8_t>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace ntsd::crypto::mb
