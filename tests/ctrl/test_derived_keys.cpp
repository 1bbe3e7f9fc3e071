// Derived cookie keys (ctrl/keys derived.hpp, docs/keys.md "Derived keys"):
// the derivation pinned by vectors from an independent implementation, the
// secret file's rules, two hosts with one secret opening each other's cookies
// across a period boundary, and the clock guard.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <set>
#include <fstream>
#include <nlohmann/json.hpp>

#include "ntsd/crypto/cookie.hpp"
#include "ntsd/keys/derived.hpp"
#include "test_util.hpp"

using namespace ntsd;
using namespace ntsd::keys;
using ntsd::test::from_hex;

namespace {

constexpr std::int64_t kDay = 86400;
// 2024-10-04T00:00:00Z, the start of period 20000 of one day.
constexpr std::int64_t kT0 = 20000 * kDay;

FleetSecret secret_of(std::uint8_t fill, std::size_t n = 32) {
  std::vector<std::uint8_t> b(n, fill);
  std::string err;
  auto s = FleetSecret::from_bytes(b, err);
  EXPECT_TRUE(s) << err;
  return std::move(*s);
}

std::vector<std::uint8_t> seal(const crypto::KeyRing& ring) {
  auto eng = crypto::make_scalar_engine();
  std::vector<std::uint8_t> c2s(32, 0x11), s2c(32, 0x22), nonce(16, 0x33);
  crypto::CookieKeys ck{*crypto::SivKey::from_bytes(c2s), *crypto::SivKey::from_bytes(s2c)};
  std::vector<std::uint8_t> cookie(crypto::cookie_len(crypto::AeadId::kSivCmac256));
  EXPECT_TRUE(crypto::seal_cookie(*eng, ring.current(), ck, nonce, cookie));
  return cookie;
}

crypto::CookieStatus open(const crypto::KeyRing& ring, const std::vector<std::uint8_t>& cookie) {
  auto eng = crypto::make_scalar_engine();
  crypto::CookieKeys out;
  return crypto::open_cookie(*eng, ring, cookie, out);
}

// One host: its own DerivedKeys on its own clocks.
struct Host {
  DerivedKeys keys;
  Host(std::uint8_t fill, const DerivedParams& p) : keys(secret_of(fill), p) {}
  const crypto::KeyRing& ring() const { return *keys.ring(); }
};

std::string temp_dir() {
  char tmpl[] = "/tmp/ntsd_derived_test.XXXXXX";
  const char* d = ::mkdtemp(tmpl);
  EXPECT_NE(d, nullptr);
  return d ? d : "/tmp";
}

}  // namespace

// --- the derivation, pinned -------------------------------------------------

TEST(DerivedVectors, HkdfIsRfc5869) {
  auto j = nlohmann::json::parse(test::read_file(test::vectors_dir() + "/ntsd/derived_keys.json"));
  const auto& a1 = j.at("rfc5869_a1");
  std::vector<std::uint8_t> out(a1.at("length").get<std::size_t>());
  ASSERT_TRUE(hkdf_sha256(from_hex(a1.at("ikm")), from_hex(a1.at("salt")), from_hex(a1.at("info")), out));
  EXPECT_EQ(out, from_hex(a1.at("okm")));
}

// A release that changes a single byte here breaks every fleet mid-upgrade:
// hosts on the old and the new version would NAK each other's cookies.
TEST(DerivedVectors, KeysIdsAndFingerprintsArePinned) {
  auto j = nlohmann::json::parse(test::read_file(test::vectors_dir() + "/ntsd/derived_keys.json"));
  int checked = 0, rings = 0;
  for (const auto& c : j.at("keys")) {
    const auto secret = from_hex(c.at("secret"));
    const auto want = from_hex(c.at("key"));
    const auto aead = c.at("aead").get<std::uint16_t>();
    const auto period_s = c.at("period_s").get<std::int64_t>();
    const auto n = c.at("n").get<std::int64_t>();
    std::vector<std::uint8_t> got(want.size());
    ASSERT_TRUE(derive_key_bytes(secret, aead, period_s, n, got));
    EXPECT_EQ(got, want) << "aead " << aead << " period " << period_s << " n " << n;
    char id[9];
    std::snprintf(id, sizeof id, "%08X", derived_key_id(aead, n));
    EXPECT_EQ(std::string(id), c.at("id").get<std::string>());
    ++checked;
    // The MasterKey the ring holds is those bytes (for the AEADs this build seals with).
    if (crypto::aead_key_len(static_cast<crypto::AeadId>(aead)) == 0) continue;
    std::string err;
    auto s = FleetSecret::from_bytes(secret, err);
    ASSERT_TRUE(s) << err;
    auto mk = derived_key(*s, DerivedParams{period_s, 2, 1, aead}, n, err);
    ASSERT_TRUE(mk) << err;
    EXPECT_EQ(std::vector<std::uint8_t>(mk->key.bytes().begin(), mk->key.bytes().end()), want);
    EXPECT_EQ(mk->id, derived_key_id(aead, n));
    ++rings;
  }
  EXPECT_EQ(checked, 24);
  EXPECT_GE(rings, 16);
  for (const auto& f : j.at("fingerprints")) {
    std::string err;
    auto s = FleetSecret::from_bytes(from_hex(f.at("secret")), err);
    ASSERT_TRUE(s) << err;
    EXPECT_EQ(s->fingerprint(), f.at("fingerprint").get<std::string>());
  }
}

