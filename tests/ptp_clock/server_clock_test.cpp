// ServerClock: what every response says about the clock (RFC 5905 §7.3), for
// each way the clock can be wrong: unreadable or stepped source, a source
// off the system clock, a kernel that says unsynchronised (TIME_ERROR,
// STA_UNSYNC, maxerror) with and without local_stratum, the reference lock
// (status file, staleness, holdover, dispersion growth), leap seconds from
// the table and from the kernel, and a TAI source without TAI - UTC.
#include <gtest/gtest.h>

#include <sys/timex.h>

#include <vector>

#include "leap_util.hpp"
#include "ntsd/clock/server_clock.hpp"
#include "ntsd/clock/sim_phc.hpp"

using namespace ntsd::clock;

namespace {

constexpr std::int64_t S = kNsPerSec;
constexpr std::int64_t kMs = 1'000'000;
constexpr UnixNs kStart = 1'790'000'000LL * S;

KernelTime synced(std::int64_t maxerror_us = 2000, int status = STA_PLL) {
  KernelTime k;
  k.ok = true;
  k.state = TIME_OK;
  k.status = status;
  k.maxerror_us = maxerror_us;
  k.esterror_us = maxerror_us / 4;
  return k;
}

struct Rig {
  SimPhc sim{kStart, 2.9e9, 7};
  TscMap map;
  LeapTableRef leaps;
  Calibrator cal;
  std::vector<std::string> logs;
  KernelTime kernel = synced();
  LockReading lock;
  ServerClock clock;

