// What the server says about its clock in every response (RFC 5905 §7.3):
// leap indicator, stratum, precision, reference id, root dispersion and
// reference time, and whether the clock is synchronised at all.
//
// The control thread calls poll() periodically (every 250 ms). It refreshes
// the TSC fit and judges, in this order, the first failure being the reason:
//  1. the source is readable and the fit exists;
//  2. TAI - UTC is known where the source runs on TAI (leap_file.hpp);
//  3. the source agrees with the system clock within max_offset_ns;
//  4. the kernel says the system clock is synchronised (clock = "system":
//     no TIME_ERROR, no STA_UNSYNC, maxerror within max_root_dispersion) --
//     unless local_stratum is set, chrony's "local stratum N": then an
//     unsynchronised system clock is served as a local reference with that
//     stratum and refid LOCL, and this is logged and shown in metrics;
//  5. the reference is locked (lock_status.hpp), or was locked less than
//     holdover_ns ago;
//  6. root dispersion is within max_root_dispersion_ns. It is the configured
//     base plus, for the system clock, the kernel's maxerror, plus, with a
//     lock status file, the reference's error at its last confirmed lock
//     grown at dispersion_rate_ppm since (RFC 5905 §11.2: PHI = 15 ppm).
// Unsynchronised means leap 3 and stratum 16 (RFC 5905 §7.3), so that
// clients ignore us rather than take wrong time; every transition is logged
// with the reason. The leap indicator comes from the configuration, or with
// leap = "auto" from the leap-second table (the last day before a leap, as
// chrony's leapseclist) or the kernel's STA_INS/STA_DEL.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "ntsd/clock/kernel_time.hpp"
#include "ntsd/clock/leap_table.hpp"
#include "ntsd/clock/lock_status.hpp"
#include "ntsd/clock/source.hpp"
#include "ntsd/clock/tsc_map.hpp"

namespace ntsd::clock {

enum class Leap : std::uint8_t { kNone = 0, kInsert = 1, kDelete = 2, kUnsynchronized = 3 };
enum class LeapMode : std::uint8_t { kNone, kInsert, kDelete, kAuto };

inline constexpr std::uint32_t kRefidLocal = 0x4c4f434c;  // "LOCL"

struct ServerClockConfig {
  std::uint8_t stratum = 1;
  std::uint32_t refid = 0x50505300;  // "PPS\0"-style ASCII id for stratum 1 (RFC 5905 §7.3)
  std::int8_t precision = -20;       // log2 seconds
  LeapMode leap = LeapMode::kAuto;
  // |source - system clock| beyond this makes the clock unhealthy; 0 turns the
  // check off (the system clock source is always 0 from itself).
  std::int64_t max_offset_ns = 0;
  // Judge the kernel's synchronisation state (clock = "system").
  bool check_kernel_sync = false;
  // 0 = off; else serve an unsynchronised system clock at this stratum.
  std::uint8_t local_stratum = 0;
  std::int64_t root_delay_ns = 0;
  std::int64_t root_dispersion_ns = 10'000;       // the base
  std::int64_t max_root_dispersion_ns = 100'000'000;
  // Lock tracking, on when `lock` is given to the constructor.
  std::int64_t lock_max_age_ns = 10'000'000'000;
  std::int64_t holdover_ns = 3600'000'000'000;
  double dispersion_rate_ppm = 15;  // RFC 5905 PHI
};

struct ServerStateWord {
  Leap leap = Leap::kUnsynchronized;
  std::uint8_t stratum = 16;
  std::int8_t precision = -20;
  std::uint32_t refid = 0;
  std::uint32_t root_delay = 0;       // NTP short 16.16
  std::uint32_t root_dispersion = 0;  // NTP short 16.16
  std::uint64_t reference_time = 0;   // NTP64
};

// What the last poll found, for logs and metrics (control thread only).
struct ClockStatus {
  bool healthy = false;
  bool local = false;  // serving as a local reference (local_stratum)
  std::string reason;
  Leap leap = Leap::kUnsynchronized;
  std::int64_t root_dispersion_ns = 0;
  std::int64_t source_offset_ns = 0;  // source (on UTC) - system clock
  std::int64_t fit_residual_ns = 0;
  UnixNs last_good_read = 0;  // UTC of the last good source read (0 = never)
  UnixNs now_utc = 0;         // UTC of this poll
  bool kernel_checked = false;
  KernelTime kernel;
  std::uint64_t kernel_tai_mismatches = 0;  // polls where kernel tai != table
  // Lock tracking.
  bool lock_tracked = false;
  LockReading::State lock_state = LockReading::State::kMissing;
  bool lock_stale = false;
  UnixNs last_lock = 0;  // `updated` of the last fresh locked reading
  std::int64_t lock_error_ns = 0;
};

// Microseconds / nanoseconds to NTP short format (16.16 seconds), saturating.
std::uint32_t ntp_short_from_ns(std::int64_t ns) noexcept;

class ServerClock {
 public:
  using LogFn = std::function<void(const std::string&)>;

  // `leaps` may be null (no table: LI from config or kernel only; a TAI
  // source is then unhealthy). `kernel` is read when check_kernel_sync or
  // leap = auto; `lock`, when given, turns lock tracking on.
  ServerClock(ServerClockConfig cfg, Calibrator& cal, ClockSource& src, LogFn log,
              KernelTimeFn kernel = read_kernel_time, const LeapTableRef* leaps = nullptr,
              LockStatusFn lock = nullptr);

  void poll() noexcept;
  // Any thread, lock-free: three atomic loads.
  ServerStateWord state() const noexcept;
  bool healthy() const noexcept { return status_.healthy; }
  const std::string& reason() const noexcept { return status_.reason; }
  const ClockStatus& status() const noexcept { return status_; }
  const ServerClockConfig& config() const noexcept { return cfg_; }

 private:
  // The first failure wins. `code` names the kind of failure, so that a
  // reason whose numbers change every poll is logged once, not every poll.
  struct Verdict {
    bool ok = true;
    bool local = false;
    const char* code = "";
    std::string why;
    void fail(const char* c, std::string w) {
      if (ok) {
        code = c;
        why = std::move(w);
      }
      ok = false;
    }
  };
  void judge_kernel(Verdict& v);
  std::int64_t judge_lock(Verdict& v, UnixNs now);
  Leap announced_leap(UnixNs continuous_now) const noexcept;
  void set_health(const Verdict& v);
  void publish(const ServerStateWord& s) noexcept;

  ServerClockConfig cfg_;
  Calibrator& cal_;
  ClockSource& src_;
  LogFn log_;
  KernelTimeFn kernel_;
  const LeapTableRef* leaps_;
  LockStatusFn lock_;
  ClockStatus status_;
  bool first_ = true;
  std::string last_code_;  // the verdict last logged: "ok", "local" or a failure code
  std::int64_t kernel_disp_ns_ = 0;
  std::atomic<std::uint64_t> word_{0};
  std::atomic<std::uint64_t> root_{0};  // root delay << 32 | root dispersion
  std::atomic<std::uint64_t> ref_{0};   // reference time
};

}  // namespace ntsd::clock
