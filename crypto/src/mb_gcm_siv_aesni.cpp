// "gcmsiv-aesni-x8": the burst AES-128-GCM-SIV kernels on xmm registers, one
// lane per register (AES-NI + PCLMULQDQ), 8 lanes run 4 at a time. The
// engine of CPUs without VAES/AVX-512. See mb_gcm_siv.hpp.
#include <immintrin.h>

#include <cstring>
#include <memory>
#include <new>

#include "mb_gcm_siv.hpp"

#define NTSD_GS_TARGET_STR "aes,pclmul,avx"
#define NTSD_GS_FN __attribute__((target(NTSD_GS_TARGET_STR)))
#define NTSD_GS_INLINE __attribute__((target(NTSD_GS_TARGET_STR), always_inline)) inline

namespace ntsd::crypto::mb::gcmsiv_aesni {

using Vec = __m128i;
inline constexpr std::size_t kLanesPerVec = 1;
inline constexpr std::size_t kLanes = 8;

NTSD_GS_INLINE Vec v_load(const Block* p) { return _mm_load_si128(reinterpret_cast<const __m128i*>(p)); }
NTSD_GS_INLINE void v_store(Block* p, Vec v) { _mm_store_si128(reinterpret_cast<__m128i*>(p), v); }
NTSD_GS_INLINE Vec v_zero() { return _mm_setzero_si128(); }
NTSD_GS_INLINE Vec v_xor(Vec a, Vec b) { return _mm_xor_si128(a, b); }
NTSD_GS_INLINE Vec v_and(Vec a, Vec b) { return _mm_and_si128(a, b); }
NTSD_GS_INLINE Vec v_or(Vec a, Vec b) { return _mm_or_si128(a, b); }
NTSD_GS_INLINE Vec v_xor3(Vec a, Vec b, Vec c) { return _mm_xor_si128(_mm_xor_si128(a, b), c); }
NTSD_GS_INLINE Vec v_aesenc(Vec a, Vec k) { return _mm_aesenc_si128(a, k); }
NTSD_GS_INLINE Vec v_aesenclast(Vec a, Vec k) { return _mm_aesenclast_si128(a, k); }
template <int imm>
NTSD_GS_INLINE Vec v_clmul(Vec a, Vec b) {
  return _mm_clmulepi64_si128(a, b, imm);
}
NTSD_GS_INLINE Vec v_bslli4(Vec a) { return _mm_slli_si128(a, 4); }
NTSD_GS_INLINE Vec v_bsrli4(Vec a) { return _mm_srli_si128(a, 4); }
NTSD_GS_INLINE Vec v_bslli8(Vec a) { return _mm_slli_si128(a, 8); }
NTSD_GS_INLINE Vec v_bsrli8(Vec a) { return _mm_srli_si128(a, 8); }
NTSD_GS_INLINE Vec v_swap64(Vec a) { return _mm_shuffle_epi32(a, 0x4e); }
NTSD_GS_INLINE Vec v_unpacklo64(Vec a, Vec b) { return _mm_unpacklo_epi64(a, b); }
NTSD_GS_INLINE Vec v_shuffle8(Vec a, Vec c) { return _mm_shuffle_epi8(a, c); }
NTSD_GS_INLINE Vec v_add32(Vec a, Vec b) { return _mm_add_epi32(a, b); }
NTSD_GS_INLINE Vec v_set1_u32(std::uint32_t x) { return _mm_set1_epi32(static_cast<int>(x)); }
NTSD_GS_INLINE Vec v_set_u32(std::uint32_t d0, std::uint32_t d1, std::uint32_t d2,
                             std::uint32_t d3) {
  return _mm_set_epi32(static_cast<int>(d3), static_cast<int>(d2), static_cast<int>(d1),
                       static_cast<int>(d0));
}
NTSD_GS_INLINE Vec v_set_u64(std::uint64_t q0, std::uint64_t q1) {
  return _mm_set_epi64x(static_cast<long long>(q1), static_cast<long long>(q0));
}
NTSD_GS_INLINE Vec v_gather_keys(const std::uint8_t* const* k) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(k[0]));
}
NTSD_GS_INLINE Vec v_broadcast_key(const std::uint8_t* k) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(k));
}