  explicit Rig(ServerClockConfig cfg, bool with_lock = false, Timescale scale = Timescale::kUtc)
      : cal(sim, sim, map, CalibratorConfig{}, &leaps),
        clock(cfg, cal, sim, [this](const std::string& m) { logs.push_back(m); }, [this] { return kernel; },
              &leaps, with_lock ? LockStatusFn([this] { return lock; }) : LockStatusFn()) {
    sim.set_timescale(scale);
  }
  void poll_n(int n, std::int64_t step = 100 * kMs) {
    for (int i = 0; i < n; ++i) {
      sim.advance(step);
      clock.poll();
    }
  }
  // The lock status file as the monitor would write it now (on UTC).
  void locked(bool yes, std::int64_t error_ns = 50, std::int64_t age = 0) {
    lock.state = yes ? LockReading::State::kLocked : LockReading::State::kUnlocked;
    lock.error_ns = error_ns;
    lock.updated = sim.phc_now() - age;
  }
  bool logged(const std::string& what) const {
    for (const auto& l : logs)
      if (l.find(what) != std::string::npos) return true;
    return false;
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

ServerClockConfig system_cfg(std::uint8_t local = 0) {
  ServerClockConfig c = cfg(LeapMode::kNone, 0);
  c.check_kernel_sync = true;
  c.local_stratum = local;
  c.root_dispersion_ns = 10'000;
  c.max_root_dispersion_ns = 100 * kMs;
  return c;
}

double disp_s(const ServerStateWord& w) { return static_cast<double>(w.root_dispersion) / 65536.0; }

}  // namespace

TEST(ServerClock, UnsynchronisedUntilFitExists) {
  Rig r(cfg(LeapMode::kNone));
  EXPECT_EQ(r.clock.state().leap, Leap::kUnsynchronized);
  EXPECT_EQ(r.clock.state().stratum, 16);
  r.clock.poll();  // one sample: no fit yet
  EXPECT_EQ(r.clock.state().leap, Leap::kUnsynchronized);
  EXPECT_EQ(r.clock.state().stratum, 16);
  r.poll_n(1);
  const auto s = r.clock.state();
  EXPECT_EQ(s.leap, Leap::kNone);
  EXPECT_EQ(s.stratum, 1);
  EXPECT_EQ(s.precision, -23);
  EXPECT_EQ(s.refid, 0x47505300u);
  EXPECT_EQ(s.reference_time >> 32, static_cast<std::uint64_t>(to_ntp64(r.sim.phc_now()) >> 32));
}

TEST(ServerClock, UnreadableSourceGivesLeap3AndLogsWhy) {
  Rig r(cfg(LeapMode::kNone));
  r.poll_n(3);
  ASSERT_TRUE(r.clock.healthy());
  r.sim.set_readable(false);
  r.poll_n(1);
  EXPECT_EQ(r.clock.state().leap, Leap::kUnsynchronized);
  EXPECT_EQ(r.clock.state().stratum, 16);
  ASSERT_FALSE(r.logs.empty());
  EXPECT_NE(r.logs.back().find("unreadable"), std::string::npos) << r.logs.back();
  EXPECT_NE(r.logs.back().find("leap=3"), std::string::npos);
  const std::size_t n = r.logs.size();
  r.poll_n(5);
  EXPECT_EQ(r.logs.size(), n) << "the same failure is logged once";
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
  EXPECT_EQ(r.clock.status().source_offset_ns, -2'000'000);
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

TEST(ServerClock, LeapFromKernelFlags) {
  Rig r(cfg(LeapMode::kAuto));
  r.poll_n(2);
  EXPECT_EQ(r.clock.state().leap, Leap::kNone);
  r.kernel = synced(2000, STA_INS | STA_PLL);
  r.poll_n(1);
  EXPECT_EQ(r.clock.state().leap, Leap::kInsert);
  r.kernel = synced(2000, STA_DEL);
  r.poll_n(1);
  EXPECT_EQ(r.clock.state().leap, Leap::kDelete);
}

TEST(ServerClock, StepIsLogged) {
  Rig r(cfg(LeapMode::kNone, 0));
  r.poll_n(3);
  r.sim.step(5'000'000);
  r.poll_n(1);
  EXPECT_TRUE(r.clock.healthy());
  EXPECT_NE(r.logs.back().find("stepped"), std::string::npos) << r.logs.back();
}

TEST(ServerClock, RealKernelStateReadable) {
  const KernelTime k = read_kernel_time();
  ASSERT_TRUE(k.ok) << k.describe();
  EXPECT_GE(k.state, 0);
  EXPECT_GE(k.maxerror_us, 0);
}

// The default clock ("system") on a machine whose kernel says unsynchronised
// -- as these VMs' kernels do -- must answer leap 3 / stratum 16, not LI 0
// stratum 1 with NTS authenticating it.
TEST(ServerClock, UnsynchronisedKernelGivesLeap3Stratum16ThenRecovers) {
  Rig r(system_cfg());
  r.kernel = synced();
  r.poll_n(3);
  ASSERT_TRUE(r.clock.healthy()) << r.clock.reason();
  EXPECT_EQ(r.clock.state().stratum, 1);
  // maxerror feeds root dispersion: base 10 us + 2 ms.
  EXPECT_NEAR(disp_s(r.clock.state()), 0.00201, 0.00002);

  KernelTime unsync = synced(16'000'000, STA_UNSYNC);
  unsync.state = TIME_ERROR;
  r.kernel = unsync;
  r.poll_n(1);
  EXPECT_EQ(r.clock.state().leap, Leap::kUnsynchronized);
  EXPECT_EQ(r.clock.state().stratum, 16);
  EXPECT_TRUE(r.logged("unsynchronised")) << r.logs.back();

  r.kernel = synced();
  r.poll_n(1);
  EXPECT_EQ(r.clock.state().leap, Leap::kNone);
  EXPECT_EQ(r.clock.state().stratum, 1);

  r.kernel = synced(2000, STA_UNSYNC | STA_PLL);  // the bit alone
  r.poll_n(1);
  EXPECT_EQ(r.clock.state().stratum, 16);
  r.kernel = synced(2000);
  r.kernel.state = TIME_ERROR;  // the state alone
  r.poll_n(1);
  EXPECT_EQ(r.clock.state().stratum, 16);
  r.kernel = synced(150'000);  // maxerror 150 ms > max_root_dispersion 100 ms
  r.poll_n(1);
  EXPECT_EQ(r.clock.state().leap, Leap::kUnsynchronized);
  EXPECT_NE(r.clock.reason().find("maxerror"), std::string::npos) << r.clock.reason();
  r.kernel = KernelTime{};  // adjtimex failed
  r.poll_n(1);
  EXPECT_EQ(r.clock.state().leap, Leap::kUnsynchronized);
  EXPECT_NE(r.clock.reason().find("kernel"), std::string::npos) << r.clock.reason();
}

TEST(ServerClock, LocalStratumServesAnUnsynchronisedKernelAsLocalReference) {
  Rig r(system_cfg(10));
  KernelTime unsync = synced(16'000'000, STA_UNSYNC);
  unsync.state = TIME_ERROR;
  r.kernel = unsync;
  r.poll_n(3);
  ASSERT_TRUE(r.clock.healthy()) << r.clock.reason();
  EXPECT_TRUE(r.clock.status().local);
  auto s = r.clock.state();
  EXPECT_EQ(s.leap, Leap::kNone);
  EXPECT_EQ(s.stratum, 10);
  EXPECT_EQ(s.refid, kRefidLocal);
  EXPECT_EQ(r.clock.status().root_dispersion_ns, 10'000);  // the base only: the kernel's 16 s means nothing here
  EXPECT_TRUE(r.logged("local reference"));
  // Once the kernel is synchronised, the configured stratum and refid.
  r.kernel = synced();
  r.poll_n(1);
  s = r.clock.state();
  EXPECT_FALSE(r.clock.status().local);
  EXPECT_EQ(s.stratum, 1);
  EXPECT_EQ(s.refid, 0x47505300u);
  // local_stratum does not hide other failures.
  r.kernel = unsync;
  r.sim.set_readable(false);
  r.poll_n(1);
  EXPECT_EQ(r.clock.state().stratum, 16);
}

TEST(ServerClock, ReferenceLockHoldoverAndDispersionGrowth) {
  ServerClockConfig c = cfg(LeapMode::kNone, 0);
  c.root_dispersion_ns = 1000;
  c.lock_max_age_ns = 10 * S;
  c.holdover_ns = 60 * S;
  c.dispersion_rate_ppm = 15;
  c.max_root_dispersion_ns = 100 * kMs;
  Rig r(c, true);
  r.lock = LockReading{};  // no file yet
  r.poll_n(3);
  EXPECT_EQ(r.clock.state().leap, Leap::kUnsynchronized);
  EXPECT_NE(r.clock.reason().find("not been locked"), std::string::npos) << r.clock.reason();

  r.locked(true, 50);
  r.poll_n(1);
  ASSERT_TRUE(r.clock.healthy()) << r.clock.reason();
  EXPECT_LT(r.clock.status().root_dispersion_ns, 3000);  // 1000 + 50 + 15 ppm of 100 ms
  EXPECT_EQ(r.clock.state().reference_time >> 32, to_ntp64(r.lock.updated) >> 32);

  // Lock lost: dispersion grows at 15 ppm from the last lock; served in holdover.
  const UnixNs last = r.lock.updated;
  r.locked(false);
  r.poll_n(40, 1 * S);  // 40 s
  ASSERT_TRUE(r.clock.healthy()) << r.clock.reason();
  const std::int64_t since = r.sim.phc_now() - last;
  EXPECT_NEAR(static_cast<double>(r.clock.status().root_dispersion_ns),
              1000 + 50 + 15e-6 * static_cast<double>(since), 2000);
  EXPECT_GT(r.clock.status().root_dispersion_ns, 500'000);  // ~600 us after 40 s
  // Beyond the holdover: leap 3, and the log says why.
  r.poll_n(25, 1 * S);
  EXPECT_EQ(r.clock.state().leap, Leap::kUnsynchronized);
  EXPECT_NE(r.clock.reason().find("holdover"), std::string::npos) << r.clock.reason();
  // Relock recovers.
  r.locked(true, 30);
  r.poll_n(1);
  EXPECT_TRUE(r.clock.healthy()) << r.clock.reason();
  EXPECT_EQ(r.clock.state().leap, Leap::kNone);
  // A "locked" file the monitor stopped rewriting is a lost lock too.
  r.lock.updated = r.sim.phc_now() - 11 * S;
  r.poll_n(1);
  EXPECT_TRUE(r.clock.status().lock_stale);
  EXPECT_TRUE(r.clock.healthy());  // in holdover
  r.poll_n(70, 1 * S);
  EXPECT_EQ(r.clock.state().leap, Leap::kUnsynchronized);
  // An invalid file counts as no lock information.
  r.lock = LockReading{LockReading::State::kInvalid, 0, 0, "line 1: expected key = value"};
  r.poll_n(1);
  EXPECT_NE(r.clock.reason().find("invalid"), std::string::npos) << r.clock.reason();
}

TEST(ServerClock, DispersionBeyondTheBoundGivesLeap3) {
  ServerClockConfig c = cfg(LeapMode::kNone, 0);
  c.holdover_ns = 86400 * S;
  c.dispersion_rate_ppm = 500;  // a poor oscillator
  c.max_root_dispersion_ns = 10 * kMs;
  Rig r(c, true);
  r.locked(true, 0);
  r.poll_n(3);
  ASSERT_TRUE(r.clock.healthy());
  r.locked(false);
  r.poll_n(19, 1 * S);  // ~19 s * 500 ppm = 9.5 ms
  EXPECT_TRUE(r.clock.healthy()) << r.clock.reason();
  r.poll_n(2, 1 * S);
  EXPECT_EQ(r.clock.state().leap, Leap::kUnsynchronized);
  EXPECT_NE(r.clock.reason().find("root dispersion"), std::string::npos) << r.clock.reason();
}

// A PHC on TAI with a leap-second table whose next leap is a day and a bit
// away: the leap indicator is 0, then 1 for the last day, then 0 after; the
// published UTC of the fit repeats 23:59:59 exactly at the boundary.
TEST(ServerClock, TaiSourceAcrossALeapSecond) {
  const std::int64_t leap = kStart / S + 86400 + 3600;  // UTC of the leap (midnight after 23:59:60)
  std::string err;
  auto t = LeapTable::parse(leaptest::leap_file({{1483228800, 37}, {leap, 38}}, 1483228800, leap + 86400 * 100), err);
  ASSERT_TRUE(t) << err;
  Rig r(cfg(LeapMode::kAuto, 0), false, Timescale::kTai);
  r.leaps.set(std::make_shared<const LeapTable>(*t));
  r.sim.set_sys_offset_ns(-37 * S);  // the system clock on UTC
  r.poll_n(3, 250 * kMs);
  ASSERT_TRUE(r.clock.healthy()) << r.clock.reason();
  EXPECT_EQ(r.clock.state().leap, Leap::kNone);
  EXPECT_EQ(r.clock.status().source_offset_ns, 0);
  r.poll_n(4 * 3700, 1 * S);  // into the last day before the leap (one hour and a bit later)
  EXPECT_EQ(r.clock.state().leap, Leap::kInsert);
  // Up to 2 s before the boundary, then across it, 100 ms at a time.
  const UnixNs boundary = (leap + 37) * S;
  r.poll_n(static_cast<int>((boundary - r.sim.phc_now()) / S) - 2, 1 * S);
  UnixNs prev_utc = r.map.map(r.sim.ticks());
  bool stepped_back = false;
  for (int i = 0; i < 50; ++i) {
    r.sim.advance(100 * kMs);
    r.clock.poll();
    const UnixNs utc = r.map.map(r.sim.ticks());
    const UnixNs tai = r.sim.phc_now();
    EXPECT_NEAR(static_cast<double>(utc), static_cast<double>(t->tai_to_utc(tai)), 1000.0) << i;
    if (utc < prev_utc) {
      stepped_back = true;
      EXPECT_NEAR(static_cast<double>(prev_utc - utc), 0.9e9, 1e4) << "one second back, less the 100 ms step";
    }
    prev_utc = utc;
    EXPECT_TRUE(r.clock.healthy()) << r.clock.reason();
  }
  EXPECT_TRUE(stepped_back);
  EXPECT_EQ(r.clock.state().leap, Leap::kNone);  // cleared after the leap
  EXPECT_FALSE(r.logged("stepped")) << "the leap is not a step of the source";
}

// The same leap with a PHC on UTC, which repeats 23:59:59 itself: the
// calibrator puts the repeated second after the first on TAI (no "step").
TEST(ServerClock, UtcSourceRepeatingTheLeapSecondIsNotAStep) {
  const std::int64_t leap = kStart / S + 30;
  std::string err;
  auto t = LeapTable::parse(leaptest::leap_file({{1483228800, 37}, {leap, 38}}, 1483228800, leap + 86400 * 100), err);
  ASSERT_TRUE(t) << err;
  Rig r(cfg(LeapMode::kAuto, 0), false, Timescale::kUtc);
  r.leaps.set(std::make_shared<const LeapTable>(*t));
  r.poll_n(3, 250 * kMs);
  EXPECT_EQ(r.clock.state().leap, Leap::kInsert);
  bool stepped = false;
  UnixNs true_tai = r.sim.phc_now() + 37 * S;
  for (int i = 0; i < 400; ++i) {  // 40 s, across the leap
    r.sim.advance(100 * kMs);
    true_tai += 100 * kMs;
    // The UTC PHC steps back at the leap, like the kernel's REALTIME.
    if (!stepped && r.sim.phc_now() >= leap * S) {
      r.sim.step(-1 * S);
      stepped = true;
    }
    r.clock.poll();
    EXPECT_NEAR(static_cast<double>(r.map.map(r.sim.ticks())), static_cast<double>(t->tai_to_utc(true_tai)), 1000.0)
        << i;
  }
  EXPECT_TRUE(stepped);
  EXPECT_FALSE(r.logged("stepped by")) << r.logs.back();
  EXPECT_EQ(r.clock.state().leap, Leap::kNone);
}

TEST(ServerClock, TaiSourceWithoutTaiMinusUtcIsUnhealthy) {
  Rig r(cfg(LeapMode::kAuto, 0), false, Timescale::kTai);
  r.poll_n(3);
  EXPECT_EQ(r.clock.state().leap, Leap::kUnsynchronized);
  EXPECT_NE(r.clock.reason().find("TAI-UTC is unknown"), std::string::npos) << r.clock.reason();
  r.leaps.set(std::make_shared<const LeapTable>(LeapTable::fixed(37)));
  r.poll_n(1);
  EXPECT_TRUE(r.clock.healthy()) << r.clock.reason();
}

TEST(ServerClock, KernelTaiOffsetIsCrossChecked) {
  Rig r(cfg(LeapMode::kAuto, 0));
  r.leaps.set(std::make_shared<const LeapTable>(LeapTable::fixed(37)));
  r.kernel = synced();
  r.kernel.tai = 37;
  r.poll_n(3);
  EXPECT_EQ(r.clock.status().kernel_tai_mismatches, 0u);
  r.kernel.tai = 36;
  r.poll_n(2);
  EXPECT_EQ(r.clock.status().kernel_tai_mismatches, 2u);
  EXPECT_TRUE(r.logged("kernel's TAI-UTC is 36"));
  EXPECT_TRUE(r.clock.healthy());
}
