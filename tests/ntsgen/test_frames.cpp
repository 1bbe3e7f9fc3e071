// Frames of the DPDK transport: checksums against ntsd_net's RFC 1071 code,
// and a built request parsed back by ntsd_net's classifier (the one ntsd's
// dataplane uses), so that the generator's frames are ones a server accepts.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <random>

#include "frames.hpp"
#include "ntsd/net/packet.hpp"

namespace ntsgen {
namespace {

TEST(Frames, ChecksumMatchesReference) {
  std::mt19937 rng(1);
  for (std::size_t len = 0; len < 300; ++len) {
    std::vector<std::uint8_t> v(len);
    for (auto& b : v) b = static_cast<std::uint8_t>(rng());
    const std::uint16_t ref = ntsd::net::csum_fold(ntsd::net::csum_add(0, v));
    ASSERT_EQ(csum_finish(csum_partial(v.data(), v.size(), 0)), ref) << len;
  }
}

FrameConfig config(bool v6) {
  FrameConfig c;
  bool is6 = false;
  EXPECT_TRUE(parse_mac("02:00:00:00:00:01", c.src_mac));
  EXPECT_TRUE(parse_mac("02:00:00:00:00:02", c.dst_mac));
  EXPECT_TRUE(parse_ip(v6 ? "2001:db8::100" : "198.18.0.100", c.src, is6));
  EXPECT_TRUE(parse_ip(v6 ? "2001:db8::1" : "198.18.0.1", c.dst, is6));
  c.v6 = v6;
  c.addrs = 4;
  c.clients = 64;
  return c;
}

void server_accepts(bool v6) {
  FrameBuilder fb(config(v6));
  std::array<std::uint8_t, 512> f{};
  std::array<std::uint8_t, 48> ntp{};
  ntp[0] = 0x23;
  std::memcpy(f.data() + fb.header_len(), ntp.data(), ntp.size());
  const std::size_t len = fb.write(f.data(), 5, ntp.size());
  ntsd::net::LocalAddrs local;
  std::memcpy(local.mac.data(), fb.config().dst_mac.data(), 6);
  ntsd::net::Ip4 a4;
  ntsd::net::Ip6 a6;
  std::memcpy(a4.data(), fb.config().dst.data(), 4);
  std::memcpy(a6.data(), fb.config().dst.data(), 16);
  local.ip4 = std::span(&a4, 1);
  local.ip6 = std::span(&a6, 1);
  const auto c = ntsd::net::classify(std::span(f.data(), len), local);
  ASSERT_EQ(c.kind, ntsd::net::Kind::kNtp) << ntsd::net::drop_name(c.drop);
  EXPECT_EQ(c.payload_len, 48u);
  // Client 5 of 4 addresses: address base + 1, port 20000 + 1.
  const auto want = fb.client_addr(5);
  EXPECT_EQ(std::memcmp(f.data() + c.l3 + (v6 ? 8 : 12), want.data(), v6 ? 16 : 4), 0);
  EXPECT_EQ(f[c.l4] << 8 | f[c.l4 + 1], 20001);
  // The server's reply (built by ntsd_net) is recognised as a response.
  const std::size_t rlen = ntsd::net::build_ntp_reply(f, c, std::span(ntp.data(), ntp.size()));
  ASSERT_GT(rlen, 0u);
  EXPECT_EQ(fb.response_payload(std::span(f.data(), rlen)).size(), 48u);
  // The same reply to a host that is not one of our clients (another
  // generator or a real client on the same link) is not ours.
  const std::size_t dst = 14 + (v6 ? 24 : 16) + (v6 ? 15 : 3);
  f[dst] = static_cast<std::uint8_t>(f[dst] + 100);
  EXPECT_TRUE(fb.response_payload(std::span(f.data(), rlen)).empty());
}

TEST(Frames, Ipv4RequestIsAcceptedByTheServerClassifier) { server_accepts(false); }
TEST(Frames, Ipv6RequestIsAcceptedByTheServerClassifier) { server_accepts(true); }

TEST(Frames, ResolveRequestsAreWellFormed) {
  for (bool v6 : {false, true}) {
    FrameBuilder fb(config(v6));
    std::array<std::uint8_t, 128> f{};
    const std::size_t len = fb.write_resolve(f.data(), f.size());
    ASSERT_GT(len, 0u);
    // The server's own classifier sees an ARP request / NS for its address.
    ntsd::net::LocalAddrs local;
    std::memcpy(local.mac.data(), fb.config().dst_mac.data(), 6);
    ntsd::net::Ip4 a4;
    ntsd::net::Ip6 a6;
    std::memcpy(a4.data(), fb.config().dst.data(), 4);
    std::memcpy(a6.data(), fb.config().dst.data(), 16);
    local.ip4 = std::span(&a4, 1);
    local.ip6 = std::span(&a6, 1);
    const auto c = ntsd::net::classify(std::span(f.data(), len), local);
    ASSERT_EQ(c.kind, v6 ? ntsd::net::Kind::kNeighborSolicit : ntsd::net::Kind::kArpRequest)
        << ntsd::net::drop_name(c.drop);
    const std::size_t rlen = v6 ? ntsd::net::build_neighbor_advert(f, c, local.mac)
                                : ntsd::net::build_arp_reply(f, len, c, local.mac);
    ASSERT_GT(rlen, 0u);
    Mac got{};
    ASSERT_TRUE(fb.parse_resolve(std::span(f.data(), rlen), got));
    EXPECT_EQ(got, fb.config().dst_mac);
  }
}

}  // namespace
}  // namespace ntsgen
