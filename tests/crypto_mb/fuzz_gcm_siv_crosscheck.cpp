// libFuzzer: decodes the input into a burst of AES-128-GCM-SIV ops (AEAD 30,
// with AES-SIV ops and malformed ops mixed in) and cross-checks the burst
// engines (gcmsiv-aesni-x8, gcmsiv-vaes-x16 where the CPU has it, and
// make_best_engine()'s AEAD dispatch) against the scalar reference:
//  - seal the burst with both: same statuses, same bytes;
//  - open the sealed burst, some ops corrupted at fuzzer-chosen places, and
//    some ops opening raw fuzzer bytes as ciphertext || tag (nothing of the
//    plaintext may be released when they fail);
//  - open fuzzer-chosen cookies under an AES-128-GCM-SIV master key.
// Any disagreement aborts.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "gcm_siv_burst.hpp"
#include "mb_gcm_siv.hpp"
#include "ntsd/crypto/cookie.hpp"
#include "siv_burst.hpp"

namespace {

using namespace ntsd;
using namespace ntsd::test;

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

[[noreturn]] void fail(const char* what, std::size_t i) {
  std::fprintf(stderr, "engines disagree: %s (op %zu)\n", what, i);
  std::abort();
}

void compare(const Outputs& a, const Outputs& b, const char* what) {
  for (std::size_t i = 0; i < a.status.size(); ++i) {
    if (a.status[i] != b.status[i]) fail(what, i);
    if (a.buf[i] != b.buf[i]) fail(what, i);
    if (a.status[i] != crypto::SivStatus::kOk)
      for (auto c : b.buf[i])
        if (c != 0 && c != 0xA5) fail("plaintext released", i);
  }
}

crypto::SivEngine& scalar() {
  static auto e = crypto::make_scalar_engine();
  return *e;
}

// 0 = AES-NI, 1 = VAES (AES-NI on CPUs without it), 2 = make_best_engine().
crypto::SivEngine& engine(std::uint64_t which) {
  static auto ni = crypto::make_gcm_siv_aesni_engine();
  static auto vaes = crypto::make_gcm_siv_vaes_engine();
  static auto best = crypto::make_best_engine();
  crypto::SivEngine* e = which == 2 ? best.get() : which == 0 || !vaes ? ni.get() : vaes.get();
  if (e == nullptr) {
    std::fprintf(stderr, "GCM-SIV engine unavailable\n");
    std::abort();
  }
  return *e;
}

void check_ops(FuzzRng& rng, FuzzedDataProvider& fdp, crypto::SivEngine& eng) {
  GcmShape shape;
  shape.ops = 1 + rng.below(70);  // past one chunk of 16 (or 8) lanes
  shape.max_len = rng.below(8) == 0 ? 2000 : 400;  // sometimes past a lane's pass
  shape.max_aad = 300;
  shape.one_key = rng.below(3) == 0;
  shape.mix_siv = rng.below(3) == 0;
  shape.malformed = rng.below(3) == 0;
  GcmBurst b = GcmBurst::make(rng, shape);

  auto ref = Outputs::for_ops(b.ops, true);
  auto got = Outputs::for_ops(b.ops, true);
  scalar().seal(ref.ops, ref.status);
  eng.seal(got.ops, got.status);
  compare(ref, got, "seal");

  for (auto& c : ref.buf)
    if (!c.empty() && rng.below(3) == 0)
      c[rng.below(c.size())] ^= static_cast<std::uint8_t>(1 + rng.below(255));
  auto ops = open_ops(b.ops, ref);
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

// Cookies under a GCM-SIV master key (12-byte nonce), opened as a burst.
void check_cookies(FuzzRng& rng, FuzzedDataProvider& fdp, crypto::SivEngine& eng) {
  std::uint8_t raw[16];
  rng.fill(raw, sizeof raw);
  const crypto::MasterKey mk{0x4e545344, *crypto::SivKey::from_bytes({raw, 16u})};
  const auto ring = crypto::KeyRing::make(mk, {}, std::nullopt);
  if (!ring) std::abort();
  const std::size_t n = 1 + rng.below(40);
  std::vector<std::vector<std::uint8_t>> cookies(n);
  for (auto& c : cookies) {
    c = fdp.ConsumeBytes<std::uint8_t>(rng.below(crypto::kMaxCookieLen + 8));
    if (c.size() >= 4 && rng.below(2) == 0) c[0] = 0x4e, c[1] = 0x54, c[2] = 0x53, c[3] = 0x44;
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
    // Random bytes never authenticate under a secret-free key the fuzzer did
    // not seal with, except by a 2^-128 chance.
    if (a == crypto::CookieStatus::kOk) fail("forged cookie opened", idx[k]);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp(data, size);
  FuzzRng rng{fdp};
  crypto::SivEngine& eng = engine(rng.below(3));
  if (rng.below(4) == 0)
    check_cookies(rng, fdp, eng);
  else
    check_ops(rng, fdp, eng);
  return 0;
}
