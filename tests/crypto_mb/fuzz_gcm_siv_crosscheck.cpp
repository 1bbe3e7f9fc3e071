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
#include <cstdint>

#include "fuzz_crosscheck.hpp"
#include "gcm_siv_burst.hpp"
#include "mb_gcm_siv.hpp"

namespace {

using namespace ntsd;
using namespace ntsd::test;
using namespace ntsd::test::fuzz;

// 0 = AES-NI, 1 = VAES (AES-NI on CPUs without it), 2 = make_best_engine().
crypto::SivEngine& engine(std::uint64_t which) {
  static auto ni = crypto::make_gcm_siv_aesni_engine();
  static auto vaes = crypto::make_gcm_siv_vaes_engine();
  static auto best = crypto::make_best_engine();
  return engine_or_abort(which == 2 ? best.get() : which == 0 || !vaes ? ni.get() : vaes.get(),
                         "GCM-SIV engine");
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
  seal_open_crosscheck(rng, fdp, eng, b.ops);
}

// Cookies under a GCM-SIV master key (12-byte nonce), opened as a burst.
void check_cookies(FuzzRng& rng, FuzzedDataProvider& fdp, crypto::SivEngine& eng) {
  std::uint8_t raw[16];
  rng.fill(raw, sizeof raw);
  const crypto::MasterKey mk{0x4e545344, *crypto::SivKey::from_bytes({raw, 16u})};
  // Random bytes never authenticate under a secret-free key the fuzzer did
  // not seal with, except by a 2^-128 chance.
  cookie_crosscheck(rng, fdp, eng, mk,
                    [](const crypto::CookieKeys&, const crypto::CookieKeys&, std::size_t i) {
                      fail("forged cookie opened", i);
                    });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return run_input(data, size, engine, check_cookies, check_ops);
}
