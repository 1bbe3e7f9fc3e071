// ntsd --probe-port: what each configured port can do, before ntsd is put
// on it (docs/dataplane.md, "Qualifying a port"). The EAL starts with the
// configured arguments; each port is configured with one queue pair, started
// to read its link and clock, then stopped and closed. The output is stable
// text for humans and for tests (tests/e2e/probe_port.sh keeps goldens).
#include <rte_errno.h>
#include <rte_flow.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "impl.hpp"

namespace ntsd::dpdk {
namespace {

const char* yn(bool b) { return b ? "yes" : "no"; }

std::string rss_types(std::uint64_t hf) {
  if (hf == 0) return "no";
  std::string s;
  const std::pair<std::uint64_t, const char*> kinds[] = {
      {RTE_ETH_RSS_IPV4, "ipv4"}, {RTE_ETH_RSS_NONFRAG_IPV4_UDP, "ipv4-udp"},
      {RTE_ETH_RSS_IPV6, "ipv6"}, {RTE_ETH_RSS_NONFRAG_IPV6_UDP, "ipv6-udp"}};
  for (const auto& [bit, name] : kinds)
    if (hf & bit) s += std::string(s.empty() ? "" : " ") + name;
  return s.empty() ? "yes (no IP/UDP hash)" : "yes (" + s + ")";
}

std::string speed(std::uint32_t mbps) {
  if (mbps == RTE_ETH_SPEED_NUM_NONE) return "speed none";
  if (mbps == RTE_ETH_SPEED_NUM_UNKNOWN) return "speed unknown";
  if (mbps % 1000 == 0) return std::to_string(mbps / 1000) + " Gb/s";
  return std::to_string(mbps) + " Mb/s";
}

struct Caps {
  std::uint16_t max_queues = 0;
  bool stamps = false, read_clock = false, isolate = false;
};

// One port: its report, and what it can do for the checks.
bool probe_one(const std::string& spec, int workers, std::string& out, Caps& caps, std::string& problems) {
  const std::string name = spec.substr(0, spec.find(','));
  std::uint16_t id = 0;
  if (!find_port(name, id)) {
    problems += "DPDK port '" + name + "' not found (" + std::to_string(rte_eth_dev_count_avail()) +
                " port(s) available)\n";
    return false;
  }
  rte_eth_dev_info info{};
  if (const int rc = rte_eth_dev_info_get(id, &info); rc != 0) {
    problems += "DPDK port " + name + ": info: " + rte_strerror(-rc) + "\n";
    return false;
  }
  caps.max_queues = std::min(info.max_rx_queues, info.max_tx_queues);
  const int sock = rte_eth_dev_socket_id(id);
  rte_ether_addr mac{};
  rte_eth_macaddr_get(id, &mac);
  char macs[RTE_ETHER_ADDR_FMT_SIZE];
  rte_ether_format_addr(macs, sizeof macs, &mac);
  const std::uint64_t rx = info.rx_offload_capa, tx = info.tx_offload_capa;
  // Flow isolate must be asked before configure; undone at once.
  rte_flow_error fe{};
  caps.isolate = rte_flow_isolate(id, 1, &fe) == 0;
  if (caps.isolate) rte_flow_isolate(id, 0, &fe);
  caps.stamps = (rx & RTE_ETH_RX_OFFLOAD_TIMESTAMP) != 0 || std::string(info.driver_name) == "net_pcap";
  char line[256];
  std::string o;
  const auto add = [&](const char* key, const std::string& v) {
    std::snprintf(line, sizeof line, "  %-18s %s\n", key, v.c_str());
    o += line;
  };
  o += "port " + name + " (port " + std::to_string(id) + ")\n";
  add("driver", info.driver_name);
  add("numa socket", sock < 0 ? "any (virtual device)" : std::to_string(sock));
  add("mac", macs);
  add("queues", "rx " + std::to_string(info.max_rx_queues) + ", tx " + std::to_string(info.max_tx_queues) +
                    " (ntsd needs " + std::to_string(workers) + " of each: one per worker)");
  add("descriptors", "rx " + std::to_string(info.rx_desc_lim.nb_min) + ".." + std::to_string(info.rx_desc_lim.nb_max) +
                         ", tx " + std::to_string(info.tx_desc_lim.nb_min) + ".." + std::to_string(info.tx_desc_lim.nb_max));
  add("rss", rss_types(info.flow_type_rss_offloads) +
                 (info.reta_size ? ", reta " + std::to_string(info.reta_size) : std::string()));
  add("rx checksum", std::string("ipv4 ") + yn(rx & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) + ", udp " +
                         yn(rx & RTE_ETH_RX_OFFLOAD_UDP_CKSUM));
  add("tx checksum", std::string("ipv4 ") + yn(tx & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) + ", udp " +
                         yn(tx & RTE_ETH_TX_OFFLOAD_UDP_CKSUM));
  add("vlan offload", std::string("strip ") + yn(rx & RTE_ETH_RX_OFFLOAD_VLAN_STRIP) + ", filter " +
                          yn(rx & RTE_ETH_RX_OFFLOAD_VLAN_FILTER) + ", insert " + yn(tx & RTE_ETH_TX_OFFLOAD_VLAN_INSERT));
  add("rx timestamps", (rx & RTE_ETH_RX_OFFLOAD_TIMESTAMP) ? "yes (RTE_ETH_RX_OFFLOAD_TIMESTAMP)"
                       : caps.stamps                        ? "yes (libpcap header time, us since the UNIX epoch: rx_timestamps = \"unix-us\")"
                                                            : "no");
  add("flow isolate", caps.isolate ? "yes" : "no");
  // Start with one queue pair to read the link and the clock as ntsd would.
  rte_mempool* pool = rte_pktmbuf_pool_create(("probe_" + std::to_string(id)).c_str(), 2047, 0, 0,
                                              RTE_MBUF_DEFAULT_BUF_SIZE, port_socket(id));
  rte_eth_conf conf{};
  int rc = pool == nullptr ? -rte_errno : rte_eth_dev_configure(id, 1, 1, &conf);
  std::uint16_t rxd = 512, txd = 512;
  if (rc == 0) rc = rte_eth_dev_adjust_nb_rx_tx_desc(id, &rxd, &txd);
  if (rc == 0) rc = rte_eth_rx_queue_setup(id, 0, rxd, static_cast<unsigned>(port_socket(id)), nullptr, pool);
  if (rc == 0) rc = rte_eth_tx_queue_setup(id, 0, txd, static_cast<unsigned>(port_socket(id)), nullptr);
  if (rc == 0) rc = rte_eth_dev_start(id);
  if (rc != 0) {
    add("start", std::string("FAILED: ") + rte_strerror(-rc));
    problems += "DPDK port " + name + ": cannot start: " + rte_strerror(-rc) + "\n";
    out += o;
    return false;
  }
  const int mc = rte_eth_dev_set_mc_addr_list(id, nullptr, 0);
  add("multicast filter", mc == 0 ? "yes (solicited-node MACs are programmed)"
                                  : std::string("no (") + rte_strerror(-mc) + "): ntsd turns allmulticast on");
  std::uint64_t ticks = 0;
  rc = rte_eth_read_clock(id, &ticks);
  caps.read_clock = rc == 0;
  add("read_clock", rc == 0 ? "yes (clock = \"dpdk\" and hardware T2 possible)"
                            : std::string("no (") + rte_strerror(-rc) + "): clock = \"dpdk\" is refused");
  rte_eth_link link{};
  for (int i = 0; i < 30; ++i) {  // up to 3 s for autonegotiation
    if (rte_eth_link_get_nowait(id, &link) == 0 && link.link_status == RTE_ETH_LINK_UP) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  add("link", link.link_status == RTE_ETH_LINK_UP
                  ? "up, " + speed(link.link_speed) + ", " + (link.link_duplex ? "full" : "half") + " duplex"
                  : std::string("down"));
  // Isolate mode is what a bifurcated driver (mlx5: the kernel netdev stays)
  // is made for; elsewhere (net_tap's TC-based flows, ...) it is no host path.
  const bool bifurcated = std::string(info.driver_name).find("mlx") != std::string::npos;
  std::string exc = caps.isolate && bifurcated ? "isolate (the kernel driver keeps the port; UDP 123 is steered to ntsd)"
                                               : "tap (or virtio_user where /dev/vhost-net exists)";
  add("exception", exc);
  rte_eth_dev_stop(id);
  rte_eth_dev_close(id);
  out += o;
  return true;
}

}  // namespace

bool probe_ports(const config::Config& cfg, bool check, std::string& out, std::string& problems) {
  const auto& d = cfg.dataplane;
  if (d.ports.empty()) {
    problems = "[dataplane] ports: nothing to probe\n";
    return false;
  }
  if (!eal_init(cfg, problems)) {
    problems += "\n";
    return false;
  }
  bool ok = true;
  for (std::size_t i = 0; i < d.ports.size(); ++i) {
    Caps caps;
    if (!probe_one(d.ports[i], d.workers, out, caps, problems)) {
      ok = false;
      continue;
    }
    if (!check) continue;
    const std::string name = d.ports[i].substr(0, d.ports[i].find(','));
    if (caps.max_queues < d.workers)
      problems += "[dataplane] workers = " + std::to_string(d.workers) + ": port " + name + " has " +
                  std::to_string(caps.max_queues) + " queue pair(s)\n";
    if (i == 0 && cfg.server.clock == "dpdk" && !caps.read_clock)
      problems += "[server] clock = \"dpdk\": port " + name + " cannot read its clock (rte_eth_read_clock)\n";
    if ((d.rx_timestamps == config::RxTimestamps::kUnixUs || d.rx_timestamps == config::RxTimestamps::kUnixNs) &&
        !caps.stamps)
      problems += std::string("[dataplane] rx_timestamps = \"") + config::to_string(d.rx_timestamps) + "\": port " + name +
                  " does not stamp received packets\n";
    if (d.exception == config::Exception::kIsolate && !caps.isolate)
      problems += "[dataplane] exception = \"isolate\": port " + name + " has no rte_flow isolate mode\n";
  }
  return ok && problems.empty();
}

}  // namespace ntsd::dpdk
