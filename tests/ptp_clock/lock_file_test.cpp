// The reference lock status file and the leap-second file watcher: strict
// parsing (a monitor bug must read as "invalid", never as "locked"), and the
// leap file's load, expiry warning, reload on change, keeping the last good
// table on a damaged replacement, and the kernel's TAI offset as fallback.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <thread>
#include <vector>

#include "leap_util.hpp"
#include "ntsd/clock/leap_file.hpp"
#include "ntsd/clock/lock_status.hpp"

using namespace ntsd::clock;

namespace {

constexpr std::int64_t S = kNsPerSec;

struct TempFile {
  std::string path = "/tmp/ntsd_clock_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  static inline int counter = 0;
  ~TempFile() { std::remove(path.c_str()); }
  void write(const std::string& text) const {
    const std::string tmp = path + ".tmp";
    std::ofstream(tmp) << text;
    std::rename(tmp.c_str(), path.c_str());  // a new inode: a change even within one mtime tick
  }
};

}  // namespace

TEST(LockStatus, ParsesTheThreeKeys) {
  const LockReading r = parse_lock_status("# monitor\nlocked = true\nerror_ns = 40 # ns\nupdated = 1796000000.25\n");
  EXPECT_EQ(r.state, LockReading::State::kLocked);
  EXPECT_EQ(r.error_ns, 40);
  EXPECT_EQ(r.updated, 1'796'000'000LL * S + S / 4);
  EXPECT_EQ(parse_lock_status("locked=false\nerror_ns=0\nupdated=1796000000\n").state, LockReading::State::kUnlocked);
}

TEST(LockStatus, AnythingElseIsInvalid) {
  const char* bad[] = {
      "locked = yes\nerror_ns = 1\nupdated = 1796000000\n",   // not a boolean
      "locked = true\nerror_ns = -1\nupdated = 1796000000\n",  // negative error
      "locked = true\nerror_ns = 1\n",                         // missing key
      "locked = true\nerror_ns = 1\nupdated = soon\n",
      "locked = true\nerror_ns = 1\nupdated = 1796000000\nsats = 9\n",  // unknown key
      "locked true\n",
      "",
  };
  for (const char* t : bad) {
    const LockReading r = parse_lock_status(t);
    EXPECT_EQ(r.state, LockReading::State::kInvalid) << t;
    EXPECT_FALSE(r.why.empty());
  }
  EXPECT_EQ(read_lock_status("/nonexistent/ntsd-lock").state, LockReading::State::kMissing);
}

TEST(LeapFile, LoadsWarnsWhenExpiredAndReloadsOnChange) {
  TempFile f;
  const std::int64_t now = 1'800'000'000;
  f.write(leaptest::leap_file({{1483228800, 37}}, 1483228800, now - 86400));  // expired yesterday
  LeapTableRef ref;
  std::vector<std::string> logs;
  LeapFile lf(f.path, ref, [&](const std::string& m) { logs.push_back(m); });
  lf.poll(now * S, 0);
  ASSERT_TRUE(lf.status().loaded) << lf.status().error;
  EXPECT_TRUE(lf.status().expired);
  ASSERT_NE(ref.get(), nullptr);
  EXPECT_EQ(ref.get()->offset_at_utc(now * S), 37);
  ASSERT_GE(logs.size(), 2u);
  EXPECT_NE(logs.back().find("expired on"), std::string::npos) << logs.back();
  const std::size_t n = logs.size();
  lf.poll(now * S, 0);
  EXPECT_EQ(logs.size(), n) << "warned once";

  // A newer file with a leap ahead is picked up without a restart.
  f.write(leaptest::leap_file({{1483228800, 37}, {now + 3600, 38}}, now - 10, now + 86400 * 180));
  lf.poll(now * S, 0);
  EXPECT_FALSE(lf.status().expired);
  EXPECT_EQ(ref.get()->offset_at_utc((now + 3600) * S), 38);

  // A damaged replacement keeps the good table and says so.
  f.write("garbage\n");
  lf.poll(now * S, 0);
  EXPECT_TRUE(lf.status().loaded);
  EXPECT_FALSE(lf.status().error.empty());
  EXPECT_EQ(ref.get()->offset_at_utc((now + 3600) * S), 38);
  EXPECT_NE(logs.back().find("keeping"), std::string::npos) << logs.back();
}

TEST(LeapFile, MissingFileFallsBackToTheKernelOffsetOrNothing) {
  LeapTableRef ref;
  std::vector<std::string> logs;
  LeapFile lf("/nonexistent/leap-seconds.list", ref, [&](const std::string& m) { logs.push_back(m); });
  lf.poll(1'800'000'000LL * S, 0);
  EXPECT_FALSE(lf.status().loaded);
  EXPECT_EQ(ref.get(), nullptr);
  ASSERT_FALSE(logs.empty());
  EXPECT_NE(logs.back().find("TAI-UTC is unknown"), std::string::npos) << logs.back();
  lf.poll(1'800'000'000LL * S, 37);
  EXPECT_TRUE(lf.status().kernel_fallback);
  ASSERT_NE(ref.get(), nullptr);
  EXPECT_EQ(ref.get()->offset_at_utc(1'800'000'000LL * S), 37);
  EXPECT_NE(logs.back().find("kernel's TAI-UTC of 37"), std::string::npos) << logs.back();
}
