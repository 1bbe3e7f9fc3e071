// Which time source a pool user gets (ctrl/pool/select.hpp).
#include <gtest/gtest.h>

#include <map>

#include "ntsd/pool/select.hpp"

using namespace ntsd;
using namespace ntsd::pool;

namespace {

BackendInfo src(const std::string& name, int weight = 1) {
  BackendInfo b;
  b.name = name;
  b.weight = weight;
  b.healthy = true;
  b.protocols = {0};
  b.algorithms = {{15, 32}, {17, 64}};
  return b;
}

std::vector<std::uint8_t> list(std::vector<std::uint16_t> v) {
  std::vector<std::uint8_t> out;
  for (auto x : v) {
    out.push_back(static_cast<std::uint8_t>(x >> 8));
    out.push_back(static_cast<std::uint8_t>(x));
  }
  return out;
}

struct User {
  std::vector<std::uint8_t> protocols = list({0}), aeads = list({15, 17});
  std::vector<std::string> deny;
  bool ipv6 = false;
  Choice choose(const std::vector<BackendInfo>& b, std::mt19937_64& rng) const {
    std::vector<ke::Bytes> d;
    for (const auto& n : deny) d.emplace_back(reinterpret_cast<const std::uint8_t*>(n.data()), n.size());
    return pool::choose({protocols, aeads, d, ipv6}, b, rng);
  }
};

}  // namespace

TEST(PoolSelect, WeightedRandomAmongHealthyCompatibleSources) {
  std::vector<BackendInfo> b = {src("a", 1), src("b", 3), src("down", 50)};
  b[2].healthy = false;
  std::mt19937_64 rng(42);
  std::map<std::string, int> first;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    auto c = User().choose(b, rng);
    ASSERT_EQ(c.kind, Choice::Kind::kCandidates);
    ASSERT_EQ(c.order.size(), 2u);  // the unhealthy one is never a candidate
    first[b[c.order[0].backend].name]++;
  }
  // P(a first) = 1/4, P(b first) = 3/4; 20000 draws: sigma ~ 0.3 %.
  EXPECT_NEAR(first["a"] / double(n), 0.25, 0.015);
  EXPECT_NEAR(first["b"] / double(n), 0.75, 0.015);
}

TEST(PoolSelect, TheUsersOrderDecidesProtocolAndAead) {
  std::vector<BackendInfo> b = {src("a")};
  b[0].protocols = {0, 0x8001};
  std::mt19937_64 rng(1);
  User u;
  u.protocols = list({0x8001, 0});
  u.aeads = list({30, 17, 15});
  auto c = u.choose(b, rng);
  ASSERT_EQ(c.kind, Choice::Kind::kCandidates);
  EXPECT_EQ(c.order[0].protocol, 0x8001);
  EXPECT_EQ(c.order[0].aead, 17);
  EXPECT_EQ(c.order[0].key_length, 64);  // from the source's answer (draft)
}

TEST(PoolSelect, DeniedNamesAreSkippedAndAreTheLastResort) {
  std::vector<BackendInfo> b = {src("a.test"), src("b.test")};
  b[0].servers = {"ntp-a.test"};  // a name it answered with
  std::mt19937_64 rng(7);
  User u;
  u.deny = {"a.test"};
  for (int i = 0; i < 50; ++i) {
    auto c = u.choose(b, rng);
    ASSERT_EQ(c.order.size(), 2u);
    EXPECT_EQ(b[c.order[0].backend].name, "b.test");
    EXPECT_EQ(b[c.order[1].backend].name, "a.test");  // fallback before the keys leave
    EXPECT_FALSE(c.deny_ignored);
  }
  u.deny = {"ntp-a.test"};
  EXPECT_EQ(b[u.choose(b, rng).order[0].backend].name, "b.test");
  // Everything denied: given anyway (nts-pool), and said so.
  u.deny = {"a.test", "b.test"};
  auto c = u.choose(b, rng);
  ASSERT_EQ(c.kind, Choice::Kind::kCandidates);
  EXPECT_TRUE(c.deny_ignored);
}

TEST(PoolSelect, AddressFamiliesHealthAndOverlap) {
  std::vector<BackendInfo> b = {src("v4only")};
  b[0].ipv6 = false;
  std::mt19937_64 rng(3);
  User u;
  u.ipv6 = true;
  EXPECT_EQ(u.choose(b, rng).kind, Choice::Kind::kNoBackend);
  u.ipv6 = false;
  EXPECT_EQ(u.choose(b, rng).kind, Choice::Kind::kCandidates);
  b[0].healthy = false;
  EXPECT_EQ(u.choose(b, rng).kind, Choice::Kind::kNoBackend);
  EXPECT_EQ(User().choose({}, rng).kind, Choice::Kind::kNoBackend);
  b[0].healthy = true;
  u.aeads = list({16});
  auto c = u.choose(b, rng);
  EXPECT_EQ(c.kind, Choice::Kind::kNoAead);
  EXPECT_EQ(c.protocol, 0);
  u.protocols = list({5});
  EXPECT_EQ(u.choose(b, rng).kind, Choice::Kind::kNoProtocol);
  // A key length the pool will not export makes that AEAD unusable.
  b[0].algorithms = {{15, 0}, {17, 4000}};
  EXPECT_EQ(User().choose(b, rng).kind, Choice::Kind::kNoAead);
}
