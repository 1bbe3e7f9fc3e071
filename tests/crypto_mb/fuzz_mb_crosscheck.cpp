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
#include <algorithm>
#include <cstdint>

#include "fuzz_crosscheck.hpp"
#include "mb_aesni_siv.hpp"
#include "mb_vaes_siv.hpp"

namespace {

using namespace ntsd;
using namespace ntsd::test;
using namespace ntsd::test::fuzz;

// 0 = IPsec-MB, 1 = AES-NI, 2 = VAES (the AES-NI engine on CPUs without VAES).
crypto::SivEngine& burst_engine(std::uint64_t which) {
  static auto mb = crypto::make_mb_engine();
  static auto ni = crypto::make_aesni_engine();
  static auto vaes = crypto::make_vaes_engine();
  return engine_or_abort(which == 0 ? mb.get() : which == 1 || !vaes ? ni.get() : vaes.get(),
                         "burst engine");
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
    // Sometimes one long-lived key (a master key) for every op: the VAES
    // engine keeps its schedule across calls, and the next burst's key,
    // with other bytes and maybe at the same address, must not reuse it.
    if (rng.below(2) == 0) {
      b.keys[0].set_long_lived(true);
      for (auto& op : b.ops) op.key = &b.keys[0];
    }
  }

  seal_open_crosscheck(rng, fdp, eng, b.ops);
}

// Cookies (RFC 8915 §6, chrony's layout) from fuzzer bytes, opened as a burst.
void check_cookies(FuzzRng& rng, FuzzedDataProvider& fdp, crypto::SivEngine& eng) {
  std::uint8_t raw[64];
  rng.fill(raw, sizeof raw);
  const crypto::MasterKey mk{0x4e545344,
                             *crypto::SivKey::from_bytes({raw, rng.below(2) ? 64u : 32u})};
  cookie_crosscheck(rng, fdp, eng, mk,
                    [](const crypto::CookieKeys& rk, const crypto::CookieKeys& gk, std::size_t i) {
                      if (!std::equal(rk.c2s.bytes().begin(), rk.c2s.bytes().end(),
                                      gk.c2s.bytes().begin(), gk.c2s.bytes().end()) ||
                          !std::equal(rk.s2c.bytes().begin(), rk.s2c.bytes().end(),
                                      gk.s2c.bytes().begin(), gk.s2c.bytes().end()))
                        fail("cookie keys", i);
                    });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return run_input(data, size, burst_engine, check_cookies, check_siv);
}
