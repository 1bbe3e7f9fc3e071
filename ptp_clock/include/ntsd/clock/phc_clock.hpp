// A PTP hardware clock (/dev/ptpN) as a source.
//
// The PHC is paired with the system clock by the kernel's cross-timestamping
// ioctls: PTP_SYS_OFFSET_PRECISE (hardware cross-timestamp, where the driver
// has it), else PTP_SYS_OFFSET_EXTENDED (sys-before / PHC / sys-after
// triplets; we keep the narrowest window, as phc2sys and chrony do).
// A PHC disciplined by PTP runs on TAI (IEEE 1588 §7.2.1), one kept by
// ts2phc/phc2sys on UTC does not: the reading is returned on the PHC's own
// timescale ([server] phc_timescale) and converted with the leap-second
// table by the Calibrator (tsc_map.hpp), never with a built-in offset.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "ntsd/clock/source.hpp"

namespace ntsd::clock {

// One PTP_SYS_OFFSET_EXTENDED sample, in ns.
struct PhcTriplet {
  UnixNs sys_before;
  UnixNs phc;
  UnixNs sys_after;
};

// Pairs the PHC with the system clock from the narrowest valid triplet
// (sys_after >= sys_before). Returns ok == false if none is valid.
Reading pair_triplets(std::span<const PhcTriplet> samples) noexcept;

class PhcClock final : public ClockSource {
 public:
  // Opens the device. On failure ok() is false and last_error() names the
  // device and the errno text ("cannot open /dev/ptp3: No such file ...").
  PhcClock(std::string device, Timescale scale);
  ~PhcClock() override;
  PhcClock(const PhcClock&) = delete;
  PhcClock& operator=(const PhcClock&) = delete;

  bool ok() const noexcept { return fd_ >= 0; }
  const std::string& name() const noexcept override { return name_; }
  Reading read() noexcept override;
  const std::string& last_error() const noexcept override { return error_; }
  Timescale timescale() const noexcept override { return scale_; }

 private:
  Reading read_precise() noexcept;
  Reading read_extended() noexcept;
  void fail(const char* what, int err);

  std::string device_;
  std::string name_;
  std::string error_;
  int fd_ = -1;
  Timescale scale_;
  bool precise_ = true;  // cleared after the first EOPNOTSUPP
};

}  // namespace ntsd::clock
