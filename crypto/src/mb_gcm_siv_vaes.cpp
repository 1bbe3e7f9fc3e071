// "gcmsiv-vaes-x16": the burst AES-128-GCM-SIV kernels on zmm registers, 4
// lanes per register (VAES encrypts and VPCLMULQDQ multiplies each 128-bit
// lane on its own), 16 lanes. See mb_gcm_siv.hpp.
#include <cpuid.h>
#include <immintrin.h>

#include <cstring>
#include <memory>
#include <new>

#include "mb_gcm_siv.hpp"

// GCC 12's AVX-512 headers build "undefined" vectors as `__m512i __Y = __Y;`,
// which -Wuninitialized flags at every inlined use (see mb_vaes.cpp).
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define NTSD_GS_TARGET_STR "aes,pclmul,vaes,vpclmulqdq,avx512f,avx512bw,avx512vl,avx512dq"
#define NTSD_GS_FN __attribute__((target(NTSD_GS_TARGET_STR)))
#define NTSD_GS_INLINE __attribute__((target(NTSD_GS_TARGET_STR), always_inline)) inline

namespace ntsd::crypto::mb::gcmsiv_vaes {

using Vec = __m512i;
inline constexpr std::size_t kLanesPerVec = 4;
inline constexpr std::size_t kLanes = 16;

NTSD_GS_INLINE Vec v_load(const Block* p) { return _mm512_load_si512(static_cast<const void*>(p)); }
NTSD_GS_INLINE void v_store(Block* p, Vec v) { _mm512_store_si512(static_cast<void*>(p), v); }
NTSD_GS_INLINE Vec v_zero() { return _mm512_setzero_si512(); }
NTSD_GS_INLINE Vec v_xor(Vec a, Vec b) { return _mm512_xor_si512(a, b); }
NTSD_GS_INLINE Vec v_and(Vec a, Vec b) { return _mm512_and_si512(a, b); }
NTSD_GS_INLINE Vec v_or(Vec a, Vec b) { return _mm512_or_si512(a, b); }
NTSD_GS_INLINE Vec v_xor3(Vec a, Vec b, Vec c) { return _mm512_ternarylogic_epi64(a, b, c, 0x96); }
NTSD_GS_INLINE Vec v_aesenc(Vec a, Vec k) { return _mm512_aesenc_epi128(a, k); }
NTSD_GS_INLINE Vec v_aesenclast(Vec a, Vec k) { return _mm512_aesenclast_epi128(a, k); }
template <int imm>
NTSD_GS_INLINE Vec v_clmul(Vec a, Vec b) {
  return _mm512_clmulepi64_epi128(a, b, imm);
}
NTSD_GS_INLINE Vec v_bslli4(Vec a) { return _mm512_bslli_epi128(a, 4); }
NTSD_GS_INLINE Vec v_bsrli4(Vec a) { return _mm512_bsrli_epi128(a, 4); }
NTSD_GS_INLINE Vec v_bslli8(Vec a) { return _mm512_bslli_epi128(a, 8); }
NTSD_GS_INLINE Vec v_bsrli8(Vec a) { return _mm512_bsrli_epi128(a, 8); }
NTSD_GS_INLINE Vec v_swap64(Vec a) { return _mm512_shuffle_epi32(a, _MM_PERM_BADC); }
NTSD_GS_INLINE Vec v_unpacklo64(Vec a, Vec b) { return _mm512_unpacklo_epi64(a, b); }
NTSD_GS_INLINE Vec v_shuffle8(Vec a, Vec c) { return _mm512_shuffle_epi8(a, c); }
NTSD_GS_INLINE Vec v_add32(Vec a, Vec b) { return _mm512_add_epi32(a, b); }
NTSD_GS_INLINE Vec v_set1_u32(std::uint32_t x) { return _mm512_set1_epi32(static_cast<int>(x)); }
// The same 128-bit pattern in every lane: dwords d0 (lowest) .. d3.
NTSD_GS_INLINE Vec v_set_u32(std::uint32_t d0, std::uint32_t d1, std::uint32_t d2,
                             std::uint32_t d3) {
  return _mm512_set4_epi32(static_cast<int>(d3), static_cast<int>(d2), static_cast<int>(d1),
                           static_cast<int>(d0));
}
NTSD_GS_INLINE Vec v_set_u64(std::uint64_t q0, std::uint64_t q1) {
  return _mm512_set4_epi64(static_cast<long long>(q1), static_cast<long long>(q0),
                           static_cast<long long>(q1), static_cast<long long>(q0));
}
// Four 16-byte keys (anywhere in memory) as the lanes of one register.
NTSD_GS_INLINE Vec v_gather_keys(const std::uint8_t* const* k) {
  const auto l = [](const std::uint8_t* p) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  };
  Vec v = _mm512_castsi128_si512(l(k[0]));
  v = _mm512_inserti32x4(v, l(k[1]), 1);
  v = _mm512_inserti32x4(v, l(k[2]), 2);
  return _mm512_inserti32x4(v, l(k[3]), 3);
}
NTSD_GS_INLINE Vec v_broadcast_key(const std::uint8_t* k) {
  return _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(k)));
}

