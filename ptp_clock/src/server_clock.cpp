#include "ntsd/clock/server_clock.hpp"

#include <cstdlib>
#include <cstdio>

namespace ntsd::clock {
namespace {

std::string ms(std::int64_t ns) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3f ms", static_cast<double>(ns) / 1e6);
  return b;
}

std::string describe(const LockReading& l, UnixNs now) {
  switch (l.state) {
    case LockReading::State::kLocked:
      return "the status file says locked but was last updated " + std::to_string((now - l.updated) / kNsPerSec) +
             " s ago";
    case LockReading::State::kUnlocked: return "the lock status file says unlocked";
    case LockReading::State::kMissing: return "no lock status file (" + l.why + ")";
    case LockReading::State::kInvalid: return "the lock status file is invalid (" + l.why + ")";
  }
  return "?";
}

}  // namespace

std::uint32_t ntp_short_from_ns(std::int64_t ns) noexcept {
  if (ns <= 0) return 0;
  const unsigned __int128 v = (static_cast<unsigned __int128>(ns) << 16) / 1'000'000'000u;
  return v > 0xffffffffu ? 0xffffffffu : static_cast<std::uint32_t>(v);
}

ServerClock::ServerClock(ServerClockConfig cfg, Calibrator& cal, ClockSource& src, LogFn log, KernelTimeFn kernel,
                         const LeapTableRef* leaps, LockStatusFn lock)
    : cfg_(cfg), cal_(cal), src_(src), log_(std::move(log)), kernel_(std::move(kernel)), leaps_(leaps),
      lock_(std::move(lock)) {
  status_.reason = "not polled yet";
  status_.lock_tracked = static_cast<bool>(lock_);
  ServerStateWord s;
  s.precision = cfg_.precision;
  s.refid = cfg_.refid;
  publish(s);
}

void ServerClock::judge_kernel(Verdict& v) {
  kernel_disp_ns_ = 0;
  if (!cfg_.check_kernel_sync) return;
  const KernelTime& k = status_.kernel;
  if (!k.ok) return v.fail("kernel", "cannot read the kernel's clock state: " + k.describe());
  const bool over = k.maxerror_us * 1000 > cfg_.max_root_dispersion_ns;
  if (!k.unsynchronised() && !over) {
    kernel_disp_ns_ = k.maxerror_us * 1000;
    return;
  }
  if (cfg_.local_stratum != 0) {
    v.local = true;  // chrony's "local stratum N": served on purpose, and said so
    return;
  }
  kernel_disp_ns_ = k.maxerror_us * 1000;  // what the kernel says, also in the leap-3 answers
  if (k.unsynchronised())
    v.fail("unsync", "the kernel says the system clock is unsynchronised (" + k.describe() + ")");
  else
    v.fail("maxerror", "the kernel's maxerror for the system clock is " + ms(k.maxerror_us * 1000) +
                           ", beyond max_root_dispersion (" + k.describe() + ")");
}

std::int64_t ServerClock::judge_lock(Verdict& v, UnixNs now) {
  if (!lock_) return 0;
  const LockReading l = lock_();
  status_.lock_state = l.state;
  const std::int64_t age = now - l.updated;
  const bool known = l.state == LockReading::State::kLocked || l.state == LockReading::State::kUnlocked;
  status_.lock_stale = known && std::llabs(age) > cfg_.lock_max_age_ns;
  if (l.state == LockReading::State::kLocked && !status_.lock_stale) {
    status_.last_lock = l.updated;
    status_.lock_error_ns = l.error_ns;
    return l.error_ns + static_cast<std::int64_t>(cfg_.dispersion_rate_ppm * 1e-6 * static_cast<double>(age > 0 ? age : 0));
  }
  if (status_.last_lock == 0) {
    v.fail("nolock", "the reference has not been locked since start: " + describe(l, now));
    return 0;
  }
  const std::int64_t since = now - status_.last_lock;
  if (since > cfg_.holdover_ns)
    v.fail("holdover", "reference lock lost " + std::to_string(since / kNsPerSec) + " s ago, beyond holdover_s = " +
                           std::to_string(cfg_.holdover_ns / kNsPerSec) + ": " + describe(l, now));
  return status_.lock_error_ns +
         static_cast<std::int64_t>(cfg_.dispersion_rate_ppm * 1e-6 * static_cast<double>(since > 0 ? since : 0));
}

Leap ServerClock::announced_leap(UnixNs continuous_now) const noexcept {
  switch (cfg_.leap) {
    case LeapMode::kNone: return Leap::kNone;
    case LeapMode::kInsert: return Leap::kInsert;
    case LeapMode::kDelete: return Leap::kDelete;
    case LeapMode::kAuto: break;
  }
  // The table first (the fit runs on TAI whenever a table is in force), then
  // the kernel flags that the system clock's NTP daemon set.
  if (const auto t = leaps_ ? leaps_->get() : nullptr) {
    const int li = t->leap_indicator(continuous_now);
    if (li != 0) return static_cast<Leap>(li);
  }
  if (status_.kernel_checked && status_.kernel.ok) {
    if (status_.kernel.leap_insert()) return Leap::kInsert;
    if (status_.kernel.leap_delete()) return Leap::kDelete;
  }
  return Leap::kNone;
}

