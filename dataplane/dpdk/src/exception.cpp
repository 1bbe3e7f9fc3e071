// The exception path ([dataplane] exception = "tap" | "virtio_user";
// docs/dataplane.md): frames for this host that are not ntsd's work go to a
// kernel interface that holds the same addresses and the port's MAC, and
// what the kernel sends leaves through the port. So NTS-KE (TCP 4460), SSH
// and ICMP beyond echo work on the address NTP is served on, while UDP 123
// never reaches the kernel.
//
//   port RX -> worker: classify: NTP, ARP and ND for our addresses answered
//     here; for_kernel() frames -> ring to_kernel (many producers)
//     -> exception thread -> net_tap / virtio_user -> kernel
//   kernel -> net_tap / virtio_user -> exception thread (VLAN tag added if
//     configured) -> ring to_wire -> worker 0's TX burst -> port TX
//
// The kernel device is driven by its own thread on the control core (its
// TX is a write() per frame, its RX a read(): syscalls that must never run
// on a polling worker).
#include <net/if.h>
#include <rte_bus_vdev.h>
#include <rte_errno.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <thread>

#include "impl.hpp"
#include "ntsd/runtime/runtime.hpp"

namespace ntsd::dpdk {
namespace {

// Sets the kernel interface up (net_tap does at start; a virtio_user
// backed by vhost-net leaves it down).
bool link_up(const std::string& iface, std::string& error) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return (error = std::string("socket: ") + std::strerror(errno)), false;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, iface.c_str(), IFNAMSIZ - 1);
  bool ok = ::ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
  if (ok && (ifr.ifr_flags & IFF_UP) == 0) {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    ok = ::ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
  }
  if (!ok) error = "interface " + iface + " up: " + std::strerror(errno);
  ::close(fd);
  return ok;
}

std::string mac_string(const net::Mac& m) {
  char s[18];
  std::snprintf(s, sizeof s, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return s;
}

// Tags a frame for the wire with [dataplane] vlan: the port inserts it, or
// it is inserted here (rte_vlan_insert needs 4 bytes of headroom, which
// every RX mbuf has).
bool tag(rte_mbuf*& m, const Port& p, int vlan) {
  if (vlan == 0) return true;
  m->vlan_tci = static_cast<std::uint16_t>(vlan);
  if (p.tx_vlan_insert) {
    m->ol_flags |= RTE_MBUF_F_TX_VLAN;
    return true;
  }
  return rte_vlan_insert(&m) == 0;
}

}  // namespace

