// Classifier and reply builders: every accepted kind, every drop reason, and
// replies checked field by field with an independent checksum.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <set>
#include <string>

#include "frames.hpp"

using namespace ntsd;
using namespace ntsd::test;
using net::Drop;
using net::Kind;

namespace {

const std::array<net::Ip4, 1> kV4 = {kOur4};
const std::array<net::Ip6, 1> kV6 = {kOur6};
net::LocalAddrs local() { return {kOurMac, kV4, kV6, 123}; }

net::Classified cls(const Frame& f, net::RxOffload rx = {}) { return net::classify(f, local(), rx); }

void expect_drop(const Frame& f, Drop d) {
  const auto c = cls(f);
  EXPECT_EQ(c.kind, Kind::kDrop);
  EXPECT_EQ(c.drop, d) << "got " << net::drop_name(c.drop) << ", want " << net::drop_name(d);
}

bool valid_l4(const Frame& f, bool v6, std::uint8_t proto) {
  const std::size_t l4 = v6 ? 54 : 34;
  const std::uint32_t ps = proto == 1 ? 0 : ref_pseudo(f, v6, proto, f.size() - l4);
  return ref_csum(f.data() + l4, f.size() - l4, ps) == 0;
}

}  // namespace

TEST(Checksum, Rfc1071Example) {
  const std::uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(net::csum_fold(net::csum_add(0, b)), 0x220d);  // RFC 1071 §3 sum ddf2
}

// Every length and alignment up to a jumbo-ish frame, random and all-ones
// bytes (the most carries), any starting sum: the word-wise sum equals the
// RFC 1071 byte-pair reference.
TEST(Checksum, MatchesTheByteReferenceAtEveryLengthAndAlignment) {
  std::vector<std::uint8_t> buf(2100);
  std::uint32_t x = 12345;
  for (auto& b : buf) b = static_cast<std::uint8_t>((x = x * 1103515245u + 12345u) >> 16);
  const std::vector<std::uint8_t> ones(2100, 0xff);
  const std::vector<std::uint8_t>* const srcs[] = {&buf, &ones};
  for (const auto* src : srcs)
    for (std::size_t off = 0; off < 8; ++off)
      for (std::size_t len = 0; len + off <= 2100; len += (len < 80 ? 1 : 37))
        for (std::uint32_t sum : {0u, 0x1234u, 0xfffeu}) {
          const std::span<const std::uint8_t> d(src->data() + off, len);
          ASSERT_EQ(net::csum_fold(net::csum_add(sum, d)), ref_csum(d.data(), d.size(), sum)) << "off " << off << " len " << len;
        }
}

// csum_copy sums a head and the bytes it copies as one stream: at every
// length and alignment (either side of the 64-byte AVX2 threshold), with
// heads of the lengths build_ntp_reply passes (IPv4 and IPv6 addresses and
// ports) or none, the byte-pair reference of head then src, the bytes
// copied, and nothing written past them.
TEST(Checksum, CopySumsHeadAndSrcAndCopiesExactly) {
  std::vector<std::uint8_t> src(700);
  std::uint32_t x = 4242;
  for (auto& b : src) b = static_cast<std::uint8_t>((x = x * 1103515245u + 12345u) >> 16);
  for (std::size_t head_len : {0u, 12u, 36u})
    for (std::size_t off = 0; off < 8; ++off)
      for (std::size_t len = 0; len + off <= 600; len += (len < 100 ? 1 : 29))
        for (std::uint32_t sum : {0u, 0xfffeu}) {
          const std::span<const std::uint8_t> head(src.data() + 640, head_len);
          const std::span<const std::uint8_t> d(src.data() + off, len);
          std::vector<std::uint8_t> dst(len + 16, 0x5a);
          std::vector<std::uint8_t> both(head.begin(), head.end());
          both.insert(both.end(), d.begin(), d.end());
          ASSERT_EQ(net::csum_fold(net::csum_copy(sum, head, dst.data() + 3, d)), ref_csum(both.data(), both.size(), sum))
              << "head " << head_len << " off " << off << " len " << len;
          ASSERT_TRUE(std::equal(d.begin(), d.end(), dst.begin() + 3)) << "len " << len;
          ASSERT_EQ(std::count(dst.begin(), dst.begin() + 3, 0x5a), 3);
          ASSERT_EQ(std::count(dst.begin() + 3 + static_cast<std::ptrdiff_t>(len), dst.end(), 0x5a), 13);
        }
}

