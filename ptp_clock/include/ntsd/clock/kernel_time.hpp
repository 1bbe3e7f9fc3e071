// The kernel's view of the system clock, from a read-only adjtimex(2)
// (modes = 0: no CAP_SYS_TIME needed, and the shipped units deny it anyway).
// The NTP daemon that disciplines the system clock (chrony, ntpd, phc2sys)
// keeps these up to date; ntsd only reads them:
// - the return value TIME_ERROR and the STA_UNSYNC bit: the clock is not
//   synchronised (RFC 5905 §7.3: then answer leap 3, stratum 16);
// - maxerror / esterror: the daemon's error bound and estimate (µs), which
//   the kernel grows by 500 ppm between updates;
// - STA_INS / STA_DEL: a leap second at the end of the UTC day;
// - tai: TAI - UTC, where the daemon set it (0 if never).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace ntsd::clock {

struct KernelTime {
  bool ok = false;
  int error = 0;  // errno of a failed read
  int state = 0;  // adjtimex's return value: TIME_OK .. TIME_ERROR
  int status = 0;  // STA_* bits
  std::int64_t maxerror_us = 0;
  std::int64_t esterror_us = 0;
  int tai = 0;

  bool unsynchronised() const noexcept;
  bool leap_insert() const noexcept;
  bool leap_delete() const noexcept;
  // "state TIME_ERROR, STA_UNSYNC, maxerror 16000 ms" (for logs).
  std::string describe() const;
};

using KernelTimeFn = std::function<KernelTime()>;

// adjtimex(2) with modes = 0.
KernelTime read_kernel_time() noexcept;

// The test seam (docs/operations.md, "Test seams"): reads "state=N
// status=0xN maxerror=N esterror=N tai=N" (µs) from a file in place of the
// kernel; a missing or unparsable file reads as a failed adjtimex.
KernelTime read_kernel_time_file(const std::string& path);

}  // namespace ntsd::clock
