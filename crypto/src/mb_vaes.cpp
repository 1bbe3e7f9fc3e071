// VAES/AVX-512 kernels: 16-lane key setup, CBC-MAC and CTR. See mb_vaes.hpp.
//
// Built without -mavx512* (the project targets baseline x86-64): every
// function that uses the intrinsics carries a target attribute, and the
// engine checks cpu_supported() before calling any of them.
#include "mb_vaes.hpp"

#include <cpuid.h>
#include <immintrin.h>

// GCC 12's AVX-512 headers build "undefined" vectors as `__m512i __Y = __Y;`
// (slli/srli/shuffle/broadcast), which -Wuninitialized flags at every inlined
// use; the value is never read. Nothing else in this file relies on the warning.
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)  // clang has no such group (and no such false positive)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define NTSD_VAES_TARGET "aes,vaes,avx512f,avx512bw,avx512vl,avx512dq"
#define NTSD_VAES __attribute__((target(NTSD_VAES_TARGET)))
#define NTSD_VAES_INLINE __attribute__((target(NTSD_VAES_TARGET), always_inline)) inline

// The state of 4 lanes groups must live in registers, not in an array on the
// stack: GCC keeps x[g] in memory unless the loops over g (and rounds) are
// unrolled, which put a store and a reload into every aesenc chain.
#define NTSD_PRAGMA(x) _Pragma(#x)
#define NTSD_UNROLL(n) NTSD_PRAGMA(GCC unroll n)

