#include "ntsd/keys/rotation.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <array>

namespace ntsd::keys {
namespace {

constexpr std::uint32_t kSeqMask = 0xF;

// A new key whose id follows `prev_id` in the low 4 bits (see header).
std::optional<StoredKey> new_key(std::uint32_t prev_id, std::uint16_t aead, std::int64_t now,
                                 const RandomFn& rnd) {
  std::size_t len = crypto::aead_key_len(static_cast<crypto::AeadId>(aead));
  std::array<std::uint8_t, crypto::kMaxSivKeyLen + 4> buf{};
  if (len == 0 || !rnd(std::span(buf.data(), len + 4))) return std::nullopt;
  auto key = crypto::SivKey::from_bytes({buf.data(), len});
  std::uint32_t r = static_cast<std::uint32_t>(buf[len]) << 24 | buf[len + 1] << 16 |
                    buf[len + 2] << 8 | buf[len + 3];
  OPENSSL_cleanse(buf.data(), buf.size());
  if (!key) return std::nullopt;
  StoredKey k;
  k.mk.id = (r & ~kSeqMask) | ((prev_id + 1) & kSeqMask);
  k.mk.key = *key;
  k.created = now;
  return k;
}

}  // namespace

RandomFn system_random() {
  return [](std::span<std::uint8_t> out) {
    return RAND_bytes(out.data(), static_cast<int>(out.size())) == 1;
  };
}

std::optional<KeySet> generate(const RotationParams& p, std::int64_t now, const RandomFn& rnd) {
  KeySet set;
  set.rotated_at = now;
  // Oldest first, so that ids count up towards the future key.
  int fill = p.fill_previous ? p.previous : 0;
  std::uint32_t last = 0;
  std::vector<StoredKey> made;
  for (int i = 0; i < fill + 2; ++i) {
    auto k = new_key(last, p.aead, now, rnd);
    if (!k) return std::nullopt;
    last = k->mk.id;
    made.push_back(*k);
  }
  set.future = made.back();
  set.current = made[made.size() - 2];
  for (int i = fill - 1; i >= 0; --i) set.previous.push_back(made[static_cast<std::size_t>(i)]);
  return set;
}

bool rotate_once(KeySet& set, const RotationParams& p, std::int64_t now, const RandomFn& rnd) {
  auto k = new_key(set.future.mk.id, p.aead, now, rnd);
  if (!k) return false;
  set.previous.insert(set.previous.begin(), set.current);
  if (set.previous.size() > static_cast<std::size_t>(p.previous)) set.previous.resize(static_cast<std::size_t>(p.previous));
  set.current = set.future;
  set.future = *k;
  set.rotated_at = now;
  return true;
}

StartPlan plan_start(KeySet& set, const RotationParams& p, std::int64_t wall) {
  StartPlan plan;
  if (set.rotated_at > wall) {
    plan.clamped_by = set.rotated_at - wall;
    set.rotated_at = wall;
  }
  const std::int64_t elapsed = wall - set.rotated_at;
  if (p.interval_s > 0 && elapsed >= p.interval_s) {
    plan.rotate = true;
    plan.overdue_s = elapsed - p.interval_s;
    plan.wait_s = p.interval_s;  // counted from the rotation done at start
  } else {
    plan.wait_s = p.interval_s - elapsed;
  }
  return plan;
}

}  // namespace ntsd::keys
