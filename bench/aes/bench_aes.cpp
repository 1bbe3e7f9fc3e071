// The instruction bound of this CPU's AES (issue 17): what one AES-128
// block, one AES-128 key schedule and one CMAC subkey derivation cost when
// nothing but the AES unit limits them, in blocks/s and cycles, so that the
// per-request cycle table of docs/benchmarks.md can price a request's AES
// work against the measured cost of that request.
//
//   BM_VaesEncrypt/lanes:N   N/4 zmm registers of independent blocks, each
//                            128-bit lane under its own AES-128 key, the 11
//                            round-key registers loaded once (VAES). Every
//                            block is encrypted again and again, so each
//                            register is one dependent chain: N = 16 is the
//                            engines' lane count, larger N shows whether 16
//                            lanes already cover the aesenc latency.
//   BM_AesniEncrypt/lanes:N  the same with xmm registers (AES-NI), one lane each.
//   BM_VaesKeySchedule       16 AES-128 key expansions at once, 4 per zmm, as
//                            mb_vaes.cpp does them (aesenclast on RotWord,
//                            shift-XOR), round keys stored as the engine does.
//   BM_AesniKeySchedule      one expansion at a time with aeskeygenassist
//                            (the classic latency-bound chain).
//   BM_VaesCmacSubkeys       16 lanes: key schedule + L = E(K, 0^128) +
//                            K1 = dbl(L), K2 = dbl(K1) (RFC 4493 §2.3) + the
//                            D0 = CMAC(K, 0^128) S2V starts from (RFC 5297 §2.4).
//   BM_VpclmulPolyval        16 lanes of POLYVAL (RFC 8452 §3), one block per
//                            lane and step, with the GCM-SIV engine's dot()
//                            (5 carry-less products: Karatsuba + 2 folds).
//   BM_VaesPolyvalMixed      both at once, one AES block and one POLYVAL
//                            block per lane and step (AEAD 30's 1 : 1 mix):
//                            whether the two units overlap, i.e. whether AEAD
//                            30's bound is the sum of its AES and POLYVAL
//                            costs or the larger one.
//
// Counters: blocks_per_s (or keys_per_s), cycles_per_block (cycles_per_key)
// = thread CPU time × the TSC rate / count (this VM exposes no PMU; CPU time
// leaves out time the thread lost its core).
// Run: build/bin/bench_aes --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <cpuid.h>
#include <immintrin.h>
#include <time.h>
#include <x86intrin.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <thread>

// GCC 12's AVX-512 headers trip -Wuninitialized in inlined intrinsics (see
// crypto/src/mb_vaes.cpp).
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)  // clang has no such group (and no such false positive)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define BENCH_VAES __attribute__((target("aes,vaes,avx512f,avx512bw,avx512vl,avx512dq")))
#define BENCH_VCLMUL \
  __attribute__((target("aes,vaes,vpclmulqdq,avx512f,avx512bw,avx512vl,avx512dq")))
#define BENCH_AESNI __attribute__((target("aes,sse4.1")))
#define BENCH_PRAGMA(x) _Pragma(#x)
#define BENCH_UNROLL(n) BENCH_PRAGMA(GCC unroll n)

namespace {

constexpr int kRounds = 10;  // AES-128
// Encryptions per register per timed batch: long enough that the loop
// overhead and the batch's pipeline fill vanish.
constexpr int kBatch = 256;

double tsc_hz() {
  static const double hz = [] {
    const auto t0 = std::chrono::steady_clock::now();
    const std::uint64_t c0 = __rdtsc();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const std::uint64_t c1 = __rdtsc();
    const std::chrono::duration<double> d = std::chrono::steady_clock::now() - t0;
    return static_cast<double>(c1 - c0) / d.count();
  }();
  return hz;
}

std::uint64_t cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

bool has_vaes() {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
      !__builtin_cpu_supports("avx512vl") || !__builtin_cpu_supports("avx512dq"))
    return false;
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid_count(7, 0, &a, &b, &c, &d) != 0 && (c & (1u << 9)) != 0;
}

bool has_vpclmul() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  return has_vaes() && __get_cpuid_count(7, 0, &a, &b, &c, &d) != 0 && (c & (1u << 10)) != 0;
}

bool has_aesni() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("aes");
}

// `count` items (blocks or keys) in `ns` of CPU time.
void report(benchmark::State& st, std::uint64_t ns, double count, const char* per_s,
            const char* cycles) {
  st.counters[per_s] = count / (static_cast<double>(ns) * 1e-9);
  st.counters[cycles] = static_cast<double>(ns) * 1e-9 * tsc_hz() / count;
}