namespace ntsd::crypto::mb::vaes {
namespace {

constexpr std::size_t kRounds = 10;  // AES-128

NTSD_VAES_INLINE __m512i ld(const Block* p) {
  return _mm512_load_si512(static_cast<const void*>(p));
}
NTSD_VAES_INLINE void st(Block* p, __m512i v) {
  _mm512_store_si512(static_cast<void*>(p), v);
}

// Four 16-byte keys (anywhere in memory) as the four lanes of one register.
NTSD_VAES_INLINE __m512i gather4(const std::uint8_t* const* k) {
  const auto l = [](const std::uint8_t* p) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  };
  __m512i v = _mm512_castsi128_si512(l(k[0]));
  v = _mm512_inserti32x4(v, l(k[1]), 1);
  v = _mm512_inserti32x4(v, l(k[2]), 2);
  return _mm512_inserti32x4(v, l(k[3]), 3);
}


// RFC 5297 §2.3 dbl on four big-endian blocks: byte-reverse each lane into a
// little-endian 128-bit integer, shift the two 64-bit halves left by one,
// carry the low half's top bit into the high half and fold the high half's
// top bit back as 0x87. Branch-free: the blocks are secret-derived.
NTSD_VAES_INLINE __m512i dbl4(__m512i v) {
  const __m512i rev =
      _mm512_broadcast_i32x4(_mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  const __m512i fold = _mm512_set4_epi64(1, 0x87, 1, 0x87);  // per lane: low half 0x87, high 1
  const __m512i x = _mm512_shuffle_epi8(v, rev);
  __m512i c = _mm512_shuffle_epi32(_mm512_srli_epi64(x, 63), _MM_PERM_BADC);  // swap halves
  c = _mm512_and_si512(_mm512_sub_epi64(_mm512_setzero_si512(), c), fold);
  return _mm512_shuffle_epi8(_mm512_xor_si512(_mm512_slli_epi64(x, 1), c), rev);
}

// One FIPS 197 §5.2 AES-128 expansion round of 4 keys. RotWord+SubWord come
// from aesenclast on a state whose columns all hold RotWord(w3), with rcon in
// every column as the round key (S. Gueron's AES-GCM-SIV reference), as in
// mb_aesni.cpp; the shifts stay within each 128-bit lane.
NTSD_VAES_INLINE __m512i expand_round(__m512i k, __m512i rcon) {
  const __m512i rot = _mm512_set1_epi32(0x0c0f0e0d);
  const __m512i sub = _mm512_aesenclast_epi128(_mm512_shuffle_epi8(k, rot), rcon);
  // The running XOR w_i ^= w_{i-1} of FIPS 197 §5.2 within each lane in two
  // doubling steps (4 bytes, then 8), the second folded with sub into one
  // ternary XOR: 2 shifts and 2 logic ops where three shift-XOR steps took 6
  // (the GCM-SIV kernels' expand_round does the same).
  k = _mm512_xor_si512(k, _mm512_bslli_epi128(k, 4));
  return _mm512_ternarylogic_epi64(k, _mm512_bslli_epi128(k, 8), sub, 0x96);
}

// Expands K1 of every lane (and K2 with Ctr: the two sets of chains are
// independent, so together they take little longer than one), straight into
// the interleaved tables. Also returns E(K1, 0^128) of every lane (L of
// RFC 4493 §2.3), computed from each round key as soon as it exists.
template <std::size_t G, bool Ctr>
NTSD_VAES_INLINE void expand(const std::uint8_t* const (&k1)[kLanes],
                             const std::uint8_t* const (&k2)[kLanes], LaneKeys& mac, LaneKeys& ctr,
                             __m512i (&l)[4]) {
  __m512i a[G];
  [[maybe_unused]] __m512i b[G];
  NTSD_UNROLL(4)
  for (std::size_t g = 0; g < G; ++g) {
    a[g] = gather4(&k1[4 * g]);
    st(&mac.rk[0][4 * g], a[g]);
    l[g] = a[g];  // 0^128 xor rk[0]
    if constexpr (Ctr) {
      b[g] = gather4(&k2[4 * g]);
      st(&ctr.rk[0][4 * g], b[g]);
    }
  }
  int rc = 1;
  NTSD_UNROLL(10)
  for (std::size_t r = 1; r <= kRounds; ++r) {
    const __m512i rcon = _mm512_set1_epi32(rc);
    NTSD_UNROLL(4)
    for (std::size_t g = 0; g < G; ++g) {
      a[g] = expand_round(a[g], rcon);
      st(&mac.rk[r][4 * g], a[g]);
      l[g] = r < kRounds ? _mm512_aesenc_epi128(l[g], a[g]) : _mm512_aesenclast_epi128(l[g], a[g]);
      if constexpr (Ctr) {
        b[g] = expand_round(b[g], rcon);
        st(&ctr.rk[r][4 * g], b[g]);
      }
    }
    rc = rc == 0x80 ? 0x1b : rc << 1;  // FIPS 197 Rcon
  }
}

// One AES-128 encryption of every lane of G registers, round by round across
// registers so that independent aesencs overlap.
template <std::size_t G>
NTSD_VAES_INLINE void encrypt(const LaneKeys& kt, __m512i (&x)[4]) {
  NTSD_UNROLL(4)
  for (std::size_t g = 0; g < G; ++g) x[g] = _mm512_xor_si512(x[g], ld(&kt.rk[0][4 * g]));
  NTSD_UNROLL(10)
  for (std::size_t r = 1; r < kRounds; ++r) {
    NTSD_UNROLL(4)
    for (std::size_t g = 0; g < G; ++g) x[g] = _mm512_aesenc_epi128(x[g], ld(&kt.rk[r][4 * g]));
  }
  NTSD_UNROLL(4)
  for (std::size_t g = 0; g < G; ++g)
    x[g] = _mm512_aesenclast_epi128(x[g], ld(&kt.rk[kRounds][4 * g]));
}

template <std::size_t G, bool Ctr>
NTSD_VAES void setup_g(const std::uint8_t* const (&k1)[kLanes],
                       const std::uint8_t* const (&k2)[kLanes], LaneKeys& mac, LaneKeys& ctr,
                       Block (&sk1)[kLanes], Block (&sk2)[kLanes], Block (&d0)[kLanes]) {
  __m512i x[4];
  expand<G, Ctr>(k1, k2, mac, ctr, x);
  NTSD_UNROLL(4)
  for (std::size_t g = 0; g < G; ++g) {
    const __m512i s1 = dbl4(x[g]);
    _mm512_storeu_si512(&sk1[4 * g], s1);
    _mm512_storeu_si512(&sk2[4 * g], dbl4(s1));
    x[g] = s1;  // CMAC of one complete block 0^128: E(K, 0^128 xor sk1)
  }
  encrypt<G>(mac, x);
  NTSD_UNROLL(4)
  for (std::size_t g = 0; g < G; ++g) _mm512_storeu_si512(&d0[4 * g], x[g]);
}

template <std::size_t G>
NTSD_VAES void setup_mac_g(const std::uint8_t* const (&k1)[kLanes], LaneKeys& mac,
                           Block (&sk1)[kLanes], Block (&sk2)[kLanes], Block (&d0)[kLanes]) {
  setup_g<G, false>(k1, k1, mac, mac, sk1, sk2, d0);
}

template <std::size_t G>
NTSD_VAES void setup_both_g(const std::uint8_t* const (&k1)[kLanes],
                            const std::uint8_t* const (&k2)[kLanes], LaneKeys& mac, LaneKeys& ctr,
                            Block (&sk1)[kLanes], Block (&sk2)[kLanes], Block (&d0)[kLanes]) {
  setup_g<G, true>(k1, k2, mac, ctr, sk1, sk2, d0);
}

template <std::size_t G>
NTSD_VAES void cbc_mac_g(const LaneKeys& kt, LaneBlocks& b, std::size_t steps) {
  __m512i x[4];
  NTSD_UNROLL(4)
  for (auto& v : x) v = _mm512_setzero_si512();
  for (std::size_t s = 0; s < steps; ++s) {
    const std::uint32_t reset = b.reset[s];
    NTSD_UNROLL(4)
    for (std::size_t g = 0; g < G; ++g) {
      const auto keep = static_cast<__mmask8>(~(reset >> (8 * g)));
      const __m512i m = ld(&b.blk[s][4 * g]);
      x[g] = _mm512_mask_xor_epi64(m, keep, x[g], m);  // keep ? x ^ m : m
    }
    encrypt<G>(kt, x);
    NTSD_UNROLL(4)
    for (std::size_t g = 0; g < G; ++g) st(&b.blk[s][4 * g], x[g]);
  }
}

template <std::size_t G>
NTSD_VAES void ctr_g(const LaneKeys& kt, const Block (&q)[kLanes], LaneBlocks& b,
                     std::size_t steps) {
  const __m512i rev =
      _mm512_broadcast_i32x4(_mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  // Byte-reversed, the big-endian low word of Q is the first 32-bit element.
  const __m512i one = _mm512_set4_epi32(0, 0, 0, 1);
  __m512i c[4], x[4];
  NTSD_UNROLL(4)
  for (std::size_t g = 0; g < G; ++g)
    c[g] = _mm512_shuffle_epi8(_mm512_loadu_si512(&q[4 * g]), rev);
  for (std::size_t s = 0; s < steps; ++s) {
    NTSD_UNROLL(4)
    for (std::size_t g = 0; g < G; ++g) {
      x[g] = _mm512_shuffle_epi8(c[g], rev);
      c[g] = _mm512_add_epi32(c[g], one);
    }
    encrypt<G>(kt, x);
    NTSD_UNROLL(4)
    for (std::size_t g = 0; g < G; ++g) st(&b.blk[s][4 * g], x[g]);
  }
}

// The first n (0..16) bytes at p, zeros after; reads nothing past p + n.
NTSD_VAES_INLINE __m128i load_partial(const std::uint8_t* p, std::size_t n) {
  const auto mask = static_cast<__mmask16>((std::uint32_t{1} << n) - 1);
  return _mm_maskz_loadu_epi8(mask, p);
}

NTSD_VAES_INLINE __m128i load_block(const Block& b) {
  return _mm_load_si128(reinterpret_cast<const __m128i*>(b.b));
}
NTSD_VAES_INLINE void store_block(Block& b, __m128i v) {
  _mm_store_si128(reinterpret_cast<__m128i*>(b.b), v);
}

// pshufb controls for a byte shift by a variable amount r: a 16-byte window
// into these tables, at offset 16 - r, moves byte i to i + r (kShiftUp) or
// byte 16 - r + i to i (kShiftDown); 0x80 entries give zero bytes.
alignas(16) constexpr std::uint8_t kShiftUp[32] = {
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0,    1,    2,    3,    4,    5,    6,    7,    8,    9,    10,   11,   12,   13,   14,   15};
alignas(16) constexpr std::uint8_t kShiftDown[32] = {
    0,    1,    2,    3,    4,    5,    6,    7,    8,    9,    10,   11,   12,   13,   14,   15,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80};

NTSD_VAES_INLINE __m128i window(const std::uint8_t (&t)[32], std::size_t r) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(t + 16 - r));
}

// One CMAC's blocks for lane l from step s (see mb_vaes.hpp), D XORed into
// the message's last 16 bytes first if xorend; returns the step after it.
NTSD_VAES_INLINE std::size_t emit(LaneBlocks& b, std::size_t l, std::size_t s,
                                  const std::uint8_t* p, std::size_t n, const Block& sk1,
                                  const Block& sk2, const Block* xorend) {
  b.reset[s] |= 3u << (2 * l);
  const std::size_t nb = n == 0 ? 1 : (n + 15) / 16;
  for (std::size_t j = 0; j + 1 < nb; ++j)
    store_block(b.blk[s + j][l], _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * j)));
  const std::size_t rem = n - 16 * (nb - 1);  // 0 (empty message) to 16
  __m128i last = load_partial(p + 16 * (nb - 1), rem);
  if (xorend != nullptr) {
    // D over the last 16 bytes, which straddle the last two blocks unless
    // n is a multiple of 16: D << rem bytes into the one before, the rest here.
    const __m128i d = load_block(*xorend);
    if (rem == 16) {
      last = _mm_xor_si128(last, d);
    } else {
      Block& prev = b.blk[s + nb - 2][l];
      store_block(prev,
                  _mm_xor_si128(load_block(prev), _mm_shuffle_epi8(d, window(kShiftUp, rem))));
      last = _mm_xor_si128(last, _mm_shuffle_epi8(d, window(kShiftDown, rem)));
    }
  }
  // The 10* pad (a zero mask when the block is complete) and the subkey.
  last = _mm_xor_si128(last, _mm_maskz_set1_epi8(static_cast<__mmask16>(std::uint32_t{1} << rem),
                                                 static_cast<char>(0x80)));
  last = _mm_xor_si128(last, load_block(rem == 16 ? sk1 : sk2));
  store_block(b.blk[s + nb - 1][l], last);
  return s + nb;
}