TEST(Checksum, KnownIpv4Header) {
  const std::uint8_t h[] = {0x45, 0, 0, 0x73, 0, 0, 0x40, 0, 0x40, 0x11, 0, 0, 0xc0, 0xa8, 0, 1, 0xc0, 0xa8, 0, 0xc7};
  EXPECT_EQ(net::csum_fold(net::csum_add(0, h)), 0xb861);
}

TEST(Classify, NtpOverIpv4AndIpv6) {
  for (bool v6 : {false, true}) {
    const Frame f = udp_frame(v6, ntp_request(48));
    const auto c = cls(f);
    ASSERT_EQ(c.kind, Kind::kNtp) << net::drop_name(c.drop);
    EXPECT_EQ(c.ip6, v6);
    EXPECT_EQ(c.payload, v6 ? 62 : 42);
    EXPECT_EQ(c.payload_len, 48);
  }
}

TEST(Classify, EthernetPaddingIsIgnored) {
  Frame f = udp_frame(false, ntp_request(8));  // short frame: 14+20+8+8 = 50 < 60
  f.resize(60, 0);
  const auto c = cls(f);
  ASSERT_EQ(c.kind, Kind::kNtp);
  EXPECT_EQ(c.payload_len, 8);
}

TEST(Classify, Ipv4UdpZeroChecksumAccepted_Ipv6Rejected) {
  Frame f4 = udp_frame(false, ntp_request());
  put16(f4, 40, 0);
  EXPECT_EQ(cls(f4).kind, Kind::kNtp);
  Frame f6 = udp_frame(true, ntp_request());
  put16(f6, 60, 0);
  expect_drop(f6, Drop::kUdpChecksum);
}

TEST(Classify, TruncatedEverywhere) {
  expect_drop(Frame(13, 0), Drop::kTruncated);
  for (bool v6 : {false, true}) {
    const Frame f = udp_frame(v6, ntp_request());
    // Any cut inside the headers or payload is a defined drop, never an accept.
    for (std::size_t n = 14; n < f.size(); ++n) {
      const auto c = cls(Frame(f.begin(), f.begin() + static_cast<long>(n)));
      EXPECT_EQ(c.kind, Kind::kDrop) << n;
      EXPECT_EQ(c.drop, Drop::kTruncated) << n << " " << net::drop_name(c.drop);
    }
  }
  Frame a = arp_request();
  a.resize(40);
  expect_drop(a, Drop::kTruncated);
}

TEST(Classify, BadChecksums) {
  Frame ip = udp_frame(false, ntp_request());
  ip[24] ^= 1;
  expect_drop(ip, Drop::kIp4Checksum);
  for (bool v6 : {false, true}) {
    Frame u = udp_frame(v6, ntp_request());
    u.back() ^= 0x40;
    expect_drop(u, Drop::kUdpChecksum);
    Frame e = v6 ? echo6() : echo4();
    e.back() ^= 1;
    expect_drop(e, Drop::kIcmpChecksum);
  }
  Frame ns = neighbor_solicit();
  ns.back() ^= 1;
  expect_drop(ns, Drop::kIcmpChecksum);
}

TEST(Classify, NicVerifiedChecksumsAreTrusted) {
  Frame u = udp_frame(false, ntp_request());
  u[24] ^= 1;       // IP header checksum
  u.back() ^= 0x40;  // UDP checksum
  EXPECT_EQ(cls(u, {true, true}).kind, Kind::kNtp);
}