// 16-byte pieces for the layout code. Partial blocks use masked loads and
// stores: no byte loops, nothing read or written past the n bytes.
using B128 = __m128i;
NTSD_GS_INLINE B128 v_load_block(const std::uint8_t* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}
NTSD_GS_INLINE B128 v_load_partial(const std::uint8_t* p, std::size_t n) {
  return _mm_maskz_loadu_epi8(static_cast<__mmask16>((std::uint32_t{1} << n) - 1), p);
}
NTSD_GS_INLINE void v_store_block(Block& b, B128 v) {
  _mm_store_si128(reinterpret_cast<__m128i*>(b.b), v);
}
NTSD_GS_INLINE B128 v_zero_block() { return _mm_setzero_si128(); }
NTSD_GS_INLINE B128 v_xor_block(B128 a, const Block& b) {
  return _mm_xor_si128(a, _mm_load_si128(reinterpret_cast<const __m128i*>(b.b)));
}
NTSD_GS_INLINE void v_store_bytes(std::uint8_t* p, B128 v) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(p), v);
}
NTSD_GS_INLINE void v_store_partial(std::uint8_t* p, B128 v, std::size_t n) {
  _mm_mask_storeu_epi8(p, static_cast<__mmask16>((std::uint32_t{1} << n) - 1), v);
}
// 0^32 || the 12 nonce bytes at p: a masked load from p - 4 (masked-off
// bytes are neither read nor able to fault).
NTSD_GS_INLINE B128 v_load_nonce_block(const std::uint8_t* p) {
  return _mm_maskz_loadu_epi8(static_cast<__mmask16>(0xfff0), p - 4);
}
NTSD_GS_INLINE B128 v_length_block(std::uint64_t a, std::uint64_t b) {
  return _mm_set_epi64x(static_cast<long long>(b), static_cast<long long>(a));
}
// Constant time: one compare of all 16 bytes, no early exit.
NTSD_GS_INLINE bool v_blocks_equal(const Block& a, const Block& b) {
  return _mm_cmpeq_epi8_mask(_mm_load_si128(reinterpret_cast<const __m128i*>(a.b)),
                             _mm_load_si128(reinterpret_cast<const __m128i*>(b.b))) == 0xffff;
}
NTSD_GS_INLINE void v_zero_bytes(std::uint8_t* p, std::size_t n) {
  std::size_t o = 0;
  for (; o + 16 <= n; o += 16) _mm_storeu_si128(reinterpret_cast<__m128i*>(p + o), _mm_setzero_si128());
  if (o < n) v_store_partial(p + o, _mm_setzero_si128(), n - o);
}