// ---- Uniform chunks: the lanes' bytes gathered straight into registers ----

// Block `off` of the four lanes p[0..3] (16 bytes each).
NTSD_VAES_INLINE __m512i gather_full(const std::uint8_t* const* p, std::size_t off) {
  const auto l = [off](const std::uint8_t* q) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + off));
  };
  __m512i v = _mm512_castsi128_si512(l(p[0]));
  v = _mm512_inserti32x4(v, l(p[1]), 1);
  v = _mm512_inserti32x4(v, l(p[2]), 2);
  return _mm512_inserti32x4(v, l(p[3]), 3);
}

// The first bytes (mask m) of block `off` of the four lanes, zeros after;
// reads nothing past them.
NTSD_VAES_INLINE __m512i gather_part(const std::uint8_t* const* p, std::size_t off, __mmask16 m) {
  // No lambda: it would not inherit the target attribute the masked load needs.
  __m512i v = _mm512_castsi128_si512(_mm_maskz_loadu_epi8(m, p[0] + off));
  v = _mm512_inserti32x4(v, _mm_maskz_loadu_epi8(m, p[1] + off), 1);
  v = _mm512_inserti32x4(v, _mm_maskz_loadu_epi8(m, p[2] + off), 2);
  return _mm512_inserti32x4(v, _mm_maskz_loadu_epi8(m, p[3] + off), 3);
}

// Writes the bytes (mask m) of each lane of v to p[i] + off; null p[i]: an
// idle lane, nothing written.
NTSD_VAES_INLINE void scatter(std::uint8_t* const* p, std::size_t off, __m512i v, __mmask16 m) {
  const __m128i l[4] = {_mm512_castsi512_si128(v), _mm512_extracti32x4_epi32(v, 1),
                        _mm512_extracti32x4_epi32(v, 2), _mm512_extracti32x4_epi32(v, 3)};
  NTSD_UNROLL(4)
  for (int i = 0; i < 4; ++i)
    if (p[i] != nullptr) _mm_mask_storeu_epi8(p[i] + off, m, l[i]);
}

