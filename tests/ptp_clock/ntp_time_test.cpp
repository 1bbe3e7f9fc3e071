#include <gtest/gtest.h>

#include "ntsd/clock/ntp_time.hpp"

using namespace ntsd::clock;

TEST(NtpTime, UnixEpochIsNtpDelta) {
  EXPECT_EQ(to_ntp64(0), static_cast<std::uint64_t>(kNtpUnixDelta) << 32);
}

TEST(NtpTime, HalfSecondIsHalfFraction) {
  EXPECT_EQ(to_ntp64(kNsPerSec / 2) & 0xffffffffu, 0x80000000u);
}

TEST(NtpTime, RoundTripWithinOneNanosecond) {
  const UnixNs pivot = 1'790'000'000LL * kNsPerSec;
  for (UnixNs ns : {pivot, pivot + 1, pivot + 999'999'999, pivot - 123'456'789}) {
    EXPECT_LE(std::llabs(from_ntp64(to_ntp64(ns), pivot) - ns), 1) << ns;
  }
}

TEST(NtpTime, Era1AfterFeb2036) {
  // 2036-02-07T06:28:16Z is NTP era 1, seconds 0 (RFC 5905 §6).
  const UnixNs rollover = (4'294'967'296LL - kNtpUnixDelta) * kNsPerSec;
  EXPECT_EQ(to_ntp64(rollover + 5 * kNsPerSec) >> 32, 5u);
  EXPECT_EQ(from_ntp64(to_ntp64(rollover + 5 * kNsPerSec), rollover), rollover + 5 * kNsPerSec);
}
