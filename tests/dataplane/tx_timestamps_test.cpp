// The socket backend's TX-timestamp bookkeeping (dataplane/socket/src/
// tx_timestamps.hpp): parsing looped-back packets, matching them to tickets
// by the kernel's numbering with the packet as the check, re-aligning when
// the numbering slips, and which timestamp is the TX time on which clock.
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "tx_timestamps.hpp"

namespace ntsd::sock {
namespace {

// An Ethernet/IPv4/UDP/NTP frame to `to`:`port` whose NTP receive field is `rx`.
std::vector<std::uint8_t> frame4(std::array<std::uint8_t, 4> to, std::uint16_t port, std::uint64_t rx,
                                 std::uint8_t mac0 = 0x46, bool vlan = false) {
  const std::size_t l2 = vlan ? 18 : 14;
  std::vector<std::uint8_t> f(l2 + 20 + 8 + 48, 0);
  f[0] = mac0;  // a MAC that starts like an IPv4 header
  if (vlan) {
    f[12] = 0x81;
    f[15] = 0x05;
    f[16] = 0x08;
  } else {
    f[12] = 0x08;
  }
  std::uint8_t* ip = f.data() + l2;
  ip[0] = 0x45;
  ip[9] = 17;
  for (int i = 0; i < 4; ++i) ip[16 + i] = to[static_cast<std::size_t>(i)];
  std::uint8_t* udp = ip + 20;
  udp[1] = 123;
  udp[2] = static_cast<std::uint8_t>(port >> 8);
  udp[3] = static_cast<std::uint8_t>(port);
  std::uint8_t* ntp = udp + 8;
  for (int i = 0; i < 8; ++i) ntp[32 + i] = static_cast<std::uint8_t>(rx >> (56 - 8 * i));
  return f;
}

Looped expect4(std::array<std::uint8_t, 4> to, std::uint16_t port, std::uint64_t rx) {
  Looped l;
  l.to = limit::Address::from_ip4(to);
  l.port = port;
  l.receive = rx;
  return l;
}

TEST(TxTimestamps, ParsesEthernetVlanAndBareIp) {
  Looped l;
  ASSERT_TRUE(parse_looped(frame4({198, 18, 0, 7}, 4000, 0x1234), l));
  EXPECT_EQ(l.port, 4000);
  EXPECT_EQ(l.receive, 0x1234u);
  EXPECT_EQ(l.to.bytes[3], 7);
  ASSERT_TRUE(parse_looped(frame4({198, 18, 0, 8}, 4001, 0x99, 0x00, true), l));
  EXPECT_EQ(l.port, 4001);
  auto bare = frame4({198, 18, 0, 9}, 4002, 0x77);
  bare.erase(bare.begin(), bare.begin() + 14);
  ASSERT_TRUE(parse_looped(bare, l));
  EXPECT_EQ(l.receive, 0x77u);
  // Truncated before the NTP receive field, or not UDP: no.
  auto cut = frame4({198, 18, 0, 9}, 4002, 0x77);
  cut.resize(cut.size() - 10);
  EXPECT_FALSE(parse_looped(cut, l));
  auto tcp = frame4({198, 18, 0, 9}, 4002, 0x77);
  tcp[14 + 9] = 6;
  EXPECT_FALSE(parse_looped(tcp, l));
  EXPECT_FALSE(parse_looped({}, l));
}

TEST(TxTimestamps, ParsesIpv6) {
  std::vector<std::uint8_t> f(14 + 40 + 8 + 48, 0);
  f[12] = 0x86;
  f[13] = 0xdd;
  std::uint8_t* ip = f.data() + 14;
  ip[0] = 0x60;
  ip[6] = 17;
  ip[24] = 0x20;
  ip[25] = 0x01;
  ip[39] = 5;
  std::uint8_t* udp = ip + 40;
  udp[2] = 0x30;
  udp[3] = 0x39;
  udp[8 + 39] = 0x42;
  Looped l;
  ASSERT_TRUE(parse_looped(f, l));
  EXPECT_TRUE(l.to.v6);
  EXPECT_EQ(l.to.bytes[15], 5);
  EXPECT_EQ(l.port, 12345);
  EXPECT_EQ(l.receive, 0x42u);
}

TEST(TxTimestamps, MatchesByNumberAndChecksThePacket) {
  TxTimestamps t(2, 32);
  t.sent(0, 111, expect4({198, 18, 0, 1}, 1000, 0xa1));
  t.sent(0, 222, expect4({198, 18, 0, 2}, 1001, 0xa3));
  t.sent(1, 333, expect4({198, 18, 0, 3}, 1002, 0xa5));  // another socket numbers from 0 too
  EXPECT_EQ(t.match(0, 0, frame4({198, 18, 0, 1}, 1000, 0xa1)), 111u);
  EXPECT_EQ(t.match(0, 1, frame4({198, 18, 0, 2}, 1001, 0xa3)), 222u);
  EXPECT_EQ(t.match(1, 0, frame4({198, 18, 0, 3}, 1002, 0xa5)), 333u);
  // A packet that is not what was sent under that number: never its ticket.
  EXPECT_EQ(t.match(0, 1, frame4({198, 18, 0, 9}, 1001, 0xa3)), xleave::kNoTicket);
  EXPECT_EQ(t.match(0, 1, frame4({198, 18, 0, 2}, 1001, 0xa9)), xleave::kNoTicket);
  EXPECT_EQ(t.match(0, 7, frame4({198, 18, 0, 2}, 1002, 0xa3)), xleave::kNoTicket);
}

TEST(TxTimestamps, RealignsWhenTheKernelSpentANumber) {
  TxTimestamps t(1, 32);
  for (std::uint64_t i = 0; i < 6; ++i)
    t.sent(0, 100 + i, expect4({198, 18, 0, static_cast<std::uint8_t>(i)}, 2000, 0xb1 + 2 * i));
  EXPECT_EQ(t.match(0, 0, frame4({198, 18, 0, 0}, 2000, 0xb1)), 100u);
  // The kernel numbered a datagram sendmmsg then refused: ids run one ahead.
  EXPECT_EQ(t.match(0, 2, frame4({198, 18, 0, 1}, 2000, 0xb3)), 101u);  // found by its packet
  EXPECT_EQ(t.match(0, 3, frame4({198, 18, 0, 2}, 2000, 0xb5)), 102u);  // and the numbering follows
  EXPECT_EQ(t.match(0, 4, frame4({198, 18, 0, 3}, 2000, 0xb7)), 103u);
}

TEST(TxTimestamps, WhichTimestampOnWhichClock) {
  const clock::LeapStep tai{clock::UnixNs{1} << 62, 37'000'000'000, 37'000'000'000};
  TxTimes sw{1000, 0}, hw{1000, 5000}, none{};
  EXPECT_EQ(tx_time(sw, TxSource::kSystem, 77, tai), 1000);
  EXPECT_EQ(tx_time(hw, TxSource::kSystem, 77, tai), 1000);  // the NIC's PHC is not the served clock
  EXPECT_EQ(tx_time(sw, TxSource::kOther, 77, tai), 1077);   // moved onto the served clock
  EXPECT_EQ(tx_time(hw, TxSource::kPhcUtc, 77, tai), 5000);  // the served PHC's own reading
  EXPECT_EQ(tx_time(hw, TxSource::kPhcTai, 77, tai), 5000 - 37'000'000'000);
  EXPECT_EQ(tx_time(sw, TxSource::kPhcTai, 77, tai), 1077);  // no hardware stamp: software + offset
  EXPECT_EQ(tx_time(none, TxSource::kSystem, 0, tai), 0);
}

}  // namespace
}  // namespace ntsd::sock