TEST(Classify, WrongDestinations) {
  Frame mac = udp_frame(false, ntp_request());
  mac[5] = 0x77;
  expect_drop(mac, Drop::kNotOurMac);
  const std::vector<std::uint8_t> u = {0x9c, 0x40, 0, 123, 0, 8, 0, 0};
  expect_drop(ip4_frame(17, u, {192, 0, 2, 99}), Drop::kNotOurAddress);
  expect_drop(ip6_frame(17, u, kPeer6), Drop::kNotOurAddress);
  expect_drop(udp_frame(false, ntp_request(), 124), Drop::kUdpPort);
  expect_drop(udp_frame(true, ntp_request(), 123, 0), Drop::kUdpPort);
  expect_drop(arp_request({192, 0, 2, 7}), Drop::kArpNotOurs);
  expect_drop(neighbor_solicit(kPeer6), Drop::kNotOurAddress);  // solicited-node of another address
  // Broadcast IPv4 is not for us even with our IP (only ARP may be broadcast).
  Frame b = udp_frame(false, ntp_request());
  std::fill(b.begin(), b.begin() + 6, 0xff);
  expect_drop(b, Drop::kNotOurMac);
}

TEST(Classify, FragmentsOptionsAndHeaders) {
  Frame mf = udp_frame(false, ntp_request());
  mf[20] |= 0x20;  // More Fragments
  put16(mf, 24, 0);
  put16(mf, 24, ref_csum(mf.data() + 14, 20));
  expect_drop(mf, Drop::kIp4Fragment);
  Frame off = udp_frame(false, ntp_request());
  put16(off, 20, 0x0010);  // fragment offset 16
  put16(off, 24, 0);
  put16(off, 24, ref_csum(off.data() + 14, 20));
  expect_drop(off, Drop::kIp4Fragment);

  Frame opt = udp_frame(false, ntp_request());
  opt[14] = 0x46;
  expect_drop(opt, Drop::kIp4Options);
  Frame ver = udp_frame(false, ntp_request());
  ver[14] = 0x55;
  expect_drop(ver, Drop::kIp4Header);
  Frame v6ver = udp_frame(true, ntp_request());
  v6ver[14] = 0x40;
  expect_drop(v6ver, Drop::kIp6Header);
  expect_drop(ip6_frame(44, std::vector<std::uint8_t>(16, 0)), Drop::kIp6ExtHeader);  // fragment header
  expect_drop(ip6_frame(0, std::vector<std::uint8_t>(16, 0)), Drop::kIp6ExtHeader);   // hop-by-hop
  expect_drop(ip4_frame(6, std::vector<std::uint8_t>(20, 0)), Drop::kProtocol);      // TCP
}

TEST(Classify, UdpLengthMismatch) {
  Frame f = udp_frame(false, ntp_request());
  put16(f, 38, 40);  // UDP says 40, IP says 56
  fix_l4(f, false, 17, 6);
  expect_drop(f, Drop::kUdpHeader);
}

TEST(Classify, BadSources) {
  Frame f = udp_frame(false, ntp_request());
  f[26] = 224;  // multicast source
  put16(f, 24, 0);
  put16(f, 24, ref_csum(f.data() + 14, 20));
  expect_drop(f, Drop::kIp4BadSource);
  net::Ip6 m{};
  m[0] = 0xff;
  Frame g = ip6_frame(17, {0x9c, 0x40, 0, 123, 0, 8, 0, 0}, kOur6, 64, m);
  expect_drop(g, Drop::kIp6BadSource);
}

TEST(Classify, VlanAndEthertype) {
  expect_drop(eth(kOurMac, kPeerMac, 0x8100), Drop::kVlan);
  Frame lldp = eth(kOurMac, kPeerMac, 0x88cc);
  lldp.resize(60);
  expect_drop(lldp, Drop::kEthertype);
}

TEST(Classify, ArpVariants) {
  EXPECT_EQ(cls(arp_request()).kind, Kind::kArpRequest);
  Frame reply = arp_request();
  reply[21] = 2;
  expect_drop(reply, Drop::kArpNotRequest);
  Frame bad = arp_request();
  bad[18] = 8;  // hlen 8
  expect_drop(bad, Drop::kArpMalformed);
}

TEST(Classify, IcmpVariants) {
  EXPECT_EQ(cls(echo4()).kind, Kind::kEchoRequest);
  EXPECT_EQ(cls(echo6()).kind, Kind::kEchoRequest);
  Frame unreach = echo4();
  unreach[34] = 3;
  fix_l4(unreach, false, 1, 2);
  expect_drop(unreach, Drop::kIcmpType);
  Frame ra = echo6();
  ra[54] = 134;  // router advertisement
  fix_l4(ra, true, 58, 2);
  expect_drop(ra, Drop::kIcmpType);
}

