#include "frames.hpp"

#include <arpa/inet.h>

#include <bit>
#include <cstdio>
#include <cstring>

#include "ntsd/net/packet.hpp"

namespace ntsgen {
namespace {

void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
std::uint16_t get16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
void put32(std::uint8_t* p, std::uint32_t v) {
  v = htonl(v);
  std::memcpy(p, &v, 4);
}
std::uint32_t get32(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return ntohl(v);
}

constexpr std::uint16_t kBasePort = 20000;

// A 32-bit value as two 16-bit words of a one's complement sum (RFC 1071).
std::uint32_t words(std::uint32_t v) noexcept { return (v >> 16) + (v & 0xffff); }

}  // namespace

bool parse_mac(const std::string& s, Mac& mac) {
  unsigned v[6];
  char tail;
  if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
    return false;
  for (int i = 0; i < 6; ++i) {
    if (v[i] > 255) return false;
    mac[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v[i]);
  }
  return true;
}

bool parse_ip(const std::string& s, std::array<std::uint8_t, 16>& ip, bool& v6) {
  ip.fill(0);
  if (inet_pton(AF_INET, s.c_str(), ip.data()) == 1) {
    v6 = false;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), ip.data()) == 1) {
    v6 = true;
    return true;
  }
  return false;
}

void FrameBuilder::prepare() noexcept {
  if (c_.addrs == 0) c_.addrs = 1;
  const bool pow2 = (c_.addrs & (c_.addrs - 1)) == 0;
  addr_shift_ = pow2 ? std::countr_zero(c_.addrs) : -1;
  addr_mask_ = c_.addrs - 1;
  const std::size_t last = c_.v6 ? 12 : 0;
  src_low_ = get32(c_.src.data() + last);
  std::uint8_t* f = hdr_.data();
  std::memcpy(f, c_.dst_mac.data(), 6);
  std::memcpy(f + 6, c_.src_mac.data(), 6);
  std::uint8_t* ip = f + 14;
  // Constant words of the UDP checksum: the destination address, the
  // protocol (RFC 768 / RFC 8200 §8.1 pseudo headers) and the destination port.
  l4_sum_ = 17u + c_.dst_port;
  if (c_.v6) {
    put16(f + 12, 0x86dd);
    put16(ip, 0x6000);  // version 6, no traffic class or flow label
    ip[6] = 17;
    ip[7] = 64;
    std::memcpy(ip + 8, c_.src.data(), 16);
    std::memcpy(ip + 24, c_.dst.data(), 16);
    for (std::size_t i = 0; i < 16; i += 4) l4_sum_ += words(get32(c_.dst.data() + i));
    for (std::size_t i = 0; i < 12; i += 4) l4_sum_ += words(get32(c_.src.data() + i));
  } else {
    put16(f + 12, 0x0800);
    ip[0] = 0x45;
    put16(ip + 6, 0x4000);  // DF
    ip[8] = 64;
    ip[9] = 17;
    std::memcpy(ip + 12, c_.src.data(), 4);
    std::memcpy(ip + 16, c_.dst.data(), 4);
    const std::uint32_t dst = get32(c_.dst.data());
    ip_sum_ = 0x4500u + 0x4000u + (64u << 8 | 17u) + words(dst);
    l4_sum_ += words(dst);
  }
}

std::array<std::uint8_t, 16> FrameBuilder::client_addr(std::uint32_t i) const noexcept {
  std::array<std::uint8_t, 16> a = c_.src;
  std::uint32_t ai = 0, pi = 0;
  split(i, ai, pi);
  put32(a.data() + (c_.v6 ? 12 : 0), src_low_ + ai);
  return a;
}

bool FrameBuilder::is_client_addr(const std::uint8_t* a) const noexcept {
  const std::size_t last = c_.v6 ? 12 : 0;
  if (c_.v6 && std::memcmp(a, c_.src.data(), 12) != 0) return false;
  std::uint32_t v, base;
  std::memcpy(&v, a + last, 4);
  std::memcpy(&base, c_.src.data() + last, 4);
  return ntohl(v) - ntohl(base) < (c_.addrs ? c_.addrs : 1);
}

std::size_t FrameBuilder::write(std::uint8_t* f, std::uint32_t client, std::size_t payload_len) const noexcept {
  const std::size_t l3 = c_.v6 ? 40 : 20;
  std::memcpy(f, hdr_.data(), 14 + l3);
  std::uint32_t ai = 0, pi = 0;
  split(client, ai, pi);
  const std::uint32_t src = src_low_ + ai;
  const auto sport = static_cast<std::uint16_t>(kBasePort + (pi < 40000 ? pi : pi % 40000));
  const auto udp_len = static_cast<std::uint16_t>(8 + payload_len);
  std::uint8_t* ip = f + 14;
  if (c_.v6) {
    put16(ip + 4, udp_len);
    put32(ip + 20, src);
  } else {
    const auto total = static_cast<std::uint16_t>(20 + udp_len);
    put16(ip + 2, total);
    put32(ip + 12, src);
    put16(ip + 10, ntsd::net::csum_fold(ip_sum_ + total + words(src)));
  }
  std::uint8_t* u = ip + l3;
  put16(u, sport);
  put16(u + 2, c_.dst_port);
  put16(u + 4, udp_len);
  // The length counts twice: in the pseudo header and in the UDP header.
  const std::uint32_t sum = l4_sum_ + words(src) + 2u * udp_len + sport;
  std::uint16_t ck = ntsd::net::csum_fold(ntsd::net::csum_add(sum, {u + 8, payload_len}));
  if (ck == 0) ck = 0xffff;  // RFC 768: zero means "no checksum"
  put16(u + 6, ck);
  return 14 + l3 + udp_len;
}

