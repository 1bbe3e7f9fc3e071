#include "ntsd/runtime/clock_metrics.hpp"

#include <cmath>
#include <cstdio>
#include <string_view>

namespace ntsd::runtime {
namespace {

template <typename T>
void gauge(std::string& out, std::string_view name, std::string_view type, std::string_view help, T v) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  char b[64];
  if constexpr (std::is_floating_point_v<T>) {
    const double d = static_cast<double>(v);
    // Whole numbers (Unix times, counts of seconds) in full, the rest with 9 digits.
    if (d == std::floor(d) && std::fabs(d) < 1e15)
      std::snprintf(b, sizeof b, "%.0f", d);
    else
      std::snprintf(b, sizeof b, "%.9g", d);
  } else
    std::snprintf(b, sizeof b, "%lld", static_cast<long long>(v));
  out.append(name).append(" ").append(b).append("\n");
}

}  // namespace

void render_clock(std::string& out, const ClockGauges& g) {
  constexpr auto r = std::memory_order_relaxed;
  gauge(out, "ntsd_stratum", "gauge", "Stratum in responses (16 = unsynchronised).", g.stratum.load(r));
  gauge(out, "ntsd_clock_local_reference", "gauge",
        "1 while an unsynchronised system clock is served as a local reference ([server] local_stratum).",
        g.local_reference.load(r));
  gauge(out, "ntsd_root_dispersion_seconds", "gauge",
        "Root dispersion in responses: the base, the kernel's maxerror (clock = system) and the growth since the "
        "last confirmed reference lock.",
        g.root_dispersion_s.load(r));
  gauge(out, "ntsd_clock_source_offset_seconds", "gauge", "Clock source (on UTC) minus the system clock.",
        g.source_offset_s.load(r));
  gauge(out, "ntsd_clock_fit_residual_seconds", "gauge",
        "Last clock sample minus the TSC fit's prediction (how far the fit was off).", g.fit_residual_s.load(r));
  gauge(out, "ntsd_clock_last_read_age_seconds", "gauge",
        "Seconds since the clock source was last read successfully (-1 = never).", g.last_read_age_s.load(r));
  gauge(out, "ntsd_clock_kernel_unsynchronised", "gauge",
        "1 if adjtimex reports TIME_ERROR or STA_UNSYNC for the system clock (when it is read).",
        g.kernel_unsynchronised.load(r));
  gauge(out, "ntsd_clock_kernel_maxerror_seconds", "gauge", "The kernel's maximum error of the system clock.",
        g.kernel_maxerror_s.load(r));
  gauge(out, "ntsd_clock_kernel_esterror_seconds", "gauge", "The kernel's estimated error of the system clock.",
        g.kernel_esterror_s.load(r));
  gauge(out, "ntsd_clock_kernel_tai_offset_seconds", "gauge", "The kernel's TAI-UTC (adjtimex tai; 0 = not set).",
        g.kernel_tai_s.load(r));
  gauge(out, "ntsd_clock_kernel_tai_mismatch_total", "counter",
        "Clock polls where the kernel's TAI-UTC disagreed with the leap-second table.",
        g.kernel_tai_mismatches.load(r));
  gauge(out, "ntsd_tai_offset_seconds", "gauge", "TAI-UTC in force now (0 = unknown).", g.tai_offset_s.load(r));
  gauge(out, "ntsd_leap_file_loaded", "gauge", "1 if the leap-second file is loaded and its hash checked out.",
        g.leap_file_loaded.load(r));
  gauge(out, "ntsd_leap_file_expired", "gauge",
        "1 if the leap-second file is past its expiry date (update tzdata).", g.leap_file_expired.load(r));
  gauge(out, "ntsd_leap_file_expiry_timestamp_seconds", "gauge", "Expiry date of the leap-second file (Unix time).",
        g.leap_file_expiry_s.load(r));
  gauge(out, "ntsd_next_leap_timestamp_seconds", "gauge",
        "UTC (Unix time) of the next leap second the table knows; 0 = none.", g.next_leap_s.load(r));
  gauge(out, "ntsd_lock_tracked", "gauge", "1 if a reference lock status file is configured.", g.lock_tracked.load(r));
  gauge(out, "ntsd_lock_locked", "gauge", "1 if the lock status file says locked and is fresh.", g.lock_locked.load(r));
  gauge(out, "ntsd_lock_since_seconds", "gauge", "Seconds since the last confirmed reference lock (-1 = never).",
        g.since_lock_s.load(r));
  gauge(out, "ntsd_clock_unhealthy_transitions_total", "counter",
        "Times the clock went from serving to leap 3.", g.unhealthy_transitions.load(r));
}

}  // namespace ntsd::runtime
