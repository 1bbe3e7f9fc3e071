// Frame classification and in-place reply building for the kernel-bypass
// dataplane, where ntsd itself must be a well-behaved IPv4/IPv6 host:
//
//   ARP request for one of our IPv4 addresses   -> ARP reply    (RFC 826)
//   IPv6 Neighbor Solicitation for our address   -> Neighbor Advertisement (RFC 4861 §7.2)
//   ICMP / ICMPv6 echo request to our address    -> echo reply   (RFC 792, RFC 4443 §4)
//   UDP to port 123 at one of our addresses      -> the NTP core
//   anything else                                -> drop, with a reason
//
// Layout handled (no VLAN tags, no IPv4 options, no IPv6 extension headers,
// no fragments: NTP/NTS requests are small and a server never needs them):
//
//   | Ethernet 14 | IPv4 20 / IPv6 40 | UDP 8 | NTP payload |
//
// Everything is read through bounds-checked helpers over std::span; no struct
// is cast onto packet memory. Checksums are verified unless the caller says
// the NIC already did (RX offload flags).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace ntsd::net {

using Bytes = std::span<const std::uint8_t>;
using MutBytes = std::span<std::uint8_t>;
using Mac = std::array<std::uint8_t, 6>;
using Ip4 = std::array<std::uint8_t, 4>;
using Ip6 = std::array<std::uint8_t, 16>;

inline constexpr std::uint16_t kNtpPort = 123;
inline constexpr std::size_t kEthLen = 14;
inline constexpr std::size_t kIp4Len = 20;
inline constexpr std::size_t kIp6Len = 40;
inline constexpr std::size_t kUdpLen = 8;

enum class Kind : std::uint8_t { kNtp, kArpRequest, kNeighborSolicit, kEchoRequest, kDrop };

// Why a frame was dropped. Stable snake_case names for metrics: drop_name().
enum class Drop : std::uint8_t {
  kNone,
  kTruncated,          // shorter than its headers claim
  kNotOurMac,          // unicast to another MAC
  kVlan,               // 802.1Q/802.1ad tagged: not configured
  kEthertype,          // not IPv4, IPv6 or ARP
  kArpMalformed,       // not Ethernet/IPv4 ARP
  kArpNotRequest,      // ARP reply or other opcode (we keep no ARP cache)
  kArpNotOurs,         // ARP request for another address
  kIp4Header,          // version/IHL/total length inconsistent
  kIp4Options,         // IHL > 5
  kIp4Checksum,        // header checksum wrong
  kIp4Fragment,        // MF set or offset != 0
  kIp4BadSource,       // bad_source_ip4() (0/8, 127/8, multicast, broadcast) or one of ours
  kIp6Header,          // version or payload length inconsistent
  kIp6ExtHeader,       // extension header (not supported)
  kIp6BadSource,       // bad_source_ip6() (::, ::1, multicast, IPv4-mapped) or one of ours
  kNotOurAddress,      // IP destination is not one of ours
  kUdpHeader,          // UDP length inconsistent with the IP length
  kUdpChecksum,        // UDP checksum wrong (or zero over IPv6, RFC 8200 §8.1)
  kUdpPort,            // not to port 123, or from port 0
  kIcmpChecksum,       // ICMP/ICMPv6 checksum wrong
  kIcmpType,           // ICMP other than echo request / NS
  kNdMalformed,        // NS with hop limit != 255, code != 0, or bad options (RFC 4861 §7.1.1)
  kNdNotOurs,          // NS for another target
  kProtocol,           // IP protocol other than UDP/ICMP
  kCount,
};
inline constexpr std::size_t kDropCount = static_cast<std::size_t>(Drop::kCount);
const char* drop_name(Drop d) noexcept;

// The addresses this dataplane answers for.
struct LocalAddrs {
  Mac mac{};
  std::span<const Ip4> ip4;
  std::span<const Ip6> ip6;
  std::uint16_t port = kNtpPort;
};

// Offloads the NIC already performed on RX (DPDK ol_flags *_CKSUM_GOOD).
struct RxOffload {
  bool ip4_checksum_ok = false;
  bool l4_checksum_ok = false;
};

struct Classified {
  Kind kind = Kind::kDrop;
  Drop drop = Drop::kNone;
  bool ip6 = false;
  std::uint16_t l3 = 0;       // offset of the IP (or ARP) header
  std::uint16_t l4 = 0;       // offset of the UDP/ICMP header
  std::uint16_t payload = 0;  // offset of the NTP payload (kNtp)
  std::uint16_t payload_len = 0;
};

