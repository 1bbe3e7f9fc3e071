#include <gtest/gtest.h>

#include <vector>

#include "ntsd/clock/phc_clock.hpp"

using namespace ntsd::clock;

TEST(Phc, MissingDeviceNamesIt) {
  PhcClock phc("/dev/ptp97", 37);
  EXPECT_FALSE(phc.ok());
  EXPECT_NE(phc.last_error().find("/dev/ptp97"), std::string::npos) << phc.last_error();
  EXPECT_NE(phc.last_error().find("No such file"), std::string::npos) << phc.last_error();
  EXPECT_FALSE(phc.read().ok);
  EXPECT_EQ(phc.name(), "phc /dev/ptp97");
}

TEST(Phc, PairsNarrowestTripletAndAppliesTaiOffset) {
  const std::vector<PhcTriplet> t = {
      {1000, 38'000'001'500, 3000},  // window 2000
      {5000, 38'000'005'200, 5400},  // window 400: best
      {6000, 38'000'006'900, 7000},  // window 1000
  };
  const Reading r = pair_triplets(t, 37'000'000'000);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.window_ns, 400);
  EXPECT_EQ(r.sys_ns, 5200);
  EXPECT_EQ(r.utc_ns, 1'000'005'200);
}

TEST(Phc, RejectsTripletsWhereSystemClockWentBackwards) {
  const std::vector<PhcTriplet> bad = {{5000, 1, 4000}};
  EXPECT_FALSE(pair_triplets(bad, 0).ok);
  EXPECT_FALSE(pair_triplets({}, 0).ok);
}