std::span<const std::uint8_t> FrameBuilder::response_payload(std::span<const std::uint8_t> f) const noexcept {
  if (f.size() < 14) return {};
  const std::uint16_t type = get16(f.data() + 12);
  std::size_t l4;
  if (!c_.v6 && type == 0x0800) {
    if (f.size() < 14 + 20 + 8 || (f[14] >> 4) != 4 || f[14 + 9] != 17) return {};
    const std::size_t ihl = (f[14] & 15u) * 4u;
    if (ihl < 20 || std::memcmp(f.data() + 14 + 12, c_.dst.data(), 4) != 0) return {};
    if (!is_client_addr(f.data() + 14 + 16)) return {};  // another host's answer on a shared link
    l4 = 14 + ihl;
  } else if (c_.v6 && type == 0x86dd) {
    if (f.size() < 14 + 40 + 8 || (f[14] >> 4) != 6 || f[14 + 6] != 17) return {};
    if (std::memcmp(f.data() + 14 + 8, c_.dst.data(), 16) != 0) return {};
    if (!is_client_addr(f.data() + 14 + 24)) return {};
    l4 = 14 + 40;
  } else {
    return {};
  }
  if (l4 + 8 > f.size() || get16(f.data() + l4) != c_.dst_port) return {};
  const std::size_t ulen = get16(f.data() + l4 + 4);
  if (ulen < 8 || l4 + ulen > f.size()) return {};
  return f.subspan(l4 + 8, ulen - 8);
}

std::size_t FrameBuilder::write_resolve(std::uint8_t* f, std::size_t cap) const noexcept {
  if (cap < 86) return 0;
  std::memcpy(f + 6, c_.src_mac.data(), 6);
  if (!c_.v6) {
    std::memset(f, 0xff, 6);
    put16(f + 12, 0x0806);
    std::uint8_t* a = f + 14;
    put16(a, 1);          // Ethernet
    put16(a + 2, 0x0800); // IPv4
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, 1);      // request
    std::memcpy(a + 8, c_.src_mac.data(), 6);
    std::memcpy(a + 14, c_.src.data(), 4);
    std::memset(a + 18, 0, 6);
    std::memcpy(a + 24, c_.dst.data(), 4);
    std::memset(f + 42, 0, 18);  // pad to the 60-byte minimum
    return 60;
  }
  // Neighbor Solicitation to the solicited-node multicast address (RFC 4861 §7.2.2).
  const std::uint8_t* t = c_.dst.data();
  const std::uint8_t mc_mac[6] = {0x33, 0x33, 0xff, t[13], t[14], t[15]};
  std::memcpy(f, mc_mac, 6);
  put16(f + 12, 0x86dd);
  std::uint8_t* ip = f + 14;
  put16(ip, 0x6000);
  put16(ip + 2, 0);
  put16(ip + 4, 32);
  ip[6] = 58;
  ip[7] = 255;
  std::memcpy(ip + 8, c_.src.data(), 16);
  const std::uint8_t mc[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, t[13], t[14], t[15]};
  std::memcpy(ip + 24, mc, 16);
  std::uint8_t* icmp = ip + 40;
  icmp[0] = 135;
  icmp[1] = 0;
  put16(icmp + 2, 0);
  std::memset(icmp + 4, 0, 4);
  std::memcpy(icmp + 8, t, 16);
  icmp[24] = 1;  // source link-layer address option
  icmp[25] = 1;
  std::memcpy(icmp + 26, c_.src_mac.data(), 6);
  // RFC 8200 §8.1 pseudo header: addresses, upper-layer length 32, next header 58.
  const std::uint32_t sum = ntsd::net::csum_add(32u + 58u, {ip + 8, 32});
  put16(icmp + 2, ntsd::net::csum_fold(ntsd::net::csum_add(sum, {icmp, 32})));
  return 14 + 40 + 32;
}

bool FrameBuilder::parse_resolve(std::span<const std::uint8_t> f, Mac& mac) const noexcept {
  if (f.size() < 42) return false;
  const std::uint16_t type = get16(f.data() + 12);
  if (!c_.v6 && type == 0x0806) {
    const std::uint8_t* a = f.data() + 14;
    if (get16(a + 6) != 2 || std::memcmp(a + 14, c_.dst.data(), 4) != 0) return false;
    std::memcpy(mac.data(), a + 8, 6);
    return true;
  }
  if (c_.v6 && type == 0x86dd && f.size() >= 14 + 40 + 24) {
    const std::uint8_t* ip = f.data() + 14;
    const std::uint8_t* icmp = ip + 40;
    if (ip[6] != 58 || icmp[0] != 136 || std::memcmp(icmp + 8, c_.dst.data(), 16) != 0) return false;
    // Target link-layer address option (type 2), else the frame's source MAC.
    for (std::size_t o = 24; o + 8 <= f.size() - 54; o += 8u * icmp[o + 1]) {
      if (icmp[o + 1] == 0) break;
      if (icmp[o] == 2) {
        std::memcpy(mac.data(), icmp + o + 2, 6);
        return true;
      }
    }
    std::memcpy(mac.data(), f.data() + 6, 6);
    return true;
  }
  return false;
}

}  // namespace ntsgen
