// The cookie master key ring (RFC 8915 §6: "the server ... can rotate keys";
// cookies issued under a recent key must keep working until they expire).
//
// Lookup is open addressing with linear probing over 2*kCapacity buckets on the
// low bits of the id. At most kCapacity entries live in the table, so at least
// half the buckets are free and every probe sequence ends within kBuckets
// steps: O(1) with a small constant, no allocation, no hashing secrets.
// find(), current() and empty() are inline in keyring.hpp.
#include "ntsd/crypto/keyring.hpp"

#include <array>

namespace ntsd::crypto {

std::optional<KeyRing> KeyRing::make(const MasterKey& current, std::span<const MasterKey> previous,
                                     const std::optional<MasterKey>& future) noexcept {
  KeyRing ring;
  // Inserts `mk`; -1 on an empty key or a duplicate id.
  auto insert = [&ring](const MasterKey& mk) -> int {
    if (mk.key.empty()) return -1;
    std::size_t b = bucket_of(mk.id);
    for (std::size_t probe = 0; probe < kBuckets; ++probe, b = (b + 1) % kBuckets) {
      if (!ring.used_[b]) {
        ring.slots_[b] = mk;
        // A master key lives for its whole window (RFC 8915 §6 rotation):
        // engines may keep its schedule across calls (siv.hpp).
        ring.slots_[b].key.set_long_lived(true);
        ring.used_[b] = true;
        ++ring.count_;
        return static_cast<int>(b);
      }
      if (ring.slots_[b].id == mk.id) return -1;
    }
    return -1;  // unreachable: count_ <= kCapacity < kBuckets
  };

  const int cur = insert(current);
  if (cur < 0) return std::nullopt;
  ring.current_ = static_cast<std::int8_t>(cur);
  const std::size_t n_prev = previous.size() < kMaxPrevious ? previous.size() : kMaxPrevious;
  for (std::size_t i = 0; i < n_prev; ++i)
    if (insert(previous[i]) < 0) return std::nullopt;
  if (future) {
    const int fut = insert(*future);
    if (fut < 0) return std::nullopt;
    ring.future_ = static_cast<std::int8_t>(fut);
  }
  return ring;
}

const MasterKey* KeyRing::future() const noexcept {
  return future_ < 0 ? nullptr : &slots_[static_cast<std::size_t>(future_)];
}

std::size_t KeyRing::size() const noexcept {
  return count_;
}

}  // namespace ntsd::crypto
