// In-place reply builders (see packet.hpp).
#include <array>
#include <cstring>

#include "bytes.hpp"
#include "ntsd/net/packet.hpp"

namespace ntsd::net {
namespace {

using detail::be16;
using detail::put16;
using detail::swap_ranges;
using detail::u8;

constexpr std::uint8_t kTtl = 64;

// Ethernet: reply to the sender from our MAC (the frame was addressed to it,
// or to a broadcast/multicast address: then `mac` is written explicitly).
void eth_reply(MutBytes b, const Mac& src) noexcept {
  std::memcpy(b.data(), b.data() + 6, 6);
  std::memcpy(b.data() + 6, src.data(), 6);
}

// The header's checksum (RFC 791, RFC 1071) is summed from the values it
// will hold, read before any store to it: summing the finished header
// loaded 8-byte words over the 1- and 2-byte stores just made, which the
// store buffer cannot forward (a stall per load: 4 % of a memif worker's
// time under perf). Swapping the addresses leaves the sum unchanged (one's
// complement addition is commutative, RFC 1071 §2(A)).
void ip4_finish(MutBytes b, const Classified& c, std::size_t total) noexcept {
  const std::size_t h = c.l3;
  std::uint32_t sum = be16(b, h) + be16(b, h + 4) + be16(b, h + 6);  // version..TOS, ID, fragment
  sum += static_cast<std::uint16_t>(total) + (std::uint32_t{kTtl} << 8 | u8(b, h + 9));
  for (std::size_t o = h + 12; o < h + kIp4Len; o += 2) sum += be16(b, o);  // source, destination
  swap_ranges(b, h + 12, h + 16, 4);
  put16(b, h + 2, static_cast<std::uint16_t>(total));
  b[h + 8] = kTtl;
  put16(b, h + 10, csum_fold(sum));
}

void ip6_finish(MutBytes b, const Classified& c, std::size_t plen, std::uint8_t hops) noexcept {
  swap_ranges(b, c.l3 + 8, c.l3 + 24, 16);
  put16(b, c.l3 + 4, static_cast<std::uint16_t>(plen));
  b[c.l3 + 7] = hops;
}

Mac frame_src(Bytes b) noexcept {
  Mac m{};
  std::memcpy(m.data(), b.data() + 6, 6);
  return m;
}

}  // namespace

std::size_t build_ntp_reply(MutBytes b, const Classified& c, Bytes ntp, bool tx_l4_offload) noexcept {
  const std::size_t ulen = kUdpLen + ntp.size();
  const std::size_t end = c.l4 + ulen;
  if (c.kind != Kind::kNtp || end > b.size() || ulen > 0xffff) return 0;
  // Every sum is taken before the first store, from the request's bytes and
  // from `ntp` (see ip4_finish: no wide loads over fresh narrow stores). The
  // pseudo header's addresses are only swapped, so their sum is the
  // request's (RFC 768; RFC 8200 §8.1); the UDP header's ports likewise.
  std::uint8_t* const payload = b.data() + c.l4 + kUdpLen;
  // `ntp` may be the frame's own payload (answered in place) or overlap it.
  const auto at = reinterpret_cast<std::uintptr_t>(payload);
  const auto from = reinterpret_cast<std::uintptr_t>(ntp.data());
  const bool apart = from + ntp.size() <= at || at + ntp.size() <= from;
  const bool sum_as_copied = !tx_l4_offload && apart;
  std::uint32_t ph = 0, udp_sum = 0;
  if (tx_l4_offload) {
    ph = pseudo_sum(b, c, 17, static_cast<std::uint32_t>(ulen));
  } else {
    // The addresses and the ports are contiguous (no IPv4 options or IPv6
    // extension headers reach here): one pass over them, on top of the
    // payload's sum and the two lengths (pseudo header and UDP header) and
    // the protocol as values. A payload apart from the frame is summed as
    // it is copied in (one read of it, not two); it lies past the ports, so
    // the copy stores nothing the sums read.
    const std::size_t addrs = c.ip6 ? c.l3 + 8 : c.l3 + 12;
    const auto len = static_cast<std::uint32_t>(ulen);
    const std::uint32_t lens = 17 + 2 * (len >> 16) + 2 * (len & 0xffff);
    const Bytes head(b.data() + addrs, c.l4 + 4 - addrs);
    if (sum_as_copied) {
      udp_sum = csum_copy(lens, head, payload, ntp);
    } else {
      udp_sum = csum_add(csum_add(lens, head), ntp);
    }
  }
  const Mac our = [&] { Mac m{}; std::memcpy(m.data(), b.data(), 6); return m; }();
  eth_reply(b, our);
  if (c.ip6) {
    ip6_finish(b, c, ulen, kTtl);
  } else {
    ip4_finish(b, c, kIp4Len + ulen);
  }
  swap_ranges(b, c.l4, c.l4 + 2, 2);
  put16(b, c.l4 + 4, static_cast<std::uint16_t>(ulen));
  if (!sum_as_copied && !ntp.empty()) std::memmove(payload, ntp.data(), ntp.size());  // no null source
  if (tx_l4_offload) {
    // DPDK's contract: the field holds the (uncomplemented) pseudo-header sum.
    put16(b, c.l4 + 6, static_cast<std::uint16_t>(~csum_fold(ph)));
  } else {
    std::uint16_t sum = csum_fold(udp_sum);
    if (sum == 0) sum = 0xffff;  // RFC 768: a computed zero is sent as all ones
    put16(b, c.l4 + 6, sum);
  }
  return end;
}

std::size_t build_arp_reply(MutBytes b, std::size_t len, const Classified& c, const Mac& mac) noexcept {
  if (c.kind != Kind::kArpRequest || len < c.l3 + 28u || len > b.size()) return 0;
  const std::size_t a = c.l3;
  // Destination: the requester (its sender hardware address), RFC 826.
  std::memcpy(b.data(), b.data() + a + 8, 6);
  std::memcpy(b.data() + 6, mac.data(), 6);
  put16(b, a + 6, 2);                                // reply
  std::memcpy(b.data() + a + 18, b.data() + a + 8, 6);  // THA = requester
  std::memcpy(b.data() + a + 8, mac.data(), 6);         // SHA = us
  swap_ranges(b, a + 14, a + 24, 4);                    // SPA <-> TPA
  return c.l3 + 28u;
}

std::size_t build_echo_reply(MutBytes b, std::size_t len, const Classified& c) noexcept {
  if (c.kind != Kind::kEchoRequest || len > b.size()) return 0;
  const Mac our = [&] { Mac m{}; std::memcpy(m.data(), b.data(), 6); return m; }();
  if (c.ip6) {
    const std::size_t plen = be16(b, c.l3 + 4);
    if (c.l4 + plen > len) return 0;
    eth_reply(b, our);
    ip6_finish(b, c, plen, kTtl);
    b[c.l4] = 129;  // echo reply, RFC 4443 §4.2
    put16(b, c.l4 + 2, 0);
    const auto l = static_cast<std::uint32_t>(plen);
    put16(b, c.l4 + 2, csum_fold(csum_add(pseudo_sum(b, c, 58, l), b.subspan(c.l4, plen))));
    return c.l4 + plen;
  }
  const std::size_t total = be16(b, c.l3 + 2);
  if (c.l3 + total > len || total < kIp4Len + 8) return 0;
  eth_reply(b, our);
  ip4_finish(b, c, total);
  b[c.l4] = 0;  // echo reply, RFC 792
  put16(b, c.l4 + 2, 0);
  put16(b, c.l4 + 2, csum_fold(csum_add(0, b.subspan(c.l4, total - kIp4Len))));
  return c.l3 + total;
}

std::size_t build_neighbor_advert(MutBytes b, const Classified& c, const Mac& mac) noexcept {
  constexpr std::size_t kNaLen = 32;  // NA header 24 + target link-layer option 8
  if (c.kind != Kind::kNeighborSolicit || c.l4 + kNaLen > b.size()) return 0;
  std::array<std::uint8_t, 16> src{};
  std::memcpy(src.data(), b.data() + c.l3 + 8, 16);
  const Mac peer = frame_src(b);
  bool dad = true;
  for (auto x : src) dad = dad && x == 0;
  // RFC 4861 §7.2.4: answer the solicitor; a DAD probe (unspecified source)
  // is answered to all-nodes with S cleared.
  static constexpr std::uint8_t kAllNodes[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  static constexpr std::uint8_t kAllNodesMac[6] = {0x33, 0x33, 0, 0, 0, 1};
  std::memcpy(b.data(), dad ? kAllNodesMac : peer.data(), 6);
  std::memcpy(b.data() + 6, mac.data(), 6);
  const std::size_t ip = c.l3;
  put16(b, ip, 0x6000);
  put16(b, ip + 2, 0);
  put16(b, ip + 4, kNaLen);
  b[ip + 6] = 58;
  b[ip + 7] = 255;  // RFC 4861 §7.1.2: hop limit 255
  std::memcpy(b.data() + ip + 8, b.data() + c.l4 + 8, 16);  // source = the target (ours)
  std::memcpy(b.data() + ip + 24, dad ? kAllNodes : src.data(), 16);
  const std::size_t l4 = c.l4;
  b[l4] = 136;
  b[l4 + 1] = 0;
  put16(b, l4 + 2, 0);
  b[l4 + 4] = static_cast<std::uint8_t>((dad ? 0 : 0x40) | 0x20);  // S, O (override)
  b[l4 + 5] = b[l4 + 6] = b[l4 + 7] = 0;
  b[l4 + 24] = 2;  // target link-layer address option
  b[l4 + 25] = 1;  // length in units of 8 bytes
  std::memcpy(b.data() + l4 + 26, mac.data(), 6);
  put16(b, l4 + 2, csum_fold(csum_add(pseudo_sum(b, c, 58, kNaLen), b.subspan(l4, kNaLen))));
  return l4 + kNaLen;
}

}  // namespace ntsd::net
