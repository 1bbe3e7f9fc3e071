#include "ntsd/clock/ntp_time.hpp"

namespace ntsd::clock {

UnixNs from_ntp64(std::uint64_t ntp, UnixNs pivot) noexcept {
  const auto sec32 = static_cast<std::uint32_t>(ntp >> 32);
  const std::uint64_t frac = ntp & 0xffffffffu;
  const std::int64_t frac_ns = static_cast<std::int64_t>((frac * kNsPerSec + (1ull << 31)) >> 32);
  // RFC 5905 §6: pick the era that puts the result nearest the pivot.
  const std::int64_t pivot_ntp_sec = pivot / kNsPerSec + kNtpUnixDelta;
  const auto diff = static_cast<std::int32_t>(sec32 - static_cast<std::uint32_t>(pivot_ntp_sec));
  const std::int64_t full = pivot_ntp_sec + diff;
  return (full - kNtpUnixDelta) * kNsPerSec + frac_ns;
}

}  // namespace ntsd::clock
