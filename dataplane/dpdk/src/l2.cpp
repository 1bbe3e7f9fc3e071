// L2 on a real NIC: multicast MACs for IPv6 Neighbor Discovery, and rte_flow
// isolate mode for NICs whose kernel driver keeps the port (mlx5).
#include <linux/if_packet.h>
#include <net/if.h>
#include <rte_errno.h>
#include <rte_flow.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <cstring>
#include <vector>

#include "impl.hpp"
#include "ntsd/runtime/runtime.hpp"

namespace ntsd::dpdk {
namespace {

// 33:33 + the low 32 bits of an IPv6 multicast address (RFC 2464 §7).
rte_ether_addr ipv6_multicast_mac(const std::uint8_t (&group)[16]) {
  rte_ether_addr m{};
  m.addr_bytes[0] = 0x33;
  m.addr_bytes[1] = 0x33;
  std::memcpy(m.addr_bytes + 2, group + 12, 4);
  return m;
}

// ff02::1:ffXX:XXXX, the solicited-node group of an address (RFC 4291 §2.7.1).
rte_ether_addr solicited_node_mac(const std::uint8_t* addr) {
  std::uint8_t g[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, addr[13], addr[14], addr[15]};
  return ipv6_multicast_mac(g);
}

std::string mac_text(const rte_ether_addr& m) {
  char s[RTE_ETHER_ADDR_FMT_SIZE];
  rte_ether_format_addr(s, sizeof s, &m);
  return s;
}

// A virtual device over a kernel netdev (net_af_packet, net_pcap, net_af_xdp,
// net_tap with "iface="): its frames pass the netdev's own multicast filter,
// which the PMD does not program (DPDK 22.11's af_packet has no
// set_mc_addr_list, and net_tap's does nothing). A PACKET_ADD_MEMBERSHIP on
// an AF_PACKET socket adds the MACs to the netdev's list (dev_mc_add: what a
// NIC driver programs into its filter, and what `ip maddr` shows). The
// socket has protocol 0, so it receives nothing; it is kept open for as
// long as ntsd runs, since the memberships end with it (packet(7)).
bool join_on_netdev(DpdkBackend::Impl& b, const Port& p, const std::vector<rte_ether_addr>& macs, std::string& why) {
  const unsigned index = if_nametoindex(p.kernel_iface.c_str());
  if (index == 0) return (why = p.kernel_iface + ": " + std::strerror(errno)), false;
  const int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) return (why = std::string("AF_PACKET socket: ") + std::strerror(errno)), false;
  for (const auto& m : macs) {
    packet_mreq mr{};
    mr.mr_ifindex = static_cast<int>(index);
    mr.mr_type = PACKET_MR_MULTICAST;
    mr.mr_alen = RTE_ETHER_ADDR_LEN;
    std::memcpy(mr.mr_address, m.addr_bytes, RTE_ETHER_ADDR_LEN);
    if (::setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) != 0) {
      why = p.kernel_iface + ": PACKET_ADD_MEMBERSHIP: " + std::strerror(errno);
      ::close(fd);
      return false;
    }
  }
  b.mc_fds.push_back(fd);
  return true;
}

}  // namespace

