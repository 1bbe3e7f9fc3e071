// SivKey, the AEAD id helpers, and the single-op conveniences of SivEngine.
// (aead_for_key_len, SivKey::assign and SivKey::wipe are inline in siv.hpp.)
#include <cstring>

#include "ntsd/crypto/siv.hpp"

namespace ntsd::crypto {

bool aead_supported(std::uint16_t id) noexcept {
  // RFC 8915 §5.1 makes 15 mandatory; 17 costs nothing extra; 30
  // (AES-128-GCM-SIV) is chrony's first choice since 4.4. 16 (AES-192) is
  // computed by the engines but not offered in NTS-KE.
  return id == static_cast<std::uint16_t>(AeadId::kSivCmac256) ||
         id == static_cast<std::uint16_t>(AeadId::kSivCmac512) ||
         id == static_cast<std::uint16_t>(AeadId::kAesGcmSiv128);
}

std::optional<SivKey> SivKey::from_bytes(Bytes key) noexcept {
  const auto aead = aead_for_key_len(key.size());
  if (!aead) return std::nullopt;
  SivKey k;
  std::memcpy(k.bytes_.data(), key.data(), key.size());
  k.len_ = static_cast<std::uint8_t>(key.size());
  k.aead_ = *aead;
  return k;
}

SivKey::SivKey(const SivKey& other) noexcept
    : bytes_(other.bytes_), len_(other.len_), aead_(other.aead_), long_lived_(other.long_lived_) {}

SivKey& SivKey::operator=(const SivKey& other) noexcept {
  if (this != &other) {
    // Wipe first so that no byte of the old key survives past a shorter new one.
    wipe();
    std::memcpy(bytes_.data(), other.bytes_.data(), other.len_);
    len_ = other.len_;
    aead_ = other.aead_;
    long_lived_ = other.long_lived_;
  }
  return *this;
}

SivStatus SivEngine::seal_one(const SivOp& op) noexcept {
  SivStatus st = SivStatus::kBadInput;
  seal(std::span<const SivOp>(&op, 1), std::span<SivStatus>(&st, 1));
  return st;
}

SivStatus SivEngine::open_one(const SivOp& op) noexcept {
  SivStatus st = SivStatus::kBadInput;
  open(std::span<const SivOp>(&op, 1), std::span<SivStatus>(&st, 1));
  return st;
}

}  // namespace ntsd::crypto