using B128 = __m128i;
NTSD_GS_INLINE B128 v_load_block(const std::uint8_t* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}
// Without AVX-512 there are no byte-masked loads: the partial block goes
// through a zeroed stack block (one per op and direction).
NTSD_GS_INLINE B128 v_load_partial(const std::uint8_t* p, std::size_t n) {
  Block t{};
  std::memcpy(t.b, p, n);
  return _mm_load_si128(reinterpret_cast<const __m128i*>(t.b));
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
  Block t;
  _mm_store_si128(reinterpret_cast<__m128i*>(t.b), v);
  std::memcpy(p, t.b, n);
  secure_wipe(t.b, sizeof t.b);  // plaintext or keystream-derived bytes
}
NTSD_GS_INLINE B128 v_load_nonce_block(const std::uint8_t* p) {
  Block t{};
  std::memcpy(t.b + 4, p, 12);
  return _mm_load_si128(reinterpret_cast<const __m128i*>(t.b));
}
NTSD_GS_INLINE B128 v_length_block(std::uint64_t a, std::uint64_t b) {
  return _mm_set_epi64x(static_cast<long long>(b), static_cast<long long>(a));
}
// Constant time: one compare of all 16 bytes, no early exit.
NTSD_GS_INLINE bool v_blocks_equal(const Block& a, const Block& b) {
  const __m128i eq = _mm_cmpeq_epi8(_mm_load_si128(reinterpret_cast<const __m128i*>(a.b)),
                                    _mm_load_si128(reinterpret_cast<const __m128i*>(b.b)));
  return _mm_movemask_epi8(eq) == 0xffff;
}
NTSD_GS_INLINE void v_zero_bytes(std::uint8_t* p, std::size_t n) {
  if (n != 0) secure_wipe(p, n);  // an empty output may have no address
}

// One lane per vector: the n (1..16) bytes at p[0] + off, zero-padded
// (zeros if the lane is idle).
NTSD_GS_INLINE Vec v_gather_rows(const std::uint8_t* const* p, std::size_t act, std::size_t off,
                                 std::size_t n) {
  if (act == 0) return _mm_setzero_si128();
  return n >= 16 ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(p[0] + off))
                 : v_load_partial(p[0] + off, n);
}
NTSD_GS_INLINE void v_scatter_xor(std::uint8_t* const* dst, const std::uint8_t* const* src,
                                  std::size_t act, std::size_t off, std::size_t n, Vec ks) {
  if (act == 0) return;
  if (n >= 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src[0] + off));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst[0] + off), _mm_xor_si128(x, ks));
  } else {
    v_store_partial(dst[0] + off, _mm_xor_si128(v_load_partial(src[0] + off, n), ks), n);
  }
}
NTSD_GS_INLINE Vec v_gather_nonces(const std::uint8_t* const* p, std::size_t act) {
  return act == 0 ? _mm_setzero_si128() : v_load_nonce_block(p[0]);
}
NTSD_GS_INLINE Vec v_length_row(std::uint64_t a, std::uint64_t b) {
  return _mm_set_epi64x(static_cast<long long>(b), static_cast<long long>(a));
}

#include "mb_gcm_siv_kernels.inc"

bool cpu_supported() noexcept {
  __builtin_cpu_init();
  return __builtin_cpu_supports("aes") && __builtin_cpu_supports("pclmul") &&
         __builtin_cpu_supports("avx");
}

struct Kernels {
  static constexpr std::size_t kLanes = gcmsiv_aesni::kLanes;
  static constexpr std::size_t kLanesPerVec = gcmsiv_aesni::kLanesPerVec;
  static constexpr std::size_t kMaxSteps = gcmsiv_aesni::kMaxSteps;
  using Lanes = gcmsiv_aesni::Lanes;
  using Work = gcmsiv_aesni::Work;
  static constexpr auto seal_lanes = gcmsiv_aesni::seal_lanes;
  static constexpr auto open_lanes = gcmsiv_aesni::open_lanes;
  static constexpr auto wipe = gcmsiv_aesni::wipe;
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

}  // namespace ntsd::crypto::mb::gcmsiv_aesni

namespace ntsd::crypto {

bool gcm_siv_aesni_keystream(const std::uint8_t* key, const std::uint8_t* tag, std::uint8_t* out,
                          std::size_t n) noexcept {
  return mb::gcmsiv_aesni::keystream(key, tag, out, n);
}

std::unique_ptr<SivEngine> make_gcm_siv_aesni_engine() {
  if (!mb::gcmsiv_aesni::cpu_supported()) return nullptr;
  return std::unique_ptr<SivEngine>(new (std::nothrow) mb::GcmSivBurst<mb::gcmsiv_aesni::Kernels>(
      make_scalar_engine(), "gcmsiv-aesni-x8"));
}

std::unique_ptr<SivEngine> make_gcm_siv_engine() {
  if (auto e = make_gcm_siv_vaes_engine()) return e;
  return make_gcm_siv_aesni_engine();
}

}  // namespace ntsd::crypto
