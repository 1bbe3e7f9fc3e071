#include <gtest/gtest.h>

#include <sys/timex.h>

#include <vector>

#include "ntsd/clock/server_clock.hpp"
#include "ntsd/clock/sim_phc.hpp"

using namespace ntsd::clock;

namespace {

int g_kernel_status = 0;
int fake_kernel() { return g_kernel_status; }

struct Rig {
  SimPhc sim{1'790'000'000LL * kNsPerSec, 2.9e9, 7};
  TscMap map;
  Calibrator cal{sim, sim, map};
  std::vector<std::string> logs;
  ServerClock clock;
  explicit Rig(ServerClockConfig cfg)
      : clock(cfg, cal, sim, [this](const std::string& m) { logs.push_back(m); }, fake_kernel) {
    g_kernel_status = 0;
  }
  void poll_n(int n) {
    for (int i = 0; i < n; ++i) {
      sim.advance(100'000'000);
      clock.poll();
    }
  }
};

ServerClockConfig cfg(LeapMode leap, std::int64_t max_off = 1'000'000) {
  ServerClockConfig c;
  c.stratum = 1;
  c.refid = 0x47505300;  // "GPS"
  c.precision = -23;
  c.leap = leap;
  c.max_offset_ns = max_off;
  return c;
}

}  // namespace

TEST(ServerClock, UnsynchronisedUntilFitExists) {
  Rig r(cfg(LeapMode::kNone));
  EXPECT_EQ(r.clock.state().leap, Leap::kUnsynchronized);
  r.clock.poll();  // one sample: no fit yet
  EXPECT_EQ(r.clock.state().leap, Leap::kUnsynchronized);
  r.poll_n(1);
  const auto s = r.clock.state();
  EXPECT_EQ(s.leap, Leap::kNone);
  EXPECT_EQ(s.stratum, 1);
  EXPECT_EQ(s.precision, -23);
  EXPECT_EQ(s.refid, 0x47505300u);
}

TEST(ServerClock, UnreadableSourceGivesLeap3AndLogsWhy) {
  Rig r(cfg(LeapMode::kNone));
  r.poll_n(3);
  ASSERT_TRUE(r.clock.healthy());
  r.sim.set_readable(false);
  r.poll_n(1);
  EXPECT_EQ(r.clock.state().leap, Leap::kUnsynchronized);
  ASSERT_FALSE(r.logs.empty());
  EXPECT_NE(r.logs.back().find("unreadable"), std::string::npos) << r.logs.back();
  EXPECT_NE(r.logs.back().find("leap=3"), std::string::npos);
  r.sim.set_readable(true);
  r.poll_n(1);
  EXPECT_EQ(r.clock.state().leap, Leap::kNone);
  EXPECT_NE(r.logs.back().find("healthy"), std::string::npos);
}

TEST(ServerClock, OffsetBeyondBoundIsUnhealthy) {
  Rig r(cfg(LeapMode::kNone, 1'000'000));
  r.poll_n(3);
  r.sim.set_sys_offset_ns(2'000'000);
  r.poll_n(1);
  EXPECT_EQ(r.clock.state().leap, Leap::kUnsynchronized);
  EXPECT_NE(r.clock.reason().find("beyond"), std::string::npos) << r.clock.reason();
  r.sim.set_sys_offset_ns(-999'999);
  r.poll_n(1);
  EXPECT_EQ(r.clock.state().leap, Leap::kNone);
}

TEST(ServerClock, LeapFromConfig) {
  Rig ins(cfg(LeapMode::kInsert));
  ins.poll_n(2);
  EXPECT_EQ(ins.clock.state().leap, Leap::kInsert);
  Rig del(cfg(LeapMode::kDelete));
  del.poll_n(2);
  EXPECT_EQ(del.clock.state().leap, Leap::kDelete);
}

TEST(ServerClock, LeapFromKernel) {
  Rig r(cfg(LeapMode::kKernel));
  r.poll_n(2);
  EXPECT_EQ(r.clock.state().leap, Leap::kNone);
  g_kernel_status = STA_INS | STA_PLL;
  r.poll_n(1);
  EXPECT_EQ(r.clock.state().leap, Leap::kInsert);
  g_kernel_status = STA_DEL;
  r.poll_n(1);
  EXPECT_EQ(r.clock.state().leap, Leap::kDelete);
  g_kernel_status = -1;  // adjtimex failed: announce nothing
  r.poll_n(1);
  EXPECT_EQ(r.clock.state().leap, Leap::kNone);
}

TEST(ServerClock, StepIsLogged) {
  Rig r(cfg(LeapMode::kNone, 0));
  r.poll_n(3);
  r.sim.step(5'000'000);
  r.poll_n(1);
  EXPECT_TRUE(r.clock.healthy());
  EXPECT_NE(r.logs.back().find("stepped"), std::string::npos) << r.logs.back();
}

TEST(ServerClock, RealKernelStatusReadable) {
  EXPECT_GE(kernel_time_status(), 0);
}
