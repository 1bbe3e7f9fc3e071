// clock = "sim:tai" | "sim:utc": a stand-in PHC for end-to-end tests on
// machines without one (docs/operations.md, "Test seams"). Never for service.
//
// It counts CLOCK_MONOTONIC from its construction on, starting from the
// system clock converted to TAI with the leap-second table in force then, so
// that it runs continuously through a leap second the way a PTP-disciplined
// PHC does. On "utc" it reads TAI minus the table's offset at that instant,
// i.e. it repeats 23:59:59 at an inserted leap as a PHC kept on UTC does.
// A test leap-seconds file with a leap a minute ahead thus drives ntsd's
// whole path across a real leap second while clients keep their own clocks.
//
// With a control file (NTSD_TEST_SIM_PHC), each read first looks at it:
// "unreadable" makes the read fail, "step_ns=N" adds N ns to the PHC (a
// stepped PHC), anything else or no file is a normal read. Faults tests
// use it to lose and step the clock source while ntsd serves.
#pragma once

#include <string>

#include "ntsd/clock/leap_table.hpp"
#include "ntsd/clock/source.hpp"

namespace ntsd::clock {

class SyntheticPhc final : public ClockSource {
 public:
  SyntheticPhc(Timescale scale, const LeapTableRef& leaps, std::string control_file = {});

  const std::string& name() const noexcept override { return name_; }
  Reading read() noexcept override;
  const std::string& last_error() const noexcept override { return error_; }
  Timescale timescale() const noexcept override { return scale_; }

 private:
  Timescale scale_;
  const LeapTableRef& leaps_;
  std::string name_;
  std::string error_;
  std::string control_;
  UnixNs tai0_ = 0;
  std::int64_t mono0_ = 0;
};

}  // namespace ntsd::clock
