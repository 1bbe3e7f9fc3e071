// The per-client rate limiter on a fake clock (NTP 32.32 seconds): bursts,
// refill, leak, prefixes, table pressure and clock steps.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

#include "ntsd/limit/limiter.hpp"

using namespace ntsd::limit;

namespace {

constexpr std::uint64_t kSec = std::uint64_t{1} << 32;
constexpr std::uint64_t kT0 = std::uint64_t{3'900'000'000} << 32;  // some date in 2023

Secret fixed_secret(std::uint64_t k = 1) { return Secret{0x0123456789abcdefull * k, 0xfedcba9876543210ull ^ k, 42}; }

Address v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  const std::array<std::uint8_t, 4> x{a, b, c, d};
  return Address::from_ip4(std::span<const std::uint8_t, 4>(x));
}

Address v6(std::uint16_t w0, std::uint16_t w3, std::uint16_t w7) {
  std::array<std::uint8_t, 16> x{};
  x[0] = static_cast<std::uint8_t>(w0 >> 8);
  x[1] = static_cast<std::uint8_t>(w0);
  x[6] = static_cast<std::uint8_t>(w3 >> 8);
  x[7] = static_cast<std::uint8_t>(w3);
  x[14] = static_cast<std::uint8_t>(w7 >> 8);
  x[15] = static_cast<std::uint8_t>(w7);
  return Address::from_ip6(std::span<const std::uint8_t, 16>(x));
}

Params params(int interval, int burst, int leak) {
  Params p;
  p.interval = interval;
  p.burst = burst;
  p.leak = leak;
  p.table_size = 1024;
  return p;
}

// How many of n requests at time `now` are allowed.
int allowed(Limiter& l, const Address& a, std::uint64_t now, int n) {
  int ok = 0;
  for (int i = 0; i < n; ++i) ok += l.check(a, now) == Decision::kAllow;
  return ok;
}

}  // namespace

TEST(Limiter, IdleClientGetsItsBurstThenIsLimited) {
  Limiter l(params(3, 8, 0), fixed_secret());
  const Address a = v4(192, 0, 2, 7);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(l.check(a, kT0), Decision::kAllow) << i;
  EXPECT_EQ(l.check(a, kT0), Decision::kLimit);
  EXPECT_EQ(l.check(a, kT0 + kSec), Decision::kLimit);
  EXPECT_EQ(l.counters().allowed, 8u);
  EXPECT_EQ(l.counters().limited, 2u);
  EXPECT_EQ(l.counters().leaked, 0u);
}

TEST(Limiter, RefillsOneRequestPerInterval) {
  Limiter l(params(3, 4, 0), fixed_secret());  // T = 8 s, burst 4
  const Address a = v4(198, 51, 100, 1);
  EXPECT_EQ(allowed(l, a, kT0, 10), 4);
  // Just before one period has passed: still nothing.
  EXPECT_EQ(l.check(a, kT0 + 8 * kSec - 1), Decision::kLimit);
  EXPECT_EQ(allowed(l, a, kT0 + 8 * kSec, 3), 1);
  EXPECT_EQ(allowed(l, a, kT0 + 16 * kSec, 3), 1);
  // After burst * T of silence the whole burst is back, and no more.
  EXPECT_EQ(allowed(l, a, kT0 + 16 * kSec + 4 * 8 * kSec, 10), 4);
  // A client that keeps exactly to the rate is never limited.
  std::uint64_t t = kT0 + 1000 * kSec;
  for (int i = 0; i < 100; ++i, t += 8 * kSec) ASSERT_EQ(l.check(a, t), Decision::kAllow) << i;
}

TEST(Limiter, NegativeIntervalMeansSubSecondRate) {
  Limiter l(params(-2, 1, 0), fixed_secret());  // one request per 0.25 s
  const Address a = v4(192, 0, 2, 9);
  EXPECT_EQ(l.check(a, kT0), Decision::kAllow);
  EXPECT_EQ(l.check(a, kT0 + kSec / 8), Decision::kLimit);
  EXPECT_EQ(l.check(a, kT0 + kSec / 4), Decision::kAllow);
  EXPECT_EQ(allowed(l, a, kT0 + 10 * kSec, 5), 1);  // burst 1: no more at once
}

