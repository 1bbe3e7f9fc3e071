// Kernel TX timestamps for interleaved mode (RFC 9769) on the socket
// backend: which response a timestamp on the socket's error queue belongs
// to, and when it left on the served timescale (docs/dataplane.md,
// "Transmit timestamps").
//
// Only responses an interleaved client will ask about (Outcome::tx_ticket)
// request a timestamp, per message with an SO_TIMESTAMPING control message
// (Linux >= 4.7); the socket has SOF_TIMESTAMPING_OPT_ID, so the kernel
// numbers the timestamped datagrams 0, 1, 2, ... per socket, and each error
// queue message carries its number (sock_extended_err.ee_data) and, without
// OPT_TSONLY, the packet as it left (link header, IP, UDP, NTP). The number
// picks the record in a ring without a search; the packet confirms it (the
// destination address and port and the receive timestamp the response
// carried), so a number the kernel spent on a datagram that sendmmsg then
// reported as failed cannot shift every later timestamp onto the wrong
// client: a mismatch is looked up in the ring once and the numbering
// re-aligned. All of it per burst: one recvmmsg(MSG_ERRQUEUE) reads up to a
// burst of timestamps.
#pragma once

#include <sys/socket.h>
#include <linux/errqueue.h>

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "ntsd/clock/leap_table.hpp"
#include "ntsd/clock/ntp_time.hpp"
#include "ntsd/limit/limiter.hpp"
#include "ntsd/proto/wire.hpp"
#include "ntsd/socket/backend.hpp"
#include "ntsd/xleave/table.hpp"

namespace ntsd::sock {

// What a looped-back packet says about the response it was.
struct Looped {
  limit::Address to{};
  std::uint16_t port = 0;
  proto::NtpTime receive = 0;  // the response's receive timestamp field
};

// Parses the packet of an error-queue message: an Ethernet header (with
// VLAN tags) or none, then IPv4 or IPv6 (no extension headers), UDP, and at
// least the 48-byte NTP header. False if it is none of those.
bool parse_looped(std::span<const std::uint8_t> pkt, Looped& out) noexcept;

struct TxTimes {
  clock::UnixNs software = 0;  // scm_timestamping ts[0], 0 = none
  clock::UnixNs hardware = 0;  // ts[2] (the NIC's PHC), 0 = none
};

// The TX time on the served timescale (Unix ns, UTC), or 0 when the message
// has no usable timestamp. `offset_ns` = served clock - CLOCK_REALTIME (read
// once per drain), `tai` = the TSC fit's TAI -> UTC step (kPhcTai).
clock::UnixNs tx_time(const TxTimes& t, TxSource src, std::int64_t offset_ns, const clock::LeapStep& tai) noexcept;

class TxTimestamps {
 public:
  struct Record {
    std::uint32_t seq = 0;
    xleave::Ticket ticket = xleave::kNoTicket;
    Looped expect;
  };
  static constexpr std::size_t kRing = 1024;  // per socket; timestamps come back within a burst or two

  // `sockets`: the worker's sockets (one per listen address); `burst`: the
  // most messages one drain reads.
  TxTimestamps(std::size_t sockets, std::size_t burst);

  // A response with a ticket went out on socket `s` (in send order).
  void sent(std::size_t s, xleave::Ticket t, const Looped& expect) noexcept;

  // One error-queue message read from socket `s`: its ee_data and packet.
  // The ticket it belongs to, or kNoTicket (counted by the caller).
  xleave::Ticket match(std::size_t s, std::uint32_t id, std::span<const std::uint8_t> pkt) noexcept;

  // Buffers for one recvmmsg(MSG_ERRQUEUE) of up to burst messages.
  std::span<mmsghdr> prepare() noexcept;
  std::span<const std::uint8_t> data(std::size_t i, const mmsghdr& h) const noexcept {
    return {bufs_[i].data(), std::min<std::size_t>(h.msg_len, kData)};
  }

 private:
  static constexpr std::size_t kData = 256, kCtrl = 256;
  struct Socket {
    std::vector<Record> ring = std::vector<Record>(kRing);
    std::uint32_t next = 0;   // our number for the next timestamped datagram
    std::uint32_t delta = 0;  // the kernel's number - ours (re-aligned on a mismatch)
  };
  static bool same(const Looped& a, const Looped& b) noexcept {
    return a.receive == b.receive && a.port == b.port && a.to.v6 == b.to.v6 && a.to.bytes == b.to.bytes;
  }
  std::vector<Socket> socks_;
  std::vector<std::array<std::uint8_t, kData>> bufs_;
  std::vector<std::array<std::uint8_t, kCtrl>> ctrl_;
  std::vector<iovec> iov_;
  std::vector<mmsghdr> msgs_;
};

}  // namespace ntsd::sock
