// Cookie master keys (RFC 8915 §6): the current key that seals new cookies, a
// bounded set of previous keys that still open cookies clients hold, and one
// future key, published before it becomes current so that a rotation on one
// host never invalidates a cookie another host (or a worker still on the
// previous ring) issued with it.
//
// A KeyRing is an immutable value: ctrl builds a new one per rotation and the
// workers swap to it between bursts (see docs/architecture.md).
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "ntsd/crypto/siv.hpp"

namespace ntsd::crypto {

// The S2V associated data a master key seals its cookies with. RFC 8915 §6
// leaves the cookie format to the server, and the two layouts in the wild
// differ only here:
enum class CookieAd : std::uint8_t {
  // ["", nonce]: chrony 4.3. Its NKS_GenerateCookie passes an empty assoc to
  // nettle's siv_cmac, whose S2V MACs the AD string even when it is empty.
  // Under a GCM-SIV master key both shapes are AAD = "" (one AAD string).
  // Verified against a real chrony in tests/e2e/ke_client_peers.sh and
  // interop_mixed_keys.sh. The default, so that keys shared with chrony work.
  kEmptyThenNonce,
  // [nonce]: the layout of tests/vectors/nts/request_example.json.
  kNonceOnly,
};

// A cookie master key carries its algorithm, as chrony's ntskeys file does
// (its third column): the key's AEAD, implied by its length (16 bytes =
// AES-128-GCM-SIV, id 30; 32 = AES-SIV-CMAC-256, id 15; 64 = id 17). It
// seals cookies with that AEAD and its nonce length (cookie.hpp).
struct MasterKey {
  std::uint32_t id = 0;
  SivKey key;
  CookieAd ad = CookieAd::kEmptyThenNonce;
  AeadId aead() const noexcept { return key.aead(); }
};

class KeyRing {
 public:
  // Total slots: current + previous + future.
  static constexpr std::size_t kCapacity = 8;
  static constexpr std::size_t kMaxPrevious = kCapacity - 2;

  KeyRing() = default;

  // Builds a ring. `previous` is newest first and is truncated to kMaxPrevious.
  // Fails (nullopt) on duplicate ids or if two ids share a lookup slot that
  // cannot be resolved.
  static std::optional<KeyRing> make(const MasterKey& current, std::span<const MasterKey> previous,
                                     const std::optional<MasterKey>& future) noexcept;

  // O(1) lookup by key id; null if the ring does not hold it. Inline (with
  // current() and empty()): the server asks once per NTS request.
  const MasterKey* find(std::uint32_t id) const noexcept {
    std::size_t b = bucket_of(id);
    for (std::size_t probe = 0; probe < kBuckets; ++probe, b = (b + 1) % kBuckets) {
      if (!used_[b]) return nullptr;  // entries are never removed: a gap ends the chain
      if (slots_[b].id == id) return &slots_[b];
    }
    return nullptr;
  }
  // The key that seals new cookies. On an empty ring this is an empty key,
  // which every engine refuses (kBadInput), so misuse cannot seal under a zero key.
  const MasterKey& current() const noexcept {
    return slots_[current_ < 0 ? 0 : static_cast<std::size_t>(current_)];
  }
  const MasterKey* future() const noexcept;
  bool empty() const noexcept { return count_ == 0; }
  std::size_t size() const noexcept;

 private:
  // Open addressing on the low bits of the id (chrony puts a slot index
  // there); at most kCapacity entries in 2*kCapacity buckets.
  static constexpr std::size_t kBuckets = 2 * kCapacity;
  static_assert((kBuckets & (kBuckets - 1)) == 0, "bucket count must be a power of two");
  // chrony puts a slot index in the low bits of the id.
  static constexpr std::size_t bucket_of(std::uint32_t id) noexcept { return id & (kBuckets - 1); }
  std::array<MasterKey, kBuckets> slots_{};
  std::array<bool, kBuckets> used_{};
  std::int8_t current_ = -1;
  std::int8_t future_ = -1;
  std::uint8_t count_ = 0;
};

}  // namespace ntsd::crypto
