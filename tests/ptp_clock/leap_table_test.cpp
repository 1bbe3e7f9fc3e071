// The leap-second table: the real tzdata file (tests/vectors/leap), its
// SHA-1 check, expiry, TAI <-> UTC across inserted and deleted seconds, and
// the leap indicator's window (the last day before a leap, as chrony's
// leapseclist).
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "leap_util.hpp"
#include "ntsd/clock/leap_table.hpp"

using namespace ntsd::clock;

namespace {

constexpr std::int64_t S = kNsPerSec;
// 2017-01-01T00:00:00Z, the last leap (TAI - UTC 36 -> 37).
constexpr std::int64_t k2017 = 1483228800;

std::string vectors() {
  const char* v = std::getenv("NTSD_VECTORS");
  return v ? v : "tests/vectors";
}

LeapTable parse_ok(const std::string& text) {
  std::string err;
  auto t = LeapTable::parse(text, err);
  EXPECT_TRUE(t) << err;
  return t ? *t : LeapTable{};
}

}  // namespace

TEST(LeapTable, RealTzdataFileParsesWithItsHash) {
  std::string err;
  auto t = LeapTable::load(vectors() + "/leap/leap-seconds.list", err);
  ASSERT_TRUE(t) << err;
  EXPECT_TRUE(t->hash_checked());
  EXPECT_EQ(t->entries().size(), 28u);
  EXPECT_EQ(t->entries().front().offset_s, 10);
  EXPECT_EQ(t->entries().back().offset_s, 37);
  EXPECT_EQ(t->entries().back().utc, k2017 * S);
  // "#@ 3991593600": 2026-06-28.
  EXPECT_EQ(t->expires(), (3991593600LL - kNtpUnixDelta) * S);
  EXPECT_FALSE(t->expired(t->expires() - 1));
  EXPECT_TRUE(t->expired(t->expires()));
  // TAI - UTC at known instants.
  EXPECT_EQ(t->offset_at_utc((k2017 - 1) * S), 36);
  EXPECT_EQ(t->offset_at_utc(k2017 * S), 37);
  EXPECT_EQ(t->offset_at_utc(1'700'000'000 * S), 37);
  EXPECT_EQ(t->offset_at_tai((1'700'000'000 + 37) * S), 37);
  EXPECT_EQ(t->next_leap((1'700'000'000 + 37) * S), nullptr);
  EXPECT_EQ(t->leap_indicator((1'700'000'000 + 37) * S), 0);
}

TEST(LeapTable, DamagedFileIsRejected) {
  const std::string good = leaptest::leap_file({{k2017 - 86400 * 365, 36}, {k2017, 37}}, k2017, k2017 + 86400 * 200);
  parse_ok(good);
  std::string bad = good;
  const std::size_t at = bad.find("#@\t") + 3;
  bad[at + 9] = bad[at + 9] == '9' ? '8' : static_cast<char>(bad[at + 9] + 1);  // a later expiry, hash unchanged
  std::string err;
  EXPECT_FALSE(LeapTable::parse(bad, err));
  EXPECT_NE(err.find("hash"), std::string::npos) << err;
  EXPECT_FALSE(LeapTable::parse("3692217600 37 extra\n", err));
  EXPECT_NE(err.find("line 1"), std::string::npos) << err;
  EXPECT_FALSE(LeapTable::parse("3692217600 37\n3692217500 38\n", err));
  EXPECT_NE(err.find("increase"), std::string::npos) << err;
  EXPECT_FALSE(LeapTable::parse("3692217600 37\n3792217600 39\n", err));
  EXPECT_NE(err.find("one second"), std::string::npos) << err;
  EXPECT_FALSE(LeapTable::parse("# only comments\n", err));
  EXPECT_FALSE(LeapTable::parse("#@ abc\n3692217600 37\n", err));
}

TEST(LeapTable, InsertedSecondRepeats235959OnUtcAndIsExactOnTai) {
  const std::int64_t leap = 1'800'000'000;  // any instant will do for the arithmetic
  const LeapTable t = parse_ok(leaptest::leap_file({{k2017, 37}, {leap, 38}}, k2017, leap + 86400 * 100));
  const UnixNs boundary = (leap + 37) * S;  // TAI at the start of 23:59:60
  ASSERT_NE(t.next_leap(boundary - 1), nullptr);
  EXPECT_EQ(t.next_leap(boundary - 1)->boundary_tai, boundary);
  EXPECT_EQ(t.next_leap(boundary), nullptr);
  // TAI -> UTC: 23:59:59 twice, then midnight.
  EXPECT_EQ(t.tai_to_utc(boundary - S), (leap - 1) * S);
  EXPECT_EQ(t.tai_to_utc(boundary - 1), leap * S - 1);
  EXPECT_EQ(t.tai_to_utc(boundary), (leap - 1) * S);  // the inserted second
  EXPECT_EQ(t.tai_to_utc(boundary + S / 2), (leap - 1) * S + S / 2);
  EXPECT_EQ(t.tai_to_utc(boundary + S), leap * S);
  // The per-packet form agrees everywhere around the boundary.
  const LeapStep step = t.step_after(boundary - 10 * S);
  EXPECT_EQ(step.at_tai, boundary);
  for (std::int64_t d = -3 * S; d <= 3 * S; d += S / 4) EXPECT_EQ(step.to_utc(boundary + d), t.tai_to_utc(boundary + d)) << d;
  // UTC -> TAI: the repeated second is resolved by the hint.
  const UnixNs u = (leap - 1) * S + S / 2;
  EXPECT_EQ(t.utc_to_tai(u), boundary - S / 2);  // no hint: the first occurrence
  const UnixNs early = boundary - S / 2, late = boundary + S / 2;
  EXPECT_EQ(t.utc_to_tai(u, &early), boundary - S / 2);
  EXPECT_EQ(t.utc_to_tai(u, &late), boundary + S / 2);
  EXPECT_EQ(t.utc_to_tai(leap * S), (leap + 38) * S);
}

TEST(LeapTable, DeletedSecondIsSkipped) {
  const std::int64_t leap = 1'800'000'000;
  const LeapTable t = parse_ok(leaptest::leap_file({{k2017, 37}, {leap, 36}}, k2017, leap + 86400 * 100));
  const UnixNs boundary = (leap + 36) * S;
  EXPECT_EQ(t.tai_to_utc(boundary - 1), leap * S - S - 1);  // 23:59:58.999...
  EXPECT_EQ(t.tai_to_utc(boundary), leap * S);              // then midnight
  EXPECT_EQ(t.leap_indicator(boundary - S), 2);
  EXPECT_EQ(t.leap_indicator(boundary), 0);
  EXPECT_EQ(t.utc_to_tai(leap * S), boundary);
}

TEST(LeapTable, LeapIndicatorCoversTheLastDayAndTheLeapItself) {
  const std::int64_t leap = 1'800'000'000;
  const LeapTable t = parse_ok(leaptest::leap_file({{k2017, 37}, {leap, 38}}, k2017, leap + 86400 * 100));
  const UnixNs boundary = (leap + 37) * S;
  EXPECT_EQ(t.leap_indicator(boundary - 86400 * S - 1), 0);
  EXPECT_EQ(t.leap_indicator(boundary - 86400 * S), 1);
  EXPECT_EQ(t.leap_indicator(boundary - 1), 1);
  EXPECT_EQ(t.leap_indicator(boundary + S - 1), 1);  // during 23:59:60
  EXPECT_EQ(t.leap_indicator(boundary + S), 0);
}

TEST(LeapTable, FixedOffsetHasNoLeaps) {
  const LeapTable t = LeapTable::fixed(37);
  EXPECT_EQ(t.offset_at_utc(1'800'000'000 * S), 37);
  EXPECT_EQ(t.tai_to_utc(1'800'000'037 * S), 1'800'000'000 * S);
  EXPECT_EQ(t.step_after(0).at_tai, LeapStep{}.at_tai);
  EXPECT_EQ(t.leap_indicator(1'800'000'000 * S), 0);
  EXPECT_EQ(t.expires(), 0);
  EXPECT_FALSE(t.expired(1'800'000'000 * S));
}
