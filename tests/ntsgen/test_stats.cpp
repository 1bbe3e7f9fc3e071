// Unit tests of ntsgen's histogram, pacer, cookie jar and tracker.
#include <gtest/gtest.h>

#include <random>

#include "histogram.hpp"
#include "pacing.hpp"
#include "runner.hpp"
#include "session.hpp"
#include "tracker.hpp"

namespace ntsgen {
namespace {

TEST(Histogram, SmallValuesAreExact) {
  Histogram h;
  for (std::uint64_t v = 0; v < 64; ++v) h.record(v);
  EXPECT_EQ(h.count(), 64u);
  EXPECT_EQ(h.quantile(0.5), 31u);  // rank 32 of 0..63
  EXPECT_EQ(h.quantile(1.0), 63u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 63u);
}

TEST(Histogram, EdgesTileTheRange) {
  for (std::size_t i = 0; i + 1 < Histogram::kBuckets; ++i) {
    ASSERT_EQ(Histogram::upper_edge(i) + 1, Histogram::lower_edge(i + 1)) << i;
    ASSERT_EQ(Histogram::index_of(Histogram::lower_edge(i)), i);
    ASSERT_EQ(Histogram::index_of(Histogram::upper_edge(i)), i);
  }
  EXPECT_EQ(Histogram::index_of(UINT64_MAX), Histogram::kBuckets - 1);
}

TEST(Histogram, QuantilesWithinBucketError) {
  // Uniform 1..1,000,000 ns: the q-quantile is q * 1e6; buckets bound the
  // error to 1/32 of the value.
  Histogram h;
  for (std::uint64_t v = 1; v <= 1'000'000; ++v) h.record(v);
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const double want = q * 1e6, got = static_cast<double>(h.quantile(q));
    EXPECT_GE(got, want) << q;
    EXPECT_LE(got, want * (1 + 1.0 / 32) + 1) << q;
  }
  EXPECT_EQ(h.quantile(1.0), 1'000'000u);
}

TEST(Histogram, MergeAddsCountsAndExtremes) {
  Histogram a, b;
  a.record(10);
  a.record(1000);
  b.record(5);
  b.record(1'000'000);
  a.merge(b);
  EXPECT_EQ(a.count(), 4u);
  EXPECT_EQ(a.min(), 5u);
  EXPECT_EQ(a.max(), 1'000'000u);
  Histogram empty;
  EXPECT_EQ(empty.quantile(0.99), 0u);
  EXPECT_EQ(empty.min(), 0u);
}

TEST(Pacer, FollowsTheScheduleAndCapsBursts) {
  const std::uint64_t t0 = 1'000'000'000;
  Pacer p(1000, 0, 1'000'000'000, t0);  // 1000/s for 1 s
  EXPECT_EQ(p.due(t0, 32), 0u);
  EXPECT_EQ(p.due(t0 + 10'000'000, 32), 10u);  // 10 ms -> 10 requests
  p.sent(10);
  EXPECT_EQ(p.due(t0 + 10'000'000, 32), 0u);
  EXPECT_EQ(p.due(t0 + 500'000'000, 32), 32u);  // behind: capped at the burst
  EXPECT_FALSE(p.done(t0 + 999'999'999));
  EXPECT_TRUE(p.done(t0 + 1'000'000'000));
  EXPECT_EQ(p.scheduled(t0 + 5'000'000'000), 1000u);  // never beyond the duration
}

TEST(Pacer, CountLimitEndsTheStep) {
  Pacer p(1e6, 100, 0, 0);
  EXPECT_EQ(p.due(1'000'000'000, 1000), 100u);
  p.sent(100);
  EXPECT_TRUE(p.done(1'000'000'000));
  EXPECT_EQ(p.due(2'000'000'000, 1000), 0u);
}

TEST(Pacer, RampMultiplies) {
  EXPECT_DOUBLE_EQ(ramp_rate(1000, 2, 0), 1000);
  EXPECT_DOUBLE_EQ(ramp_rate(1000, 2, 3), 8000);
  EXPECT_NEAR(ramp_rate(10000, 1.5, 2), 22500, 1e-6);
}

TEST(CookieJar, FifoAndReuseWhenDry) {
  CookieJar jar;
  EXPECT_TRUE(jar.take().empty());  // never filled: nothing to send
  const std::uint8_t a[4] = {1, 1, 1, 1}, b[4] = {2, 2, 2, 2};
  EXPECT_TRUE(jar.put(a));
  EXPECT_TRUE(jar.put(b));
  EXPECT_EQ(jar.take()[0], 1);
  EXPECT_EQ(jar.take()[0], 2);
  EXPECT_EQ(jar.size(), 0u);
  EXPECT_EQ(jar.take()[0], 2);  // dry: the last one again, counted
  EXPECT_EQ(jar.reuses(), 1u);
  for (std::uint8_t i = 0; i < 10; ++i) {
    const std::uint8_t c[4] = {i, 0, 0, 0};
    jar.put(c);
  }
  EXPECT_EQ(jar.size(), CookieJar::kMax);
  EXPECT_EQ(jar.take()[0], 2);  // the two oldest were dropped
}

TEST(Tracker, MatchesStaleDuplicateAndForeign) {
  Tracker tr(64, 0xabcdef);
  Counters c;
  tr.begin_step(0);
  const std::uint64_t t1 = tr.issue(100, 0, c);
  const std::uint64_t t2 = tr.issue(200, 0, c);
  EXPECT_NE(t1, t2);
  Slot* s = nullptr;
  ASSERT_EQ(tr.lookup(t2, s), Tracker::Match::kLive);
  EXPECT_EQ(s->tx_ns, 200u);
  tr.finish(*s);
  EXPECT_EQ(tr.lookup(t2, s), Tracker::Match::kDuplicate);
  EXPECT_EQ(tr.lookup(t1 ^ (1ull << 50), s), Tracker::Match::kForeign);  // other run tag
  EXPECT_EQ(tr.lookup(t1 + 1000, s), Tracker::Match::kForeign);          // never issued
  EXPECT_EQ(tr.live(), 1u);
  EXPECT_EQ(tr.expire_all(), 1u);
  tr.begin_step(1);
  EXPECT_EQ(tr.lookup(t1, s), Tracker::Match::kStale);
}

TEST(Tracker, WrapCountsOverwrittenAsLost) {
  Tracker tr(64, 1);
  Counters c;
  tr.begin_step(0);
  for (int i = 0; i < 64 + 10; ++i) tr.issue(0, 0, c);
  EXPECT_EQ(c.lost, 10u);
  EXPECT_EQ(tr.live(), 64u);
}

TEST(Threshold, RefusedRequestsCountAgainstTheStep) {
  StepResult s;
  s.c.sent = 1000;
  s.c.valid = 999;
  EXPECT_TRUE(within_threshold(s, 0.1));
  // A back-pressuring port refused as many again: half went unanswered.
  s.c.send_errors = 1000;
  EXPECT_FALSE(within_threshold(s, 0.1));
  EXPECT_TRUE(within_threshold(s, 50.1));
  s = StepResult{};
  EXPECT_FALSE(within_threshold(s, 100));  // nothing tried: no knee
  s.c.sent = 10;
  s.c.valid = 11;  // more valid than sent cannot happen: reject
  EXPECT_FALSE(within_threshold(s, 100));
}

}  // namespace
}  // namespace ntsgen