// The 10* pad of RFC 4493 §2.4 after rem (0..15) bytes, in every lane;
// zero for a complete block (rem 16).
NTSD_VAES_INLINE __m512i pad_at(std::size_t rem) {
  const std::uint64_t bit = rem < 16 ? std::uint64_t{1} << rem : 0;
  return _mm512_maskz_set1_epi8(bit * 0x0001'0001'0001'0001ull, static_cast<char>(0x80));
}

NTSD_VAES_INLINE __mmask16 bytes_mask(std::size_t n) {
  return static_cast<__mmask16>((std::uint32_t{1} << n) - 1);
}

// Where the uniform kernels take round keys from: the table (kMem: per-lane
// keys), or registers (kShared: every lane has one key, cookies under the
// master key, so group 0's 11 round keys serve all groups).
constexpr int kMem = 0, kShared = 1;

template <std::size_t G, int M>
struct RegKeys;

// Per-lane keys: rounds 1..kHold of every group stay in registers across
// the step loops (8 registers); the others are read from the table at each
// use (memory operands of vaesenc). 44 zmm key loads a step beside the 16
// lane loads keep Zen 4's load ports busier than its AES unit, but holding
// all 44 spilled (measured slower), and kHold 4 (16 registers) spilled the
// chaining values and lost what it saved (docs/benchmarks.md, kern17).
constexpr std::size_t kHold = 2;

template <std::size_t G>
struct RegKeys<G, kMem> {
  const Block* k0;  // round key 0 of the first lane
  __m512i h[kHold + 1][G];
};

// One key for every lane: its 11 round keys live in registers.
template <std::size_t G>
struct RegKeys<G, kShared> {
  __m512i k[kRounds + 1];
};

// The lane group whose subkeys and D0 serve group g: with one key for every
// lane only group 0's are set up (setup() for 1 group).
template <int S>
constexpr std::size_t grp(std::size_t g) {
  return S == kShared ? 0 : g;
}

template <std::size_t G>
NTSD_VAES_INLINE void load_keys(const LaneKeys& kt, RegKeys<G, kMem>& rk) {
  rk.k0 = &kt.rk[0][0];
  NTSD_UNROLL(11)
  for (std::size_t r = 1; r <= kHold; ++r) {
    NTSD_UNROLL(4)
    for (std::size_t g = 0; g < G; ++g) rk.h[r][g] = ld(&kt.rk[r][4 * g]);
  }
}

template <std::size_t G>
NTSD_VAES_INLINE void load_keys(const LaneKeys& kt, RegKeys<G, kShared>& rk) {
  NTSD_UNROLL(11)
  for (std::size_t r = 0; r <= kRounds; ++r) rk.k[r] = ld(&kt.rk[r][0]);
}

template <std::size_t G>
NTSD_VAES_INLINE __m512i key(const RegKeys<G, kMem>& rk, std::size_t r, std::size_t g) {
  if (r >= 1 && r <= kHold) return rk.h[r][g];
  return ld(rk.k0 + r * kLanes + 4 * g);
}

// The table's address made opaque to the compiler once per block step:
// else GCC hoists the 44 round-key loads out of the step loops and spills
// them to the stack (a copy of the table, then loads from it: no fewer
// loads), and the spills crowd the chaining values out of the registers.
template <std::size_t G>
NTSD_VAES_INLINE RegKeys<G, kMem> fresh(const RegKeys<G, kMem>& rk) {
  RegKeys<G, kMem> f = rk;
  __asm__("" : "+r"(f.k0));
  return f;
}

template <std::size_t G, int S>
NTSD_VAES_INLINE const RegKeys<G, S>& fresh(const RegKeys<G, S>& rk) {
  return rk;
}

template <std::size_t G>
NTSD_VAES_INLINE __m512i key(const RegKeys<G, kShared>& rk, std::size_t r, std::size_t) {
  return rk.k[r];
}

// Rounds 1..10 of every lane (round 0's XOR is folded in by the caller).
template <std::size_t G, int S>
NTSD_VAES_INLINE void rounds(const RegKeys<G, S>& rk0, __m512i (&x)[4]) {
  const auto& rk = fresh(rk0);
  NTSD_UNROLL(10)
  for (std::size_t r = 1; r < kRounds; ++r) {
    NTSD_UNROLL(4)
    for (std::size_t g = 0; g < G; ++g) x[g] = _mm512_aesenc_epi128(x[g], key(rk, r, g));
  }
  NTSD_UNROLL(4)
  for (std::size_t g = 0; g < G; ++g) x[g] = _mm512_aesenclast_epi128(x[g], key(rk, kRounds, g));
}

// v in a register: GCC would fold a key load into both aesencs that use it
// as their memory operand, two loads where one does.
// (Keys already in registers need no such copy.)
template <int S>
NTSD_VAES_INLINE __m512i reg(__m512i v) {
  if constexpr (S == kMem) __asm__("" : "+v"(v));
  return v;
}

// Rounds 1..10 of two independent blocks per lane: each round key (with
// per-lane keys a load) serves two aesencs, and twice the chains hide the
// aesenc latency.
template <std::size_t G, int S>
NTSD_VAES_INLINE void rounds2(const RegKeys<G, S>& rk0, __m512i (&x)[4], __m512i (&y)[4]) {
  const auto& rk = fresh(rk0);
  NTSD_UNROLL(10)
  for (std::size_t r = 1; r < kRounds; ++r) {
    NTSD_UNROLL(4)
    for (std::size_t g = 0; g < G; ++g) {
      const __m512i k = r <= kHold ? key(rk, r, g) : reg<S>(key(rk, r, g));
      x[g] = _mm512_aesenc_epi128(x[g], k);
      y[g] = _mm512_aesenc_epi128(y[g], k);
    }
  }
  NTSD_UNROLL(4)
  for (std::size_t g = 0; g < G; ++g) {
    const __m512i k = reg<S>(key(rk, kRounds, g));
    x[g] = _mm512_aesenclast_epi128(x[g], k);
    y[g] = _mm512_aesenclast_epi128(y[g], k);
  }
}

// The message's leading blocks of S2V (RFC 5297 §2.4), those the xorend
// of D does not reach: a CBC-MAC chain of their own that needs nothing from
// the AD, so absorb() steps it beside the AD components' chains (rounds2:
// each round key loaded once for two aesencs, two chains per lane).
// Keys in registers (kShared): the side chain and the paired CTR blocks
// measured no gain there (no key loads to share; four chains already keep
// the AES unit busy) and cost the cookie kernels spills.
template <int S>
constexpr bool kSideOff = S == kShared;

template <std::size_t G>
struct Side {
  const std::uint8_t* const* p;
  std::size_t k;  // next block
  std::size_t n;  // blocks
  __m512i y[4];
};

// One step of the side chain, if it has a block left, with x's rounds.
// The side chain's next block and round key 0 XORed into its state.
template <std::size_t G, int S>
NTSD_VAES_INLINE void side_in(const RegKeys<G, S>& rk, Side<G>& s) {
  NTSD_UNROLL(4)
  for (std::size_t g = 0; g < G; ++g)
    s.y[g] = _mm512_ternarylogic_epi64(s.y[g], gather_full(s.p + 4 * g, 16 * s.k), key(rk, 0, g),
                                       0x96);
  ++s.k;
}

template <std::size_t G, int S>
NTSD_VAES_INLINE void step(const RegKeys<G, S>& rk, Side<G>& s, __m512i (&x)[4]) {
  if (kSideOff<S> || s.k == s.n) return rounds(rk, x);
  side_in(rk, s);
  rounds2(rk, x, s.y);
}

// The last block (block nb - 1, rem = 1..16 bytes; rem 0 only for an empty
// message) of every lane into x for its rounds: the bytes, the 10* pad and
// the subkey (RFC 4493 §2.4: sk1 for a complete block, sk2 for a padded
// one), D's share if d is given (RFC 5297 §2.4's xorend: all of D for a
// complete block, else its bytes from rem on), and round key 0.
template <std::size_t G, int S>
NTSD_VAES_INLINE void last_in(const RegKeys<G, S>& rk, const std::uint8_t* const* p, std::size_t nb,
                              std::size_t rem, const Block* sk1, const Block* sk2,
                              const __m512i* d, __m512i (&x)[4]) {
  const __m512i pad = pad_at(rem);
  const __m512i down = _mm512_broadcast_i32x4(window(kShiftDown, rem & 15));
  const Block* sk = rem == 16 ? sk1 : sk2;
  NTSD_UNROLL(4)
  for (std::size_t g = 0; g < G; ++g) {
    __m512i m = gather_part(p + 4 * g, 16 * (nb - 1), bytes_mask(rem));
    if (d != nullptr) m = _mm512_xor_si512(m, rem == 16 ? d[g] : _mm512_shuffle_epi8(d[g], down));
    m = _mm512_ternarylogic_epi64(m, pad, ld(&sk[4 * grp<S>(g)]), 0x96);  // m ^ pad ^ sk
    x[g] = _mm512_ternarylogic_epi64(x[g], m, key(rk, 0, g), 0x96);
  }
}

// CMAC (RFC 4493) of the n bytes at p[l] of every lane (an AD component)
// into x, stepping the side chain along (step()).
template <std::size_t G, int S>
NTSD_VAES_INLINE void absorb(const RegKeys<G, S>& rk, const std::uint8_t* const* p, std::size_t n,
                             const Block* sk1, const Block* sk2, Side<G>& side,
                             __m512i (&x)[4]) {
  const std::size_t nb = n == 0 ? 1 : (n + 15) / 16;
  NTSD_UNROLL(4)
  for (std::size_t g = 0; g < G; ++g) x[g] = _mm512_setzero_si512();
  for (std::size_t k = 0; k + 1 < nb; ++k) {
    NTSD_UNROLL(4)
    for (std::size_t g = 0; g < G; ++g)  // x ^ m ^ rk0
      x[g] = _mm512_ternarylogic_epi64(x[g], gather_full(p + 4 * g, 16 * k), key(rk, 0, g), 0x96);
    step(rk, side, x);
  }
  last_in(rk, p, nb, n - 16 * (nb - 1), sk1, sk2, nullptr, x);
  step(rk, side, x);
}

// S2V (RFC 5297 §2.4) of every lane into v: D from D0 through each AD
// component, then T = Sn xorend D (|Sn| >= 16) or dbl(D) xor pad(Sn). The
// message's blocks before D's xorend reaches them run beside the AD
// components (Side); the CBC-MAC is the same chain, just computed earlier.
template <std::size_t G, int S>
NTSD_VAES_INLINE void s2v(const LaneKeys& mac, const Block* sk1, const Block* sk2, const Block* d0,
                          const UniformOps& u, __m512i (&v)[4]) {
  RegKeys<G, S> rk;
  load_keys(mac, rk);
  const std::uint8_t* const* msg = u.msg;
  const std::size_t n = u.msg_len;
  const std::size_t nb = n == 0 ? 1 : (n + 15) / 16;
  const std::size_t rem = n - 16 * (nb - 1);
  // The message blocks D does not reach (none if |Sn| < 16).
  const std::size_t pre = n < 16 ? 0 : nb - (rem == 16 ? 1 : 2);
  Side<G> side{msg, 0, kSideOff<S> ? 0 : pre, {}};
  __m512i d[4], x[4];
  NTSD_UNROLL(4)
  for (std::size_t g = 0; g < G; ++g) {
    d[g] = ld(&d0[4 * grp<S>(g)]);
    side.y[g] = _mm512_setzero_si512();
  }
  for (std::size_t j = 0; j < u.ad_count; ++j) {
    absorb(rk, u.ad[j], u.ad_len[j], sk1, sk2, side, x);
    NTSD_UNROLL(4)
    for (std::size_t g = 0; g < G; ++g) d[g] = _mm512_xor_si512(dbl4(d[g]), x[g]);
  }
  if (n < 16) {
    // One complete block, so sk1.
    const __m512i pad = pad_at(n);
    NTSD_UNROLL(4)
    for (std::size_t g = 0; g < G; ++g) {
      const __m512i t = _mm512_xor_si512(dbl4(d[g]), gather_part(msg + 4 * g, 0, bytes_mask(n)));
      v[g] = _mm512_ternarylogic_epi64(t, pad, ld(&sk1[4 * grp<S>(g)]), 0x96);
      v[g] = _mm512_xor_si512(v[g], key(rk, 0, g));
    }
    return rounds(rk, v);
  }
  // The side chain's blocks the AD did not cover, alone.
  while (side.k < pre) {
    side_in(rk, side);
    rounds(rk, side.y);
  }
  // The last one or two blocks, with D.
  NTSD_UNROLL(4)
  for (std::size_t g = 0; g < G; ++g) v[g] = side.y[g];
  if (rem != 16) {
    const __m512i up = _mm512_broadcast_i32x4(window(kShiftUp, rem));
    NTSD_UNROLL(4)
    for (std::size_t g = 0; g < G; ++g) {
      const __m512i m =
          _mm512_xor_si512(gather_full(msg + 4 * g, 16 * pre), _mm512_shuffle_epi8(d[g], up));
      v[g] = _mm512_ternarylogic_epi64(v[g], m, key(rk, 0, g), 0x96);
    }
    rounds(rk, v);
  }
  last_in(rk, msg, nb, rem, sk1, sk2, d, v);
  rounds(rk, v);
}

// out[l] = in[l] xor CTR(K2, Q) (RFC 5297 §2.5) for n bytes; q holds the
// counter blocks V with bits 63 and 31 cleared.
template <std::size_t G, int S>
NTSD_VAES_INLINE void ctr_xor(const LaneKeys& kt, const __m512i (&q)[4], const UniformOps& u) {
  RegKeys<G, S> rk;
  load_keys(kt, rk);
  std::uint8_t* const* out = u.out;
  const std::uint8_t* const* in = u.in;
  const __m512i rev =
      _mm512_broadcast_i32x4(_mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  const __m512i one = _mm512_set4_epi32(0, 0, 0, 1);
  __m512i c[4], x[4], y[4];
  NTSD_UNROLL(4)
  for (std::size_t g = 0; g < G; ++g) c[g] = _mm512_shuffle_epi8(q[g], rev);
  const std::size_t n = u.msg_len;
  // Two counter blocks a step while two are left (rounds2), then the last
  // (kShared: one a step).
  std::size_t o = 0;
  for (; !kSideOff<S> && o + 16 < n; o += 32) {
    NTSD_UNROLL(4)
    for (std::size_t g = 0; g < G; ++g) {
      x[g] = _mm512_xor_si512(_mm512_shuffle_epi8(c[g], rev), key(rk, 0, g));
      c[g] = _mm512_add_epi32(c[g], one);
      y[g] = _mm512_xor_si512(_mm512_shuffle_epi8(c[g], rev), key(rk, 0, g));
      c[g] = _mm512_add_epi32(c[g], one);
    }
    rounds2(rk, x, y);
    const __mmask16 m = bytes_mask(n - o - 16 < 16 ? n - o - 16 : 16);
    NTSD_UNROLL(4)
    for (std::size_t g = 0; g < G; ++g) {
      scatter(out + 4 * g, o, _mm512_xor_si512(x[g], gather_full(in + 4 * g, o)), 0xffff);
      scatter(out + 4 * g, o + 16,
              _mm512_xor_si512(y[g], gather_part(in + 4 * g, o + 16, m)), m);
    }
  }
  for (; o < n; o += 16) {
    NTSD_UNROLL(4)
    for (std::size_t g = 0; g < G; ++g) {
      x[g] = _mm512_xor_si512(_mm512_shuffle_epi8(c[g], rev), key(rk, 0, g));
      c[g] = _mm512_add_epi32(c[g], one);
    }
    rounds(rk, x);
    const __mmask16 m = bytes_mask(n - o < 16 ? n - o : 16);
    NTSD_UNROLL(4)
    for (std::size_t g = 0; g < G; ++g)
      scatter(out + 4 * g, o, _mm512_xor_si512(x[g], gather_part(in + 4 * g, o, m)), m);
  }
}

// RFC 5297 §2.5: Q = V with the top bits of bytes 8 and 12 cleared.
NTSD_VAES_INLINE __m512i ctr_block(__m512i v) {
  // Bytes 8 and 12 are the low bytes of the little-endian words 2 and 3.
  const __m512i keep = _mm512_set4_epi32(static_cast<int>(0xffffff7fu),
                                         static_cast<int>(0xffffff7fu), -1, -1);
  return _mm512_and_si512(v, keep);
}

template <std::size_t G, bool Sh>
NTSD_VAES void seal_uniform_g(const LaneKeys& mac, const LaneKeys* ctr, const Block* sk1,
                              const Block* sk2, const Block* d0, const UniformOps& u) {
  constexpr int S = Sh ? kShared : kMem;
  __m512i v[4];
  s2v<G, S>(mac, sk1, sk2, d0, u, v);
  NTSD_UNROLL(4)
  for (std::size_t g = 0; g < G; ++g) {
    scatter(u.tag_out + 4 * g, 0, v[g], 0xffff);
    v[g] = ctr_block(v[g]);
  }
  if (u.msg_len != 0) ctr_xor<G, S>(*ctr, v, u);
}

template <std::size_t G, bool Sh>
NTSD_VAES std::uint32_t open_uniform_g(const LaneKeys& mac, const LaneKeys* ctr, const Block* sk1,
                                       const Block* sk2, const Block* d0, const UniformOps& u) {
  constexpr int S = Sh ? kShared : kMem;
  const std::uint8_t* const* siv = u.tag_in;
  __m512i v[4], s[4];
  NTSD_UNROLL(4)
  for (std::size_t g = 0; g < G; ++g) s[g] = gather_full(siv + 4 * g, 0);
  if (u.msg_len != 0) {
    NTSD_UNROLL(4)
    for (std::size_t g = 0; g < G; ++g) v[g] = ctr_block(s[g]);
    ctr_xor<G, S>(*ctr, v, u);
  }
  s2v<G, S>(mac, sk1, sk2, d0, u, v);
  // Both 64-bit halves of a lane equal: bits 2l and 2l+1 of the mask.
  std::uint32_t eq = 0;
  NTSD_UNROLL(4)
  for (std::size_t g = 0; g < G; ++g)
    eq |= static_cast<std::uint32_t>(_mm512_cmpeq_epi64_mask(v[g], s[g])) << (8 * g);
  std::uint32_t ok = 0;
  for (std::size_t l = 0; l < 4 * G; ++l) ok |= ((eq >> (2 * l)) & (eq >> (2 * l + 1)) & 1u) << l;
  return ok;
}

}  // namespace

NTSD_VAES std::size_t emit_ad(LaneBlocks& b, std::size_t l, const std::span<const std::uint8_t>* ad,
                              std::size_t count, const Block& sk1, const Block& sk2,
                              std::uint8_t* end) noexcept {
  std::size_t s = 0;
  for (std::size_t j = 0; j < count; ++j) {
    s = emit(b, l, s, ad[j].data(), ad[j].size(), sk1, sk2, nullptr);
    end[j] = static_cast<std::uint8_t>(s - 1);
  }
  return s;
}

NTSD_VAES std::size_t emit_t(LaneBlocks& b, std::size_t l, const std::uint8_t* p, std::size_t n,
                             const Block& d, const Block& sk1, const Block& sk2) noexcept {
  if (n >= 16) return emit(b, l, 0, p, n, sk1, sk2, &d);
  // A single complete block, so it takes sk1.
  b.reset[0] |= 3u << (2 * l);
  __m128i t = _mm_xor_si128(load_partial(p, n), load_block(dbl(d)));
  t = _mm_xor_si128(t, _mm_maskz_set1_epi8(static_cast<__mmask16>(std::uint32_t{1} << n),
                                           static_cast<char>(0x80)));
  store_block(b.blk[0][l], _mm_xor_si128(t, load_block(sk1)));
  return 1;
}

NTSD_VAES void xor_keystream(const LaneBlocks& b, std::size_t l, const std::uint8_t* src,
                             std::uint8_t* dst, std::size_t n) noexcept {
  for (std::size_t o = 0, s = 0; o < n; o += 16, ++s) {
    const std::size_t len = n - o < 16 ? n - o : 16;
    const auto mask = static_cast<__mmask16>((std::uint32_t{1} << len) - 1);
    const __m128i x = _mm_xor_si128(_mm_maskz_loadu_epi8(mask, src + o), load_block(b.blk[s][l]));
    _mm_mask_storeu_epi8(dst + o, mask, x);
  }
}

const std::uint8_t kZeros[kMaxSteps * 16] = {};

// The empty asm in the loops also keeps GCC from turning them back into a
// memset call (its loop-idiom pass did: rep stosb's start-up per call cost
// more than the stores).
NTSD_VAES void wipe_keys(LaneKeys& kt, std::size_t groups) noexcept {
  const __m512i z = _mm512_setzero_si512();
  NTSD_UNROLL(11)
  for (std::size_t r = 0; r <= kRounds; ++r) {
    Block* row = kt.rk[r];
    st(row, z);  // groups >= 1
    if (groups > 1) st(row + 4, z);
    if (groups > 2) st(row + 8, z);
    if (groups > 3) st(row + 12, z);
  }
  __asm__ __volatile__("" : : "r"(&kt) : "memory");
}

NTSD_VAES void wipe_blocks(Block* p, std::size_t n) noexcept {
  const __m512i z = _mm512_setzero_si512();
  for (std::size_t i = 0; i < n; i += kLanesPerGroup) {
    st(p + i, z);
    __asm__ __volatile__("" : : "r"(p + i) : "memory");
  }
}

bool cpu_supported() noexcept {
  // __builtin_cpu_supports checks that the OS saves the AVX-512 state too;
  // clang 14 has no "vaes" name for it, so VAES is read from CPUID leaf 7
  // (ECX bit 9) directly.
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("aes") || !__builtin_cpu_supports("avx512f") ||
      !__builtin_cpu_supports("avx512bw") || !__builtin_cpu_supports("avx512vl") ||
      !__builtin_cpu_supports("avx512dq"))
    return false;
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid_count(7, 0, &a, &b, &c, &d) != 0 && (c & (1u << 9)) != 0;
}

