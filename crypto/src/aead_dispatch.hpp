// One engine for every AEAD: routes each op to the engine of its key's AEAD
// (AES-SIV ops to one engine, AES-128-GCM-SIV ops to another), so that the
// protocol core hands a burst of mixed AEAD-15 and AEAD-30 packets to one
// engine call per phase and never asks which AEAD a packet uses. What
// make_best_engine() returns. Private to crypto/.
#pragma once

#include <array>
#include <memory>
#include <string>

#include "ntsd/crypto/siv.hpp"

namespace ntsd::crypto::mb {

class AeadDispatch final : public SivEngine {
 public:
  // Ops with a GCM-SIV key go to `gcm`, all others (AES-SIV keys, no key) to `siv`.
  AeadDispatch(std::unique_ptr<SivEngine> siv, std::unique_ptr<SivEngine> gcm);
  void seal(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept override;
  void open(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept override;
  const char* name() const noexcept override { return name_.c_str(); }

 private:
  // A mixed burst is split in pieces of this many ops; a burst of one AEAD
  // (the common case) goes through whole, with no copy.
  static constexpr std::size_t kPiece = 64;
  void run(std::span<const SivOp> ops, std::span<SivStatus> status, bool sealing) noexcept;

  std::unique_ptr<SivEngine> siv_, gcm_;
  std::string name_;
  struct Side {
    std::array<SivOp, kPiece> ops;
    std::array<SivStatus, kPiece> status;
    std::array<std::uint8_t, kPiece> index;
  };
  Side side_[2];
};

}  // namespace ntsd::crypto::mb
