// The PMD RX timestamp -> T2 conversion of [dataplane] rx_timestamps =
// "unix-us" / "unix-ns" (dpdk/backend.hpp): unit, UNIX -> NTP epoch (RFC 5905
// §6: 2208988800 s apart) and the fraction, checked against independent
// arithmetic and against clock::from_ntp64 (the inverse).
#include <gtest/gtest.h>

#include <ctime>

#include "ntsd/clock/ntp_time.hpp"
#include "ntsd/dpdk/backend.hpp"

using ntsd::config::RxTimestamps;
using ntsd::dpdk::unix_rx_timestamp_to_ntp64;
namespace nclock = ntsd::clock;

namespace {

// 2026-01-02 03:04:05 UTC plus a sub-second part, built from calendar fields
// with timegm so the expected seconds do not come from the code under test.
std::uint64_t unix_seconds_2026() {
  std::tm tm{};
  tm.tm_year = 2026 - 1900;
  tm.tm_mon = 0;
  tm.tm_mday = 2;
  tm.tm_hour = 3;
  tm.tm_min = 4;
  tm.tm_sec = 5;
  return static_cast<std::uint64_t>(timegm(&tm));
}

std::uint32_t ntp_seconds(std::uint64_t ntp) { return static_cast<std::uint32_t>(ntp >> 32); }
std::uint32_t ntp_fraction(std::uint64_t ntp) { return static_cast<std::uint32_t>(ntp); }

}  // namespace

TEST(UnixRxTimestamp, MicrosecondsSinceUnixEpochGiveNtpSecondsAndFraction) {
  const std::uint64_t s = unix_seconds_2026();
  const std::uint64_t us = s * 1'000'000 + 250'000;  // net_pcap: tv_sec * 10^6 + tv_usec
  const std::uint64_t ntp = unix_rx_timestamp_to_ntp64(us, RxTimestamps::kUnixUs);
  EXPECT_EQ(ntp_seconds(ntp), static_cast<std::uint32_t>(s + 2'208'988'800u));
  EXPECT_EQ(ntp_fraction(ntp), 1u << 30);  // 0.25 s = 2^32 / 4
}

TEST(UnixRxTimestamp, NanosecondsSinceUnixEpochGiveNtpSecondsAndFraction) {
  const std::uint64_t s = unix_seconds_2026();
  const std::uint64_t ns = s * 1'000'000'000 + 500'000'000;
  const std::uint64_t ntp = unix_rx_timestamp_to_ntp64(ns, RxTimestamps::kUnixNs);
  EXPECT_EQ(ntp_seconds(ntp), static_cast<std::uint32_t>(s + 2'208'988'800u));
  EXPECT_EQ(ntp_fraction(ntp), 1u << 31);  // 0.5 s
}

TEST(UnixRxTimestamp, OneMicrosecondIsAbout4295FractionUnits) {
  const std::uint64_t base = unix_seconds_2026() * 1'000'000;
  const std::uint64_t a = unix_rx_timestamp_to_ntp64(base, RxTimestamps::kUnixUs);
  const std::uint64_t b = unix_rx_timestamp_to_ntp64(base + 1, RxTimestamps::kUnixUs);
  // 2^32 / 10^6 = 4294.97: a unit error (ms, ns) would be off by 10^3.
  EXPECT_GE(b - a, 4294u);
  EXPECT_LE(b - a, 4296u);
}

TEST(UnixRxTimestamp, RoundTripsThroughFromNtp64AtMicrosecondAndNanosecondUnits) {
  // Now, as the system clock reads it: what net_pcap's kernel stamps carry.
  timespec now{};
  ASSERT_EQ(clock_gettime(CLOCK_REALTIME, &now), 0);
  const nclock::UnixNs ns = nclock::from_timespec(now);
  const auto us = static_cast<std::uint64_t>(ns / 1000);
  const nclock::UnixNs back_us = nclock::from_ntp64(unix_rx_timestamp_to_ntp64(us, RxTimestamps::kUnixUs), ns);
  EXPECT_NEAR(static_cast<double>(back_us), static_cast<double>(us) * 1000.0, 1.0);  // NTP fraction: 0.23 ns
  const nclock::UnixNs back_ns =
      nclock::from_ntp64(unix_rx_timestamp_to_ntp64(static_cast<std::uint64_t>(ns), RxTimestamps::kUnixNs), ns);
  EXPECT_NEAR(static_cast<double>(back_ns), static_cast<double>(ns), 1.0);
}

TEST(UnixRxTimestamp, AgreesWithTheClockLibrarysOwnConversion) {
  const std::uint64_t ns = unix_seconds_2026() * 1'000'000'000 + 123'456'789;
  EXPECT_EQ(unix_rx_timestamp_to_ntp64(ns, RxTimestamps::kUnixNs), nclock::to_ntp64(static_cast<nclock::UnixNs>(ns)));
  EXPECT_EQ(unix_rx_timestamp_to_ntp64(ns / 1000, RxTimestamps::kUnixUs),
            nclock::to_ntp64(static_cast<nclock::UnixNs>(ns / 1000 * 1000)));
}

TEST(UnixRxTimestamp, ModesWithoutUnixStampsGiveZero) {
  EXPECT_EQ(unix_rx_timestamp_to_ntp64(12345, RxTimestamps::kAuto), 0u);
  EXPECT_EQ(unix_rx_timestamp_to_ntp64(12345, RxTimestamps::kSoftware), 0u);
}
