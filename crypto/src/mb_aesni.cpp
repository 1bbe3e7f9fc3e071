// AES-NI kernels: key expansion, 8-lane interleaved CMAC, CTR. See mb_aesni.hpp.
//
// The file is built without -maes (the project targets baseline x86-64), so
// every function that uses the intrinsics carries a target attribute, and the
// engine checks cpu_supported() before calling any of them.
#include "mb_aesni.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <utility>

#define NTSD_AESNI __attribute__((target("aes,avx")))
#define NTSD_AESNI_INLINE __attribute__((target("aes,avx"), always_inline)) inline

namespace ntsd::crypto::mb::aesni {
namespace {

constexpr int kLanes = 8;

NTSD_AESNI_INLINE __m128i load(const void* p) {
  return _mm_loadu_si128(static_cast<const __m128i*>(p));
}
NTSD_AESNI_INLINE void store(void* p, __m128i v) {
  _mm_storeu_si128(static_cast<__m128i*>(p), v);
}

// FIPS 197 §5.2 key expansion, AES-128 (Intel AES-NI white paper, fig. 24).
NTSD_AESNI_INLINE __m128i step128(__m128i key, __m128i assist) {
  assist = _mm_shuffle_epi32(assist, 0xff);
  // w_i ^= w_{i-1} in two doubling steps (4 bytes, then 8).
  key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
  key = _mm_xor_si128(key, _mm_slli_si128(key, 8));
  return _mm_xor_si128(key, assist);
}

// Two AES-128 keys at once: aeskeygenassist is a long dependency chain, and
// an SIV key is always two AES keys (K1 and K2), so their chains interleave.
NTSD_AESNI void expand128x2(const std::uint8_t* k1, const std::uint8_t* k2, Schedule& s1,
                            Schedule& s2) {
  __m128i a = load(k1), b = load(k2);
  store(s1.rk[0], a);
  store(s2.rk[0], b);
#define NTSD_STEP(i, rcon)                              \
  do {                                                  \
    a = step128(a, _mm_aeskeygenassist_si128(a, rcon)); \
    b = step128(b, _mm_aeskeygenassist_si128(b, rcon)); \
    store(s1.rk[i], a);                                 \
    store(s2.rk[i], b);                                 \
  } while (0)
  NTSD_STEP(1, 0x01);
  NTSD_STEP(2, 0x02);
  NTSD_STEP(3, 0x04);
  NTSD_STEP(4, 0x08);
  NTSD_STEP(5, 0x10);
  NTSD_STEP(6, 0x20);
  NTSD_STEP(7, 0x40);
  NTSD_STEP(8, 0x80);
  NTSD_STEP(9, 0x1b);
  NTSD_STEP(10, 0x36);
#undef NTSD_STEP
  s1.rounds = s2.rounds = 10;
}

// AES-256 (white paper, fig. 26): even round keys from SubWord(RotWord) with
// rcon, odd ones from SubWord alone.
// w_i ^= w_{i-1} for i = 1..3 (FIPS 197 §5.2) in two doubling steps: 4
// bytes, then 8 (two shift-XORs instead of three).
NTSD_AESNI_INLINE __m128i shift_xor(__m128i k) {
  k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
  return _mm_xor_si128(k, _mm_slli_si128(k, 8));
}

// AES-128 key expansion of N independent keys at once. RotWord+SubWord of
// w3 comes from aesenclast on a state whose four columns all hold
// RotWord(w3) (ShiftRows is then the identity) with rcon in every column as
// the round key (S. Gueron's AES-GCM-SIV reference, AES_128_Key_Expansion):
// aesenclast pipelines at one per cycle where aeskeygenassist does not, so
// the schedules of a burst's per-request keys overlap instead of serialising.
template <std::size_t... L>
NTSD_AESNI_INLINE void expand128_lanes(const std::uint8_t* const* keys, Schedule* const* out,
                                       std::index_sequence<L...>) {
  const __m128i rot = _mm_set1_epi32(0x0c0f0e0d);
  __m128i k[sizeof...(L)];
  ((k[L] = load(keys[L])), ...);
  ((store(out[L]->rk[0], k[L])), ...);
  __m128i rcon = _mm_set1_epi32(1);
  for (int r = 1; r <= 10; ++r) {
    if (r == 9) rcon = _mm_set1_epi32(0x1b);  // FIPS 197 Rcon after 0x80
    ((k[L] =
          _mm_xor_si128(shift_xor(k[L]), _mm_aesenclast_si128(_mm_shuffle_epi8(k[L], rot), rcon))),
     ...);
    ((store(out[L]->rk[r], k[L])), ...);
    rcon = _mm_slli_epi32(rcon, 1);
  }
  ((out[L]->rounds = 10), ...);
}

NTSD_AESNI void expand256(const std::uint8_t* key, Schedule& s) {
  __m128i a = load(key);
  __m128i b = load(key + 16);
  store(s.rk[0], a);
  store(s.rk[1], b);
#define NTSD_STEP(i, rcon)                                                                        \
  do {                                                                                            \
    a = _mm_xor_si128(shift_xor(a), _mm_shuffle_epi32(_mm_aeskeygenassist_si128(b, rcon), 0xff)); \
    store(s.rk[i], a);                                                                            \
    if ((i) + 1 < 15) {                                                                           \
      b = _mm_xor_si128(shift_xor(b), _mm_shuffle_epi32(_mm_aeskeygenassist_si128(a, 0), 0xaa));  \
      store(s.rk[(i) + 1], b);                                                                    \
    }                                                                                             \
  } while (0)
  NTSD_STEP(2, 0x01);
  NTSD_STEP(4, 0x02);
  NTSD_STEP(6, 0x04);
  NTSD_STEP(8, 0x08);
  NTSD_STEP(10, 0x10);
  NTSD_STEP(12, 0x20);
  NTSD_STEP(14, 0x40);
#undef NTSD_STEP
  s.rounds = 14;
}

// One AES encryption of every lane, round by round across lanes so that the
// independent aesenc instructions overlap.
template <int R, std::size_t... L>
NTSD_AESNI_INLINE void encrypt_lanes(__m128i (&x)[kLanes], const Schedule* const (&ks)[kLanes],
                                     std::index_sequence<L...>) {
  ((x[L] = _mm_xor_si128(x[L], load(ks[L]->rk[0]))), ...);
  for (int r = 1; r < R; ++r) ((x[L] = _mm_aesenc_si128(x[L], load(ks[L]->rk[r]))), ...);
  ((x[L] = _mm_aesenclast_si128(x[L], load(ks[L]->rk[R]))), ...);
}

// Encrypts lanes [0, n) (and possibly a few idle ones after them: every lane
// always holds a valid key pointer). Short bursts do not pay for 8 lanes.
template <int R>
NTSD_AESNI_INLINE void encrypt_n(__m128i (&x)[kLanes], const Schedule* const (&ks)[kLanes], int n) {
  if (n > 4)
    encrypt_lanes<R>(x, ks, std::make_index_sequence<8>{});
  else if (n > 2)
    encrypt_lanes<R>(x, ks, std::make_index_sequence<4>{});
  else if (n == 2)
    encrypt_lanes<R>(x, ks, std::make_index_sequence<2>{});
  else
    encrypt_lanes<R>(x, ks, std::make_index_sequence<1>{});
}

struct Lane {
  const CmacTask* task;
  const std::uint8_t* p;
  std::size_t blocks;  // blocks left, the last one included
};

// RFC 4493 §2.4 last block: M_n xor K1 if complete, else pad(M_n) xor K2.
NTSD_AESNI_INLINE __m128i last_block(const CmacTask& t, const std::uint8_t* p) {
  const std::size_t rem = t.len - static_cast<std::size_t>(p - t.src);
  if (t.len != 0 && rem == 16) return _mm_xor_si128(load(p), load(t.sk1->b));
  alignas(16) std::uint8_t buf[16] = {};
  if (rem != 0) std::memcpy(buf, p, rem);
  buf[rem] = 0x80;
  return _mm_xor_si128(load(buf), load(t.sk2->b));
}

// With all 8 lanes busy, runs the steps in which no lane reaches its last
// block: plain CBC-MAC steps with no per-lane bookkeeping. Lanes keep >= 1
// block for the general loop, which handles last blocks and refills.
template <int R>
NTSD_AESNI_INLINE void run_full_blocks(Lane (&lane)[kLanes], __m128i (&x)[kLanes],
                                       const Schedule* const (&ks)[kLanes]) {
  std::size_t m = lane[0].blocks;
  for (const Lane& ln : lane) m = std::min(m, ln.blocks);
  if (m <= 1) return;
  const std::size_t steps = m - 1;
  const std::uint8_t* p[kLanes];
  for (int l = 0; l < kLanes; ++l) p[l] = lane[l].p;
  for (std::size_t s = 0; s < steps; ++s) {
    for (int l = 0; l < kLanes; ++l) x[l] = _mm_xor_si128(x[l], load(p[l] + 16 * s));
    encrypt_lanes<R>(x, ks, std::make_index_sequence<kLanes>{});
  }
  for (int l = 0; l < kLanes; ++l) {
    lane[l].p += 16 * steps;
    lane[l].blocks -= steps;
  }
}

// The lane loop for one key size: a lane takes the next task of that size
// when its current one finishes; lanes stay packed in [0, active) so that the
// tail of a burst runs on fewer lanes.
template <int R>
NTSD_AESNI void cmac_rounds(const CmacTask* tasks, std::size_t n) {
  Lane lane[kLanes];
  __m128i x[kLanes];
  for (auto& v : x) v = _mm_setzero_si128();
  const Schedule* ks[kLanes];
  std::size_t next = 0;
  auto take = [&](int l) {
    while (next < n && tasks[next].ks->rounds != R) ++next;
    if (next == n) return false;
    const CmacTask& t = tasks[next++];
    lane[l] = {&t, t.src, t.len == 0 ? 1 : (t.len + 15) / 16};
    x[l] = _mm_setzero_si128();
    ks[l] = t.ks;
    return true;
  };
  int active = 0;
  while (active < kLanes && take(active)) ++active;
  if (active == 0) return;
  for (int l = active; l < kLanes; ++l) ks[l] = ks[0];
  while (active > 0) {
    if (active == kLanes) run_full_blocks<R>(lane, x, ks);
    for (int l = 0; l < active; ++l) {
      Lane& ln = lane[l];
      const __m128i m = ln.blocks > 1 ? load(ln.p) : last_block(*ln.task, ln.p);
      x[l] = _mm_xor_si128(x[l], m);
    }
    encrypt_n<R>(x, ks, active);
    for (int l = 0; l < active;) {
      Lane& ln = lane[l];
      if (--ln.blocks != 0) {
        ln.p += 16;
        ++l;
        continue;
      }
      store(ln.task->out, x[l]);
      if (take(l)) {
        ++l;
        continue;
      }
      // Move the last lane into this slot; it is visited next (not yet done).
      --active;
      lane[l] = lane[active];
      x[l] = x[active];
      ks[l] = ks[active];
    }
  }
}

// A group of up to 8 CTR blocks, of any tasks, in flight.
struct CtrLanes {
  __m128i x[kLanes];
  const Schedule* ks[kLanes];
  const CtrTask* owner[kLanes];
  std::size_t off[kLanes];
  int used = 0;
};

template <int R>
NTSD_AESNI void ctr_drain(CtrLanes& g) {
  for (int l = g.used; l < kLanes; ++l) {
    g.ks[l] = g.ks[0];
    g.x[l] = _mm_setzero_si128();
  }
  encrypt_n<R>(g.x, g.ks, g.used);
  for (int l = 0; l < g.used; ++l) {
    const CtrTask& t = *g.owner[l];
    const std::size_t o = g.off[l];
    const std::size_t len = std::min<std::size_t>(16, t.len - o);
    if (len == 16) {
      store(t.dst + o, _mm_xor_si128(load(t.src + o), g.x[l]));
    } else {
      alignas(16) std::uint8_t k[16];
      store(k, g.x[l]);
      for (std::size_t j = 0; j < len; ++j)
        t.dst[o + j] = static_cast<std::uint8_t>(t.src[o + j] ^ k[j]);
    }
  }
  g.used = 0;
}

// CTR keystream for every block of every task of one key size, 8 blocks (of
// any tasks) per step.
template <int R>
NTSD_AESNI void ctr_rounds(const CtrTask* tasks, std::size_t n) {
  const __m128i bswap = _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  CtrLanes g;
  for (std::size_t i = 0; i < n; ++i) {
    const CtrTask& t = tasks[i];
    if (t.ks->rounds != R) continue;
    // The counter with its low 32-bit word in lane 0 (little endian).
    const __m128i q = _mm_shuffle_epi8(load(t.iv.b), bswap);
    for (std::size_t o = 0, j = 0; o < t.len; o += 16, ++j) {
      const __m128i c = _mm_add_epi32(q, _mm_cvtsi32_si128(static_cast<int>(j)));
      g.x[g.used] = _mm_shuffle_epi8(c, bswap);
      g.ks[g.used] = t.ks;
      g.owner[g.used] = &t;
      g.off[g.used] = o;
      if (++g.used == kLanes) ctr_drain<R>(g);
    }
  }
  if (g.used != 0) ctr_drain<R>(g);
}

}  // namespace

bool cpu_supported() noexcept {
  __builtin_cpu_init();
  return __builtin_cpu_supports("aes") && __builtin_cpu_supports("avx");
}

void expand_key_pair(const std::uint8_t* k1, const std::uint8_t* k2, std::size_t len, Schedule& s1,
                     Schedule& s2) noexcept {
  if (len == 16) {
    expand128x2(k1, k2, s1, s2);
  } else {
    expand256(k1, s1);
    expand256(k2, s2);
  }
}

NTSD_AESNI void expand128_keys(const std::uint8_t* const* keys, Schedule* const* out,
                               std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) expand128_lanes(keys + i, out + i, std::make_index_sequence<8>{});
  if (n - i >= 4) {
    expand128_lanes(keys + i, out + i, std::make_index_sequence<4>{});
    i += 4;
  }
  if (n - i >= 2) {
    expand128_lanes(keys + i, out + i, std::make_index_sequence<2>{});
    i += 2;
  }
  if (n - i == 1) expand128_lanes(keys + i, out + i, std::make_index_sequence<1>{});
}

void cmac(const CmacTask* tasks, std::size_t n) noexcept {
  cmac_rounds<10>(tasks, n);
  cmac_rounds<14>(tasks, n);
}

void ctr(const CtrTask* tasks, std::size_t n) noexcept {
  ctr_rounds<10>(tasks, n);
  ctr_rounds<14>(tasks, n);
}

}  // namespace ntsd::crypto::mb::aesni