// The n (1..16) bytes at p[i] + off of the first `act` lanes, zero-padded;
// zeros in the others. Masked loads read nothing past the n bytes. Written
// out lane by lane (no loop over a b[4] array): GCC kept such a loop rolled,
// with the blocks going through the stack and a branch per lane.
NTSD_GS_INLINE __m128i v_row(const std::uint8_t* p, bool active, bool full, __mmask16 mk) {
  if (!active) return _mm_setzero_si128();
  return full ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)) : _mm_maskz_loadu_epi8(mk, p);
}
NTSD_GS_INLINE Vec v_gather_rows(const std::uint8_t* const* p, std::size_t act, std::size_t off,
                                 std::size_t n) {
  const bool full = n >= 16;
  const auto mk = static_cast<__mmask16>(full ? 0xffffu : (1u << n) - 1);
  if (act == 4 && full) {  // the common case: no masks, no branches
    Vec v = _mm512_castsi128_si512(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p[0] + off)));
    v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p[1] + off)), 1);
    v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p[2] + off)), 2);
    return _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p[3] + off)), 3);
  }
  Vec v = _mm512_castsi128_si512(v_row(p[0] + off, act > 0, full, mk));
  v = _mm512_inserti32x4(v, v_row(act > 1 ? p[1] + off : nullptr, act > 1, full, mk), 1);
  v = _mm512_inserti32x4(v, v_row(act > 2 ? p[2] + off : nullptr, act > 2, full, mk), 2);
  return _mm512_inserti32x4(v, v_row(act > 3 ? p[3] + off : nullptr, act > 3, full, mk), 3);
}
// dst[i][off..off+n) = src[i][off..off+n) xor lane i of ks, for i < act.
NTSD_GS_INLINE void v_xor_row(std::uint8_t* d, const std::uint8_t* s, bool full, __mmask16 mk,
                              __m128i k) {
  if (full) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d), _mm_xor_si128(x, k));
  } else {
    _mm_mask_storeu_epi8(d, mk, _mm_xor_si128(_mm_maskz_loadu_epi8(mk, s), k));
  }
}
NTSD_GS_INLINE void v_scatter_xor(std::uint8_t* const* dst, const std::uint8_t* const* src,
                                  std::size_t act, std::size_t off, std::size_t n, Vec ks) {
  const bool full = n >= 16;
  const auto mk = static_cast<__mmask16>(full ? 0xffffu : (1u << n) - 1);
  if (act > 0) v_xor_row(dst[0] + off, src[0] + off, full, mk, _mm512_castsi512_si128(ks));
  if (act > 1) v_xor_row(dst[1] + off, src[1] + off, full, mk, _mm512_extracti32x4_epi32(ks, 1));
  if (act > 2) v_xor_row(dst[2] + off, src[2] + off, full, mk, _mm512_extracti32x4_epi32(ks, 2));
  if (act > 3) v_xor_row(dst[3] + off, src[3] + off, full, mk, _mm512_extracti32x4_epi32(ks, 3));
}
// 0^32 || the 12 nonce bytes at p[i] of the first `act` lanes (zeros in the
// others), straight into a register: four 16-byte stores read back as one
// 64-byte load cannot be forwarded and waited for the stores to retire.
NTSD_GS_INLINE __m128i v_nonce_row(const std::uint8_t* const* p, std::size_t i, std::size_t act) {
  return i < act ? v_load_nonce_block(p[i]) : _mm_setzero_si128();
}
NTSD_GS_INLINE Vec v_gather_nonces(const std::uint8_t* const* p, std::size_t act) {
  Vec v = _mm512_castsi128_si512(v_nonce_row(p, 0, act));
  v = _mm512_inserti32x4(v, v_nonce_row(p, 1, act), 1);
  v = _mm512_inserti32x4(v, v_nonce_row(p, 2, act), 2);
  return _mm512_inserti32x4(v, v_nonce_row(p, 3, act), 3);
}
// le64(a) || le64(b) in every lane.
NTSD_GS_INLINE Vec v_length_row(std::uint64_t a, std::uint64_t b) {
  return _mm512_broadcast_i32x4(_mm_set_epi64x(static_cast<long long>(b), static_cast<long long>(a)));
}

#include "mb_gcm_siv_kernels.inc"

bool cpu_supported() noexcept {
  // As mb_vaes.cpp: __builtin_cpu_supports covers the OS-saved AVX-512
  // state; VAES (CPUID 7.0 ECX bit 9) and VPCLMULQDQ (bit 10) are read
  // directly, clang 14 having no names for them.
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("aes") || !__builtin_cpu_supports("pclmul") ||
      !__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
      !__builtin_cpu_supports("avx512vl") || !__builtin_cpu_supports("avx512dq"))
    return false;
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid_count(7, 0, &a, &b, &c, &d) != 0 && (c & (1u << 9)) != 0 &&
         (c & (1u << 10)) != 0;
}

struct Kernels {
  static constexpr std::size_t kLanes = gcmsiv_vaes::kLanes;
  static constexpr std::size_t kLanesPerVec = gcmsiv_vaes::kLanesPerVec;
  static constexpr std::size_t kMaxSteps = gcmsiv_vaes::kMaxSteps;
  using Lanes = gcmsiv_vaes::Lanes;
  using Work = gcmsiv_vaes::Work;
  static constexpr auto seal_lanes = gcmsiv_vaes::seal_lanes;
  static constexpr auto open_lanes = gcmsiv_vaes::open_lanes;
  static constexpr auto wipe = gcmsiv_vaes::wipe;
};

// One lane's keystream through the same expand and ctr kernels the engine
// runs (tests only: a private Work).
bool keystream(const std::uint8_t* key, const std::uint8_t* tag, std::uint8_t* out,
               std::size_t n) noexcept {
  if (!cpu_supported() || n > 16) return false;
  auto w = std::make_unique<Work>();
  keystream_one(key, tag, out, n, *w);
  secure_wipe(w.get(), sizeof(Work));
  return true;
}

}  // namespace ntsd::crypto::mb::gcmsiv_vaes

namespace ntsd::crypto {

bool gcm_siv_vaes_keystream(const std::uint8_t* key, const std::uint8_t* tag, std::uint8_t* out,
                          std::size_t n) noexcept {
  return mb::gcmsiv_vaes::keystream(key, tag, out, n);
}

std::unique_ptr<SivEngine> make_gcm_siv_vaes_engine() {
  if (!mb::gcmsiv_vaes::cpu_supported()) return nullptr;
  return std::unique_ptr<SivEngine>(new (std::nothrow) mb::GcmSivBurst<mb::gcmsiv_vaes::Kernels>(
      make_scalar_engine(), "gcmsiv-vaes-x16"));
}

}  // namespace ntsd::crypto