void ServerClock::set_health(const Verdict& v) {
  const std::string code = !v.ok ? v.code : v.local ? "local" : "ok";
  if (log_ && (first_ || code != last_code_)) {
    if (!v.ok)
      log_("clock unhealthy, answering with leap=3 stratum 16: " + v.why);
    else if (v.local)
      log_("clock " + src_.name() + ": the kernel says it is unsynchronised (" + status_.kernel.describe() +
           "); serving it as a local reference at stratum " + std::to_string(cfg_.local_stratum) +
           ", refid LOCL (local_stratum)");
    else
      log_("clock " + src_.name() + " healthy: serving time");
  }
  first_ = false;
  last_code_ = code;
  status_.healthy = v.ok;
  status_.local = v.ok && v.local;
  status_.reason = v.why;
}

void ServerClock::poll() noexcept {
  const Calibrator::Result r = cal_.refresh();
  Verdict v;
  if (kernel_ && (cfg_.check_kernel_sync || cfg_.leap == LeapMode::kAuto)) {
    status_.kernel = kernel_();
    status_.kernel_checked = true;
  }
  const auto table = leaps_ ? leaps_->get() : nullptr;
  if (!r.reading.ok) {
    v.fail("unreadable", src_.name() + " unreadable: " + src_.last_error());
  } else {
    status_.now_utc = r.utc_ns;
    status_.last_good_read = r.utc_ns;
    status_.fit_residual_ns = r.residual_ns;
    status_.source_offset_ns = r.utc_ns - r.reading.sys_ns;
    if (!r.ok) v.fail("nofit", "TSC fit of " + src_.name() + " not established yet");
    if (src_.timescale() == Timescale::kTai && !table)
      v.fail("taiunknown", src_.name() + " runs on TAI but TAI-UTC is unknown (no usable leap-second file, and "
                                         "the kernel has no TAI offset)");
    if (cfg_.max_offset_ns > 0 && std::llabs(status_.source_offset_ns) > cfg_.max_offset_ns)
      v.fail("offset", "offset of " + src_.name() + " to the system clock is " +
                           std::to_string(status_.source_offset_ns) + " ns, beyond " +
                           std::to_string(cfg_.max_offset_ns) + " ns");
    if (r.stepped && log_)
      log_(src_.name() + " stepped by " + std::to_string(r.residual_ns) + " ns; TSC fit restarted");
  }
  judge_kernel(v);
  const std::int64_t lock_disp = r.reading.ok ? judge_lock(v, r.utc_ns) : 0;
  status_.root_dispersion_ns = cfg_.root_dispersion_ns + kernel_disp_ns_ + lock_disp;
  if (v.ok && status_.root_dispersion_ns > cfg_.max_root_dispersion_ns)
    v.fail("dispersion", "root dispersion " + ms(status_.root_dispersion_ns) + " is beyond max_root_dispersion (" +
                             ms(cfg_.max_root_dispersion_ns) + ")");
  // The kernel's TAI offset, where a daemon set it, must agree with the table.
  if (r.reading.ok && table && status_.kernel_checked && status_.kernel.ok && status_.kernel.tai > 0) {
    const int want = table->offset_at_tai(r.continuous_ns);
    if (status_.kernel.tai != want) {
      if (status_.kernel_tai_mismatches++ == 0 && log_)
        log_("WARNING: the kernel's TAI-UTC is " + std::to_string(status_.kernel.tai) +
             " s but the leap-second table says " + std::to_string(want) + " s (serving the table's)");
    }
  }
  set_health(v);
  ServerStateWord s;
  s.precision = cfg_.precision;
  s.refid = status_.local ? kRefidLocal : cfg_.refid;
  s.root_delay = ntp_short_from_ns(cfg_.root_delay_ns);
  s.root_dispersion = ntp_short_from_ns(status_.root_dispersion_ns);
  if (status_.healthy) {
    s.leap = announced_leap(r.continuous_ns);
    s.stratum = status_.local ? cfg_.local_stratum : cfg_.stratum;
    // RFC 5905 §7.3: when the clock was last set or corrected.
    const UnixNs ref = status_.lock_tracked ? status_.last_lock : status_.now_utc;
    s.reference_time = to_ntp64(ref);
  } else {
    s.leap = Leap::kUnsynchronized;
    s.stratum = 16;
    s.reference_time = ref_.load(std::memory_order_relaxed);
  }
  status_.leap = s.leap;
  publish(s);
}

void ServerClock::publish(const ServerStateWord& s) noexcept {
  const std::uint64_t w = static_cast<std::uint64_t>(s.leap) |
                          static_cast<std::uint64_t>(s.stratum) << 8 |
                          static_cast<std::uint64_t>(static_cast<std::uint8_t>(s.precision)) << 16 |
                          static_cast<std::uint64_t>(s.refid) << 32;
  root_.store(static_cast<std::uint64_t>(s.root_delay) << 32 | s.root_dispersion, std::memory_order_relaxed);
  ref_.store(s.reference_time, std::memory_order_relaxed);
  word_.store(w, std::memory_order_release);
}

ServerStateWord ServerClock::state() const noexcept {
  const std::uint64_t w = word_.load(std::memory_order_acquire);
  const std::uint64_t root = root_.load(std::memory_order_relaxed);
  ServerStateWord s;
  s.leap = static_cast<Leap>(w & 3);
  s.stratum = static_cast<std::uint8_t>(w >> 8);
  s.precision = static_cast<std::int8_t>(static_cast<std::uint8_t>(w >> 16));
  s.refid = static_cast<std::uint32_t>(w >> 32);
  s.root_delay = static_cast<std::uint32_t>(root >> 32);
  s.root_dispersion = static_cast<std::uint32_t>(root);
  s.reference_time = ref_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace ntsd::clock
