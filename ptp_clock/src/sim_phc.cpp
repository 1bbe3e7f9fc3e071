#include "ntsd/clock/sim_phc.hpp"

namespace ntsd::clock {

SimPhc::SimPhc(UnixNs start_utc, double tick_hz, std::uint64_t seed)
    : phc_(static_cast<double>(start_utc)), tick_hz_(tick_hz), rng_(seed | 1) {}

void SimPhc::advance(std::int64_t dt_ns) noexcept {
  true_ns_ += static_cast<double>(dt_ns);
  phc_ += static_cast<double>(dt_ns) * (1.0 + drift_ppm_ * 1e-6);
}

std::uint64_t SimPhc::ticks() noexcept {
  // An arbitrary non-zero origin, like a real TSC after boot.
  return 1'000'000'000'000ull + static_cast<std::uint64_t>(true_ns_ * tick_hz_ / 1e9);
}

std::int64_t SimPhc::jitter() noexcept {
  if (jitter_ns_ == 0) return 0;
  rng_ ^= rng_ << 13;  // xorshift64: deterministic per seed
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  const auto span = static_cast<std::uint64_t>(2 * jitter_ns_ + 1);
  return static_cast<std::int64_t>(rng_ % span) - jitter_ns_;
}

Reading SimPhc::read() noexcept {
  if (!readable_) {
    error_ = "simulated PHC unreadable";
    return {};
  }
  Reading r;
  r.ok = true;
  r.src_ns = static_cast<UnixNs>(phc_) + jitter();
  r.sys_ns = static_cast<UnixNs>(phc_) + sys_offset_ns_;
  return r;
}

}  // namespace ntsd::clock
