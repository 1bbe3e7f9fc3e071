// TickClock: a free-running counter (the NIC clock behind clock = "dpdk")
// mapped to UTC by the TSC's offset + drift fit, against a simulated counter
// and reference (SimPhc: the counter runs at its nominal rate, the reference
// with drift, read jitter and steps).
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "ntsd/clock/sim_phc.hpp"
#include "ntsd/clock/tick_clock.hpp"

using namespace ntsd::clock;

namespace {

constexpr UnixNs kStart = 1'790'000'000LL * kNsPerSec;
constexpr std::int64_t kJitter = 100;
constexpr std::int64_t kBound = kJitter + 100;  // tsc_map.hpp's bound
constexpr std::int64_t kMs = 1'000'000;

struct Fixture {
  SimPhc sim{kStart, 1e9, 7};  // a 1 GHz NIC counter
  TickClock clk{"nic sim", sim, sim, 100 * kMs};
  explicit Fixture(double drift_ppm) {
    sim.set_drift_ppm(drift_ppm);
    sim.set_jitter_ns(kJitter);
  }
  std::int64_t error(const Reading& r) const { return r.src_ns - sim.phc_now(); }
};

}  // namespace

TEST(TickClock, NeedsTwoSamplesThenTracksTheReferenceWithinTheBound) {
  Fixture f(50);  // the reference runs 50 ppm fast of the counter's nominal rate
  Reading r = f.clk.read();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(f.clk.last_error().find("not calibrated"), std::string::npos) << f.clk.last_error();
  EXPECT_FALSE(f.clk.map().valid());
  std::int64_t worst = 0;
  for (int i = 0; i < 100; ++i) {
    f.sim.advance(100 * kMs);
    r = f.clk.read();
    ASSERT_TRUE(r.ok) << i << ": " << f.clk.last_error();
    if (i >= 16) worst = std::max<std::int64_t>(worst, std::llabs(f.error(r)));
    EXPECT_GE(r.window_ns, 0);
  }
  EXPECT_LE(worst, kBound);
  // Between refreshes the fit extrapolates: 10 reads 9 ms apart.
  for (int i = 0; i < 10; ++i) {
    f.sim.advance(9 * kMs);
    r = f.clk.read();
    ASSERT_TRUE(r.ok);
    EXPECT_LE(std::llabs(f.error(r)), kBound) << i;
  }
}

TEST(TickClock, MapConvertsCounterValuesSuchAsHardwareRxTimestamps) {
  Fixture f(-20);
  for (int i = 0; i < 30; ++i) {
    f.sim.advance(100 * kMs);
    f.clk.read();
  }
  ASSERT_TRUE(f.clk.map().valid());
  // A packet stamped now by the NIC, converted later.
  const std::uint64_t stamp = f.sim.ticks();
  const UnixNs truth = f.sim.phc_now();
  f.sim.advance(30 * kMs);
  EXPECT_LE(std::llabs(f.clk.map().map(stamp) - truth), kBound);
}

TEST(TickClock, ReferenceStepIsFollowedAtTheNextRefresh) {
  Fixture f(10);
  for (int i = 0; i < 20; ++i) {
    f.sim.advance(100 * kMs);
    const bool ok = f.clk.read().ok;
    ASSERT_TRUE(ok || i == 0) << i;  // the first read has one sample only
  }
  f.sim.step(2 * kMs);  // the system clock was stepped by 2 ms
  f.sim.advance(100 * kMs);
  const Reading r = f.clk.read();  // refresh due: samples the stepped reference
  ASSERT_TRUE(r.ok);
  EXPECT_LE(std::llabs(f.error(r)), kBound);
  for (int i = 0; i < 5; ++i) {
    f.sim.advance(50 * kMs);
    EXPECT_LE(std::llabs(f.error(f.clk.read())), kBound) << i;
  }
}

TEST(TickClock, UnreadableReferenceFailsNamingIt) {
  Fixture f(0);
  f.sim.advance(kMs);
  f.clk.read();
  f.sim.set_readable(false);
  f.sim.advance(200 * kMs);
  EXPECT_FALSE(f.clk.read().ok);
  EXPECT_NE(f.clk.last_error().find("reference phc sim unreadable"), std::string::npos) << f.clk.last_error();
  f.sim.set_readable(true);
  f.sim.advance(100 * kMs);
  EXPECT_TRUE(f.clk.read().ok) << f.clk.last_error();
}

TEST(TickClock, StoppedCounterIsNoClock) {
  Fixture f(0);
  for (int i = 0; i < 3; ++i) {
    f.sim.advance(100 * kMs);
    f.clk.read();
  }
  EXPECT_TRUE(f.clk.read().ok);  // the same count again at once is tolerated (a coarse counter)
  std::this_thread::sleep_for(std::chrono::milliseconds(3));  // the counter does not move
  EXPECT_FALSE(f.clk.read().ok);
  EXPECT_NE(f.clk.last_error().find("not advancing"), std::string::npos) << f.clk.last_error();
  f.sim.advance(kMs);
  EXPECT_TRUE(f.clk.read().ok) << f.clk.last_error();
}
