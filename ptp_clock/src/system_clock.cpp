#include "ntsd/clock/system_clock.hpp"

#include <ctime>

namespace ntsd::clock {

const char* to_string(Timescale t) noexcept { return t == Timescale::kTai ? "tai" : "utc"; }

UnixNs system_now() noexcept {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return from_timespec(ts);
}

Reading SystemClock::read() noexcept {
  Reading r;
  r.ok = true;
  r.src_ns = system_now();
  r.sys_ns = r.src_ns;
  return r;
}

}  // namespace ntsd::clock
