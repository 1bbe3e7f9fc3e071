// AEAD engine benchmarks (issues 2, 13): single ops against bursts of 32 for
// every engine, in the NTS shapes (188 bytes of AD before the authenticator,
// plaintexts of 0 / 64 / 104 bytes: request, and responses carrying cookies),
// plus cookie open and seal through prepare_*/finish_open. AEAD 15
// (AES-SIV-CMAC-256: 32-byte keys, 16-byte nonces, 100-byte cookies under an
// AES-SIV master key) and AEAD 30 (AES-128-GCM-SIV: 16-byte keys, 12-byte
// nonces, 64-byte cookies under a GCM-SIV master key) in the same run. Every
// op has its own session key, as NTS requests do; cookies share the master
// key. items/s = messages (or cookies) per second.
//
// Run: build/bin/bench_crypto --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

#include "mb_aesni_siv.hpp"  // make_aesni_engine (crypto/src)
#include "mb_gcm_siv.hpp"    // make_gcm_siv_*_engine (crypto/src)
#include "mb_vaes_siv.hpp"   // make_vaes_engine (crypto/src)
#include "ntsd/crypto/cookie.hpp"
#include "ntsd/crypto/keyring.hpp"
#include "ntsd/crypto/siv.hpp"

namespace {

using namespace ntsd::crypto;

constexpr std::size_t kAdLen = 188;

// Engine ids used as a benchmark argument.
// 0 = scalar reference (both AEADs), 1 = IPsec-MB jobs, 2 = hand-interleaved
// AES-NI, 3 = VAES/AVX-512 (one op per lane, 16 lanes) for AEAD 15;
// 4 = gcmsiv-aesni-x8, 5 = gcmsiv-vaes-x16 for AEAD 30.
SivEngine& engine(std::int64_t id) {
  static auto scalar = make_scalar_engine();
  static auto mb = make_mb_engine();
  static auto aesni = make_aesni_engine();
  static auto vaes = make_vaes_engine();
  static auto gcm_aesni = make_gcm_siv_aesni_engine();
  static auto gcm_vaes = make_gcm_siv_vaes_engine();
  SivEngine* const all[] = {scalar.get(), mb.get(),        aesni.get(),
                            vaes.get(),   gcm_aesni.get(), gcm_vaes.get()};
  SivEngine* e = id >= 0 && id < 6 ? all[id] : nullptr;
  if (e == nullptr) {
    std::fprintf(stderr, "engine %lld unavailable on this CPU\n", static_cast<long long>(id));
    std::abort();
  }
  return *e;
}

std::vector<std::uint8_t> random_bytes(std::mt19937_64& g, std::size_t n) {
  std::vector<std::uint8_t> v(n);
  for (auto& b : v) b = static_cast<std::uint8_t>(g());
  return v;
}

SivKey random_key(std::mt19937_64& g, std::size_t len = 32) {
  return *SivKey::from_bytes(random_bytes(g, len));
}

AeadId aead_arg(std::int64_t a) {
  return a == 30 ? AeadId::kAesGcmSiv128 : AeadId::kSivCmac256;
}

// A burst of NTS-shaped ops, each with its own key.
struct NtsBurst {
  std::vector<SivKey> keys;
  std::vector<std::vector<std::uint8_t>> ad, nonce, plain, sealed, opened;
  std::vector<SivOp> seal_ops, open_ops;
  std::vector<SivStatus> status;

  NtsBurst(AeadId aead, std::size_t n, std::size_t len) {
    std::mt19937_64 g(n * 1000 + len);
    for (std::size_t i = 0; i < n; ++i) {
      keys.push_back(random_key(g, aead_key_len(aead)));
      ad.push_back(random_bytes(g, kAdLen));
      nonce.push_back(random_bytes(g, aead_nonce_len(aead)));
      plain.push_back(random_bytes(g, len));
      sealed.emplace_back(len + kSivTagLen);
      opened.emplace_back(len);
    }
    for (std::size_t i = 0; i < n; ++i) {
      seal_ops.push_back(make_aead_op(keys[i], ad[i], nonce[i], plain[i], sealed[i]));
      open_ops.push_back(make_aead_op(keys[i], ad[i], nonce[i], sealed[i], opened[i]));
    }
    status.resize(n);
    engine(0).seal(seal_ops, status);  // valid ciphertexts for the open benchmarks
  }
};

void report(benchmark::State& state, std::size_t n) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

// Arguments: aead, engine, len, burst.
void BM_Seal(benchmark::State& state) {
  SivEngine& eng = engine(state.range(1));
  const auto n = static_cast<std::size_t>(state.range(3));
  NtsBurst b(aead_arg(state.range(0)), n, static_cast<std::size_t>(state.range(2)));
  for (auto _ : state) {
    eng.seal(b.seal_ops, b.status);
    benchmark::DoNotOptimize(b.sealed.data());
    benchmark::ClobberMemory();
  }
  if (b.status[0] != SivStatus::kOk) state.SkipWithError("seal failed");
  report(state, n);
}

void BM_Open(benchmark::State& state) {
  SivEngine& eng = engine(state.range(1));
  const auto n = static_cast<std::size_t>(state.range(3));
  NtsBurst b(aead_arg(state.range(0)), n, static_cast<std::size_t>(state.range(2)));
  for (auto _ : state) {
    eng.open(b.open_ops, b.status);
    benchmark::DoNotOptimize(b.opened.data());
    benchmark::ClobberMemory();
  }
  for (auto s : b.status)
    if (s != SivStatus::kOk) state.SkipWithError("open failed");
  report(state, n);
}

// Cookies under one master key: AEAD 15 session keys under an AES-SIV master
// key (100-byte cookies), or AEAD 30 session keys under a GCM-SIV one (64).
struct CookieBurst {
  KeyRing ring;
  std::vector<CookieKeys> keys;
  std::vector<std::vector<std::uint8_t>> nonce, cookie;
  std::unique_ptr<CookieWork[]> work;
  std::vector<SivOp> ops;
  std::vector<SivStatus> status;
  std::vector<CookieKeys> out;

