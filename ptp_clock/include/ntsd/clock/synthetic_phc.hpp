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
#pragma once

#include <string>

#include "ntsd/clock/leap_table.hpp"
#include "ntsd/clock/source.hpp"

namespace ntsd::clock {

class SyntheticPhc final : public ClockSource {
 public:
  SyntheticPhc(Timescale scale, const LeapTableRef& leaps);

  const std::string& name() const noexcept override { return name_; }
  Reading read() noexcept override;
  const std::string& last_error() const noexcept override { return error_; }
  Timescale timescale() const noexcept override { return scale_; }

 private:
  Timescale scale_;
  const LeapTableRef& leaps_;
  std::string name_;
  std::string error_;
  UnixNs tai0_ = 0;
  std::int64_t mono0_ = 0;
};

}  // namespace ntsd::clock
