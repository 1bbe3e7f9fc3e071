// Master-key rotation (RFC 8915 §6: the server SHOULD rotate its cookie keys).
//
// Timeline, interval I, retention P:
//   ... previous[P-1] ... previous[0] | current | future
// Every I seconds: previous <- current, current <- future, future <- new key.
// The future key is published one interval before it seals anything, so every
// responder holds it before any cookie sealed with it can arrive; a cookie
// sealed with the current key stays openable for (P + 1) * I seconds at least
// (defaults 4 h x 6: more than 24 h).
//
// Key ids: random upper bits; the low 4 bits count keys modulo 16, so that
// consecutive keys are consecutive modulo 4 as chrony's key file requires
// (its slot index) and the 8 keys of a ring fall into distinct buckets.
//
// The clock and the random source are injected, so restart and catch-up
// logic are tested without waiting.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "ntsd/keys/keyfile.hpp"

namespace ntsd::keys {

struct RotationParams {
  std::int64_t interval_s = 14400;
  int previous = 6;
  std::uint16_t aead = 15;
  // chrony's file needs two previous keys at all times: fill them at creation.
  bool fill_previous = false;
};

// Fills `out` with random bytes; false on failure. Default: OpenSSL RAND_bytes.
using RandomFn = std::function<bool(std::span<std::uint8_t>)>;
RandomFn system_random();

// A fresh key set at `now`. nullopt if the random source fails.
std::optional<KeySet> generate(const RotationParams& p, std::int64_t now, const RandomFn& rnd);

// One rotation at `now` (see timeline above). False if the random source fails.
bool rotate_once(KeySet& set, const RotationParams& p, std::int64_t now, const RandomFn& rnd);

// Rotates as many times as the intervals elapsed since set.rotated_at (a
// restart after downtime). Returns the number of rotations done, -1 on a
// random failure. After P + 2 missed intervals every key is new, so the loop
// is bounded; rotated_at stays on the interval grid.
int catch_up(KeySet& set, const RotationParams& p, std::int64_t now, const RandomFn& rnd);

// When the next rotation is due (unix seconds).
inline std::int64_t next_rotation(const KeySet& set, const RotationParams& p) {
  return set.rotated_at + p.interval_s;
}

}  // namespace ntsd::keys