TEST(Derived, PeriodsAreUtcBoundariesAndIdsNeverRepeat) {
  EXPECT_EQ(period_of(kT0, kDay), 20000);
  EXPECT_EQ(period_of(kT0 - 1, kDay), 19999);
  EXPECT_EQ(period_of(kT0 + kDay - 1, kDay), 20000);
  EXPECT_EQ(period_of(-1, 60), -1);
  EXPECT_EQ(period_of(-60, 60), -1);
  EXPECT_EQ(period_of(-61, 60), -2);
  // Ids of a window are distinct, also across the algorithms.
  std::set<std::uint32_t> ids;
  for (std::uint16_t aead : {15, 17, 30})
    for (std::int64_t n = 20000 - 8; n <= 20000 + 8; ++n) ids.insert(derived_key_id(aead, n));
  EXPECT_EQ(ids.size(), 3u * 17u);
  // Consecutive periods are consecutive modulo 4 (chrony's slot rule).
  EXPECT_EQ((derived_key_id(15, 20001) - derived_key_id(15, 20000)) & 3u, 1u);
}

TEST(Derived, RingHoldsThePastAndFutureWindow) {
  std::string err;
  auto s = secret_of(7);
  DerivedParams p{kDay, 2, 1, 15};
  auto ring = derived_ring(s, p, 20000, err);
  ASSERT_TRUE(ring) << err;
  EXPECT_EQ(ring->size(), 4u);
  EXPECT_EQ(ring->current().id, derived_key_id(15, 20000));
  ASSERT_NE(ring->future(), nullptr);
  EXPECT_EQ(ring->future()->id, derived_key_id(15, 20001));
  for (std::int64_t n : {19998, 19999, 20000, 20001}) EXPECT_NE(ring->find(derived_key_id(15, n)), nullptr) << n;
  for (std::int64_t n : {19997, 20002}) EXPECT_EQ(ring->find(derived_key_id(15, n)), nullptr) << n;
  // The widest window: 6 past and 1 future, or 5 past and 2 future.
  auto wide = derived_ring(s, DerivedParams{kDay, 5, 2, 15}, 20000, err);
  ASSERT_TRUE(wide) << err;
  EXPECT_EQ(wide->size(), 8u);
  EXPECT_NE(wide->find(derived_key_id(15, 20002)), nullptr);
  EXPECT_EQ(check_params(DerivedParams{kDay, 6, 2, 15}), "past + future must be at most 7");
  EXPECT_EQ(check_params(DerivedParams{59, 2, 1, 15}), "period_s must be at least 60");
  EXPECT_EQ(check_params(DerivedParams{kDay, 0, 1, 15}), "past must be at least 1");
  EXPECT_NE(check_params(DerivedParams{kDay, 2, 1, 99}).find("AEAD 99"), std::string::npos);
}

// --- the secret file ----------------------------------------------------------

TEST(DerivedSecret, FileMustBe0600WithAtLeast32Bytes) {
  const std::string dir = temp_dir();
  auto write = [&](const std::string& name, std::size_t n, mode_t mode) {
    const std::string path = dir + "/" + name;
    std::ofstream(path, std::ios::binary) << std::string(n, 'k');
    ::chmod(path.c_str(), mode);
    return path;
  };
  std::string err;
  EXPECT_TRUE(FleetSecret::load(write("ok", 32, 0600), err)) << err;
  EXPECT_TRUE(FleetSecret::load(write("ro", 64, 0400), err)) << err;
  const std::string open = write("open", 32, 0644);
  EXPECT_FALSE(FleetSecret::load(open, err));
  EXPECT_EQ(err, open + ": mode 0644, must be 0600 (or 0400): chmod 600 " + open);
  EXPECT_FALSE(FleetSecret::load(write("group", 32, 0640), err));
  EXPECT_NE(err.find("mode 0640, must be 0600"), std::string::npos) << err;
  EXPECT_FALSE(FleetSecret::load(write("short", 31, 0600), err));
  EXPECT_NE(err.find("holds 31 bytes; a fleet secret needs at least 32"), std::string::npos) << err;
  EXPECT_FALSE(FleetSecret::load(write("huge", 5000, 0600), err));
  EXPECT_NE(err.find("at most 4096"), std::string::npos) << err;
  EXPECT_FALSE(FleetSecret::load(dir, err));
  EXPECT_NE(err.find("not a regular file"), std::string::npos) << err;
  EXPECT_FALSE(FleetSecret::load(dir + "/absent", err));
  EXPECT_NE(err.find("No such file"), std::string::npos) << err;
  // The same bytes are the same secret (the whole file, verbatim).
  auto a = FleetSecret::load(dir + "/ok", err);
  auto b = FleetSecret::from_bytes(std::vector<std::uint8_t>(32, 'k'), err);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->fingerprint(), b->fingerprint());
  EXPECT_NE(a->fingerprint(), secret_of('j').fingerprint());
  std::filesystem::remove_all(dir);
}

