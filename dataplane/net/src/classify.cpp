// Frame classification (see packet.hpp for what is accepted and why).
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstring>

#include "bytes.hpp"
#include "ntsd/net/packet.hpp"

namespace ntsd::net {
namespace {

using detail::be16;
using detail::equal;
using detail::u8;

constexpr std::uint16_t kEtherIp4 = 0x0800;
constexpr std::uint16_t kEtherArp = 0x0806;
constexpr std::uint16_t kEtherIp6 = 0x86dd;
constexpr std::uint8_t kProtoIcmp = 1;
constexpr std::uint8_t kProtoUdp = 17;
constexpr std::uint8_t kProtoIcmp6 = 58;

// Where the classifier has got to in a frame. Every field is 64 bits wide:
// built in a Classified (1- and 2-byte fields), the work-in-progress went
// through the stack field by field and was reloaded whole for each call and
// return, 8-byte loads over narrow stores that the store buffer cannot
// forward (~15 cycles each; 5 % of a memif worker's time under perf).
// The header functions take it by reference: by value, GCC copied its 40
// bytes with `rep movsl` at every call (60 % of classify's samples).
struct Pos {
  std::uint64_t ip6 = 0;
  std::uint64_t l3 = 0;
  std::uint64_t l4 = 0;
  std::uint64_t payload = 0;
  std::uint64_t payload_len = 0;
};

// The result, assembled in two integer registers and stored whole (the
// layout is checked at compile time).
Classified pack(const Pos& c, Kind k, Drop d) noexcept {
  static_assert(sizeof(Classified) == 12 && offsetof(Classified, kind) == 0 && offsetof(Classified, drop) == 1 &&
                offsetof(Classified, ip6) == 2 && offsetof(Classified, l3) == 4 && offsetof(Classified, l4) == 6 &&
                offsetof(Classified, payload) == 8 && offsetof(Classified, payload_len) == 10);
  static_assert(std::endian::native == std::endian::little);
  const std::uint64_t lo = std::uint64_t{static_cast<std::uint8_t>(k)} |
                           std::uint64_t{static_cast<std::uint8_t>(d)} << 8 | (c.ip6 != 0 ? 1ull << 16 : 0) |
                           (c.l3 & 0xffff) << 32 | (c.l4 & 0xffff) << 48;
  const auto hi = static_cast<std::uint32_t>((c.payload & 0xffff) | (c.payload_len & 0xffff) << 16);
  Classified out;
  std::memcpy(static_cast<void*>(&out), &lo, 8);
  std::memcpy(reinterpret_cast<unsigned char*>(&out) + 8, &hi, 4);
  return out;
}
Classified drop(const Pos& c, Drop d) noexcept { return pack(c, Kind::kDrop, d); }
Classified accept(const Pos& c, Kind k) noexcept { return pack(c, k, Drop::kNone); }

bool is_our_ip4(Bytes f, std::size_t off, const LocalAddrs& l) noexcept {
  return std::any_of(l.ip4.begin(), l.ip4.end(),
                     [&](const Ip4& a) { return equal(f, off, a.data(), a.size()); });
}
const Ip6* our_ip6(Bytes f, std::size_t off, const LocalAddrs& l) noexcept {
  for (const Ip6& a : l.ip6)
    if (equal(f, off, a.data(), a.size())) return &a;
  return nullptr;
}
// ff02::1:ffXX:XXXX for one of our addresses (RFC 4291 §2.7.1).
bool is_our_solicited_node(Bytes f, std::size_t off, const LocalAddrs& l) noexcept {
  static constexpr std::uint8_t kPrefix[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff};
  if (!equal(f, off, kPrefix, sizeof kPrefix)) return false;
  return std::any_of(l.ip6.begin(), l.ip6.end(),
                     [&](const Ip6& a) { return equal(f, off + 13, a.data() + 13, 3); });
}
bool all_zero(Bytes f, std::size_t off, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i)
    if (u8(f, off + i) != 0) return false;
  return true;
}

Classified udp(Bytes f, Pos& c, std::size_t l4_len, const LocalAddrs& l, RxOffload rx) noexcept {
  if (l4_len < kUdpLen) return drop(c, Drop::kUdpHeader);
  const std::uint16_t ulen = be16(f, c.l4 + 4);
  if (ulen != l4_len) return drop(c, Drop::kUdpHeader);
  if (be16(f, c.l4 + 2) != l.port || be16(f, c.l4) == 0) return drop(c, Drop::kUdpPort);
  const std::uint16_t sum = be16(f, c.l4 + 6);
  if (sum == 0) {
    // RFC 768: zero means "no checksum" over IPv4; RFC 8200 §8.1 forbids it over IPv6.
    if (c.ip6) return drop(c, Drop::kUdpChecksum);
  } else if (!rx.l4_checksum_ok) {
    // The pseudo header's addresses end where the UDP header starts (no
    // IPv4 options, no IPv6 extension headers get here), so one pass sums
    // both, plus the pseudo header's length and protocol as values (RFC 768;
    // RFC 8200 §8.1): one call and one fold instead of two.
    const std::size_t addrs = c.ip6 != 0 ? c.l3 + 8 : c.l3 + 12;
    const std::uint32_t extra = kProtoUdp + (ulen >> 16) + (ulen & 0xffffu);
    if (csum_fold(csum_add(extra, f.subspan(addrs, c.l4 + ulen - addrs))) != 0)
      return drop(c, Drop::kUdpChecksum);
  }
  c.payload = static_cast<std::uint16_t>(c.l4 + kUdpLen);
  c.payload_len = static_cast<std::uint16_t>(ulen - kUdpLen);
  return accept(c, Kind::kNtp);
}

Classified icmp4(Bytes f, Pos& c, std::size_t l4_len) noexcept {
  if (l4_len < 8) return drop(c, Drop::kTruncated);
  if (u8(f, c.l4) != 8 || u8(f, c.l4 + 1) != 0) return drop(c, Drop::kIcmpType);
  if (csum_fold(csum_add(0, f.subspan(c.l4, l4_len))) != 0) return drop(c, Drop::kIcmpChecksum);
  return accept(c, Kind::kEchoRequest);
}

// RFC 4861 §7.1.1 validity checks for a Neighbor Solicitation.
Classified neighbor_solicit(Bytes f, Pos& c, std::size_t l4_len, const LocalAddrs& l) noexcept {
  if (u8(f, c.l3 + 7) != 255 || u8(f, c.l4 + 1) != 0 || l4_len < 24) return drop(c, Drop::kNdMalformed);
  if (our_ip6(f, c.l4 + 8, l) == nullptr) return drop(c, Drop::kNdNotOurs);
  const bool dad = all_zero(f, c.l3 + 8, 16);
  for (std::size_t o = c.l4 + 24; o < c.l4 + l4_len;) {
    const std::size_t olen = std::size_t{u8(f, o + 1)} * 8;
    if (olen == 0 || o + olen > c.l4 + l4_len) return drop(c, Drop::kNdMalformed);
    if (dad && u8(f, o) == 1) return drop(c, Drop::kNdMalformed);  // SLLA with unspecified source
    o += olen;
  }
  return accept(c, Kind::kNeighborSolicit);
}

Classified icmp6(Bytes f, Pos& c, std::size_t l4_len, bool dst_unicast, const LocalAddrs& l) noexcept {
  if (l4_len < 8) return drop(c, Drop::kTruncated);
  const std::uint8_t type = u8(f, c.l4);
  if (type != 128 && type != 135) return drop(c, Drop::kIcmpType);
  const auto len32 = static_cast<std::uint32_t>(l4_len);
  if (csum_fold(csum_add(pseudo_sum(f, c.ip6 != 0, c.l3, kProtoIcmp6, len32), f.subspan(c.l4, l4_len))) != 0)
    return drop(c, Drop::kIcmpChecksum);
  if (type == 135) return neighbor_solicit(f, c, l4_len, l);
  if (!dst_unicast) return drop(c, Drop::kNotOurAddress);
  if (u8(f, c.l4 + 1) != 0) return drop(c, Drop::kIcmpType);
  return accept(c, Kind::kEchoRequest);
}

Classified arp(Bytes f, Pos& c, const LocalAddrs& l) noexcept {
  if (f.size() < c.l3 + 28u) return drop(c, Drop::kTruncated);
  // Ethernet (1) / IPv4 (0x0800) / hlen 6 / plen 4 (RFC 826).
  if (be16(f, c.l3) != 1 || be16(f, c.l3 + 2) != kEtherIp4 || u8(f, c.l3 + 4) != 6 ||
      u8(f, c.l3 + 5) != 4)
    return drop(c, Drop::kArpMalformed);
  if (be16(f, c.l3 + 6) != 1) return drop(c, Drop::kArpNotRequest);
  if (!is_our_ip4(f, c.l3 + 24, l)) return drop(c, Drop::kArpNotOurs);
  return accept(c, Kind::kArpRequest);
}

Classified ip4(Bytes f, Pos& c, const LocalAddrs& l, RxOffload rx) noexcept {
  if (f.size() < c.l3 + kIp4Len) return drop(c, Drop::kTruncated);
  const std::uint8_t vihl = u8(f, c.l3);
  if (vihl >> 4 != 4 || (vihl & 15) < 5) return drop(c, Drop::kIp4Header);
  if ((vihl & 15) != 5) return drop(c, Drop::kIp4Options);
  const std::size_t total = be16(f, c.l3 + 2);
  if (total < kIp4Len) return drop(c, Drop::kIp4Header);
  if (c.l3 + total > f.size()) return drop(c, Drop::kTruncated);  // shorter than it claims
  if (!rx.ip4_checksum_ok && csum_fold(csum_add(0, f.subspan(c.l3, kIp4Len))) != 0)
    return drop(c, Drop::kIp4Checksum);
  if ((be16(f, c.l3 + 6) & 0x3fff) != 0) return drop(c, Drop::kIp4Fragment);  // MF or offset
  // Never answer a source that cannot be replied to, or that is ourselves
  // (a spoofed or looped frame would make us talk to ourselves).
  if (bad_source_ip4(f.subspan(c.l3 + 12).first<4>()) || is_our_ip4(f, c.l3 + 12, l))
    return drop(c, Drop::kIp4BadSource);
  if (!is_our_ip4(f, c.l3 + 16, l)) return drop(c, Drop::kNotOurAddress);
  c.l4 = static_cast<std::uint16_t>(c.l3 + kIp4Len);
  const std::size_t l4_len = total - kIp4Len;
  switch (u8(f, c.l3 + 9)) {
    case kProtoUdp: return udp(f, c, l4_len, l, rx);
    case kProtoIcmp: return icmp4(f, c, l4_len);
    default: return drop(c, Drop::kProtocol);
  }
}

Classified ip6(Bytes f, Pos& c, bool l2_multicast, const LocalAddrs& l, RxOffload rx) noexcept {
  c.ip6 = 1;
  if (f.size() < c.l3 + kIp6Len) return drop(c, Drop::kTruncated);
  if (u8(f, c.l3) >> 4 != 6) return drop(c, Drop::kIp6Header);
  const std::size_t plen = be16(f, c.l3 + 4);
  if (c.l3 + kIp6Len + plen > f.size()) return drop(c, Drop::kTruncated);
  const auto src = f.subspan(c.l3 + 8).first<16>();
  // The unspecified source is legal in one case only: a Neighbor
  // Solicitation for Duplicate Address Detection (RFC 4861 §7.1.1).
  const bool unspecified = all_zero(f, c.l3 + 8, 16);
  const bool dad = unspecified && u8(f, c.l3 + 6) == kProtoIcmp6 && plen >= 1 && u8(f, c.l3 + kIp6Len) == 135;
  if ((bad_source_ip6(src) && !dad) || our_ip6(f, c.l3 + 8, l) != nullptr) return drop(c, Drop::kIp6BadSource);
  const bool unicast = our_ip6(f, c.l3 + 24, l) != nullptr;
  const bool solicited = is_our_solicited_node(f, c.l3 + 24, l);
  if (!unicast && !solicited) return drop(c, Drop::kNotOurAddress);
  if (l2_multicast && !solicited) return drop(c, Drop::kNotOurMac);
  c.l4 = static_cast<std::uint16_t>(c.l3 + kIp6Len);
  switch (u8(f, c.l3 + 6)) {
    case kProtoUdp:
      if (!unicast) return drop(c, Drop::kNotOurAddress);
      return udp(f, c, plen, l, rx);
    case kProtoIcmp6: return icmp6(f, c, plen, unicast, l);
    case 0: case 43: case 44: case 50: case 51: case 60: case 135: case 139: case 140:
      return drop(c, Drop::kIp6ExtHeader);  // RFC 8200 §4 / IANA extension header numbers
    default: return drop(c, Drop::kProtocol);
  }
}

}  // namespace