// Each entry point instantiates its kernel for 1..4 groups: a burst of one
// op runs one register, not four.
#define NTSD_BY_GROUPS(fn, ...)  \
  switch (groups) {              \
    case 1:                      \
      return fn<1>(__VA_ARGS__); \
    case 2:                      \
      return fn<2>(__VA_ARGS__); \
    case 3:                      \
      return fn<3>(__VA_ARGS__); \
    case 4:                      \
      return fn<4>(__VA_ARGS__); \
    default:                     \
      return;                    \
  }

void setup(const std::uint8_t* const (&k1)[kLanes], const std::uint8_t* const (&k2)[kLanes],
           std::size_t groups, LaneKeys& mac, LaneKeys* ctr, Block (&sk1)[kLanes],
           Block (&sk2)[kLanes], Block (&d0)[kLanes]) noexcept {
  if (ctr == nullptr) {
    NTSD_BY_GROUPS(setup_mac_g, k1, mac, sk1, sk2, d0)
  } else {
    NTSD_BY_GROUPS(setup_both_g, k1, k2, mac, *ctr, sk1, sk2, d0)
  }
}

void cbc_mac(const LaneKeys& kt, std::size_t groups, LaneBlocks& b, std::size_t steps) noexcept {
  NTSD_BY_GROUPS(cbc_mac_g, kt, b, steps)
}

