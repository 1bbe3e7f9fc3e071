#include <gtest/gtest.h>

#include <vector>

#include "ntsd/clock/phc_clock.hpp"

using namespace ntsd::clock;

TEST(Phc, MissingDeviceNamesIt) {
  PhcClock phc("/dev/ptp97", Timescale::kTai);
  EXPECT_FALSE(phc.ok());
  EXPECT_NE(phc.last_error().find("/dev/ptp97"), std::string::npos) << phc.last_error();
  EXPECT_NE(phc.last_error().find("No such file"), std::string::npos) << phc.last_error();
  EXPECT_FALSE(phc.read().ok);
  EXPECT_EQ(phc.name(), "phc /dev/ptp97");
  EXPECT_EQ(phc.timescale(), Timescale::kTai);
  EXPECT_EQ(PhcClock("/dev/ptp97", Timescale::kUtc).timescale(), Timescale::kUtc);
}

// The PHC's own reading comes back unconverted: TAI - UTC is the leap-second
// table's business (tsc_map.hpp), never a built-in constant.
TEST(Phc, PairsNarrowestTripletOnThePhcsOwnTimescale) {
  const std::vector<PhcTriplet> t = {
      {1000, 38'000'001'500, 3000},  // window 2000
      {5000, 38'000'005'200, 5400},  // window 400: best
      {6000, 38'000'006'900, 7000},  // window 1000
  };
  const Reading r = pair_triplets(t);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.window_ns, 400);
  EXPECT_EQ(r.sys_ns, 5200);
  EXPECT_EQ(r.src_ns, 38'000'005'200);
}

TEST(Phc, RejectsTripletsWhereSystemClockWentBackwards) {
  const std::vector<PhcTriplet> bad = {{5000, 1, 4000}};
  EXPECT_FALSE(pair_triplets(bad).ok);
  EXPECT_FALSE(pair_triplets({}).ok);
}
