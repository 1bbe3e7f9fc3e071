#include "ntsd/clock/tsc_map.hpp"

#include <algorithm>
#include <cmath>

namespace ntsd::clock {

void TscMap::publish(const TscFit& f) noexcept {
  const std::uint64_t s = seq_.load(std::memory_order_relaxed);
  seq_.store(s + 1, std::memory_order_relaxed);  // odd: write in progress
  std::atomic_thread_fence(std::memory_order_release);
  base_tick_.store(f.base_tick, std::memory_order_relaxed);
  base_ns_.store(f.base_ns, std::memory_order_relaxed);
  mult_.store(f.mult, std::memory_order_relaxed);
  leap_at_.store(f.leap.at_tai, std::memory_order_relaxed);
  leap_before_.store(f.leap.before_ns, std::memory_order_relaxed);
  leap_after_.store(f.leap.after_ns, std::memory_order_relaxed);
  seq_.store(s + 2, std::memory_order_release);
}

Calibrator::Calibrator(ClockSource& src, TickSource& ticks, TscMap& out, CalibratorConfig cfg,
                       const LeapTableRef* leaps) noexcept
    : src_(src), ticks_(ticks), out_(out), cfg_(cfg), leaps_(leaps) {
  cfg_.window = std::clamp<std::size_t>(cfg_.window, 2, kMaxWindow);
}

Calibrator::Result Calibrator::refresh() noexcept {
  Result res;
  // Bracket the source read with two tick reads and pair it with the
  // midpoint. Keep the narrowest of a few brackets: on a VM a read is now and
  // then preempted for microseconds, which would land in the fit as jitter.
  Reading r;
  std::uint64_t best_mid = 0, best_width = ~0ull;
  for (int i = 0; i < 5; ++i) {
    const std::uint64_t t0 = ticks_.ticks();
    const Reading ri = src_.read();
    const std::uint64_t t1 = ticks_.ticks();
    if (!ri.ok) {
      r = ri;
      break;
    }
    if (t1 - t0 < best_width) {
      best_width = t1 - t0;
      best_mid = t0 + (t1 - t0) / 2;
      r = ri;
    }
  }
  res.reading = r;
  if (!r.ok) return res;
  table_ = leaps_ ? leaps_->get() : nullptr;
  // Onto the continuous timescale: a UTC reading inside a repeated leap
  // second is told apart by the current fit's prediction.
  UnixNs cont = r.src_ns;
  if (table_ && src_.timescale() == Timescale::kUtc) {
    const UnixNs hint = have_fit_ ? fit_.apply(best_mid) : 0;
    cont = table_->utc_to_tai(r.src_ns, have_fit_ ? &hint : nullptr);
  }
  res.continuous_ns = cont;
  res.utc_ns = table_ ? table_->tai_to_utc(cont) : cont;
  const Sample s{best_mid, cont};

  if (have_fit_) {
    res.residual_ns = s.ns - fit_.apply(s.tick);
    // Judge steps only against a fit with a rate from at least two intervals
    // of this window: right after start or a step the rate may be off by
    // tens of ppm, and calling every sample a step would never refine it.
    if (count_ >= 3 && std::llabs(res.residual_ns) > cfg_.step_threshold_ns) {
      // The source stepped (or the TSC did): older samples describe another
      // timeline. Restart the window, keep the rate.
      res.stepped = true;
      count_ = 0;
    }
  }
  ring_[head_] = s;
  head_ = (head_ + 1) % cfg_.window;
  count_ = std::min(count_ + 1, cfg_.window);
  fit_and_publish();
  res.ok = have_fit_;
  return res;
}

void Calibrator::fit_and_publish() noexcept {
  const Sample& newest = ring_[(head_ + cfg_.window - 1) % cfg_.window];
  if (count_ >= 2) {
    // Least squares on values relative to the newest sample, in double: the
    // deltas (< 2^40 ticks, < 2^40 ns) keep full sub-ns precision.
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (std::size_t i = 0; i < count_; ++i) {
      const Sample& p = ring_[(head_ + cfg_.window - 1 - i) % cfg_.window];
      const double x = static_cast<double>(static_cast<std::int64_t>(p.tick - newest.tick));
      const double y = static_cast<double>(p.ns - newest.ns);
      sx += x;
      sy += y;
      sxx += x * x;
      sxy += x * y;
    }
    const double n = static_cast<double>(count_);
    const double den = n * sxx - sx * sx;
    if (den > 0) {
      rate_ = (n * sxy - sx * sy) / den;
      const double intercept = (sy - rate_ * sx) / n;  // fitted y at the newest tick
      fit_.base_tick = newest.tick;
      fit_.base_ns = newest.ns + static_cast<std::int64_t>(std::llround(intercept));
    }
  } else {
    fit_.base_tick = newest.tick;
    fit_.base_ns = newest.ns;
  }
  if (rate_ <= 0) return;  // one sample and no rate yet: nothing to publish
  fit_.leap = table_ ? table_->step_after(newest.ns) : LeapStep{};
  fit_.mult = static_cast<std::uint64_t>(std::llround(rate_ * static_cast<double>(1ull << TscFit::kShift)));
  have_fit_ = true;
  out_.publish(fit_);
}

}  // namespace ntsd::clock
