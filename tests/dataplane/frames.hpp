// Test frame builders for the classifier tests and fuzzer seeds. They compute
// checksums with their own straightforward RFC 1071 loop, independent of the
// code under test.
#pragma once

#include <cstdint>
#include <vector>

#include "ntsd/net/packet.hpp"

namespace ntsd::test {

using Frame = std::vector<std::uint8_t>;

inline const net::Mac kOurMac = {0x02, 0, 0, 0, 0, 0x01};
inline const net::Mac kPeerMac = {0x02, 0, 0, 0, 0, 0x02};
inline const net::Ip4 kOur4 = {192, 0, 2, 1};
inline const net::Ip4 kPeer4 = {192, 0, 2, 2};
inline const net::Ip6 kOur6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
inline const net::Ip6 kPeer6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

inline std::uint16_t ref_csum(const std::uint8_t* p, std::size_t n, std::uint32_t sum = 0) {
  for (std::size_t i = 0; i < n; ++i) sum += (i % 2 == 0) ? p[i] << 8 : p[i];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}
inline void put16(Frame& f, std::size_t o, std::uint16_t v) {
  f[o] = static_cast<std::uint8_t>(v >> 8);
  f[o + 1] = static_cast<std::uint8_t>(v);
}
inline std::uint16_t get16(const Frame& f, std::size_t o) {
  return static_cast<std::uint16_t>(f[o] << 8 | f[o + 1]);
}

inline Frame eth(const net::Mac& dst, const net::Mac& src, std::uint16_t type) {
  Frame f(dst.begin(), dst.end());
  f.insert(f.end(), src.begin(), src.end());
  f.push_back(static_cast<std::uint8_t>(type >> 8));
  f.push_back(static_cast<std::uint8_t>(type));
  return f;
}

// Sum of the pseudo header (not folded) for checksum computation.
inline std::uint32_t ref_pseudo(const Frame& f, bool v6, std::uint8_t proto, std::size_t len) {
  std::uint32_t s = 0;
  const std::size_t a = v6 ? 22 : 26, n = v6 ? 32 : 8;
  for (std::size_t i = 0; i < n; i += 2) s += get16(f, a + i);
  return s + proto + static_cast<std::uint32_t>(len >> 16) + static_cast<std::uint32_t>(len & 0xffff);
}

inline Frame ip4_frame(std::uint8_t proto, const std::vector<std::uint8_t>& l4, net::Ip4 dst = kOur4) {
  Frame f = eth(kOurMac, kPeerMac, 0x0800);
  const std::size_t total = 20 + l4.size();
  const std::uint8_t h[20] = {0x45, 0, static_cast<std::uint8_t>(total >> 8), static_cast<std::uint8_t>(total),
                              0x12, 0x34, 0x40, 0, 64, proto, 0, 0,
                              kPeer4[0], kPeer4[1], kPeer4[2], kPeer4[3], dst[0], dst[1], dst[2], dst[3]};
  f.insert(f.end(), h, h + 20);
  put16(f, 24, ref_csum(f.data() + 14, 20));
  f.insert(f.end(), l4.begin(), l4.end());
  return f;
}

inline Frame ip6_frame(std::uint8_t nh, const std::vector<std::uint8_t>& l4, net::Ip6 dst = kOur6,
                       std::uint8_t hops = 64, net::Ip6 src = kPeer6, net::Mac dmac = kOurMac) {
  Frame f = eth(dmac, kPeerMac, 0x86dd);
  const std::uint8_t h[8] = {0x60, 0, 0, 0, static_cast<std::uint8_t>(l4.size() >> 8),
                             static_cast<std::uint8_t>(l4.size()), nh, hops};
  f.insert(f.end(), h, h + 8);
  f.insert(f.end(), src.begin(), src.end());
  f.insert(f.end(), dst.begin(), dst.end());
  f.insert(f.end(), l4.begin(), l4.end());
  return f;
}

// Fills the L4 checksum at byte `at` of the L4 header.
inline void fix_l4(Frame& f, bool v6, std::uint8_t proto, std::size_t at) {
  const std::size_t l4 = v6 ? 54 : 34;
  const std::size_t len = f.size() - l4;
  put16(f, l4 + at, 0);
  const std::uint32_t ps = proto == 1 ? 0 : ref_pseudo(f, v6, proto, len);
  std::uint16_t s = ref_csum(f.data() + l4, len, ps);
  if (proto == 17 && s == 0) s = 0xffff;
  put16(f, l4 + at, s);
}

inline std::vector<std::uint8_t> ntp_request(std::size_t len = 48) {
  std::vector<std::uint8_t> p(len, 0);
  p[0] = 0x23;  // LI 0, VN 4, mode 3
  for (std::size_t i = 40; i < 48 && i < len; ++i) p[i] = static_cast<std::uint8_t>(i);
  return p;
}

inline Frame udp_frame(bool v6, const std::vector<std::uint8_t>& payload, std::uint16_t dport = 123,
                       std::uint16_t sport = 40000) {
  std::vector<std::uint8_t> u(8);
  u[0] = static_cast<std::uint8_t>(sport >> 8);
  u[1] = static_cast<std::uint8_t>(sport);
  u[2] = static_cast<std::uint8_t>(dport >> 8);
  u[3] = static_cast<std::uint8_t>(dport);
  u[4] = static_cast<std::uint8_t>((8 + payload.size()) >> 8);
  u[5] = static_cast<std::uint8_t>(8 + payload.size());
  u.insert(u.end(), payload.begin(), payload.end());
  Frame f = v6 ? ip6_frame(17, u) : ip4_frame(17, u);
  fix_l4(f, v6, 17, 6);
  return f;
}

inline Frame arp_request(net::Ip4 target = kOur4) {
  Frame f = eth({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, kPeerMac, 0x0806);
  const std::uint8_t a[28] = {0, 1, 8, 0, 6, 4, 0, 1,
                              kPeerMac[0], kPeerMac[1], kPeerMac[2], kPeerMac[3], kPeerMac[4], kPeerMac[5],
                              kPeer4[0], kPeer4[1], kPeer4[2], kPeer4[3],
                              0, 0, 0, 0, 0, 0, target[0], target[1], target[2], target[3]};
  f.insert(f.end(), a, a + 28);
  return f;
}

inline Frame echo4(std::size_t data_len = 16) {
  std::vector<std::uint8_t> m = {8, 0, 0, 0, 0x12, 0x34, 0, 1};
  for (std::size_t i = 0; i < data_len; ++i) m.push_back(static_cast<std::uint8_t>(i));
  Frame f = ip4_frame(1, m);
  fix_l4(f, false, 1, 2);
  return f;
}

inline Frame echo6(std::size_t data_len = 16) {
  std::vector<std::uint8_t> m = {128, 0, 0, 0, 0x12, 0x34, 0, 1};
  for (std::size_t i = 0; i < data_len; ++i) m.push_back(static_cast<std::uint8_t>(i));
  Frame f = ip6_frame(58, m);
  fix_l4(f, true, 58, 2);
  return f;
}

inline net::Ip6 solicited_node(const net::Ip6& a) {
  return {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, a[13], a[14], a[15]};
}

inline Frame neighbor_solicit(net::Ip6 target = kOur6, bool dad = false) {
  std::vector<std::uint8_t> m = {135, 0, 0, 0, 0, 0, 0, 0};
  m.insert(m.end(), target.begin(), target.end());
  if (!dad) {
    m.insert(m.end(), {1, 1});
    m.insert(m.end(), kPeerMac.begin(), kPeerMac.end());
  }
  const net::Ip6 dst = solicited_node(target);
  const net::Mac dmac = {0x33, 0x33, 0xff, target[13], target[14], target[15]};
  Frame f = ip6_frame(58, m, dst, 255, dad ? net::Ip6{} : kPeer6, dmac);
  fix_l4(f, true, 58, 2);
  return f;
}

}  // namespace ntsd::test
