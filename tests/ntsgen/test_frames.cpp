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

// The header checksums are computed from the values written, not read back:
// for every client, address count (a power of two or not) and payload
// length, ntsd_net's classifier (which verifies the IPv4 header and UDP
// checksums, RFC 1071) accepts the frame, and the source address and port
// are client i's.
TEST(Frames, ChecksumsFromValuesAreRight) {
  std::mt19937 rng(7);
  for (bool v6 : {false, true}) {
    for (std::uint32_t addrs : {1u, 3u, 4u, 256u}) {
      FrameConfig cfg = config(v6);
      cfg.addrs = addrs;
      cfg.clients = 1u << 20;
      cfg.dst_port = 4123;
      FrameBuilder fb(cfg);
      ntsd::net::LocalAddrs local;
      std::memcpy(local.mac.data(), cfg.dst_mac.data(), 6);
      ntsd::net::Ip4 a4;
      ntsd::net::Ip6 a6;
      std::memcpy(a4.data(), cfg.dst.data(), 4);
      std::memcpy(a6.data(), cfg.dst.data(), 16);
      local.ip4 = std::span(&a4, 1);
      local.ip6 = std::span(&a6, 1);
      local.port = cfg.dst_port;  // the classifier checks the port before the UDP checksum
      for (int k = 0; k < 300; ++k) {
        // Clients up to 2^20 also cover source ports past 20000 + 40000 (wrapped).
        const std::uint32_t client = k < 100 ? static_cast<std::uint32_t>(k) : rng() % cfg.clients;
        const std::size_t plen = rng() % 400;
        std::array<std::uint8_t, 512> f{};
        for (std::size_t i = 0; i < plen; ++i) f[fb.header_len() + i] = static_cast<std::uint8_t>(rng());
        const std::size_t len = fb.write(f.data(), client, plen);
        ASSERT_EQ(len, fb.header_len() + plen);
        const auto c = ntsd::net::classify(std::span(f.data(), len), local, {});
        ASSERT_EQ(c.kind, ntsd::net::Kind::kNtp) << ntsd::net::drop_name(c.drop) << " v6=" << v6
                                                  << " addrs=" << addrs << " client=" << client << " len=" << plen;
        ASSERT_EQ(c.payload_len, plen);
        const auto want = fb.client_addr(client);
        ASSERT_EQ(std::memcmp(f.data() + 14 + (v6 ? 8 : 12), want.data(), v6 ? 16 : 4), 0);
        const std::size_t l4 = 14 + (v6 ? 40 : 20);
        ASSERT_EQ(f[l4] << 8 | f[l4 + 1], 20000 + (client / addrs) % 40000);
        ASSERT_EQ(f[l4 + 2] << 8 | f[l4 + 3], 4123);
      }
    }
  }
}
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
