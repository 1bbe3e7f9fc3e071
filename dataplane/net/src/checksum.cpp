#include <immintrin.h>

#include <cstring>

#include "bytes.hpp"
#include "ntsd/net/packet.hpp"

namespace ntsd::net {

namespace {

// acc + w with the carry out wrapped back in (one's complement addition).
inline std::uint64_t add_carry(std::uint64_t acc, std::uint64_t w) noexcept {
  unsigned long long r;
  return __builtin_uaddll_overflow(acc, w, &r) ? r + 1 : r;
}

// The sum of the 32-bit halves of every 8-byte word of p[0, 32 * blocks),
// in four 64-bit lanes per half (AVX2: one load, an AND, a shift and two
// adds per 32 bytes, two independent chains). Congruent mod 0xffff to the
// end-around-carry sum of the words (2^32 = 1 mod 0xffff), and zero only if
// every byte is: the fold below gives the same 16 bits. No lane can wrap
// below 2^32 blocks. With Copy, each block is also stored to dst (which must
// not overlap p): one load for both.
template <bool Copy>
__attribute__((target("avx2"))) std::uint64_t sum_blocks_avx2(const std::uint8_t* p, std::uint8_t* dst,
                                                               std::size_t blocks) noexcept {
  const __m256i lo_mask = _mm256_set1_epi64x(0xffffffff);
  __m256i lo = _mm256_setzero_si256();
  __m256i hi = _mm256_setzero_si256();
  for (std::size_t i = 0; i < blocks; ++i, p += 32) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    if constexpr (Copy) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), v);
      dst += 32;
    }
    lo = _mm256_add_epi64(lo, _mm256_and_si256(v, lo_mask));
    hi = _mm256_add_epi64(hi, _mm256_srli_epi64(v, 32));
  }
  const __m256i s = _mm256_add_epi64(lo, hi);
  const __m128i t = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
  return static_cast<std::uint64_t>(_mm_cvtsi128_si64(t)) +
         static_cast<std::uint64_t>(_mm_extract_epi64(t, 1));
}

// Decided once: the base ISA is x86-64 (packaging), AVX2 is a run-time choice.
const bool kAvx2 = [] {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") != 0;
}();

// From 64 bytes on (an NTP packet's UDP datagram), AVX2 takes 32 bytes a
// step where the add-with-carry chain took 8 (2 cycles each: add, then adc).
constexpr std::size_t kAvx2From = 64;

// acc plus p[0, n) in native 64-bit words with end-around carry. The tail
// goes at its little-endian position in a final word; an odd last byte is
// the high byte of its big-endian 16-bit word (RFC 1071 §4.1).
__attribute__((always_inline)) inline std::uint64_t sum_words(std::uint64_t acc, const std::uint8_t* p,
                                                           std::size_t n) noexcept {
  for (; n >= 8; n -= 8, p += 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    acc = add_carry(acc, w);
  }
  std::uint64_t t = 0;
  if (n & 4) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    t = v;
    p += 4;
  }
  if (n & 2) {
    std::uint16_t v;
    std::memcpy(&v, p, 2);
    t |= static_cast<std::uint64_t>(v) << 32;
    p += 2;
  }
  if (n & 1) t |= static_cast<std::uint64_t>(*p) << 48;
  return add_carry(acc, t);
}

// acc plus p[0, n): whole 32-byte blocks on AVX2 from kAvx2From bytes on,
// the rest in words. With Copy, p[0, n) is also copied to dst (which must
// not overlap it), each byte loaded once for both.
template <bool Copy>
__attribute__((always_inline)) inline std::uint64_t sum_bytes(std::uint64_t acc, const std::uint8_t* p,
                                                           std::uint8_t* dst, std::size_t n) noexcept {
  if (n >= kAvx2From && kAvx2) {
    const std::size_t blocks = n / 32;
    acc = add_carry(acc, sum_blocks_avx2<Copy>(p, dst, blocks));
    p += blocks * 32;
    n -= blocks * 32;
    if constexpr (Copy) dst += blocks * 32;
  }
  if constexpr (Copy) {
    if (n != 0) std::memcpy(dst, p, n);  // memcpy wants a non-null source
  }
  return sum_words(acc, p, n);
}

// sum + the 16 folded bits of acc, byte-swapped to network order once.
// 64 to 32 bits with the carry wrapped in, then 32 to 16 in two steps: the
// first leaves at most 0x1fffe, the second at most 0xffff.
__attribute__((always_inline)) inline std::uint32_t finish(std::uint32_t sum, std::uint64_t acc) noexcept {
  std::uint32_t s;
  const bool carry = __builtin_uadd_overflow(static_cast<std::uint32_t>(acc),
                                             static_cast<std::uint32_t>(acc >> 32), &s);
  s += carry;  // no overflow: after a carry s is at most 0xfffffffe
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  // A 32-bit accumulator of callers cannot overflow for frames below 128 KiB.
  return sum + __builtin_bswap16(static_cast<std::uint16_t>(s));
}

}  // namespace

std::uint32_t csum_add(std::uint32_t sum, Bytes data) noexcept {
  // RFC 1071 §2(B)/§4.1: the one's complement sum is byte-order independent,
  // so sum native 64-bit words with end-around carry and swap the folded
  // 16 bits once. The byte-pair loop this replaces was ~5x slower and was
  // ~11 % of a worker's time (RX verify plus TX fill on every packet).
  return finish(sum, sum_bytes<false>(0, data.data(), nullptr, data.size()));
}

std::uint32_t csum_copy(std::uint32_t sum, Bytes head, std::uint8_t* dst, Bytes src) noexcept {
  // One accumulator for both, so one fold: head's words and src's words
  // are summed alike (head has an even length, so src's 16-bit words keep
  // their positions, RFC 1071 §2(A)).
  const std::uint64_t acc = sum_words(0, head.data(), head.size());
  return finish(sum, sum_bytes<true>(acc, src.data(), dst, src.size()));
}

std::uint32_t pseudo_sum(Bytes frame, bool ip6, std::size_t l3, std::uint8_t proto, std::uint32_t l4_len) noexcept {
  std::uint32_t sum = 0;
  if (ip6) {
    // RFC 8200 §8.1: src, dst, upper-layer length (32), next header.
    if (l3 + kIp6Len > frame.size()) return 0;
    sum = csum_add(sum, frame.subspan(l3 + 8, 32));
    sum += l4_len >> 16;
    sum += l4_len & 0xffff;
  } else {
    // RFC 768: src, dst, zero, protocol, UDP length.
    if (l3 + kIp4Len > frame.size()) return 0;
    sum = csum_add(sum, frame.subspan(l3 + 12, 8));
    sum += l4_len;
  }
  return sum + proto;
}

}  // namespace ntsd::net
