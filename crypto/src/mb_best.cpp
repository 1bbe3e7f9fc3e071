// Engine selection: the fastest engine this CPU runs. The VAES engine (one op
// per lane, 16 lanes) beats the AES-NI one, which beats IPsec-MB's job API,
// for NTS-sized messages (see docs/benchmarks.md); IPsec-MB, then the scalar
// reference, are the fallbacks.
#include "mb_aesni_siv.hpp"
#include "mb_vaes_siv.hpp"
#include "ntsd/crypto/siv.hpp"

namespace ntsd::crypto {

std::unique_ptr<SivEngine> make_best_engine() {
  if (auto e = make_vaes_engine()) return e;
  if (auto e = make_aesni_engine()) return e;
  if (auto e = make_mb_engine()) return e;
  return make_scalar_engine();
}

}  // namespace ntsd::crypto