// Distinct, arbitrary round keys per lane (the values do not change the timing).
alignas(64) std::uint8_t g_keys[kRounds + 1][64];
alignas(64) std::uint8_t g_blocks[16][64];

void fill_inputs() {
  for (int r = 0; r <= kRounds; ++r)
    for (int i = 0; i < 64; ++i) g_keys[r][i] = static_cast<std::uint8_t>(r * 131 + i * 7 + 1);
  for (int g = 0; g < 16; ++g)
    for (int i = 0; i < 64; ++i) g_blocks[g][i] = static_cast<std::uint8_t>(g * 29 + i);
}

// G zmm registers (4 lanes each) encrypted kBatch times, the round keys held
// in 11 zmm registers for the whole batch.
template <int G>
BENCH_VAES void vaes_batch(__m512i (&x)[G], const __m512i (&k)[kRounds + 1]) {
  for (int i = 0; i < kBatch; ++i) {
    BENCH_UNROLL(16)
    for (int g = 0; g < G; ++g) x[g] = _mm512_xor_si512(x[g], k[0]);
    BENCH_UNROLL(9)
    for (int r = 1; r < kRounds; ++r) {
      BENCH_UNROLL(16)
      for (int g = 0; g < G; ++g) x[g] = _mm512_aesenc_epi128(x[g], k[r]);
    }
    BENCH_UNROLL(16)
    for (int g = 0; g < G; ++g) x[g] = _mm512_aesenclast_epi128(x[g], k[kRounds]);
  }
}

template <int G>
BENCH_VAES void run_vaes(benchmark::State& st) {
  __m512i k[kRounds + 1], x[G];
  for (int r = 0; r <= kRounds; ++r) k[r] = _mm512_load_si512(g_keys[r]);
  for (int g = 0; g < G; ++g) x[g] = _mm512_load_si512(g_blocks[g]);
  tsc_hz();
  std::uint64_t batches = 0;
  const std::uint64_t t0 = cpu_ns();
  for (auto _ : st) {
    vaes_batch<G>(x, k);
    ++batches;
  }
  const std::uint64_t ns = cpu_ns() - t0;
  for (int g = 0; g < G; ++g) benchmark::DoNotOptimize(x[g]);
  const double blocks = static_cast<double>(batches) * kBatch * G * 4;
  st.SetItemsProcessed(static_cast<std::int64_t>(blocks));
  report(st, ns, blocks, "blocks_per_s", "cycles_per_block");
}

void BM_VaesEncrypt(benchmark::State& st) {
  if (!has_vaes()) return st.SkipWithError("no VAES/AVX-512 on this CPU");
  switch (st.range(0)) {
    case 4:
      return run_vaes<1>(st);
    case 8:
      return run_vaes<2>(st);
    case 16:
      return run_vaes<4>(st);
    case 32:
      return run_vaes<8>(st);
    case 64:
      return run_vaes<16>(st);
    default:
      st.SkipWithError("lanes: 4, 8, 16, 32 or 64");
  }
}

template <int G>
BENCH_AESNI void aesni_batch(__m128i (&x)[G], const __m128i (&k)[kRounds + 1]) {
  for (int i = 0; i < kBatch; ++i) {
    BENCH_UNROLL(16)
    for (int g = 0; g < G; ++g) x[g] = _mm_xor_si128(x[g], k[0]);
    BENCH_UNROLL(9)
    for (int r = 1; r < kRounds; ++r) {
      BENCH_UNROLL(16)
      for (int g = 0; g < G; ++g) x[g] = _mm_aesenc_si128(x[g], k[r]);
    }
    BENCH_UNROLL(16)
    for (int g = 0; g < G; ++g) x[g] = _mm_aesenclast_si128(x[g], k[kRounds]);
  }
}

template <int G>
BENCH_AESNI void run_aesni(benchmark::State& st) {
  __m128i k[kRounds + 1], x[G];
  for (int r = 0; r <= kRounds; ++r)
    k[r] = _mm_load_si128(reinterpret_cast<const __m128i*>(g_keys[r]));
  for (int g = 0; g < G; ++g) x[g] = _mm_load_si128(reinterpret_cast<const __m128i*>(g_blocks[g]));
  tsc_hz();
  std::uint64_t batches = 0;
  const std::uint64_t t0 = cpu_ns();
  for (auto _ : st) {
    aesni_batch<G>(x, k);
    ++batches;
  }
  const std::uint64_t ns = cpu_ns() - t0;
  for (int g = 0; g < G; ++g) benchmark::DoNotOptimize(x[g]);
  const double blocks = static_cast<double>(batches) * kBatch * G;
  st.SetItemsProcessed(static_cast<std::int64_t>(blocks));
  report(st, ns, blocks, "blocks_per_s", "cycles_per_block");
}