bool is_loopback_ip4(std::span<const std::uint8_t, 4> a) noexcept { return a[0] == 127; }

bool is_loopback_ip6(std::span<const std::uint8_t, 16> a) noexcept {
  static constexpr std::uint8_t kLoop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return std::equal(a.begin(), a.end(), kLoop);
}

bool bad_source_ip4(std::span<const std::uint8_t, 4> a) noexcept {
  return a[0] == 0 || a[0] == 127 || a[0] >= 224;
}

bool bad_source_ip6(std::span<const std::uint8_t, 16> a) noexcept {
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (a[0] == 0xff) return true;                                   // multicast
  if (std::equal(kMapped, kMapped + 12, a.begin())) return true;   // IPv4-mapped
  const bool zero_head = std::all_of(a.begin(), a.begin() + 15, [](std::uint8_t b) { return b == 0; });
  return zero_head && a[15] <= 1;                                  // :: and ::1
}

bool host_source_ok_ip4(std::span<const std::uint8_t, 4> src, std::span<const std::uint8_t, 4> dst) noexcept {
  return !bad_source_ip4(src) || (is_loopback_ip4(src) && is_loopback_ip4(dst));
}

bool host_source_ok_ip6(std::span<const std::uint8_t, 16> src, std::span<const std::uint8_t, 16> dst) noexcept {
  return !bad_source_ip6(src) || (is_loopback_ip6(src) && is_loopback_ip6(dst));
}

Classified classify(Bytes f, const LocalAddrs& l, RxOffload rx) noexcept {
  Pos c;
  if (f.size() < kEthLen) return drop(c, Drop::kTruncated);
  c.l3 = kEthLen;
  const std::uint16_t type = be16(f, 12);
  if (type == 0x8100 || type == 0x88a8) return drop(c, Drop::kVlan);
  static constexpr std::uint8_t kBcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  const bool to_us = equal(f, 0, l.mac.data(), 6);
  const bool bcast = equal(f, 0, kBcast, 6);
  const bool mcast6 = u8(f, 0) == 0x33 && u8(f, 1) == 0x33;
  switch (type) {
    case kEtherArp:
      if (!to_us && !bcast) return drop(c, Drop::kNotOurMac);
      return arp(f, c, l);
    case kEtherIp4:
      if (!to_us) return drop(c, Drop::kNotOurMac);
      return ip4(f, c, l, rx);
    case kEtherIp6:
      if (!to_us && !mcast6) return drop(c, Drop::kNotOurMac);
      return ip6(f, c, !to_us, l, rx);
    default: return drop(c, Drop::kEthertype);
  }
}

}  // namespace ntsd::net