TEST(Limiter, LeakAnswersAboutOneInTwoToTheLeak) {
  for (int leak : {1, 2, 4}) {
    Limiter l(params(3, 1, leak), fixed_secret());
    const Address a = v4(203, 0, 113, 5);
    ASSERT_EQ(l.check(a, kT0), Decision::kAllow);
    const int n = 16000;
    int leaked = 0, longest_gap = 0, gap = 0;
    for (int i = 0; i < n; ++i) {
      const Decision d = l.check(a, kT0 + 1);
      ASSERT_NE(d, Decision::kAllow);
      if (d == Decision::kLeak) {
        ++leaked;
        gap = 0;
      } else {
        longest_gap = std::max(longest_gap, ++gap);
      }
    }
    const double want = n / static_cast<double>(1 << leak);
    EXPECT_NEAR(leaked, want, want * 0.1) << "leak " << leak;
    EXPECT_EQ(l.counters().leaked, static_cast<std::uint64_t>(leaked));
    EXPECT_EQ(l.counters().limited, static_cast<std::uint64_t>(n - leaked));
    // Slowed, not starved: a long run without any answer is vanishingly rare.
    EXPECT_LT(longest_gap, 40 << leak) << "leak " << leak;
  }
  Limiter none(params(3, 1, 0), fixed_secret());
  const Address a = v4(203, 0, 113, 5);
  none.check(a, kT0);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(none.check(a, kT0), Decision::kLimit);
}

TEST(Limiter, ClientsAreIndependent) {
  Limiter l(params(3, 2, 0), fixed_secret());
  const Address a = v4(192, 0, 2, 1), b = v4(192, 0, 2, 2);
  EXPECT_EQ(allowed(l, a, kT0, 10), 2);
  EXPECT_EQ(allowed(l, b, kT0, 10), 2);
  EXPECT_EQ(l.check(a, kT0), Decision::kLimit);
}

TEST(Limiter, Ipv6ClientsShareTheirPrefix) {
  Limiter l(params(3, 2, 0), fixed_secret());  // default /64
  EXPECT_EQ(allowed(l, v6(0x2001, 0x1, 0x1), kT0, 1), 1);
  EXPECT_EQ(allowed(l, v6(0x2001, 0x1, 0x2), kT0, 5), 1);  // same /64: one bucket
  EXPECT_EQ(allowed(l, v6(0x2001, 0x2, 0x1), kT0, 5), 2);  // other /64

  Params p = params(3, 2, 0);
  p.ipv6_prefix = 128;
  Limiter exact(p, fixed_secret());
  EXPECT_EQ(allowed(exact, v6(0x2001, 0x1, 0x1), kT0, 5), 2);
  EXPECT_EQ(allowed(exact, v6(0x2001, 0x1, 0x2), kT0, 5), 2);
  p.ipv6_prefix = 48;  // w3 is in bits 48..63: outside a /48
  Limiter site(p, fixed_secret());
  EXPECT_EQ(allowed(site, v6(0x2001, 0x1, 0x1), kT0, 1), 1);
  EXPECT_EQ(allowed(site, v6(0x2001, 0x2, 0x9), kT0, 5), 1);
}

TEST(Limiter, Ipv4PrefixAndMappedAddresses) {
  Params p = params(3, 2, 0);
  p.ipv4_prefix = 24;
  Limiter l(p, fixed_secret());
  EXPECT_EQ(allowed(l, v4(192, 0, 2, 1), kT0, 1), 1);
  EXPECT_EQ(allowed(l, v4(192, 0, 2, 200), kT0, 5), 1);  // same /24
  EXPECT_EQ(allowed(l, v4(192, 0, 3, 1), kT0, 5), 2);
  // ::ffff:192.0.2.77 is the IPv4 client 192.0.2.77, not an IPv6 one.
  std::array<std::uint8_t, 16> m{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 77};
  const Address mapped = Address::from_ip6(std::span<const std::uint8_t, 16>(m));
  EXPECT_FALSE(mapped.v6);
  EXPECT_EQ(l.hash(mapped), l.hash(v4(192, 0, 2, 77)));
  EXPECT_EQ(l.check(mapped, kT0), Decision::kLimit);
  // An IPv6 address whose bits equal an IPv4 key is still another client.
  std::array<std::uint8_t, 16> lookalike{192, 0, 2, 0};
  EXPECT_NE(l.hash(Address::from_ip6(std::span<const std::uint8_t, 16>(lookalike))), l.hash(v4(192, 0, 2, 0)));
}

