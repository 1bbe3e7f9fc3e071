// The server's clock, built from [server] (docs/configuration.md): the source
// (system clock, PHC, the NIC clock, or a test simulation), the leap-second
// file, the kernel's clock state, the reference lock status, the TSC fit the
// workers read, and the ServerClock that judges all of it every 250 ms.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "ntsd/clock/leap_file.hpp"
#include "ntsd/clock/server_clock.hpp"
#include "ntsd/clock/source.hpp"
#include "ntsd/clock/system_clock.hpp"
#include "ntsd/clock/tsc_map.hpp"
#include "ntsd/config/config.hpp"
#include "ntsd/runtime/stats.hpp"

namespace ntsd::app {

class ClockStack {
 public:
  // Builds everything, reads the kernel's state where the configuration
  // needs it (clock = "system" or leap = "auto": an unreadable adjtimex is
  // an error here, never a silent leap 0), and loads the leap-second file.
  static std::unique_ptr<ClockStack> create(const config::Config& cfg, std::string& error);

  clock::TscMap& tsc() noexcept { return tsc_; }
  const clock::ServerClock& server() const noexcept { return *sclock_; }
  const clock::LeapTableRef& leaps() const noexcept { return leaps_; }
  const clock::ClockSource& source() const noexcept { return *source_; }
  // A new instance of the source for the NIC-clock fit (its own file
  // descriptor, read from another thread): NIC ticks are fitted to the
  // configured clock, not to the system clock (one timescale for T2 and T3).
  std::function<std::unique_ptr<clock::ClockSource>()> reference_factory() const;

  // clock = "dpdk": the source exists only once the ports run.
  bool waits_for_nic() const noexcept { return late_ != nullptr; }
  void set_nic_source(std::unique_ptr<clock::ClockSource> s);

  // Three polls over 100 ms: the fit exists, with a usable rate.
  void calibrate();
  // One control-thread period: leap file, clock judgement, gauges.
  void poll(runtime::Metrics& m);

 private:
  ClockStack() = default;
  void update_gauges(runtime::Metrics& m);

  const config::Config* cfg_ = nullptr;
  clock::LeapTableRef leaps_;
  std::unique_ptr<clock::LeapFile> leap_file_;
  clock::KernelTimeFn kernel_;
  std::unique_ptr<clock::ClockSource> source_;
  class LateSource* late_ = nullptr;
  clock::TscTicks ticks_;
  clock::TscMap tsc_;
  std::unique_ptr<clock::Calibrator> cal_;
  std::unique_ptr<clock::ServerClock> sclock_;
  bool was_healthy_ = false;
};

}  // namespace ntsd::app