void ctr_keystream(const LaneKeys& kt, std::size_t groups, const Block (&q)[kLanes], LaneBlocks& b,
                   std::size_t steps) noexcept {
  NTSD_BY_GROUPS(ctr_g, kt, q, b, steps)
}

// One instantiation per group count and key sharing.
#define NTSD_UNIFORM(fn, ...)                                              \
  switch (groups * 2 + (shared ? 1 : 0)) {                                 \
    case 2:                                                                \
      return fn<1, false>(__VA_ARGS__);                                    \
    case 3:                                                                \
      return fn<1, true>(__VA_ARGS__);                                     \
    case 4:                                                                \
      return fn<2, false>(__VA_ARGS__);                                    \
    case 5:                                                                \
      return fn<2, true>(__VA_ARGS__);                                     \
    case 6:                                                                \
      return fn<3, false>(__VA_ARGS__);                                    \
    case 7:                                                                \
      return fn<3, true>(__VA_ARGS__);                                     \
    case 8:                                                                \
      return fn<4, false>(__VA_ARGS__);                                    \
    case 9:                                                                \
      return fn<4, true>(__VA_ARGS__);                                     \
    default:                                                               \
      break;                                                               \
  }

void seal_uniform(const LaneKeys& mac, const LaneKeys* ctr, std::size_t groups, bool shared,
                  const Block (&sk1)[kLanes], const Block (&sk2)[kLanes],
                  const Block (&d0)[kLanes], const UniformOps& u) noexcept {
  NTSD_UNIFORM(seal_uniform_g, mac, ctr, sk1, sk2, d0, u)
}

