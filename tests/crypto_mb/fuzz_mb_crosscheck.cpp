// libFuzzer: decodes the input into a burst of AES-SIV ops and cross-checks
// the burst engines (IPsec-MB, AES-NI and, where the CPU has it, VAES)
// against the scalar reference
// (issue 2):
//  - seal the burst with every engine: same statuses, same bytes;
//  - open the sealed burst, some ops corrupted at fuzzer-chosen places;
//  - open raw fuzzer bytes as SIV || ciphertext (almost always kAuthFail,
//    and then nothing of the plaintext may be released);
//  - open a burst of fuzzer-chosen cookies through prepare_open/finish_open.
// Any disagreement aborts.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "mb_aesni_siv.hpp"
#include "mb_vaes_siv.hpp"
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

// 0 = IPsec-MB, 1 = AES-NI, 2 = VAES (the AES-NI engine on CPUs without VAES).
crypto::SivEngine& burst_engine(std::uint64_t which) {
  static auto mb = crypto::make_mb_engine();
  static auto ni = crypto::make_aesni_engine();
  static auto vaes = crypto::make_vaes_engine();
  crypto::SivEngine* e = which == 0 ? mb.get() : which == 1 || !vaes ? ni.get() : vaes.get();
  if (e == nullptr) {
    std::fprintf(stderr, "burst engine unavailable\n");
    std::abort();
  }
  return *e;
}

void check_siv(FuzzRng& rng, FuzzedDataProvider& fdp, crypto::SivEngine& eng) {
  BurstShape shape;
  shape.ops = 1 + rng.below(70);  // past one internal chunk of 64
  // Sometimes past the 1536 bytes a VAES lane takes (those ops are handed on).
  shape.max_len = rng.below(8) == 0 ? 2000 : 600;
  shape.max_ad = 300;
  shape.max_ad_count = crypto::kMaxAdComponents;
  shape.allow_aes192 = true;
  Burst b = Burst::make(rng, shape);
  // Half the bursts get one shape for every op (op 0's AD count and lengths,
  // its plaintext length): the VAES engine's uniform-chunk path (issue 17).
  if (rng.below(2) == 0) {
    const crypto::SivOp& op0 = b.ops[0];
    for (std::size_t i = 1; i < b.ops.size(); ++i) {
      crypto::SivOp& op = b.ops[i];
      op.ad_count = op0.ad_count;
      for (std::size_t j = 0; j < op.ad_count; ++j) {
        auto& a = b.ad[i * crypto::kMaxAdComponents + j];
        a.resize(op0.ad[j].size());
        rng.fill(a.data(), a.size());
        op.ad[j] = a;
      }
      b.plain[i].resize(op0.in.size());
      rng.fill(b.plain[i].data(), b.plain[i].size());
      op.in = b.plain[i];
    }
  }

  auto ref = Outputs::for_ops(b.ops, true);
  auto got = Outputs::for_ops(b.ops, true);
  scalar().seal(ref.ops, ref.status);
  eng.seal(got.ops, got.status);
  compare(ref, got, "seal");

  for (auto& c : ref.buf)
    if (!c.empty() && rng.below(3) == 0)
      c[rng.below(c.size())] ^= static_cast<std::uint8_t>(1 + rng.below(255));
  auto ops = open_ops(b.ops, ref);
  // Some ops open fuzzer bytes of any length (including shorter than a tag).
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

// Cookies (RFC 8915 §6, chrony's layout) from fuzzer bytes, opened as a burst.
void check_cookies(FuzzRng& rng, FuzzedDataProvider& fdp, crypto::SivEngine& eng) {
  std::uint8_t raw[64];
  rng.fill(raw, sizeof raw);
  const crypto::MasterKey mk{0x4e545344,
                             *crypto::SivKey::from_bytes({raw, rng.below(2) ? 64u : 32u})};
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
  std::vector<crypto::CookieStatus> pre(n);
  for (std::size_t i = 0; i < n; ++i) {
    pre[i] = crypto::prepare_open(*ring, cookies[i], ref_work[i]);
    if (crypto::prepare_open(*ring, cookies[i], got_work[i]) != pre[i]) fail("prepare", i);
    if (pre[i] != crypto::CookieStatus::kOk) continue;
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
    if (a == crypto::CookieStatus::kOk &&
        (!std::equal(rk.c2s.bytes().begin(), rk.c2s.bytes().end(), gk.c2s.bytes().begin(),
                     gk.c2s.bytes().end()) ||
         !std::equal(rk.s2c.bytes().begin(), rk.s2c.bytes().end(), gk.s2c.bytes().begin(),
                     gk.s2c.bytes().end())))
      fail("cookie keys", idx[k]);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp(data, size);
  FuzzRng rng{fdp};
  crypto::SivEngine& eng = burst_engine(rng.below(3));
  if (rng.below(4) == 0)
    check_cookies(rng, fdp, eng);
  else
    check_siv(rng, fdp, eng);
  return 0;
}