TEST(Classify, NeighborSolicitVariants) {
  EXPECT_EQ(cls(neighbor_solicit()).kind, Kind::kNeighborSolicit);
  EXPECT_EQ(cls(neighbor_solicit(kOur6, true)).kind, Kind::kNeighborSolicit);  // DAD
  Frame hops = neighbor_solicit();
  hops[21] = 64;  // RFC 4861 §7.1.1: must be 255
  expect_drop(hops, Drop::kNdMalformed);
  Frame zero_opt = neighbor_solicit();
  zero_opt[54 + 25] = 0;  // option length 0
  fix_l4(zero_opt, true, 58, 2);
  expect_drop(zero_opt, Drop::kNdMalformed);
  // Solicited-node multicast of our address but a target that is not ours.
  Frame other = neighbor_solicit();
  other[54 + 8 + 5] ^= 1;
  fix_l4(other, true, 58, 2);
  expect_drop(other, Drop::kNdNotOurs);
}

TEST(Build, NtpReplyIpv4AndIpv6) {
  for (bool v6 : {false, true}) {
    Frame f = udp_frame(v6, ntp_request(72));
    f.resize(f.size() + 64);  // spare buffer capacity
    const auto c = cls(Frame(f.begin(), f.end() - 64));
    ASSERT_EQ(c.kind, Kind::kNtp);
    std::vector<std::uint8_t> resp(60, 0xab);
    const std::size_t n = net::build_ntp_reply(f, c, resp);
    ASSERT_EQ(n, (v6 ? 62u : 42u) + 60u);
    f.resize(n);
    EXPECT_TRUE(std::equal(kPeerMac.begin(), kPeerMac.end(), f.begin()));
    EXPECT_TRUE(std::equal(kOurMac.begin(), kOurMac.end(), f.begin() + 6));
    const std::size_t l4 = v6 ? 54 : 34;
    EXPECT_EQ(get16(f, l4), 123);
    EXPECT_EQ(get16(f, l4 + 2), 40000);
    EXPECT_EQ(get16(f, l4 + 4), 68);
    EXPECT_TRUE(valid_l4(f, v6, 17));
    if (v6) {
      EXPECT_TRUE(std::equal(kOur6.begin(), kOur6.end(), f.begin() + 22));
      EXPECT_TRUE(std::equal(kPeer6.begin(), kPeer6.end(), f.begin() + 38));
      EXPECT_EQ(get16(f, 18), 68);
    } else {
      EXPECT_TRUE(std::equal(kOur4.begin(), kOur4.end(), f.begin() + 26));
      EXPECT_TRUE(std::equal(kPeer4.begin(), kPeer4.end(), f.begin() + 30));
      EXPECT_EQ(get16(f, 16), 88);
      EXPECT_EQ(ref_csum(f.data() + 14, 20), 0);
    }
    EXPECT_EQ(f[l4 + 8], 0xab);
  }
}

// The checksums are summed from values before the reply is written
// (build.cpp): whatever the payload's length (odd ones included) and bytes,
// the finished frame's IPv4 header and UDP checksums verify by the byte-pair
// reference, and with TX offload the field holds the pseudo-header sum.
TEST(Build, NtpReplyChecksumsVerifyForEveryPayloadLength) {
  std::uint32_t x = 777;
  for (bool v6 : {false, true})
    for (std::size_t rlen = 0; rlen <= 260; rlen += (rlen < 80 ? 1 : 13)) {
      Frame f = udp_frame(v6, ntp_request(rlen < 48 ? 48 : rlen));
      const auto c = cls(f);
      ASSERT_EQ(c.kind, Kind::kNtp);
      f.resize(f.size() + 300);
      std::vector<std::uint8_t> resp(rlen);
      for (auto& b : resp) b = static_cast<std::uint8_t>((x = x * 1103515245u + 12345u) >> 16);
      if (rlen % 5 == 0) std::fill(resp.begin(), resp.end(), 0xff);  // the most carries
      Frame off = f;
      const std::size_t n = net::build_ntp_reply(f, c, resp);
      ASSERT_EQ(n, (v6 ? 62u : 42u) + rlen);
      f.resize(n);
      EXPECT_TRUE(valid_l4(f, v6, 17)) << "v6 " << v6 << " len " << rlen;
      if (!v6) {
        EXPECT_EQ(ref_csum(f.data() + 14, 20), 0) << "len " << rlen;
      }
      const std::size_t l4 = v6 ? 54 : 34;
      EXPECT_NE(get16(f, l4 + 6), 0);  // RFC 768: a zero sum goes out as 0xffff
      ASSERT_EQ(net::build_ntp_reply(off, c, resp, true), n);
      off.resize(n);
      const std::uint32_t ph = ref_pseudo(off, v6, 17, n - l4);
      std::uint32_t folded = ph;
      while (folded >> 16) folded = (folded & 0xffff) + (folded >> 16);
      EXPECT_EQ(get16(off, l4 + 6), folded) << "v6 " << v6 << " len " << rlen;
      EXPECT_TRUE(std::equal(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(l4 + 6), off.begin()));
    }
}

