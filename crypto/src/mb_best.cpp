// Engine selection: the fastest engines this CPU runs, one per AEAD family,
// behind AeadDispatch. For AES-SIV the VAES engine (one op per lane, 16
// lanes) beats the AES-NI one, which beats IPsec-MB's job API, for
// NTS-sized messages (see docs/benchmarks.md); IPsec-MB, then the scalar
// reference, are the fallbacks. For AES-128-GCM-SIV the VAES+VPCLMULQDQ
// engine, then the AES-NI+PCLMULQDQ one, then the scalar reference.
#include "aead_dispatch.hpp"
#include "mb_block.hpp"
#include "mb_aesni_siv.hpp"
#include "mb_vaes_siv.hpp"
#include "ntsd/crypto/siv.hpp"

namespace ntsd::crypto {
namespace {

std::unique_ptr<SivEngine> best_siv_engine() {
  if (auto e = make_vaes_engine()) return e;
  if (auto e = make_aesni_engine()) return e;
  if (auto e = make_mb_engine()) return e;
  return make_scalar_engine();
}

}  // namespace

std::unique_ptr<SivEngine> make_best_engine() {
  auto gcm = make_gcm_siv_engine();
  if (!gcm) gcm = make_scalar_engine();
  return std::make_unique<mb::AeadDispatch>(best_siv_engine(), std::move(gcm));
}

namespace mb {

AeadDispatch::AeadDispatch(std::unique_ptr<SivEngine> siv, std::unique_ptr<SivEngine> gcm)
    : siv_(std::move(siv)), gcm_(std::move(gcm)) {
  name_ = std::string(siv_->name()) + "+" + gcm_->name();
}

void AeadDispatch::seal(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept {
  run(ops, status, true);
}

void AeadDispatch::open(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept {
  run(ops, status, false);
}

void AeadDispatch::run(std::span<const SivOp> ops, std::span<SivStatus> status,
                       bool sealing) noexcept {
  if (status.size() != ops.size()) return;
  const auto is_gcm = [](const SivOp& op) {
    return op.key != nullptr && aead_is_gcm_siv(op.key->aead());
  };
  std::size_t gcm = 0;
  for (const SivOp& op : ops) gcm += is_gcm(op) ? 1 : 0;
  if (gcm == 0) return run_ops(*siv_, sealing, ops, status);
  if (gcm == ops.size()) return run_ops(*gcm_, sealing, ops, status);
  // Mixed: each engine takes its ops in burst order, piece by piece.
  for (std::size_t base = 0; base < ops.size(); base += kPiece) {
    const std::size_t n = ops.size() - base < kPiece ? ops.size() - base : kPiece;
    std::size_t count[2] = {0, 0};
    for (std::size_t i = 0; i < n; ++i) {
      const SivOp& op = ops[base + i];
      Side& s = side_[is_gcm(op) ? 1 : 0];
      std::size_t& c = count[is_gcm(op) ? 1 : 0];
      s.ops[c] = op;
      s.index[c++] = static_cast<std::uint8_t>(i);
    }
    for (int k = 0; k < 2; ++k) {
      if (count[k] == 0) continue;
      Side& s = side_[k];
      run_ops(k == 1 ? *gcm_ : *siv_, sealing, {s.ops.data(), count[k]},
              {s.status.data(), count[k]});
      for (std::size_t j = 0; j < count[k]; ++j) status[base + s.index[j]] = s.status[j];
    }
  }
}

}  // namespace mb
}  // namespace ntsd::crypto
