// Fast per-packet time: the tick counter (TSC) mapped to UTC by a linear fit.
//
// A non-worker thread (the Calibrator) samples a ClockSource against the tick
// counter, fits ns = base_ns + (ticks - base_tick) * rate by least squares over
// a sliding window, and publishes the fit through a seqlock. Workers only read:
// one rdtsc, a seqlock read of seven words, one 128-bit multiply, and one
// compare for the leap boundary. No syscall, no lock, no shared write per
// packet.
//
// The fit runs on a continuous timescale: TAI when a leap-second table is
// given (a UTC source's readings are converted, leap_table.hpp), else the
// source's own. It carries the next leap boundary (LeapStep), so that UTC
// repeats 23:59:59 at exactly the right TSC tick rather than at the next
// refresh.
//
// Error bound (proved by tests/ptp_clock against SimPhc): with source read
// jitter J, a constant TSC/source frequency ratio and refreshes every P, the
// mapping error stays within J + 100 ns between refreshes (the fit averages
// the jitter over the window; the slope error extrapolated over P is far below
// 1 ns for P <= 1 s). A step in the source larger than step_threshold_ns is
// detected at the next refresh (once the window holds three samples, so that
// the rate is trustworthy): the window restarts at the new time, keeping
// the old rate, so the error is back within the bound after one refresh.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "ntsd/clock/leap_table.hpp"
#include "ntsd/clock/source.hpp"
#include "ntsd/clock/system_clock.hpp"

namespace ntsd::clock {

struct TscFit {
  std::uint64_t base_tick = 0;
  UnixNs base_ns = 0;
  std::uint64_t mult = 0;  // ns per tick, fixed point with kShift fraction bits
  LeapStep leap;           // continuous -> UTC (identity without a table)
  static constexpr int kShift = 32;

  // The continuous (fitted) timescale.
  UnixNs apply(std::uint64_t t) const noexcept {
    const auto dt = static_cast<std::int64_t>(t - base_tick);  // signed: t may precede base
    return base_ns + static_cast<std::int64_t>((static_cast<__int128>(dt) * mult) >> kShift);
  }
  UnixNs utc(std::uint64_t t) const noexcept { return leap.to_utc(apply(t)); }
};

// Seqlock-published TscFit: one writer, any number of readers.
class TscMap {
 public:
  void publish(const TscFit& f) noexcept;
  // Copies the current fit; retries while a publish is in progress. Inline:
  // every answer's T3 reads it (TscTxClock).
  TscFit load() const noexcept {
    TscFit f;
    for (;;) {
      const std::uint64_t s1 = seq_.load(std::memory_order_acquire);
      f.base_tick = base_tick_.load(std::memory_order_relaxed);
      f.base_ns = base_ns_.load(std::memory_order_relaxed);
      f.mult = mult_.load(std::memory_order_relaxed);
      f.leap.at_tai = leap_at_.load(std::memory_order_relaxed);
      f.leap.before_ns = leap_before_.load(std::memory_order_relaxed);
      f.leap.after_ns = leap_after_.load(std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_acquire);
      const std::uint64_t s2 = seq_.load(std::memory_order_relaxed);
      if (s1 == s2 && (s1 & 1) == 0) return f;
    }
  }
  bool valid() const noexcept { return seq_.load(std::memory_order_acquire) >= 2; }
  // Ticks to UTC (what goes on the wire).
  UnixNs map(std::uint64_t ticks) const noexcept { return load().utc(ticks); }
  // Ticks to the fitted, continuous timescale.
  UnixNs map_continuous(std::uint64_t ticks) const noexcept { return load().apply(ticks); }
  UnixNs now() const noexcept { return map(read_ticks()); }

 private:
  alignas(64) std::atomic<std::uint64_t> seq_{0};
  // Fields are atomics (relaxed) so that a torn read is not a data race; the
  // sequence number tells the reader to retry.
  std::atomic<std::uint64_t> base_tick_{0};
  std::atomic<std::int64_t> base_ns_{0};
  std::atomic<std::uint64_t> mult_{0};
  std::atomic<std::int64_t> leap_at_{0};
  std::atomic<std::int64_t> leap_before_{0};
  std::atomic<std::int64_t> leap_after_{0};
};

struct CalibratorConfig {
  std::size_t window = 16;                  // samples in the least-squares fit
  std::int64_t step_threshold_ns = 20'000;  // a residual above this is a step
};

class Calibrator {
 public:
  static constexpr std::size_t kMaxWindow = 64;

  struct Result {
    bool ok = false;       // the source was read and a fit is published
    bool stepped = false;  // the sample jumped by more than the threshold
    std::int64_t residual_ns = 0;  // new sample minus the previous fit's prediction
    Reading reading;               // the raw source reading (for the health check)
    UnixNs continuous_ns = 0;      // the reading on the fitted timescale
    UnixNs utc_ns = 0;             // the reading on UTC
  };

  // `leaps` (may be null: no conversion, the fit runs on the source's own
  // timescale) is read at every refresh, so a reloaded table takes effect at
  // the next one.
  Calibrator(ClockSource& src, TickSource& ticks, TscMap& out, CalibratorConfig cfg = {},
             const LeapTableRef* leaps = nullptr) noexcept;
  // Takes one sample, refits and publishes. Called periodically by the
  // control thread. The first fit needs two samples.
  Result refresh() noexcept;

 private:
  struct Sample {
    std::uint64_t tick;
    UnixNs ns;
  };
  void fit_and_publish() noexcept;

  ClockSource& src_;
  TickSource& ticks_;
  TscMap& out_;
  CalibratorConfig cfg_;
  std::array<Sample, kMaxWindow> ring_{};
  std::size_t head_ = 0;  // next write index
  std::size_t count_ = 0;
  double rate_ = 0;  // ns per tick; 0 until known
  bool have_fit_ = false;
  TscFit fit_{};
  const LeapTableRef* leaps_;
  std::shared_ptr<const LeapTable> table_;  // the one this refresh uses
};

}  // namespace ntsd::clock
