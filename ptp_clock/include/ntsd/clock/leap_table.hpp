// TAI - UTC over time, from the IERS/NIST leap-second list that tzdata ships
// as /usr/share/zoneinfo/leap-seconds.list ("NTP seconds  TAI-UTC" lines, the
// last-update "#$", expiry "#@" and SHA-1 "#h" lines; format described in the
// file itself and at https://hpiers.obspm.fr/iers/bul/bulc/ntp/sources/README).
//
// ntsd serves UTC (RFC 5905 §6) but fits the TSC to a continuous timescale,
// TAI, so that a leap second is exact to the packet instead of being noticed
// as a 1 s "step" at the next clock poll. Per packet, UTC = TAI - offset,
// with the offset switching at the leap's boundary (LeapStep below): an
// inserted second repeats 23:59:59 in NTP time, as the Linux kernel's
// REALTIME clock does, while the leap indicator says 1 (RFC 5905 §7.3).
//
// Boundaries in TAI: entry i says TAI - UTC = O_i from the UTC instant U_i
// on. UTC reaches U_i at TAI U_i + min(O_{i-1}, O_i): for an inserted second
// that is the start of 23:59:60, for a deleted one the instant 23:59:59
// would have begun.
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ntsd/clock/ntp_time.hpp"

namespace ntsd::clock {

// One leap boundary for the per-packet TAI -> UTC conversion: what a TSC fit
// carries (tsc_map.hpp). No boundary: at_tai is the maximum, after == before.
struct LeapStep {
  UnixNs at_tai = std::numeric_limits<UnixNs>::max();
  std::int64_t before_ns = 0;  // TAI - UTC before the boundary
  std::int64_t after_ns = 0;   // TAI - UTC from the boundary on

  UnixNs to_utc(UnixNs tai) const noexcept { return tai - (tai >= at_tai ? after_ns : before_ns); }
};

struct LeapEntry {
  UnixNs utc = 0;             // from this UTC instant on (Unix ns)
  std::int32_t offset_s = 0;  // TAI - UTC
  UnixNs boundary_tai = 0;    // the same instant on TAI (see the header comment)
};

class LeapTable {
 public:
  // No information at all: every query answers offset 0 (the caller decides
  // whether that is acceptable; see ServerClock).
  LeapTable() = default;
  // A constant offset with no leaps (e.g. the kernel's TAI offset when there
  // is no leap-second file).
  static LeapTable fixed(std::int32_t offset_s);
  // Parses the file's text. Errors name the line: a malformed line, times
  // not increasing, an offset changing by other than one second, or a "#h"
  // hash that does not match the data (a damaged file must not be used).
  static std::optional<LeapTable> parse(std::string_view text, std::string& error);
  static std::optional<LeapTable> load(const std::string& path, std::string& error);

  bool empty() const noexcept { return entries_.empty(); }
  const std::vector<LeapEntry>& entries() const noexcept { return entries_; }
  // Unix ns of the "#$" and "#@" lines; 0 when the file has none.
  UnixNs updated() const noexcept { return updated_; }
  UnixNs expires() const noexcept { return expires_; }
  bool expired(UnixNs now_utc) const noexcept { return expires_ != 0 && now_utc >= expires_; }
  bool hash_checked() const noexcept { return hash_checked_; }

  std::int32_t offset_at_tai(UnixNs tai) const noexcept;
  // For a UTC instant inside an inserted (repeated) second this is the
  // earlier reading; utc_to_tai resolves that with a hint.
  std::int32_t offset_at_utc(UnixNs utc) const noexcept;
  UnixNs tai_to_utc(UnixNs tai) const noexcept { return tai - offset_at_tai(tai) * kNsPerSec; }
  // A UTC reading on TAI. In the second that an inserted leap repeats, the
  // same UTC value names two TAI instants: the one nearer `hint_tai` (the
  // current fit's prediction) wins; without a hint, the earlier one.
  UnixNs utc_to_tai(UnixNs utc, const UnixNs* hint_tai = nullptr) const noexcept;
  // The boundary to publish at `tai`: the next one after it, with the offset
  // in force now as `before`.
  LeapStep step_after(UnixNs tai) const noexcept;
  // RFC 5905 §7.3 leap indicator from the table alone: 1 (or 2 for a
  // deleted second) from one day before a boundary until the leap is over,
  // as chrony does with its leapseclist; else 0.
  int leap_indicator(UnixNs tai) const noexcept;
  // The first leap after `tai`, if the table knows one.
  const LeapEntry* next_leap(UnixNs tai) const noexcept;

 private:
  std::vector<LeapEntry> entries_;
  UnixNs updated_ = 0;
  UnixNs expires_ = 0;
  bool hash_checked_ = false;
};

// The table in force, replaced whole when the file is reloaded. Read by the
// control thread and the NIC-clock thread at each clock refresh, never per
// packet (workers see only the LeapStep inside the TSC fit).
class LeapTableRef {
 public:
  std::shared_ptr<const LeapTable> get() const { return p_.load(std::memory_order_acquire); }
  void set(std::shared_ptr<const LeapTable> t) { p_.store(std::move(t), std::memory_order_release); }

 private:
  std::atomic<std::shared_ptr<const LeapTable>> p_;
};

}  // namespace ntsd::clock