// The worker rewrites the Address of a reused request slot in place
// (set_ip4 / set_ip6): nothing of the previous client may survive, or two
// clients would share a bucket. Every byte and the family must equal a fresh
// from_ip4 / from_ip6.
TEST(Limiter, AddressSetInPlaceLeavesNothingBehind) {
  const std::array<std::uint8_t, 16> six{0x20, 0x01, 0x0d, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  const std::array<std::uint8_t, 16> mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 77};
  const std::array<std::uint8_t, 4> four{198, 51, 100, 7};
  const auto same = [](const Address& a, const Address& b) { return a.bytes == b.bytes && a.v6 == b.v6; };
  Address a = Address::from_ip6(std::span<const std::uint8_t, 16>(six));
  ASSERT_TRUE(a.v6);
  a.set_ip4(std::span<const std::uint8_t, 4>(four));
  EXPECT_TRUE(same(a, v4(198, 51, 100, 7)));
  for (std::size_t i = 4; i < 16; ++i) EXPECT_EQ(a.bytes[i], 0) << i;
  a.set_ip6(std::span<const std::uint8_t, 16>(six));
  EXPECT_TRUE(same(a, Address::from_ip6(std::span<const std::uint8_t, 16>(six))));
  a.set_ip6(std::span<const std::uint8_t, 16>(mapped));  // ::ffff:192.0.2.77 is IPv4
  EXPECT_TRUE(same(a, v4(192, 0, 2, 77)));
}

TEST(Limiter, HashIsKeyedPerProcess) {
  Limiter a(params(3, 2, 0), fixed_secret(1)), b(params(3, 2, 0), fixed_secret(2));
  int same = 0;
  for (int i = 0; i < 256; ++i) {
    const Address x = v4(10, 0, static_cast<std::uint8_t>(i), 1);
    EXPECT_NE(a.hash(x), 0u);
    EXPECT_EQ(a.hash(x), a.hash(x));
    same += (a.hash(x) & 255) == (b.hash(x) & 255);  // same bucket under both keys?
  }
  EXPECT_LT(same, 16);  // ~1 expected: buckets depend on the key
  const Secret r1 = Secret::random(), r2 = Secret::random();
  EXPECT_FALSE(r1.k0 == r2.k0 && r1.k1 == r2.k1);
  EXPECT_NE(r1.seed, 0u);
}

// One bucket of four ways: who is kept when a fifth client arrives.
TEST(Limiter, FullTableEvictsTheClientFurthestFromItsLimit) {
  Params p = params(3, 4, 0);
  p.table_size = 4;
  Limiter l(p, fixed_secret());
  const Address abuser = v4(198, 18, 0, 1);
  EXPECT_EQ(allowed(l, abuser, kT0, 50), 4);  // TAT far ahead of now
  for (std::uint8_t i = 2; i <= 4; ++i) EXPECT_EQ(allowed(l, v4(198, 18, 0, i), kT0, 1), 1);
  EXPECT_EQ(l.counters().inserts, 4u);
  EXPECT_EQ(l.counters().evictions, 0u);
  // 100 new clients churn through the three light ways; the abuser stays
  // and stays limited.
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(allowed(l, v4(198, 19, 0, static_cast<std::uint8_t>(i)), kT0 + kSec, 1), 1);
    ASSERT_EQ(l.check(abuser, kT0 + kSec), Decision::kLimit) << i;
  }
  EXPECT_EQ(l.counters().evictions, 100u);
  // An evicted client comes back with a full burst (errs towards answering).
  EXPECT_EQ(allowed(l, v4(198, 18, 0, 2), kT0 + kSec, 10), 4);
}

