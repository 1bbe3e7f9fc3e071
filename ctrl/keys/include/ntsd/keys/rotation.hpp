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
// The clock and the random source are injected, so restart and schedule
// logic are tested without waiting. Intervals of a running ntsd-ke are
// measured on a monotonic clock (KeyManager); the wall clock only stamps the
// file (plan_start below says how far a restart trusts that stamp).
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

// Where start-up stands with a loaded key set (issue 20, item 1). The file's
// `rotated_at` was written on the wall clock of an earlier run, which may
// have been wrong (bad RTC, GNSS week rollover, an operator's typo), and the
// wall clock now may be wrong too. So start-up trusts it only within bounds:
//  - a `rotated_at` in the future is clamped to `wall` (else rotation would
//    stop until real time reached the bogus date), and `clamped_by` says by
//    how much, for the log;
//  - however much time seems to have passed, at most ONE rotation is due
//    (`rotate`): a forward clock excursion must never replace every key at
//    once, which would void every cookie in the field and make all clients
//    NAK and stampede NTS-KE together. More rotations are an operator's act
//    (`ntsd-ke --rotate-now`, SIGUSR1);
//  - `wait_s`: how long after start the next rotation is due. The running
//    process counts it down on a monotonic clock (KeyManager).
// Updates `set.rotated_at` when clamping; does not rotate.
struct StartPlan {
  std::int64_t clamped_by = 0;  // > 0: rotated_at lay this far ahead of `wall`
  bool rotate = false;          // an interval or more has passed: rotate once now
  std::int64_t overdue_s = 0;   // with `rotate`: how far past due, for the log
  std::int64_t wait_s = 0;      // until the next rotation after this start
};
StartPlan plan_start(KeySet& set, const RotationParams& p, std::int64_t wall);

// When the next rotation is due on the wall clock, as the file tells it
// (unix seconds). The running ntsd-ke does not use it: see KeyManager.
inline std::int64_t next_rotation(const KeySet& set, const RotationParams& p) {
  return set.rotated_at + p.interval_s;
}

}  // namespace ntsd::keys