Classified classify(Bytes frame, const LocalAddrs& local, RxOffload rx = {}) noexcept;

// Source addresses a request arriving on the wire is never answered to: a
// reply would go to a host that cannot have sent it, which is what a
// spoofed-source reflection attack relies on (RFC 5905 §9.2 leaves such
// checks to the implementation; chrony and ntpd have them too).
//   IPv4: 0/8 ("this network", RFC 1122 §3.2.1.3), 127/8 (loopback, never
//   on a wire, RFC 1122 §3.2.1.3), 224/4 multicast, 240/4 reserved and
//   255.255.255.255 (RFC 1122 §3.3.6: never a source).
//   IPv6: :: (unspecified, RFC 4291 §2.5.2), ::1 (loopback, §2.5.3),
//   ff00::/8 multicast (§2.7), ::ffff:0:0/96 IPv4-mapped (§2.5.5.2: not for
//   use on the wire; RFC 4942 §2.2 lists it as a spoofing vector), which
//   covers the mapped loopback ::ffff:127.0.0.0/104.
// The classifier also drops our own addresses as sources. The socket
// backend uses these too, allowing loopback only when the destination is
// loopback as well (the packet never left the host).
bool bad_source_ip4(std::span<const std::uint8_t, 4> a) noexcept;
bool bad_source_ip6(std::span<const std::uint8_t, 16> a) noexcept;
bool is_loopback_ip4(std::span<const std::uint8_t, 4> a) noexcept;
bool is_loopback_ip6(std::span<const std::uint8_t, 16> a) noexcept;
// For a host stack (the socket backend): may a request from `src` to `dst`
// be answered? Not from a bad source, except loopback towards loopback.
bool host_source_ok_ip4(std::span<const std::uint8_t, 4> src, std::span<const std::uint8_t, 4> dst) noexcept;
bool host_source_ok_ip6(std::span<const std::uint8_t, 16> src, std::span<const std::uint8_t, 16> dst) noexcept;

// In-place replies. `frame` is the received frame (its buffer may be longer
// than the frame: `cap` bytes are writable). Each returns the reply frame
// length, or 0 if it cannot be built (buffer too small).
//
// NTP: swaps L2/L3/L4 addresses, writes `ntp` as the UDP payload (it may be
// shorter than the request, never longer than cap allows), sets lengths,
// TTL/hop limit 64 and, unless `tx_l4_offload`, the UDP checksum (the IPv4
// header checksum is always set in software: 20 bytes).
std::size_t build_ntp_reply(MutBytes buf, const Classified& c, Bytes ntp,
                            bool tx_l4_offload = false) noexcept;
std::size_t build_arp_reply(MutBytes buf, std::size_t len, const Classified& c, const Mac& mac) noexcept;
std::size_t build_echo_reply(MutBytes buf, std::size_t len, const Classified& c) noexcept;
std::size_t build_neighbor_advert(MutBytes buf, const Classified& c, const Mac& mac) noexcept;

// Internet checksum (RFC 1071) helpers, exposed for tests and the DPDK
// offload path (pseudo-header sum).
std::uint32_t csum_add(std::uint32_t sum, Bytes data) noexcept;
// Copies src to dst (which must not overlap either) and returns the sum of
// sum, head and src as csum_add(csum_add(sum, head), src) would (head of
// even length), reading each byte once and folding once.
std::uint32_t csum_copy(std::uint32_t sum, Bytes head, std::uint8_t* dst, Bytes src) noexcept;
// Inline: every frame folds a sum, and the call cost as much as the fold.
inline std::uint16_t csum_fold(std::uint32_t sum) noexcept {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}
// Sum of the IPv4/IPv6 pseudo header for an L4 segment of `l4_len` bytes,
// the IP header at `l3`. The classifier calls the scalar form: passing its
// Classified by reference made the compiler keep it in memory, field by
// field, and each later copy of it (a wide load over narrow stores) stalled
// on store-to-load forwarding.
std::uint32_t pseudo_sum(Bytes frame, bool ip6, std::size_t l3, std::uint8_t proto, std::uint32_t l4_len) noexcept;
inline std::uint32_t pseudo_sum(Bytes frame, const Classified& c, std::uint8_t proto, std::uint32_t l4_len) noexcept {
  return pseudo_sum(frame, c.ip6, c.l3, proto, l4_len);
}

}  // namespace ntsd::net
