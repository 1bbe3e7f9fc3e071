// SivKey, the AEAD id helpers, and the single-op conveniences of SivEngine.
#include <openssl/crypto.h>

#include <cstring>

#include "ntsd/crypto/siv.hpp"

namespace ntsd::crypto {

std::optional<AeadId> aead_for_key_len(std::size_t len) noexcept {
  // RFC 5297 §6.1-6.3: a SIV key is two AES keys of equal size.
  switch (len) {
    case 32:
      return AeadId::kSivCmac256;
    case 48:
      return AeadId::kSivCmac384;
    case 64:
      return AeadId::kSivCmac512;
    default:
      return std::nullopt;
  }
}

bool aead_supported(std::uint16_t id) noexcept {
  // RFC 8915 §5.1 makes 15 mandatory; 17 costs nothing extra. 16 (AES-192)
  // is computed by the engines but not offered in NTS-KE.
  return id == static_cast<std::uint16_t>(AeadId::kSivCmac256) ||
         id == static_cast<std::uint16_t>(AeadId::kSivCmac512);
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

bool SivKey::assign(Bytes key) noexcept {
  const auto aead = aead_for_key_len(key.size());
  if (!aead) return false;
  const std::size_t old_len = len_;
  std::memmove(bytes_.data(), key.data(), key.size());
  // Bytes past len_ are always zero; only a longer old key leaves some behind.
  if (old_len > key.size()) OPENSSL_cleanse(bytes_.data() + key.size(), old_len - key.size());
  len_ = static_cast<std::uint8_t>(key.size());
  aead_ = *aead;
  return true;
}

SivKey::SivKey(const SivKey& other) noexcept
    : bytes_(other.bytes_), len_(other.len_), aead_(other.aead_) {}

SivKey& SivKey::operator=(const SivKey& other) noexcept {
  if (this != &other) {
    // Wipe first so that no byte of the old key survives past a shorter new one.
    wipe();
    std::memcpy(bytes_.data(), other.bytes_.data(), other.len_);
    len_ = other.len_;
    aead_ = other.aead_;
  }
  return *this;
}

SivKey::~SivKey() {
  wipe();
}

void SivKey::wipe() noexcept {
  // OPENSSL_cleanse, not memset: the compiler may not elide it as a dead store.
  OPENSSL_cleanse(bytes_.data(), bytes_.size());
  len_ = 0;
  aead_ = AeadId::kSivCmac256;
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
