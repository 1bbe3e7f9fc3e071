// A clock source: something that can say what time it is now on its own
// timescale (UTC or TAI), and what the system clock read at the same instant
// (used for the health check and for mapping the TSC). Sources are read by
// the control thread only, never per packet: workers use the TSC fit in
// tsc_map.hpp, which runs on a continuous timescale and converts to UTC with
// the leap-second table (leap_table.hpp).
#pragma once

#include <cstdint>
#include <string>

#include "ntsd/clock/ntp_time.hpp"

namespace ntsd::clock {

// What a source's readings count. UTC sources (the system clock, a PHC kept
// on UTC) step back by one second at an inserted leap second, as the kernel
// does; TAI sources (a PHC disciplined by PTP, IEEE 1588 §7.2) run on without
// a step and are converted with TAI - UTC from the leap-second table.
enum class Timescale : std::uint8_t { kUtc, kTai };

struct Reading {
  bool ok = false;
  UnixNs src_ns = 0;           // the source's time, on the source's timescale
  UnixNs sys_ns = 0;           // CLOCK_REALTIME at the same instant (best estimate)
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
  virtual Timescale timescale() const noexcept { return Timescale::kUtc; }
};

// A monotonic tick counter that the fast path can map to UTC. The TSC in
// production; a simulated counter in tests.
class TickSource {
 public:
  virtual ~TickSource() = default;
  virtual std::uint64_t ticks() noexcept = 0;
};

const char* to_string(Timescale t) noexcept;

}  // namespace ntsd::clock
