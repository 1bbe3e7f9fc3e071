// Time representations shared by the clock sources and the dataplane.
//
// Internally everything is nanoseconds since the Unix epoch (UTC, int64: good
// until 2262). On the wire NTP uses a 64-bit timestamp: 32-bit seconds since
// 1900 and a 32-bit binary fraction (RFC 5905 §6). Era rollover (2036) is
// handled by the modular 32-bit seconds field, as RFC 5905 §6 describes.
#pragma once

#include <cstdint>
#include <ctime>

namespace ntsd::clock {

// Seconds between 1900-01-01 (NTP epoch) and 1970-01-01 (Unix epoch).
inline constexpr std::int64_t kNtpUnixDelta = 2'208'988'800;
inline constexpr std::int64_t kNsPerSec = 1'000'000'000;

using UnixNs = std::int64_t;

constexpr UnixNs from_timespec(const timespec& ts) noexcept {
  return static_cast<std::int64_t>(ts.tv_sec) * kNsPerSec + ts.tv_nsec;
}

// NTP 64-bit timestamp (era-relative) of a Unix-ns instant. Inline: the
// workers convert every answer's T3, and the divisions by constants are a
// few multiplies once the call is gone.
constexpr std::uint64_t to_ntp64(UnixNs ns) noexcept {
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
// Inverse, resolving the era to the one closest to `pivot`.
UnixNs from_ntp64(std::uint64_t ntp, UnixNs pivot) noexcept;

}  // namespace ntsd::clock
