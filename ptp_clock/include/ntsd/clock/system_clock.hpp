// The system clock (CLOCK_REALTIME) as a source, and the CPU's TSC (or
// CLOCK_MONOTONIC_RAW where there is no usable TSC) as a tick counter.
#pragma once

#include <string>

#include "ntsd/clock/source.hpp"

namespace ntsd::clock {

class SystemClock final : public ClockSource {
 public:
  const std::string& name() const noexcept override { return name_; }
  Reading read() noexcept override;
  const std::string& last_error() const noexcept override { return error_; }

 private:
  std::string name_ = "system";
  std::string error_;
};

// Reads the raw tick counter, inline for the per-packet path.
inline std::uint64_t read_ticks() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_ia32_rdtsc();
#else
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return static_cast<std::uint64_t>(from_timespec(ts));
#endif
}

class TscTicks final : public TickSource {
 public:
  std::uint64_t ticks() noexcept override { return read_ticks(); }
};

// The system clock now, in Unix ns.
UnixNs system_now() noexcept;

}  // namespace ntsd::clock