TEST(Limiter, ClockStepBackResetsInsteadOfBlocking) {
  Limiter l(params(3, 2, 0), fixed_secret());
  const Address a = v4(192, 0, 2, 3);
  EXPECT_EQ(allowed(l, a, kT0, 5), 2);
  // Clock stepped back one hour: the client is not refused for an hour.
  EXPECT_EQ(allowed(l, a, kT0 - 3600 * kSec, 5), 2);
  // A small step back (TSC refit jitter, up to 1 s) keeps the state.
  EXPECT_EQ(allowed(l, a, kT0 - 3600 * kSec - kSec / 1000, 5), 0);
  EXPECT_EQ(allowed(l, a, kT0 - 3601 * kSec + kSec / 1000, 5), 0);
}

TEST(Limiter, SurvivesTheNtpEraWrap) {
  Limiter l(params(0, 2, 0), fixed_secret());  // 1 s
  const Address a = v4(192, 0, 2, 4);
  const std::uint64_t before = ~std::uint64_t{0} - kSec / 2;  // 0.5 s before 2036-02-07
  EXPECT_EQ(allowed(l, a, before, 5), 2);
  EXPECT_EQ(allowed(l, a, before + kSec, 5), 1);      // across the wrap
  EXPECT_EQ(allowed(l, a, before + 2 * kSec, 5), 1);  // one per second
}

TEST(Limiter, ParameterChecks) {
  EXPECT_STREQ(check(Params{}), "");
  Params p;
  p.table_size = 1000;
  EXPECT_NE(std::string(check(p)).find("power of two"), std::string::npos);
  p = Params{};
  p.interval = 13;
  EXPECT_NE(std::string(check(p)).find("interval"), std::string::npos);
  p = Params{};
  p.ipv6_prefix = 0;
  EXPECT_NE(std::string(check(p)).find("ipv6_prefix"), std::string::npos);
  p = Params{};
  p.burst = 0;
  EXPECT_NE(std::string(check(p)).find("burst"), std::string::npos);
}

TEST(IsPlainRequest, OnlyRequestsWithoutNtsFieldsGetAKiss) {
  std::vector<std::uint8_t> r(48, 0);
  r[0] = 0x23;
  EXPECT_TRUE(is_plain_request(r));
  EXPECT_FALSE(is_plain_request(std::span(r).first(47)));
  auto with_ef = [&](std::uint16_t type, std::uint16_t len, std::size_t body) {
    std::vector<std::uint8_t> v = r;
    v.push_back(static_cast<std::uint8_t>(type >> 8));
    v.push_back(static_cast<std::uint8_t>(type));
    v.push_back(static_cast<std::uint8_t>(len >> 8));
    v.push_back(static_cast<std::uint8_t>(len));
    v.resize(v.size() + body);
    return v;
  };
  EXPECT_TRUE(is_plain_request(with_ef(0x2005, 16, 12)));   // an unknown, well-formed EF
  EXPECT_FALSE(is_plain_request(with_ef(0x0104, 36, 32)));  // Unique Identifier
  EXPECT_FALSE(is_plain_request(with_ef(0x0204, 104, 100)));  // Cookie
  EXPECT_FALSE(is_plain_request(with_ef(0x0304, 104, 100)));  // Placeholder
  EXPECT_FALSE(is_plain_request(with_ef(0x0404, 40, 36)));  // Authenticator
  EXPECT_FALSE(is_plain_request(with_ef(0x2005, 16, 8)));   // runs past the end
  EXPECT_FALSE(is_plain_request(with_ef(0x2005, 18, 14)));  // not a multiple of 4
  EXPECT_FALSE(is_plain_request(with_ef(0x2005, 12, 8)));   // shorter than 16
  std::vector<std::uint8_t> mac = r;
  mac.resize(68);  // legacy key id + MD5 digest: not served, not kissed
  EXPECT_FALSE(is_plain_request(mac));
  std::vector<std::uint8_t> two = with_ef(0x2005, 16, 12);
  const auto nts = with_ef(0x0104, 36, 32);
  two.insert(two.end(), nts.begin() + 48, nts.end());
  EXPECT_FALSE(is_plain_request(two));  // an NTS EF after another one
}