std::uint32_t open_uniform(const LaneKeys& mac, const LaneKeys* ctr, std::size_t groups,
                           bool shared, const Block (&sk1)[kLanes], const Block (&sk2)[kLanes],
                           const Block (&d0)[kLanes], const UniformOps& u) noexcept {
  NTSD_UNIFORM(open_uniform_g, mac, ctr, sk1, sk2, d0, u)
  return 0;
}

#undef NTSD_UNIFORM
#undef NTSD_BY_GROUPS

// Last in the file, so that adding it moved none of the engine kernels above
// (their code layout, and so their speed, stays as it was).
namespace {

// ---- Fast-key-erasure generator (fke_random.cpp) ----
// One key for every lane: its 11 round keys broadcast into registers, the
// counters of 16 blocks in 4 registers. No table, nothing stored but the
// output and the next key's schedule.

// The schedule of key k (in every lane of the register) into rk[0..10].
NTSD_VAES_INLINE void fke_expand(__m512i k, std::uint8_t (&rk)[11][16]) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(rk[0]), _mm512_castsi512_si128(k));
  int rc = 1;
  NTSD_UNROLL(10)
  for (std::size_t r = 1; r <= kRounds; ++r) {
    k = expand_round(k, _mm512_set1_epi32(rc));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(rk[r]), _mm512_castsi512_si128(k));
    rc = rc == 0x80 ? 0x1b : rc << 1;  // FIPS 197 Rcon
  }
}

