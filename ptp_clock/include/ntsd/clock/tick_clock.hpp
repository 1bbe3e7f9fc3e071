// A free-running tick counter as a clock source: the NIC clock read through
// DPDK (rte_eth_read_clock, dataplane/dpdk) in production, a simulated
// counter in tests.
//
// Such a counter has no epoch and a nominal, not exact, rate ("a raw amount
// of ticks, with no given time reference", DPDK's rte_eth_read_clock doc), so
// it is mapped to UTC exactly as the TSC is: a Calibrator samples a reference
// source (the system clock) against the counter and publishes a least-squares
// offset + drift fit (tsc_map.hpp), with its error bound and step handling.
// The same map converts the NIC's per-packet hardware RX timestamps, which
// come from this counter.
//
// read() refits from one new reference sample when the fit is missing or at
// least `refresh_ns` old (judged by the counter itself, so no extra clock
// read), then reads the counter bracketed by two system-clock reads and maps
// it (the reference is the configured clock source: the PHC on a PHC box, so
// that hardware RX timestamps and T3 share one timescale). It fails, with last_error() saying why, while the fit does not exist
// yet (the first read gives one sample; a fit needs two that the counter
// tells apart), when the reference cannot be read, and when the counter has
// stopped for more than 1 ms of system time (a stuck counter must not pass
// for a clock).
#pragma once

#include <string>

#include "ntsd/clock/source.hpp"
#include "ntsd/clock/tsc_map.hpp"

namespace ntsd::clock {

class TickClock final : public ClockSource {
 public:
  // With `leaps`, the fit runs on TAI and map() converts to UTC at the
  // right tick across a leap second (tsc_map.hpp); read() still answers on
  // the reference's own timescale.
  TickClock(std::string name, TickSource& ticks, ClockSource& reference, std::int64_t refresh_ns = 100'000'000,
            CalibratorConfig cfg = {}, const LeapTableRef* leaps = nullptr) noexcept;

  const std::string& name() const noexcept override { return name_; }
  Reading read() noexcept override;
  const std::string& last_error() const noexcept override { return error_; }
  Timescale timescale() const noexcept override { return ref_.timescale(); }

  // One reference sample now, whatever its age (start-up, tests).
  Calibrator::Result refresh() noexcept;
  // Counter ticks -> UTC (map) or the fitted timescale (map_continuous);
  // valid() once two samples were taken.
  const TscMap& map() const noexcept { return map_; }

 private:
  std::string name_;
  std::string error_;
  TickSource& ticks_;
  ClockSource& ref_;
  std::int64_t refresh_ns_;
  TscMap map_;
  Calibrator cal_;
  std::uint64_t last_sample_tick_ = 0;
  std::uint64_t last_read_tick_ = 0;
  UnixNs last_read_sys_ = 0;  // system time when the counter last changed
  bool sampled_ = false;
};

}  // namespace ntsd::clock
