#include "ntsd/clock/system_clock.hpp"

#include <ctime>

namespace ntsd::clock {

UnixNs system_now() noexcept {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return from_timespec(ts);
}

Reading SystemClock::read() noexcept {
  Reading r;
  r.ok = true;
  r.utc_ns = system_now();
  r.sys_ns = r.utc_ns;
  return r;
}

}  // namespace ntsd::clock