  CookieBurst(AeadId aead, std::size_t n) : work(new CookieWork[n]), ops(n), status(n), out(n) {
    std::mt19937_64 g(n);
    const std::size_t klen = aead_key_len(aead);
    MasterKey mk{0x01020304, random_key(g, klen)};
    ring = *KeyRing::make(mk, {}, std::nullopt);
    for (std::size_t i = 0; i < n; ++i) {
      keys.push_back(CookieKeys{random_key(g, klen), random_key(g, klen)});
      nonce.push_back(random_bytes(g, kCookieNonceLen));
      cookie.emplace_back(cookie_len(aead, aead));
      if (!seal_cookie(engine(0), ring.current(), keys[i], nonce[i], cookie[i])) std::abort();
    }
  }
};

// Arguments: aead, engine, burst.
void BM_CookieOpen(benchmark::State& state) {
  SivEngine& eng = engine(state.range(1));
  const auto n = static_cast<std::size_t>(state.range(2));
  CookieBurst b(aead_arg(state.range(0)), n);
  bool ok = true;
  for (auto _ : state) {
    for (std::size_t i = 0; i < n; ++i) {
      ok &= prepare_open(b.ring, b.cookie[i], b.work[i]) == CookieStatus::kOk;
      b.ops[i] = b.work[i].op;
    }
    eng.open(b.ops, b.status);
    for (std::size_t i = 0; i < n; ++i)
      ok &= finish_open(b.status[i], b.work[i], b.out[i]) == CookieStatus::kOk;
    benchmark::DoNotOptimize(b.out.data());
  }
  if (!ok) state.SkipWithError("cookie open failed");
  report(state, n);
}

void BM_CookieSeal(benchmark::State& state) {
  SivEngine& eng = engine(state.range(1));
  const auto n = static_cast<std::size_t>(state.range(2));
  CookieBurst b(aead_arg(state.range(0)), n);
  bool ok = true;
  for (auto _ : state) {
    for (std::size_t i = 0; i < n; ++i) {
      ok &= prepare_seal(b.ring.current(), b.keys[i], b.nonce[i], b.cookie[i], b.work[i]);
      b.ops[i] = b.work[i].op;
    }
    eng.seal(b.ops, b.status);
    for (auto s : b.status) ok &= s == SivStatus::kOk;
    benchmark::DoNotOptimize(b.cookie.data());
    benchmark::ClobberMemory();
  }
  if (!ok) state.SkipWithError("cookie seal failed");
  report(state, n);
}

// The engines of each AEAD (see engine()); a VAES engine is skipped on a CPU
// without it.
void engines_of(benchmark::internal::Benchmark* b, bool with_len) {
  const std::pair<int, std::vector<int>> sets[] = {{15, {0, 1, 2, 3}}, {30, {0, 4, 5}}};
  for (const auto& [aead, engines] : sets)
    for (int e : engines)
      for (int len : with_len ? std::vector<int>{0, 64, 104} : std::vector<int>{-1})
        for (int burst : {1, 32})
          b->Args(with_len ? std::vector<std::int64_t>{aead, e, len, burst}
                           : std::vector<std::int64_t>{aead, e, burst});
}

BENCHMARK(BM_Seal)
    ->ArgNames({"aead", "engine", "len", "burst"})
    ->Apply([](auto* b) { engines_of(b, true); });
BENCHMARK(BM_Open)
    ->ArgNames({"aead", "engine", "len", "burst"})
    ->Apply([](auto* b) { engines_of(b, true); });
BENCHMARK(BM_CookieOpen)
    ->ArgNames({"aead", "engine", "burst"})
    ->Apply([](auto* b) { engines_of(b, false); });
BENCHMARK(BM_CookieSeal)
    ->ArgNames({"aead", "engine", "burst"})
    ->Apply([](auto* b) { engines_of(b, false); });

}  // namespace

BENCHMARK_MAIN();