void BM_AesniEncrypt(benchmark::State& st) {
  if (!has_aesni()) return st.SkipWithError("no AES-NI on this CPU");
  switch (st.range(0)) {
    case 1:
      return run_aesni<1>(st);
    case 4:
      return run_aesni<4>(st);
    case 8:
      return run_aesni<8>(st);
    case 16:
      return run_aesni<16>(st);
    default:
      st.SkipWithError("lanes: 1, 4, 8 or 16");
  }
}

// ---- key schedules ---------------------------------------------------------

// One FIPS 197 §5.2 AES-128 expansion round of 4 keys (mb_vaes.cpp's method).
BENCH_VAES inline __m512i vaes_expand_round(__m512i k, __m512i rcon) {
  const __m512i rot = _mm512_set1_epi32(0x0c0f0e0d);
  const __m512i sub = _mm512_aesenclast_epi128(_mm512_shuffle_epi8(k, rot), rcon);
  k = _mm512_xor_si512(k, _mm512_bslli_epi128(k, 4));
  return _mm512_ternarylogic_epi64(k, _mm512_bslli_epi128(k, 8), sub, 0x96);
}

// RFC 4493 §2.3 dbl of four big-endian blocks (mb_vaes.cpp's dbl4).
BENCH_VAES inline __m512i vaes_dbl4(__m512i v) {
  const __m512i rev =
      _mm512_broadcast_i32x4(_mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  const __m512i fold = _mm512_set4_epi64(1, 0x87, 1, 0x87);
  const __m512i x = _mm512_shuffle_epi8(v, rev);
  __m512i c = _mm512_shuffle_epi32(_mm512_srli_epi64(x, 63), _MM_PERM_BADC);
  c = _mm512_and_si512(_mm512_sub_epi64(_mm512_setzero_si512(), c), fold);
  return _mm512_shuffle_epi8(_mm512_xor_si512(_mm512_slli_epi64(x, 1), c), rev);
}

// The round keys of 16 lanes, stored interleaved as the engine stores them.
struct alignas(64) Schedules {
  __m512i rk[kRounds + 1][4];
};

// Expands the 16 keys in `keys` (4 zmm); with Cmac, also L, the two subkeys
// and D0 (RFC 4493 §2.3, RFC 5297 §2.4), written to `sub`.
template <bool Cmac>
BENCH_VAES void vaes_schedule16(__m512i (&keys)[4], Schedules& out, __m512i (&sub)[3][4]) {
  __m512i a[4], l[4];
  BENCH_UNROLL(4)
  for (int g = 0; g < 4; ++g) {
    a[g] = keys[g];
    out.rk[0][g] = a[g];
    l[g] = a[g];
  }
  int rc = 1;
  BENCH_UNROLL(10)
  for (int r = 1; r <= kRounds; ++r) {
    const __m512i rcon = _mm512_set1_epi32(rc);
    BENCH_UNROLL(4)
    for (int g = 0; g < 4; ++g) {
      a[g] = vaes_expand_round(a[g], rcon);
      out.rk[r][g] = a[g];
      if constexpr (Cmac)
        l[g] = r < kRounds ? _mm512_aesenc_epi128(l[g], a[g]) : _mm512_aesenclast_epi128(l[g], a[g]);
    }
    rc = rc == 0x80 ? 0x1b : rc << 1;
  }
  if constexpr (Cmac) {
    __m512i d[4];
    BENCH_UNROLL(4)
    for (int g = 0; g < 4; ++g) {
      sub[0][g] = vaes_dbl4(l[g]);
      sub[1][g] = vaes_dbl4(sub[0][g]);
      d[g] = _mm512_xor_si512(sub[0][g], out.rk[0][g]);
    }
    BENCH_UNROLL(9)
    for (int r = 1; r < kRounds; ++r) {
      BENCH_UNROLL(4)
      for (int g = 0; g < 4; ++g) d[g] = _mm512_aesenc_epi128(d[g], out.rk[r][g]);
    }
    BENCH_UNROLL(4)
    for (int g = 0; g < 4; ++g) sub[2][g] = _mm512_aesenclast_epi128(d[g], out.rk[kRounds][g]);
  }
  // Feed the last round key back as the next keys: the batches depend on
  // each other as a stream of fresh keys would not, but the 16 chains of one
  // batch stay independent, as in the engine.
  BENCH_UNROLL(4)
  for (int g = 0; g < 4; ++g) keys[g] = _mm512_xor_si512(keys[g], a[g]);
}

template <bool Cmac>
BENCH_VAES void run_vaes_schedule(benchmark::State& st) {
  __m512i keys[4], sub[3][4];
  static Schedules out;
  for (int g = 0; g < 4; ++g) keys[g] = _mm512_load_si512(g_blocks[g]);
  tsc_hz();
  std::uint64_t n = 0;
  const std::uint64_t t0 = cpu_ns();
  for (auto _ : st) {
    vaes_schedule16<Cmac>(keys, out, sub);
    benchmark::ClobberMemory();
    ++n;
  }
  const std::uint64_t ns = cpu_ns() - t0;
  for (auto& s : sub)
    for (auto& v : s) benchmark::DoNotOptimize(v);
  const double count = static_cast<double>(n) * 16;
  st.SetItemsProcessed(static_cast<std::int64_t>(count));
  report(st, ns, count, "keys_per_s", "cycles_per_key");
}

void BM_VaesKeySchedule(benchmark::State& st) {
  if (!has_vaes()) return st.SkipWithError("no VAES/AVX-512 on this CPU");
  run_vaes_schedule<false>(st);
}

void BM_VaesCmacSubkeys(benchmark::State& st) {
  if (!has_vaes()) return st.SkipWithError("no VAES/AVX-512 on this CPU");
  run_vaes_schedule<true>(st);
}

// The textbook AES-NI expansion of one key (aeskeygenassist per round).
template <int Rcon>
BENCH_AESNI inline __m128i aesni_round(__m128i k) {
  __m128i t = _mm_shuffle_epi32(_mm_aeskeygenassist_si128(k, Rcon), 0xff);
  k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
  k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
  k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
  return _mm_xor_si128(k, t);
}

BENCH_AESNI void aesni_schedule(__m128i& key, __m128i (&rk)[kRounds + 1]) {
  rk[0] = key;
  rk[1] = aesni_round<0x01>(rk[0]);
  rk[2] = aesni_round<0x02>(rk[1]);
  rk[3] = aesni_round<0x04>(rk[2]);
  rk[4] = aesni_round<0x08>(rk[3]);
  rk[5] = aesni_round<0x10>(rk[4]);
  rk[6] = aesni_round<0x20>(rk[5]);
  rk[7] = aesni_round<0x40>(rk[6]);
  rk[8] = aesni_round<0x80>(rk[7]);
  rk[9] = aesni_round<0x1b>(rk[8]);
  rk[10] = aesni_round<0x36>(rk[9]);
  key = _mm_xor_si128(key, rk[10]);
}

BENCH_AESNI void run_aesni_schedule(benchmark::State& st) {
  __m128i key = _mm_load_si128(reinterpret_cast<const __m128i*>(g_blocks[0]));
  static __m128i rk[kRounds + 1];
  tsc_hz();
  std::uint64_t n = 0;
  const std::uint64_t t0 = cpu_ns();
  for (auto _ : st) {
    aesni_schedule(key, rk);
    benchmark::ClobberMemory();
    ++n;
  }
  const std::uint64_t ns = cpu_ns() - t0;
  benchmark::DoNotOptimize(key);
  const auto count = static_cast<double>(n);
  st.SetItemsProcessed(static_cast<std::int64_t>(count));
  report(st, ns, count, "keys_per_s", "cycles_per_key");
}

void BM_AesniKeySchedule(benchmark::State& st) {
  if (!has_aesni()) return st.SkipWithError("no AES-NI on this CPU");
  run_aesni_schedule(st);
}

// ---- POLYVAL (AEAD 30) -----------------------------------------------------

// a * h * x^-128 in every lane, as crypto/src/mb_gcm_siv_kernels.inc's dot()
// computes it (same instructions; see there for the math).
BENCH_VCLMUL inline __m512i swap(__m512i v) { return _mm512_shuffle_epi32(v, _MM_PERM_BADC); }
BENCH_VCLMUL inline __m512i x3(__m512i p, __m512i q, __m512i r) {
  return _mm512_ternarylogic_epi64(p, q, r, 0x96);
}
BENCH_VCLMUL inline __m512i polyval_dot(__m512i a, __m512i h, __m512i hk) {
  const __m512i poly = _mm512_set4_epi64(static_cast<long long>(0xc200000000000000ull), 1,
                                         static_cast<long long>(0xc200000000000000ull), 1);
  const __m512i lo = _mm512_clmulepi64_epi128(a, h, 0x00);
  const __m512i hi = _mm512_clmulepi64_epi128(a, h, 0x11);
  const __m512i mid =
      x3(_mm512_clmulepi64_epi128(_mm512_xor_si512(a, swap(a)), hk, 0x00), lo, hi);
  const __m512i t = x3(swap(lo), _mm512_clmulepi64_epi128(lo, poly, 0x10), mid);
  return x3(swap(t), _mm512_clmulepi64_epi128(t, poly, 0x10), hi);
}

// G zmm registers of POLYVAL state (4 lanes each), kBatch blocks absorbed
// per lane (S = (S xor X) * H), and with Aes as many AES-128 blocks per lane
// in G independent chains beside them.
template <int G, bool Aes>
BENCH_VCLMUL void polyval_batch(__m512i (&s)[G], __m512i (&x)[G], const __m512i (&h)[G],
                                const __m512i (&hk)[G], const __m512i (&k)[kRounds + 1]) {
  const __m512i in = _mm512_set1_epi32(0x5a5a5a5a);
  for (int i = 0; i < kBatch; ++i) {
    if constexpr (Aes) {
      BENCH_UNROLL(4)
      for (int g = 0; g < G; ++g) x[g] = _mm512_xor_si512(x[g], k[0]);
    }
    BENCH_UNROLL(4)
    for (int g = 0; g < G; ++g) s[g] = polyval_dot(_mm512_xor_si512(s[g], in), h[g], hk[g]);
    if constexpr (Aes) {
      BENCH_UNROLL(9)
      for (int r = 1; r < kRounds; ++r) {
        BENCH_UNROLL(4)
        for (int g = 0; g < G; ++g) x[g] = _mm512_aesenc_epi128(x[g], k[r]);
      }
      BENCH_UNROLL(4)
      for (int g = 0; g < G; ++g) x[g] = _mm512_aesenclast_epi128(x[g], k[kRounds]);
    }
  }
}

template <bool Aes>
BENCH_VCLMUL void run_polyval(benchmark::State& st) {
  constexpr int G = 4;  // 16 lanes, the engine's width
  __m512i s[G], x[G], h[G], hk[G], k[kRounds + 1];
  for (int r = 0; r <= kRounds; ++r) k[r] = _mm512_load_si512(g_keys[r]);
  for (int g = 0; g < G; ++g) {
    s[g] = x[g] = _mm512_load_si512(g_blocks[g]);
    h[g] = _mm512_load_si512(g_blocks[g + 4]);
    hk[g] = _mm512_xor_si512(h[g], _mm512_shuffle_epi32(h[g], _MM_PERM_BADC));
  }
  tsc_hz();
  std::uint64_t batches = 0;
  const std::uint64_t t0 = cpu_ns();
  for (auto _ : st) {
    polyval_batch<G, Aes>(s, x, h, hk, k);
    ++batches;
  }
  const std::uint64_t ns = cpu_ns() - t0;
  for (int g = 0; g < G; ++g) {
    benchmark::DoNotOptimize(s[g]);
    benchmark::DoNotOptimize(x[g]);
  }
  // Per lane-step: one POLYVAL block (and with Aes, one AES block too).
  const double steps = static_cast<double>(batches) * kBatch * G * 4;
  st.SetItemsProcessed(static_cast<std::int64_t>(steps));
  report(st, ns, steps, "steps_per_s", "cycles_per_step");
}

void BM_VpclmulPolyval(benchmark::State& st) {
  if (!has_vpclmul()) return st.SkipWithError("no VPCLMULQDQ/AVX-512 on this CPU");
  run_polyval<false>(st);
}

void BM_VaesPolyvalMixed(benchmark::State& st) {
  if (!has_vpclmul()) return st.SkipWithError("no VAES/VPCLMULQDQ/AVX-512 on this CPU");
  run_polyval<true>(st);
}

const bool g_filled = (fill_inputs(), true);

BENCHMARK(BM_VaesEncrypt)->ArgName("lanes")->Arg(4)->Arg(8)->Arg(16)->Arg(32)->Arg(64);
BENCHMARK(BM_AesniEncrypt)->ArgName("lanes")->Arg(1)->Arg(4)->Arg(8)->Arg(16);
BENCHMARK(BM_VaesKeySchedule);
BENCHMARK(BM_VaesCmacSubkeys);
BENCHMARK(BM_AesniKeySchedule);
BENCHMARK(BM_VpclmulPolyval);
BENCHMARK(BM_VaesPolyvalMixed);

}  // namespace

BENCHMARK_MAIN();
