// The exception path's policy (dataplane/dpdk/src/exception.cpp,
// for_kernel): which frames the dataplane does not answer go to the kernel
// interface. Everything for this host that is not ntsd's work does; NTP,
// malformed frames, spoofed sources and frames for other MACs never do.
#include <gtest/gtest.h>

#include "frames.hpp"
#include "impl.hpp"

using namespace ntsd;
using namespace ntsd::test;

namespace {

const std::vector<net::Ip4> kIp4 = {kOur4};
const std::vector<net::Ip6> kIp6 = {kOur6};

bool to_kernel(const Frame& f) {
  net::LocalAddrs l;
  l.mac = kOurMac;
  l.ip4 = kIp4;
  l.ip6 = kIp6;
  const net::Classified c = net::classify(f, l);
  return dpdk::for_kernel(f, c);
}

Frame tcp_syn(bool v6, std::uint16_t dport) {
  std::vector<std::uint8_t> t(20, 0);
  t[0] = 0x9c;
  t[1] = 0x40;
  t[2] = static_cast<std::uint8_t>(dport >> 8);
  t[3] = static_cast<std::uint8_t>(dport);
  t[12] = 0x50;
  t[13] = 0x02;  // SYN
  Frame f = v6 ? ip6_frame(6, t) : ip4_frame(6, t);
  fix_l4(f, v6, 6, 16);
  return f;
}

}  // namespace

TEST(ExceptionPolicy, NtpAndHostDutiesStayInTheDataplane) {
  EXPECT_FALSE(to_kernel(udp_frame(false, ntp_request())));
  EXPECT_FALSE(to_kernel(udp_frame(true, ntp_request())));
  EXPECT_FALSE(to_kernel(arp_request()));        // answered by ntsd
  EXPECT_FALSE(to_kernel(neighbor_solicit()));   // answered by ntsd
}

TEST(ExceptionPolicy, HostTrafficGoesToTheKernel) {
  EXPECT_TRUE(to_kernel(tcp_syn(false, 4460)));  // NTS-KE on the same address
  EXPECT_TRUE(to_kernel(tcp_syn(true, 22)));     // SSH over IPv6
  EXPECT_TRUE(to_kernel(echo4()));               // ping checks the host path
  EXPECT_TRUE(to_kernel(echo6()));
  EXPECT_TRUE(to_kernel(udp_frame(false, {1, 2, 3, 4}, 53)));   // UDP to another port
  EXPECT_TRUE(to_kernel(arp_request({192, 0, 2, 9})));          // ARP for another address
  Frame reply = arp_request();
  put16(reply, 20, 2);                                          // an ARP reply to the kernel's request
  std::copy(kOurMac.begin(), kOurMac.end(), reply.begin());
  EXPECT_TRUE(to_kernel(reply));
  EXPECT_TRUE(to_kernel(neighbor_solicit({0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9})));  // NS for link-local
}

TEST(ExceptionPolicy, NtpNeverReachesTheKernel) {
  // NTP from source port 0 (the classifier's udp_port drop) is still NTP.
  EXPECT_FALSE(to_kernel(udp_frame(false, ntp_request(), 123, 0)));
  // A bad checksum on NTP: dropped, not handed on.
  Frame bad = udp_frame(false, ntp_request());
  bad.back() ^= 1;
  EXPECT_FALSE(to_kernel(bad));
  // NTP to another address of this host (the kernel's): still not the kernel's.
  Frame other = udp_frame(false, ntp_request());
  other[33] = 9;  // 192.0.2.9
  put16(other, 24, 0);
  put16(other, 24, ref_csum(other.data() + 14, 20));
  fix_l4(other, false, 17, 6);
  EXPECT_FALSE(to_kernel(other));
  // An IPv4 fragment of UDP: it may be NTP.
  Frame frag = udp_frame(false, ntp_request());
  put16(frag, 20, 0x2000);  // MF
  put16(frag, 24, 0);
  put16(frag, 24, ref_csum(frag.data() + 14, 20));
  EXPECT_FALSE(to_kernel(frag));
  // An IPv6 Fragment header.
  EXPECT_FALSE(to_kernel(ip6_frame(44, std::vector<std::uint8_t>(16, 0))));
}

TEST(ExceptionPolicy, MalformedAndForeignFramesAreDropped) {
  Frame foreign = tcp_syn(false, 22);
  foreign[5] = 0x77;  // another host's MAC
  EXPECT_FALSE(to_kernel(foreign));
  Frame badip = tcp_syn(false, 22);
  badip[24] ^= 0xff;  // IPv4 header checksum
  EXPECT_FALSE(to_kernel(badip));
  Frame spoofed = tcp_syn(false, 22);
  spoofed[26] = 127;  // from 127.x: never answered
  put16(spoofed, 24, 0);
  put16(spoofed, 24, ref_csum(spoofed.data() + 14, 20));
  EXPECT_FALSE(to_kernel(spoofed));
  Frame shortf = tcp_syn(false, 22);
  shortf.resize(20);
  EXPECT_FALSE(to_kernel(shortf));
}