// A payload that is the frame's own (the core answering in place) takes the
// memmove path, one apart from it is summed as it is copied: the same frame
// either way, for both address families and lengths either side of 64.
TEST(Build, NtpReplyInPlaceEqualsCopied) {
  for (bool v6 : {false, true})
    for (std::size_t rlen : {48u, 60u, 64u, 96u, 228u}) {
      Frame f = udp_frame(v6, ntp_request(rlen));
      const auto c = cls(f);
      ASSERT_EQ(c.kind, Kind::kNtp);
      const std::size_t l4 = v6 ? 54 : 34;
      std::uint32_t x = 99;
      for (std::size_t i = l4 + 8; i < f.size(); ++i)
        f[i] = static_cast<std::uint8_t>((x = x * 1103515245u + 12345u) >> 16);
      Frame apart = f;
      const std::vector<std::uint8_t> resp(f.begin() + static_cast<std::ptrdiff_t>(l4 + 8), f.end());
      const std::size_t n = net::build_ntp_reply(apart, c, resp);
      ASSERT_EQ(n, f.size());
      const std::size_t m = net::build_ntp_reply(f, c, net::Bytes(f.data() + l4 + 8, rlen));
      ASSERT_EQ(m, n);
      EXPECT_EQ(f, apart) << "v6 " << v6 << " len " << rlen;
      EXPECT_TRUE(valid_l4(f, v6, 17));
    }
}

TEST(Build, NtpReplyRefusesTooSmallBuffer) {
  Frame f = udp_frame(false, ntp_request(48));
  const auto c = cls(f);
  std::vector<std::uint8_t> resp(49, 0);
  EXPECT_EQ(net::build_ntp_reply(f, c, resp), 0u);
}

TEST(Build, ArpReply) {
  Frame f = arp_request();
  const auto c = cls(f);
  ASSERT_EQ(net::build_arp_reply(f, f.size(), c, kOurMac), 42u);
  EXPECT_TRUE(std::equal(kPeerMac.begin(), kPeerMac.end(), f.begin()));
  EXPECT_EQ(get16(f, 20), 2);
  EXPECT_TRUE(std::equal(kOurMac.begin(), kOurMac.end(), f.begin() + 22));
  EXPECT_TRUE(std::equal(kOur4.begin(), kOur4.end(), f.begin() + 28));
  EXPECT_TRUE(std::equal(kPeerMac.begin(), kPeerMac.end(), f.begin() + 32));
  EXPECT_TRUE(std::equal(kPeer4.begin(), kPeer4.end(), f.begin() + 38));
}

TEST(Build, EchoReplies) {
  Frame e4 = echo4(32);
  auto c = cls(e4);
  ASSERT_EQ(net::build_echo_reply(e4, e4.size(), c), e4.size());
  EXPECT_EQ(e4[34], 0);
  EXPECT_TRUE(valid_l4(e4, false, 1));
  EXPECT_EQ(ref_csum(e4.data() + 14, 20), 0);
  EXPECT_TRUE(std::equal(kPeer4.begin(), kPeer4.end(), e4.begin() + 30));

  Frame e6 = echo6(32);
  c = cls(e6);
  ASSERT_EQ(net::build_echo_reply(e6, e6.size(), c), e6.size());
  EXPECT_EQ(e6[54], 129);
  EXPECT_TRUE(valid_l4(e6, true, 58));
}

