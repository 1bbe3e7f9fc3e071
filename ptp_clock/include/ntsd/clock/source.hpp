// A clock source: something that can say what UTC time it is now, and what the
// system clock read at the same instant (used for the health check and for
// mapping the TSC). Sources are read by the control thread only, never per
// packet: workers use the TSC fit in tsc_map.hpp.
#pragma once

#include <cstdint>
#include <string>

#include "ntsd/clock/ntp_time.hpp"

namespace ntsd::clock {

struct Reading {
  bool ok = false;
  UnixNs utc_ns = 0;         // the source's time (converted to UTC)
  UnixNs sys_ns = 0;         // CLOCK_REALTIME at the same instant (best estimate)
  std::int64_t window_ns = 0;  // uncertainty of the pairing (sys read window)
};

class ClockSource {
 public:
  virtual ~ClockSource() = default;
  // Human-readable identity, e.g. "system" or "phc /dev/ptp0".
  virtual const std::string& name() const noexcept = 0;
  // Reads the source now. On failure ok == false and last_error() says why.
  virtual Reading read() noexcept = 0;
  virtual const std::string& last_error() const noexcept = 0;
};

// A monotonic tick counter that the fast path can map to UTC. The TSC in
// production; a simulated counter in tests.
class TickSource {
 public:
  virtual ~TickSource() = default;
  virtual std::uint64_t ticks() noexcept = 0;
};

}  // namespace ntsd::clock
