#include "tx_timestamps.hpp"

#include <algorithm>

namespace ntsd::sock {
namespace {

std::uint16_t be16(const std::uint8_t* p) noexcept { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
std::uint64_t be64(const std::uint8_t* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}

}  // namespace

namespace {

// IPv4 or IPv6 (no extension headers), UDP, and at least an NTP header from
// `pos` on.
bool parse_ip(std::span<const std::uint8_t> pkt, std::size_t pos, Looped& out) noexcept {
  const std::size_t n = pkt.size();
  if (pos >= n) return false;
  std::size_t udp = 0;
  if (pkt[pos] >> 4 == 4) {
    const std::size_t ihl = (pkt[pos] & 0xf) * 4u;
    if (ihl < 20 || pos + ihl > n || pkt[pos + 9] != 17) return false;
    out.to = limit::Address::from_ip4(pkt.subspan(pos + 16).first<4>());
    udp = pos + ihl;
  } else if (pkt[pos] >> 4 == 6) {
    if (pos + 40 > n || pkt[pos + 6] != 17) return false;
    out.to = limit::Address::from_ip6(pkt.subspan(pos + 24).first<16>());
    udp = pos + 40;
  } else {
    return false;
  }
  if (udp + 8 + proto::kHeaderLen > n) return false;
  out.port = be16(&pkt[udp + 2]);
  out.receive = be64(&pkt[udp + 8 + 32]);
  return true;
}

}  // namespace

bool parse_looped(std::span<const std::uint8_t> pkt, Looped& out) noexcept {
  // What the driver saw: an Ethernet frame on veth, lo and NICs (the first
  // byte is a MAC address's and says nothing), bare IP on tun and the like.
  std::size_t pos = 12;
  while (pos + 4 <= pkt.size() && be16(&pkt[pos]) == 0x8100) pos += 4;  // VLAN tags
  if (pos + 2 <= pkt.size()) {
    const std::uint16_t type = be16(&pkt[pos]);
    if ((type == 0x0800 || type == 0x86dd) && parse_ip(pkt, pos + 2, out)) return true;
  }
  return parse_ip(pkt, 0, out);
}

clock::UnixNs tx_time(const TxTimes& t, TxSource src, std::int64_t offset_ns, const clock::LeapStep& tai) noexcept {
  if (t.hardware != 0 && src == TxSource::kPhcUtc) return t.hardware;
  if (t.hardware != 0 && src == TxSource::kPhcTai) return tai.to_utc(t.hardware);
  if (t.software == 0) return 0;
  return src == TxSource::kSystem ? t.software : t.software + offset_ns;
}

TxTimestamps::TxTimestamps(std::size_t sockets, std::size_t burst)
    : socks_(sockets), bufs_(burst), ctrl_(burst), iov_(burst), msgs_(burst) {}

void TxTimestamps::sent(std::size_t s, xleave::Ticket t, const Looped& expect) noexcept {
  Socket& k = socks_[s];
  Record& r = k.ring[k.next % kRing];
  r.seq = k.next++;
  r.ticket = t;
  r.expect = expect;
}

xleave::Ticket TxTimestamps::match(std::size_t s, std::uint32_t id, std::span<const std::uint8_t> pkt) noexcept {
  Looped got;
  if (!parse_looped(pkt, got)) return xleave::kNoTicket;
  Socket& k = socks_[s];
  const std::uint32_t seq = id - k.delta;
  const Record& r = k.ring[seq % kRing];
  if (r.seq == seq && r.ticket != xleave::kNoTicket && same(r.expect, got)) return r.ticket;
  // The numbering slipped (the kernel numbered a datagram it then failed to
  // send, or the reverse): find the record by its packet, once, and follow
  // the kernel's numbering from there.
  for (const Record& x : k.ring) {
    if (x.ticket != xleave::kNoTicket && same(x.expect, got)) {
      k.delta = id - x.seq;
      return x.ticket;
    }
  }
  return xleave::kNoTicket;
}

std::span<mmsghdr> TxTimestamps::prepare() noexcept {
  for (std::size_t i = 0; i < msgs_.size(); ++i) {
    iov_[i] = {bufs_[i].data(), kData};
    msghdr& h = msgs_[i].msg_hdr;
    h = {};
    h.msg_iov = &iov_[i];
    h.msg_iovlen = 1;
    h.msg_control = ctrl_[i].data();
    h.msg_controllen = kCtrl;
  }
  return msgs_;
}

}  // namespace ntsd::sock