TEST(Build, NeighborAdvertisement) {
  for (bool dad : {false, true}) {
    Frame f = neighbor_solicit(kOur6, dad);
    const auto c = cls(f);
    ASSERT_EQ(c.kind, Kind::kNeighborSolicit);
    f.resize(128);
    const std::size_t n = net::build_neighbor_advert(f, c, kOurMac);
    ASSERT_EQ(n, 86u);
    f.resize(n);
    EXPECT_EQ(f[54], 136);
    EXPECT_EQ(f[21], 255);
    EXPECT_EQ(f[58], dad ? 0x20 : 0x60);
    EXPECT_TRUE(std::equal(kOur6.begin(), kOur6.end(), f.begin() + 22));
    EXPECT_EQ(f[38], dad ? 0xff : 0x20);
    EXPECT_TRUE(std::equal(kOurMac.begin(), kOurMac.end(), f.begin() + 54 + 26));
    EXPECT_TRUE(valid_l4(f, true, 58));
  }
}

TEST(Names, EveryDropReasonHasAUniqueName) {
  std::set<std::string> names;
  for (std::size_t i = 0; i < net::kDropCount; ++i) {
    const std::string n = net::drop_name(static_cast<Drop>(i));
    EXPECT_NE(n, "unknown");
    EXPECT_TRUE(names.insert(n).second) << n;
  }
}

TEST(Classify, OurOwnSourceIsDropped_RepliesNeverLoop) {
  // A reply we build is addressed from us: fed back, it must not be answered.
  for (bool v6 : {false, true}) {
    Frame f = udp_frame(v6, ntp_request(), 123, 123);
    auto c = cls(f);
    ASSERT_EQ(c.kind, Kind::kNtp);
    std::vector<std::uint8_t> resp(48, 1);
    const std::size_t n = net::build_ntp_reply(f, c, resp);
    f.resize(n);
    std::copy(kOurMac.begin(), kOurMac.end(), f.begin());  // as if looped back to our MAC
    expect_drop(f, v6 ? Drop::kIp6BadSource : Drop::kIp4BadSource);
  }
}

namespace {

// A valid UDP/123 request frame from `src` (checksums fixed), IPv4.
Frame udp4_from(net::Ip4 src) {
  Frame f = udp_frame(false, ntp_request());
  std::copy(src.begin(), src.end(), f.begin() + 26);
  put16(f, 24, 0);
  put16(f, 24, ref_csum(f.data() + 14, 20));
  fix_l4(f, false, 17, 6);
  return f;
}

// The same over IPv6 from `src`.
Frame udp6_from(net::Ip6 src) {
  Frame f = udp_frame(true, ntp_request());
  std::copy(src.begin(), src.end(), f.begin() + 22);
  fix_l4(f, true, 17, 6);
  return f;
}

}  // namespace

// Spoofed-source reflection: requests from sources that cannot have sent
// them never reach the core (packet.hpp, bad_source_ip4/6).
TEST(Classify, SpoofedIpv4SourcesAreDropped) {
  const net::Ip4 bad[] = {{127, 0, 0, 1}, {127, 255, 1, 2}, {0, 0, 0, 0}, {0, 1, 2, 3},
                          {224, 0, 1, 1}, {239, 1, 1, 1}, {240, 0, 0, 1}, {255, 255, 255, 255}};
  for (const auto& s : bad) {
    SCOPED_TRACE(int(s[0]));
    expect_drop(udp4_from(s), Drop::kIp4BadSource);
    EXPECT_TRUE(net::bad_source_ip4(s));
  }
  // Neighbours of the bad ranges are ordinary clients.
  const net::Ip4 good[] = {{1, 0, 0, 1}, {126, 255, 255, 255}, {128, 0, 0, 1}, {223, 255, 255, 254}, {10, 1, 2, 3}};
  for (const auto& s : good) {
    SCOPED_TRACE(int(s[0]));
    EXPECT_EQ(cls(udp4_from(s)).kind, Kind::kNtp);
    EXPECT_FALSE(net::bad_source_ip4(s));
  }
}

