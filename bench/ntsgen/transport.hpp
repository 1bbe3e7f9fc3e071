// Where packets go. A transport lends buffers for a burst of requests, sends
// them, and hands back received datagrams (UDP payloads) until the next
// receive call. Kernel sockets and DPDK ports implement it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "codec.hpp"

namespace ntsgen {

class Transport {
 public:
  virtual ~Transport() = default;
  // Up to n buffers of at least `len` bytes each; fewer if the transport is
  // out of them. Valid until send().
  virtual std::span<TxBuf> tx_buffers(std::size_t n, std::size_t len) noexcept = 0;
  // Sends the buffers from the last tx_buffers() (those with len 0 are
  // skipped). Returns how many went out.
  virtual std::size_t send(std::span<TxBuf> bufs) noexcept = 0;
  // Up to max datagrams, without blocking. Valid until the next recv().
  virtual std::span<const RxPkt> recv(std::size_t max) noexcept = 0;
  // A clock on the same timebase the transport stamps receptions with.
  virtual std::uint64_t now_ns() const noexcept = 0;
  virtual std::string describe() const = 0;
  // How many clients (source address and port pairs) TxBuf::client counts.
  virtual std::uint32_t clients() const noexcept { return 1; }
};

struct SocketOptions {
  std::string server;          // IPv4 or IPv6 literal, or a host name
  std::uint16_t port = 123;
  std::string bind;            // local address to send from (empty: any)
  unsigned sockets = 16;       // distinct source ports
  bool rx_timestamps = false;  // the kernel's RX timestamps as RxPkt::rx_real_ns
  // Each request of a burst from the next socket, not the whole burst from
  // one: an interleaved client has one request out at a time (RFC 9769 §2),
  // at the cost of one sendmmsg per socket in the burst.
  bool spread = false;
  // > 0: that many clients on consecutive source addresses from `bind` on
  // (which the host must have), all on one unconnected socket, each
  // message's source set with IP_PKTINFO / IPV6_PKTINFO: a burst of requests
  // from different clients in one sendmmsg (interleaved mode at high rates).
  unsigned sources = 0;
};

// Kernel UDP sockets with sendmmsg/recvmmsg. Null (and a message in err) on failure.
std::unique_ptr<Transport> make_socket_transport(const SocketOptions& opt, std::string& err);

std::uint64_t mono_ns() noexcept;

}  // namespace ntsgen
