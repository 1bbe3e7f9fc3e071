// What the burst-engine cross-check fuzzers share (fuzz_mb_crosscheck.cpp for
// AES-SIV, fuzz_gcm_siv_crosscheck.cpp for AES-128-GCM-SIV): the fuzzer-driven
// Rng that siv_burst.hpp / gcm_siv_burst.hpp draw bursts from, the comparison
// with the scalar reference, and the seal / tamper / open and cookie-burst
// rounds. Each step takes its fuzzer bytes in the same order wherever it runs,
// so a corpus input means the same to both fuzzers' callers as before.
// Any disagreement aborts.
#pragma once

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "ntsd/crypto/cookie.hpp"
#include "siv_burst.hpp"

namespace ntsd::test::fuzz {

// The `Rng` of siv_burst.hpp, drawing from the fuzzer's bytes (zeros once
// they run out).
struct FuzzRng {
  FuzzedDataProvider& fdp;
  std::uint64_t below(std::uint64_t n) {
    return n == 0 ? 0 : fdp.ConsumeIntegralInRange<std::uint64_t>(0, n - 1);
  }
  void fill(std::uint8_t* p, std::size_t n) {
    if (n == 0) return;  // p may be null
    const auto got = fdp.ConsumeBytes<std::uint8_t>(n);
    if (!got.empty()) std::memcpy(p, got.data(), got.size());
    std::memset(p + got.size(), 0, n - got.size());
  }
};

[[noreturn]] inline void fail(const char* what, std::size_t i) {
  std::fprintf(stderr, "engines disagree: %s (op %zu)\n", what, i);
  std::abort();
}

// Same statuses and bytes; a failed op's output is still the 0xA5 marker or
// zeroed (nothing of the plaintext released).
inline void compare(const Outputs& a, const Outputs& b, const char* what) {
  for (std::size_t i = 0; i < a.status.size(); ++i) {
    if (a.status[i] != b.status[i]) fail(what, i);
    if (a.buf[i] != b.buf[i]) fail(what, i);
    if (a.status[i] != crypto::SivStatus::kOk)
      for (auto c : b.buf[i])
        if (c != 0 && c != 0xA5) fail("plaintext released", i);
  }
}

inline crypto::SivEngine& scalar() {
  static auto e = crypto::make_scalar_engine();
  return *e;
}

// One of a fuzzer's burst engines; a null one (not available on this CPU
// where it must be) aborts, naming `what`.
inline crypto::SivEngine& engine_or_abort(crypto::SivEngine* e, const char* what) {
  if (e == nullptr) {
    std::fprintf(stderr, "%s unavailable\n", what);
    std::abort();
  }
  return *e;
}

// Seals `seal_ops` with the reference and `eng` and compares; then opens the
// reference's output, about a third of it corrupted at fuzzer-chosen places
// and about a quarter of the ops replaced by raw fuzzer bytes of any length
// (shorter than a tag too), with both, and compares again.
inline void seal_open_crosscheck(FuzzRng& rng, FuzzedDataProvider& fdp, crypto::SivEngine& eng,
                                 std::span<const crypto::SivOp> seal_ops) {
  auto ref = Outputs::for_ops(seal_ops, true);
  auto got = Outputs::for_ops(seal_ops, true);
  scalar().seal(ref.ops, ref.status);
  eng.seal(got.ops, got.status);
  compare(ref, got, "seal");

  for (auto& c : ref.buf)
    if (!c.empty() && rng.below(3) == 0)
      c[rng.below(c.size())] ^= static_cast<std::uint8_t>(1 + rng.below(255));
  auto ops = open_ops(seal_ops, ref);
  std::vector<std::vector<std::uint8_t>> raw(ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (rng.below(4) != 0) continue;
    raw[i] = fdp.ConsumeBytes<std::uint8_t>(rng.below(200));
    ops[i].in = raw[i];
  }
  auto ref_open = Outputs::for_ops(ops, false);
  auto got_open = Outputs::for_ops(ops, false);
  scalar().open(ref_open.ops, ref_open.status);
  eng.open(got_open.ops, got_open.status);
  compare(ref_open, got_open, "open");
}

// Cookies (RFC 8915 §6, chrony's layout) from fuzzer bytes under a ring of
// `mk` alone, opened as a burst through prepare_open/finish_open by the
// reference and `eng`: the same statuses everywhere; for each cookie both
// opened, `on_ok(ref_keys, got_keys, index)` decides what else must hold.
template <class OnOk>
void cookie_crosscheck(FuzzRng& rng, FuzzedDataProvider& fdp, crypto::SivEngine& eng,
                       const crypto::MasterKey& mk, OnOk on_ok) {
  const auto ring = crypto::KeyRing::make(mk, {}, std::nullopt);
  if (!ring) std::abort();
  const std::size_t n = 1 + rng.below(40);
  std::vector<std::vector<std::uint8_t>> cookies(n);
  for (auto& c : cookies) {
    c = fdp.ConsumeBytes<std::uint8_t>(rng.below(crypto::kMaxCookieLen + 8));
    if (c.size() >= 4 && rng.below(2) == 0) {  // mostly the ring's key id
      c[0] = 0x4e, c[1] = 0x54, c[2] = 0x53, c[3] = 0x44;
    }
  }
  std::vector<crypto::CookieWork> ref_work(n), got_work(n);
  std::vector<crypto::SivOp> ref_ops, got_ops;
  std::vector<std::size_t> idx;
  for (std::size_t i = 0; i < n; ++i) {
    const auto pre = crypto::prepare_open(*ring, cookies[i], ref_work[i]);
    if (crypto::prepare_open(*ring, cookies[i], got_work[i]) != pre) fail("prepare", i);
    if (pre != crypto::CookieStatus::kOk) continue;
    ref_ops.push_back(ref_work[i].op);
    got_ops.push_back(got_work[i].op);
    idx.push_back(i);
  }
  std::vector<crypto::SivStatus> ref_st(idx.size()), got_st(idx.size());
  scalar().open(ref_ops, ref_st);
  eng.open(got_ops, got_st);
  for (std::size_t k = 0; k < idx.size(); ++k) {
    crypto::CookieKeys rk, gk;
    const auto a = crypto::finish_open(ref_st[k], ref_work[idx[k]], rk);
    const auto b = crypto::finish_open(got_st[k], got_work[idx[k]], gk);
    if (a != b) fail("cookie status", idx[k]);
    if (a == crypto::CookieStatus::kOk) on_ok(rk, gk, idx[k]);
  }
}

// One fuzzer input, as both fuzzers decode it: `pick(0..2)` chooses the
// engine, then one round in four is `cookies(rng, fdp, eng)`, the others
// `ops(rng, fdp, eng)`.
template <class Pick, class Cookies, class Ops>
int run_input(const std::uint8_t* data, std::size_t size, Pick pick, Cookies cookies, Ops ops) {
  FuzzedDataProvider fdp(data, size);
  FuzzRng rng{fdp};
  crypto::SivEngine& eng = pick(rng.below(3));
  if (rng.below(4) == 0)
    cookies(rng, fdp, eng);
  else
    ops(rng, fdp, eng);
  return 0;
}

}  // namespace ntsd::test::fuzz