// AES-128 of G registers under round keys k (in registers).
template <std::size_t G>
NTSD_VAES_INLINE void fke_encrypt(const __m512i (&k)[kRounds + 1], __m512i (&x)[4]) {
  NTSD_UNROLL(4)
  for (std::size_t g = 0; g < G; ++g) x[g] = _mm512_xor_si512(x[g], k[0]);
  NTSD_UNROLL(10)
  for (std::size_t r = 1; r < kRounds; ++r) {
    NTSD_UNROLL(4)
    for (std::size_t g = 0; g < G; ++g) x[g] = _mm512_aesenc_epi128(x[g], k[r]);
  }
  NTSD_UNROLL(4)
  for (std::size_t g = 0; g < G; ++g) x[g] = _mm512_aesenclast_epi128(x[g], k[kRounds]);
}

NTSD_VAES void fke_fill_impl(std::uint8_t (&rk)[11][16], std::uint8_t* out, std::size_t n) {
  __m512i k[kRounds + 1];
  NTSD_UNROLL(11)
  for (std::size_t r = 0; r <= kRounds; ++r)
    k[r] = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rk[r])));
  // Lane j of c holds counter i + j as a little-endian 128-bit integer
  // whose high half stays 0 (n < 2^64 bytes never carries into it); the
  // byte reversal makes it the big-endian block of NIST SP 800-38A CTR.
  const __m512i rev =
      _mm512_broadcast_i32x4(_mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  const __m512i four = _mm512_set_epi64(0, 4, 0, 4, 0, 4, 0, 4);
  __m512i c = _mm512_set_epi64(0, 4, 0, 3, 0, 2, 0, 1);
  std::size_t off = 0;
  for (; n - off >= 256; off += 256) {
    __m512i x[4];
    NTSD_UNROLL(4)
    for (auto& v : x) {
      v = _mm512_shuffle_epi8(c, rev);
      c = _mm512_add_epi64(c, four);
    }
    fke_encrypt<4>(k, x);
    NTSD_UNROLL(4)
    for (std::size_t g = 0; g < 4; ++g) _mm512_storeu_si512(out + off + 64 * g, x[g]);
  }
  // The last 0..255 bytes, a register (4 blocks) at a time; each register is
  // an independent chain, so the out-of-order core overlaps them.
  for (; off < n; off += 64) {
    __m512i x[4] = {_mm512_shuffle_epi8(c, rev)};
    c = _mm512_add_epi64(c, four);
    fke_encrypt<1>(k, x);
    const std::size_t left = n - off;
    if (left >= 64)
      _mm512_storeu_si512(out + off, x[0]);
    else
      _mm512_mask_storeu_epi8(out + off, (std::uint64_t{1} << left) - 1, x[0]);
  }
  // The next key, E(K, block 0), computed last: held across the loops it
  // was spilled to the stack, where it would outlive its erasure.
  // Block 0 is zero in every lane, so every lane holds the next key.
  __m512i next[4] = {_mm512_setzero_si512()};
  fke_encrypt<1>(k, next);
  // Key erasure: K's schedule is overwritten by the next key's.
  fke_expand(next[0], rk);
}

}  // namespace

NTSD_VAES void fke_schedule(std::uint8_t (&rk)[11][16]) noexcept {
  fke_expand(_mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rk[0]))), rk);
}

void fke_fill(std::uint8_t (&rk)[11][16], std::uint8_t* out, std::size_t n) noexcept {
  fke_fill_impl(rk, out, n);
}

}  // namespace ntsd::crypto::mb::vaes
