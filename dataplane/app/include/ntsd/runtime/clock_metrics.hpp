// Clock gauges for Prometheus (docs/operations.md, "Timescale and leap
// seconds" says which to page on). Written by the control thread after each
// clock poll, read by the metrics thread: relaxed atomics, no lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace ntsd::runtime {

struct ClockGauges {
  std::atomic<int> stratum{16};
  std::atomic<int> local_reference{0};
  std::atomic<double> root_dispersion_s{0};
  std::atomic<double> source_offset_s{0};     // source - system clock
  std::atomic<double> fit_residual_s{0};      // last sample - previous fit
  std::atomic<double> last_read_age_s{-1};    // since the last good source read (-1 = never)
  std::atomic<int> kernel_checked{0};
  std::atomic<int> kernel_unsynchronised{0};
  std::atomic<double> kernel_maxerror_s{0};
  std::atomic<double> kernel_esterror_s{0};
  std::atomic<int> kernel_tai_s{0};
  std::atomic<std::uint64_t> kernel_tai_mismatches{0};
  std::atomic<int> tai_offset_s{0};           // TAI - UTC in force (0 = unknown)
  std::atomic<int> leap_file_loaded{0};
  std::atomic<int> leap_file_expired{0};
  std::atomic<double> leap_file_expiry_s{0};  // Unix seconds; 0 = none
  std::atomic<double> next_leap_s{0};         // Unix seconds (UTC) of the next known leap; 0 = none
  std::atomic<int> lock_tracked{0};
  std::atomic<int> lock_locked{0};             // a fresh "locked" reading this poll
  std::atomic<double> since_lock_s{-1};        // since the last confirmed lock (-1 = never)
  std::atomic<std::uint64_t> unhealthy_transitions{0};
};

// Appends the clock metrics (HELP/TYPE and samples) to `out`.
void render_clock(std::string& out, const ClockGauges& g);

}  // namespace ntsd::runtime