// --- hosts of one fleet -------------------------------------------------------

TEST(DerivedFleet, HostsWithOneSecretOpenEachOthersCookies) {
  DerivedParams p;
  Host a(1, p), b(1, p), other(2, p);
  std::string err;
  ASSERT_TRUE(a.keys.start({kT0 + 100, 5}, err)) << err;
  ASSERT_TRUE(b.keys.start({kT0 + 200, 9000}, err)) << err;
  ASSERT_TRUE(other.keys.start({kT0 + 100, 5}, err)) << err;
  EXPECT_EQ(open(b.ring(), seal(a.ring())), crypto::CookieStatus::kOk);
  EXPECT_EQ(open(a.ring(), seal(b.ring())), crypto::CookieStatus::kOk);
  // Another secret: same ids, other keys; the cookie does not authenticate.
  EXPECT_EQ(open(other.ring(), seal(a.ring())), crypto::CookieStatus::kAuthFail);
  EXPECT_EQ(open(a.ring(), seal(other.ring())), crypto::CookieStatus::kAuthFail);
}

// Host A's clock is 30 s past midnight UTC, host B's 30 s before: A seals
// with the new period's key, B still with the old one. B opens A's cookies
// with its future key, A opens B's with its previous key. Without a future
// window, B would NAK A's cookies until its own clock crossed midnight.
TEST(DerivedFleet, ClocksStraddlingABoundaryStillAgree) {
  const std::int64_t midnight = kT0 + kDay;
  for (int future : {1, 0}) {
    DerivedParams p{kDay, 2, future, 15};
    Host a(1, p), b(1, p);
    std::string err;
    ASSERT_TRUE(a.keys.start({midnight + 30, 0}, err)) << err;
    ASSERT_TRUE(b.keys.start({midnight - 30, 0}, err)) << err;
    EXPECT_EQ(a.keys.status().period, 20001);
    EXPECT_EQ(b.keys.status().period, 20000);
    EXPECT_EQ(open(b.ring(), seal(a.ring())),
              future ? crypto::CookieStatus::kOk : crypto::CookieStatus::kUnknownKeyId)
        << "future " << future;
    EXPECT_EQ(open(a.ring(), seal(b.ring())), crypto::CookieStatus::kOk);
  }
}

// A cookie lives at least past * period_s (48 h by default): sealed at the
// last second of period n, it opens until the end of period n + past.
TEST(DerivedFleet, CookiesOpenForThePastWindow) {
  DerivedParams p;
  Host sealer(1, p), opener(1, p);
  std::string err;
  const std::int64_t last = kT0 + kDay - 1;
  ASSERT_TRUE(sealer.keys.start({last, 0}, err)) << err;
  const auto cookie = seal(sealer.ring());
  ASSERT_TRUE(opener.keys.start({last, 0}, err)) << err;
  std::int64_t t = last;
  for (; t < last + 4 * kDay; t += 60) {
    ASSERT_GE(opener.keys.tick({t, t - last}, err), 0) << err;
    if (open(opener.ring(), cookie) != crypto::CookieStatus::kOk) break;
  }
  // Sealed in the last second of its period: it opens for 48 h (the ticks
  // come every 60 s), then stops.
  EXPECT_GT(t - last, 2 * kDay);
  EXPECT_LE(t - last, 2 * kDay + 60);
}

// --- the clock guard ------------------------------------------------------------

struct GuardTest : ::testing::Test {
  DerivedParams p{kDay, 2, 1, 15};
  std::vector<std::string> logs;
  DerivedSchedule s{p, [this](const std::string& m) { logs.push_back(m); }};
  std::int64_t mono = 1000;
  std::int64_t wall = kT0 + 3600;
  // Time passes: both clocks advance.
  void pass(std::int64_t secs) {
    mono += secs;
    wall += secs;
  }
  bool tick() { return s.update({wall, mono}); }
};