TEST(Classify, SpoofedIpv6SourcesAreDropped) {
  net::Ip6 loop{}, any{}, mapped_loop{}, mapped{}, mcast{};
  loop[15] = 1;
  mapped_loop[10] = mapped_loop[11] = 0xff;
  mapped_loop[12] = 127;
  mapped_loop[15] = 1;
  mapped[10] = mapped[11] = 0xff;
  mapped[12] = 192;
  mapped[15] = 7;
  mcast[0] = 0xff;
  mcast[1] = 0x0e;
  mcast[15] = 1;
  for (const auto& s : {loop, any, mapped_loop, mapped, mcast}) {
    SCOPED_TRACE(int(s[15]));
    expect_drop(udp6_from(s), Drop::kIp6BadSource);
    EXPECT_TRUE(net::bad_source_ip6(s));
  }
  net::Ip6 v4compat_like{};  // ::2 is unassigned, not loopback: not ours to judge
  v4compat_like[15] = 2;
  EXPECT_FALSE(net::bad_source_ip6(v4compat_like));
  EXPECT_EQ(cls(udp6_from(kPeer6)).kind, Kind::kNtp);
  // ICMPv6 echo from :: is dropped too; only DAD may use the unspecified source.
  Frame e = echo6();
  std::fill(e.begin() + 22, e.begin() + 38, 0);
  fix_l4(e, true, 58, 2);
  expect_drop(e, Drop::kIp6BadSource);
  EXPECT_EQ(cls(neighbor_solicit(kOur6, true)).kind, Kind::kNeighborSolicit);
  // An NS from ::1 is no DAD: dropped.
  Frame ns = neighbor_solicit();
  std::copy(loop.begin(), loop.end(), ns.begin() + 22);
  fix_l4(ns, true, 58, 2);
  expect_drop(ns, Drop::kIp6BadSource);
}

TEST(Classify, LoopbackHelpers) {
  EXPECT_TRUE(net::is_loopback_ip4(net::Ip4{127, 0, 0, 1}));
  EXPECT_TRUE(net::is_loopback_ip4(net::Ip4{127, 9, 9, 9}));
  EXPECT_FALSE(net::is_loopback_ip4(net::Ip4{128, 0, 0, 1}));
  net::Ip6 l{};
  l[15] = 1;
  EXPECT_TRUE(net::is_loopback_ip6(l));
  l[15] = 0;
  EXPECT_FALSE(net::is_loopback_ip6(l));
}

// The socket backend's rule: loopback sources only towards loopback.
TEST(Classify, HostSourceRules) {
  const net::Ip4 lo{127, 0, 0, 1}, lo2{127, 1, 2, 3}, pub{192, 0, 2, 1}, zero{0, 0, 0, 0}, mc{224, 0, 0, 1};
  EXPECT_TRUE(net::host_source_ok_ip4(lo, lo2));    // stayed inside the host
  EXPECT_FALSE(net::host_source_ok_ip4(lo, pub));   // 127/8 towards a public address: spoofed
  EXPECT_TRUE(net::host_source_ok_ip4(pub, pub));
  EXPECT_TRUE(net::host_source_ok_ip4(pub, lo));
  EXPECT_FALSE(net::host_source_ok_ip4(zero, lo));  // 0/8 is never fine
  EXPECT_FALSE(net::host_source_ok_ip4(mc, lo));
  net::Ip6 l6{}, any{}, mapped_lo{};
  l6[15] = 1;
  mapped_lo[10] = mapped_lo[11] = 0xff;
  mapped_lo[12] = 127;
  mapped_lo[15] = 1;
  EXPECT_TRUE(net::host_source_ok_ip6(l6, l6));
  EXPECT_FALSE(net::host_source_ok_ip6(l6, kOur6));
  EXPECT_FALSE(net::host_source_ok_ip6(any, l6));
  EXPECT_FALSE(net::host_source_ok_ip6(mapped_lo, l6));
  EXPECT_TRUE(net::host_source_ok_ip6(kPeer6, kOur6));
}
