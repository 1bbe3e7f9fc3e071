#include "ntsd/clock/server_clock.hpp"

#include <sys/timex.h>

#include <cstdlib>

namespace ntsd::clock {

int kernel_time_status() noexcept {
  timex tx{};
  tx.modes = 0;  // read only
  if (::adjtimex(&tx) < 0) return -1;
  return tx.status;
}

ServerClock::ServerClock(ServerClockConfig cfg, Calibrator& cal, ClockSource& src, LogFn log,
                         KernelStatusFn kernel)
    : cfg_(cfg), cal_(cal), src_(src), log_(std::move(log)), kernel_(kernel) {
  publish(ServerStateWord{Leap::kUnsynchronized, cfg_.stratum, cfg_.precision, cfg_.refid});
}

Leap ServerClock::announced_leap() const noexcept {
  switch (cfg_.leap) {
    case LeapMode::kNone: return Leap::kNone;
    case LeapMode::kInsert: return Leap::kInsert;
    case LeapMode::kDelete: return Leap::kDelete;
    case LeapMode::kKernel: break;
  }
  const int st = kernel_ ? kernel_() : -1;
  if (st < 0) return Leap::kNone;
  if (st & STA_INS) return Leap::kInsert;
  if (st & STA_DEL) return Leap::kDelete;
  return Leap::kNone;
}

void ServerClock::set_health(bool ok, std::string why) {
  if (ok != healthy_ || first_ || (!ok && why != reason_)) {
    if (log_) log_(ok ? "clock " + src_.name() + " healthy: serving time"
                      : "clock unhealthy, answering with leap=3: " + why);
  }
  first_ = false;
  healthy_ = ok;
  reason_ = std::move(why);
}

void ServerClock::poll() noexcept {
  const Calibrator::Result r = cal_.refresh();
  if (!r.reading.ok) {
    set_health(false, src_.name() + " unreadable: " + src_.last_error());
  } else if (!r.ok) {
    set_health(false, "TSC fit of " + src_.name() + " not established yet");
  } else if (cfg_.max_offset_ns > 0 &&
             std::llabs(r.reading.utc_ns - r.reading.sys_ns) > cfg_.max_offset_ns) {
    set_health(false, "offset of " + src_.name() + " to the system clock is " +
                          std::to_string(r.reading.utc_ns - r.reading.sys_ns) + " ns, beyond " +
                          std::to_string(cfg_.max_offset_ns) + " ns");
  } else {
    if (r.stepped && log_)
      log_(src_.name() + " stepped by " + std::to_string(r.residual_ns) + " ns; TSC fit restarted");
    set_health(true, "");
  }
  const Leap leap = healthy_ ? announced_leap() : Leap::kUnsynchronized;
  publish(ServerStateWord{leap, cfg_.stratum, cfg_.precision, cfg_.refid});
}

void ServerClock::publish(const ServerStateWord& s) noexcept {
  const std::uint64_t w = static_cast<std::uint64_t>(s.leap) |
                          static_cast<std::uint64_t>(s.stratum) << 8 |
                          static_cast<std::uint64_t>(static_cast<std::uint8_t>(s.precision)) << 16 |
                          static_cast<std::uint64_t>(s.refid) << 32;
  word_.store(w, std::memory_order_release);
}

ServerStateWord ServerClock::state() const noexcept {
  const std::uint64_t w = word_.load(std::memory_order_acquire);
  ServerStateWord s;
  s.leap = static_cast<Leap>(w & 3);
  s.stratum = static_cast<std::uint8_t>(w >> 8);
  s.precision = static_cast<std::int8_t>(static_cast<std::uint8_t>(w >> 16));
  s.refid = static_cast<std::uint32_t>(w >> 32);
  return s;
}

}  // namespace ntsd::clock