void program_multicast(DpdkBackend::Impl& b, const Port& p) {
  std::vector<rte_ether_addr> macs;
  // A Neighbor Solicitation goes to the target's solicited-node group; a NIC
  // that filters multicast in hardware drops it unless the group's MAC is on
  // its list, and the neighbour never resolves us.
  for (const net::Ip6& a : b.addrs.ip6) macs.push_back(solicited_node_mac(a.data()));
  const bool exception = b.cfg.dataplane.exception == config::Exception::kTap ||
                         b.cfg.dataplane.exception == config::Exception::kVirtioUser;
  if (exception) {
    // The kernel behind the exception path also hears all-nodes (Router
    // Advertisements, RFC 4861 §6.3.4) and its link-local address's group
    // (fe80::/64 + the modified EUI-64 of the port's MAC, RFC 4291 App. A).
    static constexpr std::uint8_t kAllNodes[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    macs.push_back(ipv6_multicast_mac(kAllNodes));
    const std::uint8_t ll[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, p.mac[3], p.mac[4], p.mac[5]};
    macs.push_back(solicited_node_mac(ll));
  }
  if (macs.empty()) return;
  // Duplicates (two addresses sharing their low 24 bits) are harmless to the
  // PMDs but noisy in logs: drop them.
  std::vector<rte_ether_addr> uniq;
  for (const auto& m : macs) {
    bool seen = false;
    for (const auto& u : uniq) seen = seen || rte_is_same_ether_addr(&m, &u);
    if (!seen) uniq.push_back(m);
  }
  std::string list;
  for (const auto& m : uniq) list += (list.empty() ? "" : " ") + mac_text(m);
  const int rc = rte_eth_dev_set_mc_addr_list(p.id, uniq.data(), static_cast<std::uint32_t>(uniq.size()));
  std::string why;
  const bool netdev = !p.kernel_iface.empty() && join_on_netdev(b, p, uniq, why);
  if (rc == 0 || netdev) {
    runtime::log("DPDK port " + p.name + ": multicast MAC(s) " + list + " programmed for IPv6 Neighbor Discovery (" +
                 (rc == 0 ? "the port's filter" : "") + (rc == 0 && netdev ? " and " : "") +
                 (netdev ? "kernel interface " + p.kernel_iface + "'s list" : "") + ")");
    return;
  }
  const int arc = rte_eth_allmulticast_enable(p.id);
  runtime::log("DPDK port " + p.name + " (" + p.driver + ") cannot filter multicast MACs (rte_eth_dev_set_mc_addr_list: " +
               rte_strerror(-rc) + (why.empty() ? "" : "; " + why) + "): " +
               (arc == 0 ? "allmulticast on, so that Neighbor Solicitations reach ntsd"
                         : std::string("allmulticast failed too (") + rte_strerror(-arc) +
                               "); IPv6 neighbours may not resolve ntsd's addresses if the port filters multicast"));
}

bool enable_isolate(const Port& p, const std::string& driver, std::string& error) {
  rte_flow_error fe{};
  const int rc = rte_flow_isolate(p.id, 1, &fe);
  if (rc != 0) {
    error = "DPDK port " + p.name + " (" + driver + "): [dataplane] exception = \"isolate\" needs rte_flow isolate mode, which this PMD " +
            "refuses (" + (fe.message != nullptr ? fe.message : rte_strerror(-rc)) +
            "); use exception = \"tap\" (or \"virtio_user\"), or a NIC with a bifurcated driver (mlx5)";
    return false;
  }
  return true;
}

namespace {

// One rule: [VLAN] / IPv4 or IPv6 dst = addr / UDP dst 123 -> the workers'
// queues (RSS over them, or queue 0 for one worker).
bool ntp_flow(const Port& p, int vlan, const std::uint8_t* addr, bool v6, std::uint16_t queues, std::string& error) {
  std::vector<rte_flow_item> items;
  rte_flow_item_eth eth{};
  rte_flow_item_vlan vl{}, vl_mask{};
  rte_flow_item_ipv4 ip4{}, ip4_mask{};
  rte_flow_item_ipv6 ip6{}, ip6_mask{};
  rte_flow_item_udp udp{}, udp_mask{};
  items.push_back({RTE_FLOW_ITEM_TYPE_ETH, &eth, nullptr, nullptr});
  if (vlan != 0) {
    vl.hdr.vlan_tci = rte_cpu_to_be_16(static_cast<std::uint16_t>(vlan));
    vl_mask.hdr.vlan_tci = rte_cpu_to_be_16(0x0fff);
    items.push_back({RTE_FLOW_ITEM_TYPE_VLAN, &vl, nullptr, &vl_mask});
  }
  if (v6) {
    std::memcpy(ip6.hdr.dst_addr, addr, 16);
    std::memset(ip6_mask.hdr.dst_addr, 0xff, 16);
    items.push_back({RTE_FLOW_ITEM_TYPE_IPV6, &ip6, nullptr, &ip6_mask});
  } else {
    std::memcpy(&ip4.hdr.dst_addr, addr, 4);
    ip4_mask.hdr.dst_addr = 0xffffffff;
    items.push_back({RTE_FLOW_ITEM_TYPE_IPV4, &ip4, nullptr, &ip4_mask});
  }
  udp.hdr.dst_port = rte_cpu_to_be_16(net::kNtpPort);
  udp_mask.hdr.dst_port = 0xffff;
  items.push_back({RTE_FLOW_ITEM_TYPE_UDP, &udp, nullptr, &udp_mask});
  items.push_back({RTE_FLOW_ITEM_TYPE_END, nullptr, nullptr, nullptr});
  std::vector<std::uint16_t> q(queues);
  for (std::uint16_t i = 0; i < queues; ++i) q[i] = i;
  rte_flow_action_queue one{0};
  rte_flow_action_rss rss{};
  rss.types = RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP;
  rss.queue_num = queues;
  rss.queue = q.data();
  rte_flow_action actions[2] = {{RTE_FLOW_ACTION_TYPE_QUEUE, &one}, {RTE_FLOW_ACTION_TYPE_END, nullptr}};
  if (queues > 1) actions[0] = {RTE_FLOW_ACTION_TYPE_RSS, &rss};
  rte_flow_attr attr{};
  attr.ingress = 1;
  rte_flow_error fe{};
  if (rte_flow_create(p.id, &attr, items.data(), actions, &fe) == nullptr) {
    error = "DPDK port " + p.name + ": flow rule for UDP 123 (" + (v6 ? "IPv6" : "IPv4") + ") refused: " +
            (fe.message != nullptr ? fe.message : rte_strerror(rte_errno));
    return false;
  }
  return true;
}

}  // namespace

bool create_ntp_flows(DpdkBackend::Impl& b, const Port& p, std::uint16_t queues, std::string& error) {
  const int vlan = b.cfg.dataplane.vlan;
  for (const net::Ip4& a : b.addrs.ip4)
    if (!ntp_flow(p, vlan, a.data(), false, queues, error)) return false;
  for (const net::Ip6& a : b.addrs.ip6)
    if (!ntp_flow(p, vlan, a.data(), true, queues, error)) return false;
  runtime::log("DPDK port " + p.name + ": flow isolate mode; UDP 123 to " +
               std::to_string(b.addrs.ip4.size() + b.addrs.ip6.size()) +
               " address(es) steered to the workers, everything else stays with the kernel driver");
  return true;
}

}  // namespace ntsd::dpdk