TEST_F(GuardTest, FollowsTheWallClockAcrossMidnight) {
  EXPECT_TRUE(tick());
  EXPECT_EQ(s.status().period, 20000);
  wall = kT0 + kDay - 1;
  mono = 1000 + kDay - 1 - 3600;
  EXPECT_FALSE(tick());
  pass(1);
  EXPECT_TRUE(tick());
  EXPECT_EQ(s.status().period, 20001);
  EXPECT_EQ(s.status().period_start, kT0 + kDay);
  EXPECT_FALSE(s.status().held);
}

TEST_F(GuardTest, SlewIsFollowed) {
  tick();
  // 500 ppm for three days, ticking every second's worth of 100 s.
  for (int i = 0; i < 3 * 864; ++i) {
    mono += 100;
    wall += 100 + (i % 20 == 0 ? 1 : 0);
    tick();
    ASSERT_FALSE(s.status().held) << i;
  }
  EXPECT_EQ(s.status().holds, 0u);
  EXPECT_EQ(s.status().period, period_of(wall, kDay));
}

TEST_F(GuardTest, AJumpBeyondTheWindowHoldsAndIsCounted) {
  tick();
  wall += 10 * kDay;  // a bad RTC, a GNSS week rollover, a typo
  pass(1);
  EXPECT_FALSE(tick()) << "the period must not move with the jump";
  EXPECT_TRUE(s.status().held);
  EXPECT_EQ(s.status().holds, 1u);
  EXPECT_EQ(s.status().period, 20000);
  EXPECT_EQ(s.status().offset_s, 10 * kDay);
  ASSERT_FALSE(logs.empty());
  EXPECT_NE(logs.back().find("HOLD"), std::string::npos) << logs.back();
  // Held, the keys still rotate on the monotonic clock's midnight.
  pass(kDay);
  EXPECT_TRUE(tick());
  EXPECT_EQ(s.status().period, 20001);
  EXPECT_TRUE(s.status().held);
  EXPECT_EQ(s.status().holds, 1u) << "one hold, however long";
  // The wall clock is put right: followed again.
  wall -= 10 * kDay;
  pass(1);
  tick();
  EXPECT_FALSE(s.status().held);
  EXPECT_EQ(s.status().period, 20001);
  EXPECT_EQ(s.status().offset_s, 0);
  EXPECT_NE(logs.back().find("back within the window"), std::string::npos) << logs.back();
}

TEST_F(GuardTest, JumpsWithinTheWindowAreFollowed) {
  tick();
  wall += kDay;  // one period ahead: future = 1
  pass(1);
  EXPECT_TRUE(tick());
  EXPECT_FALSE(s.status().held);
  EXPECT_EQ(s.status().period, 20001);
  wall -= 3 * kDay;  // two periods behind the trusted timeline: past = 2
  pass(1);
  EXPECT_TRUE(tick());
  EXPECT_FALSE(s.status().held);
  EXPECT_EQ(s.status().period, 19998);
  wall -= kDay;  // three behind: beyond the window
  pass(1);
  tick();
  EXPECT_TRUE(s.status().held);
  EXPECT_EQ(s.status().period, 20000);
}

TEST_F(GuardTest, StepsCannotWalkThePeriodAwayOneAtATime) {
  tick();
  // Steps of 0.9 period each, every one "small": measured against the
  // trusted timeline, their sum is what counts.
  for (int i = 0; i < 5; ++i) {
    wall += kDay * 9 / 10;
    pass(1);
    tick();
  }
  EXPECT_TRUE(s.status().held);
  EXPECT_LE(s.status().period, 20001);
}

TEST_F(GuardTest, AnOperatorResyncAcceptsTheSteppedClock) {
  tick();
  wall += 10 * kDay;
  pass(1);
  tick();
  ASSERT_TRUE(s.status().held);
  s.resync({wall, mono});
  pass(1);
  EXPECT_TRUE(tick());
  EXPECT_FALSE(s.status().held);
  EXPECT_EQ(s.status().period, 20010);
}

TEST(DerivedKeysTick, ANewRingOnlyWhenThePeriodChanges) {
  DerivedKeys k(secret_of(3), DerivedParams{3600, 2, 1, 17});
  std::string err;
  ASSERT_TRUE(k.start({kT0, 0}, err)) << err;
  auto first = k.ring();
  EXPECT_EQ(k.tick({kT0 + 3599, 3599}, err), 0);
  EXPECT_EQ(k.ring(), first);
  EXPECT_EQ(k.tick({kT0 + 3600, 3600}, err), 1);
  EXPECT_NE(k.ring(), first);
  EXPECT_EQ(k.ring()->current().id, derived_key_id(17, kT0 / 3600 + 1));
  EXPECT_EQ(k.ring()->current().key.bytes().size(), 64u);
  EXPECT_EQ(k.status().changes, 1u);
}
