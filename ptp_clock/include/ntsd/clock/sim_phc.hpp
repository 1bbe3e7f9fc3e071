// A simulated PHC and TSC for tests (no PHC exists on the build machines).
//
// Simulated true time advances only when the test calls advance(). The tick
// counter runs at a fixed nominal rate; the PHC runs at (1 + drift) of true
// time, can be stepped, read with uniform jitter, or made unreadable. The
// system clock follows the PHC plus a settable offset (for the health check).
#pragma once

#include <cstdint>
#include <string>

#include "ntsd/clock/source.hpp"

namespace ntsd::clock {

class SimPhc final : public ClockSource, public TickSource {
 public:
  SimPhc(UnixNs start_utc, double tick_hz, std::uint64_t seed);

  // Advances true time by dt_ns (the PHC by dt * (1 + drift)).
  void advance(std::int64_t dt_ns) noexcept;
  void set_drift_ppm(double ppm) noexcept { drift_ppm_ = ppm; }
  void step(std::int64_t delta_ns) noexcept { phc_ += static_cast<double>(delta_ns); }
  void set_jitter_ns(std::int64_t j) noexcept { jitter_ns_ = j; }
  void set_readable(bool ok) noexcept { readable_ = ok; }
  void set_sys_offset_ns(std::int64_t off) noexcept { sys_offset_ns_ = off; }
  // What the PHC counts (default UTC). On TAI, sys_ns is still the PHC's
  // value plus the offset: set_sys_offset_ns(-37 s) models a system clock on
  // UTC beside a TAI PHC.
  void set_timescale(Timescale t) noexcept { scale_ = t; }

  // The noiseless PHC time now: what a perfect mapping would return.
  UnixNs phc_now() const noexcept { return static_cast<UnixNs>(phc_); }

  std::uint64_t ticks() noexcept override;
  const std::string& name() const noexcept override { return name_; }
  Reading read() noexcept override;
  const std::string& last_error() const noexcept override { return error_; }
  Timescale timescale() const noexcept override { return scale_; }

 private:
  std::int64_t jitter() noexcept;

  std::string name_ = "phc sim";
  std::string error_;
  double true_ns_ = 0;  // since construction
  double phc_;          // Unix ns, as double to accumulate sub-ns drift
  double tick_hz_;
  double drift_ppm_ = 0;
  std::int64_t jitter_ns_ = 0;
  std::int64_t sys_offset_ns_ = 0;
  std::uint64_t rng_;
  bool readable_ = true;
  Timescale scale_ = Timescale::kUtc;
};

}  // namespace ntsd::clock
