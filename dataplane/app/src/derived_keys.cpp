#include "ntsd/runtime/derived_keys.hpp"

#include <time.h>

#include <cstdio>

#include "ntsd/runtime/runtime.hpp"

namespace ntsd::runtime {

keys::Clocks derived_clocks() noexcept {
  timespec w{}, b{};
  ::clock_gettime(CLOCK_REALTIME, &w);
  ::clock_gettime(CLOCK_BOOTTIME, &b);
  return {static_cast<std::int64_t>(w.tv_sec) + keys::test_wall_offset(), static_cast<std::int64_t>(b.tv_sec)};
}

bool DerivedKeySource::start(std::string& error) {
  if (const char* f = keys::test_wall_offset_file())
    log(std::string("TEST SEAM: derived keys read the wall clock plus the seconds in ") + f +
        " (NTSD_TEST_WALL_OFFSET_FILE)");
  if (!keys_->start(derived_clocks(), error)) return false;
  gauges_.keys_derived = 1;
  publish();
  return true;
}

bool DerivedKeySource::poll() {
  std::string err;
  const int n = keys_->tick(derived_clocks(), err);
  if (n < 0) {
    // The previous ring stays; counted like a key file that failed to load.
    gauges_.key_reload_errors.fetch_add(1);
    log("derived keys: keeping the previous key ring: " + err);
  }
  if (n > 0) publish();
  note();
  return n > 0;
}

void DerivedKeySource::publish() {
  auto ring = keys_->ring();
  char id[16];
  std::snprintf(id, sizeof id, "%08X", ring->current().id);
  rcu_.publish(std::make_unique<const crypto::KeyRing>(*ring));
  gauges_.key_reloads.fetch_add(1);
  gauges_.keyring_generation.store(rcu_.generation());
  note();
  log("key ring generation " + std::to_string(rcu_.generation()) + " derived for period " +
      std::to_string(keys_->status().period) + ": " + std::to_string(ring->size()) + " keys, current " + id);
}

void DerivedKeySource::note() {
  const auto st = keys_->status();
  gauges_.derived_period = st.period;
  gauges_.derived_held = st.held ? 1 : 0;
  gauges_.derived_holds = st.holds;
  gauges_.derived_offset = st.offset_s;
}

}  // namespace ntsd::runtime
