#include "ntsd/clock/tick_clock.hpp"

namespace ntsd::clock {

TickClock::TickClock(std::string name, TickSource& ticks, ClockSource& reference, std::int64_t refresh_ns,
                     CalibratorConfig cfg, const LeapTableRef* leaps) noexcept
    : name_(std::move(name)), ticks_(ticks), ref_(reference), refresh_ns_(refresh_ns),
      cal_(reference, ticks, map_, cfg, leaps) {}

Calibrator::Result TickClock::refresh() noexcept {
  const Calibrator::Result r = cal_.refresh();
  if (!r.reading.ok) {
    error_ = name_ + ": reference " + ref_.name() + " unreadable: " + ref_.last_error();
  } else {
    last_sample_tick_ = ticks_.ticks();
    sampled_ = true;
  }
  return r;
}

Reading TickClock::read() noexcept {
  const std::uint64_t now = ticks_.ticks();
  const UnixNs sys_now = system_now();
  // The same count over more than 1 ms of system time: the counter stopped
  // (a coarse counter may legitimately repeat across reads closer than that).
  if (sampled_ && now == last_read_tick_) {
    if (sys_now - last_read_sys_ > 1'000'000) {
      error_ = name_ + ": the counter is not advancing";
      return {};
    }
  } else {
    last_read_tick_ = now;
    last_read_sys_ = sys_now;
  }
  const bool due = !map_.valid() || !sampled_ ||
                   map_.map_continuous(now) - map_.map_continuous(last_sample_tick_) >= refresh_ns_;
  if (due && !refresh().reading.ok) return {};
  if (!map_.valid()) {
    error_ = name_ + ": not calibrated yet (one more reference sample needed)";
    return {};
  }
  Reading r;
  const UnixNs before = system_now();
  const std::uint64_t t = ticks_.ticks();
  const UnixNs after = system_now();
  r.ok = true;
  // On the reference's timescale: UTC (stepping at a leap like the
  // reference) or the continuous fit (TAI).
  r.src_ns = ref_.timescale() == Timescale::kUtc ? map_.map(t) : map_.map_continuous(t);
  r.sys_ns = before + (after - before) / 2;
  r.window_ns = after - before;
  return r;
}

}  // namespace ntsd::clock