bool setup_exception(DpdkBackend::Impl& b, Port& p, std::string& error) {
  const auto& d = b.cfg.dataplane;
  const std::size_t i = b.exceptions.size();
  auto e = std::make_unique<ExceptionPath>();
  e->iface = b.ports.size() > 1 ? d.exception_iface + std::to_string(i) : d.exception_iface;
  // The kernel side gets the port's MAC, so that its frames leave with our
  // source address and frames to our MAC are its own.
  std::string args;
  if (d.exception == config::Exception::kTap) {
    e->dev = "net_tap_exc" + std::to_string(i);
    args = "iface=" + e->iface + ",mac=" + mac_string(p.mac);
  } else {
    e->dev = "virtio_user_exc" + std::to_string(i);
    args = "path=/dev/vhost-net,queues=1,queue_size=" + std::to_string(kExceptionDesc) + ",iface=" + e->iface +
           ",mac=" + mac_string(p.mac);
  }
  const std::string what = "exception path of DPDK port " + p.name + " (" + e->dev + "," + args + ")";
  if (rte_vdev_init(e->dev.c_str(), args.c_str()) != 0 || !find_port(e->dev, e->port)) {
    error = what + ": cannot create the device" +
            (d.exception == config::Exception::kTap ? " (needs /dev/net/tun and CAP_NET_ADMIN)" : " (needs /dev/vhost-net)");
    return false;
  }
  rte_eth_conf conf{};
  int rc = rte_eth_dev_configure(e->port, 1, 1, &conf);
  if (rc == 0) rc = rte_eth_rx_queue_setup(e->port, 0, kExceptionDesc, static_cast<unsigned>(p.socket), nullptr, p.pool);
  if (rc == 0) rc = rte_eth_tx_queue_setup(e->port, 0, kExceptionDesc, static_cast<unsigned>(p.socket), nullptr);
  if (rc == 0) rc = rte_eth_dev_start(e->port);
  if (rc != 0) {
    error = what + ": " + rte_strerror(-rc);
    return false;
  }
  if (!link_up(e->iface, error)) {
    error = what + ": " + error;
    return false;
  }
  const std::string r = "ntsd_exc" + std::to_string(i);
  e->to_kernel = rte_ring_create((r + "_k").c_str(), kExceptionRing, p.socket, RING_F_SC_DEQ);
  e->to_wire = rte_ring_create((r + "_w").c_str(), kExceptionRing, p.socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (e->to_kernel == nullptr || e->to_wire == nullptr) {
    error = what + ": rings: " + rte_strerror(rte_errno);
    return false;
  }
  runtime::log("DPDK port " + p.name + ": exception path to kernel interface " + e->iface + " (" + e->dev + ", mac " +
               mac_string(p.mac) + "): frames for this host that are not NTP, ARP or ND for our addresses go to the "
               "kernel; give " + e->iface + " the same addresses (docs/dataplane.md)");
  if (p.stats != nullptr) p.stats->exception = true;
  p.exc = e.get();
  b.exceptions.push_back(std::move(e));
  return true;
}

void exception_loop(DpdkBackend::Impl& b) {
  constexpr std::uint16_t kBurst = 32;
  std::array<rte_mbuf*, kBurst> m{};
  const int vlan = b.cfg.dataplane.vlan;
  while (!b.shared.stop.load(std::memory_order_relaxed)) {
    unsigned moved = 0;
    for (const Port& p : b.ports) {
      ExceptionPath* e = p.exc;
      if (e == nullptr) continue;
      // Wire -> kernel.
      unsigned n = rte_ring_sc_dequeue_burst(e->to_kernel, reinterpret_cast<void**>(m.data()), kBurst, nullptr);
      // The port's RX flags (checksum status, stripped VLAN) mean nothing to
      // the kernel device; no TX offload is asked of it.
      for (unsigned i = 0; i < n; ++i) m[i]->ol_flags = 0;
      if (n > 0) {
        const std::uint16_t sent = rte_eth_tx_burst(e->port, 0, m.data(), static_cast<std::uint16_t>(n));
        for (unsigned i = sent; i < n; ++i) rte_pktmbuf_free(m[i]);
        if (p.stats != nullptr) {
          runtime::bump(p.stats->exc_to_kernel, sent);
          runtime::bump(p.stats->exc_to_kernel_dropped, n - sent);
        }
        moved += n;
      }
      // Kernel -> wire (worker 0 transmits).
      n = rte_eth_rx_burst(e->port, 0, m.data(), kBurst);
      unsigned ok = 0;
      for (unsigned i = 0; i < n; ++i) {
        if (tag(m[i], p, vlan)) m[ok++] = m[i];
        else rte_pktmbuf_free(m[i]);
      }
      const unsigned q = ok > 0 ? rte_ring_sp_enqueue_burst(e->to_wire, reinterpret_cast<void**>(m.data()), ok, nullptr) : 0;
      for (unsigned i = q; i < ok; ++i) rte_pktmbuf_free(m[i]);
      if (p.stats != nullptr && n > 0) {
        runtime::bump(p.stats->exc_to_wire, q);
        runtime::bump(p.stats->exc_to_wire_dropped, n - q);
      }
      moved += n;
    }
    // Idle: a short sleep keeps the control core free; 100 us is far below
    // what TCP or ICMP notice.
    if (moved == 0) std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

bool for_kernel(net::Bytes f, const net::Classified& c) noexcept {
  using net::Drop;
  const auto u8 = [&](std::size_t off) -> std::uint8_t { return off < f.size() ? f[off] : 0; };
  const auto be16 = [&](std::size_t off) -> std::uint16_t { return static_cast<std::uint16_t>(u8(off) << 8 | u8(off + 1)); };
  if (c.kind == net::Kind::kEchoRequest) return true;  // the host answers ping: it checks the whole path
  if (c.kind != net::Kind::kDrop) return false;
  switch (c.drop) {
    case Drop::kArpNotRequest:  // replies to the kernel's own ARP requests
    case Drop::kArpNotOurs:     // requests for the kernel's other addresses
    case Drop::kNdNotOurs:      // NS for the kernel's link-local or other addresses
    case Drop::kIcmpType:       // NA, RA, unreachable, ... (RFC 4443, RFC 4861)
    case Drop::kProtocol:       // TCP (NTS-KE, SSH), SCTP, ...
    case Drop::kIp4Options:     // IGMP with Router Alert, ...
    case Drop::kEthertype:      // LLDP and other L2 protocols to us or a group
      return true;
    case Drop::kNotOurAddress:  // to our MAC (or an IPv6 group), another address of this host
    case Drop::kIp6ExtHeader:   // MLD (hop-by-hop), ...
    case Drop::kIp4Fragment: {
      // Never UDP 123: a fragment or extension header could be NTP the
      // dataplane does not parse, and NTP must not reach the kernel.
      const std::size_t l3 = c.l3;
      const std::uint8_t proto = c.ip6 ? u8(l3 + 6) : u8(l3 + 9);
      if (proto == 44) return false;  // IPv6 Fragment header (RFC 8200 §4.5)
      if (proto == 17) {
        const std::size_t l4 = c.ip6 ? l3 + net::kIp6Len : l3 + std::size_t{u8(l3) & 15u} * 4;
        if (c.drop == Drop::kIp4Fragment || be16(l4 + 2) == net::kNtpPort) return false;
      }
      return true;
    }
    case Drop::kNotOurMac:  // only group-addressed frames (IPv4 broadcast/multicast): DHCP, IGMP
      return (u8(0) & 1) != 0 && be16(12) == 0x0800;
    case Drop::kUdpPort:  // UDP to our address, another port (DNS replies, ...), never to 123
      return be16(c.l4 + 2) != net::kNtpPort;
    default:  // malformed, bad checksums, spoofed sources, wrong VLAN: dropped
      return false;
  }
}

}  // namespace ntsd::dpdk
