#include "ntsd/clock/ntp_time.hpp"

namespace ntsd::clock {

std::uint64_t to_ntp64(UnixNs ns) noexcept {
  // Floor division so that instants before 1970 still map correctly.
  std::int64_t sec = ns / kNsPerSec;
  std::int64_t rem = ns % kNsPerSec;
  if (rem < 0) {
    rem += kNsPerSec;
    --sec;
  }
  const auto ntp_sec = static_cast<std::uint32_t>(static_cast<std::uint64_t>(sec + kNtpUnixDelta));
  // fraction = rem * 2^32 / 1e9, rounded to nearest; rem < 1e9 so no overflow.
  const std::uint64_t frac = ((static_cast<std::uint64_t>(rem) << 32) + kNsPerSec / 2) / kNsPerSec;
  return (static_cast<std::uint64_t>(ntp_sec) << 32) + frac;  // frac may carry into seconds
}

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
