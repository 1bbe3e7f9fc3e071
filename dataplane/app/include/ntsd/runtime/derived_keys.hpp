// The responder's side of derived keys ([keys] mode = "derived", docs/keys.md
// "Derived keys"): no key file to watch. The control thread asks the
// schedule on every keys poll ([dataplane] keys_poll_ms) and publishes the
// ring of a new period to the workers, exactly as KeyWatcher publishes a
// reloaded file. The schedule's clock guard holds the period when the wall
// clock jumps beyond the accepted window (logged, and in the metrics
// ntsd_keys_derived_clock_*).
#pragma once

#include <memory>

#include "ntsd/keys/derived.hpp"
#include "ntsd/runtime/keyring_rcu.hpp"
#include "ntsd/runtime/stats.hpp"

namespace ntsd::runtime {

class DerivedKeySource {
 public:
  DerivedKeySource(std::unique_ptr<keys::DerivedKeys> keys, KeyRingRcu& rcu, Gauges& g)
      : keys_(std::move(keys)), rcu_(rcu), gauges_(g) {}
  // The first ring, from the clocks now. False (and `error`) if it cannot be derived.
  bool start(std::string& error);
  // Publishes the ring of a new period. True if it did.
  bool poll();

 private:
  void publish();
  void note();
  std::unique_ptr<keys::DerivedKeys> keys_;
  KeyRingRcu& rcu_;
  Gauges& gauges_;
};

// Both clocks of the schedule: the wall clock (plus the test seam's offset,
// keys::test_wall_offset) and CLOCK_BOOTTIME, in seconds.
keys::Clocks derived_clocks() noexcept;

}  // namespace ntsd::runtime
