// Port setup: one RX/TX queue pair per worker, RSS where the port has it,
// checksum and VLAN offloads where the port has them, RX timestamps where
// they will be used, the mbuf pool of the port's NUMA socket, multicast MACs
// for IPv6 ND, and rte_flow isolate mode when asked.
#include <rte_errno.h>
#include <rte_lcore.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include <rte_mbuf_dyn.h>

#include "impl.hpp"
#include "ntsd/runtime/runtime.hpp"

namespace ntsd::dpdk {

bool find_port(const std::string& name, std::uint16_t& id) {
  if (rte_eth_dev_get_port_by_name(name.c_str(), &id) == 0) return true;
  unsigned v = 0;  // also accept a port number
  const auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), v);
  if (ec == std::errc() && p == name.data() + name.size() && rte_eth_dev_is_valid_port(static_cast<std::uint16_t>(v))) {
    id = static_cast<std::uint16_t>(v);
    return true;
  }
  return false;
}

namespace {

std::string fail(const std::string& port, const char* what, int rc) {
  return "DPDK port " + port + ": " + what + ": " + rte_strerror(rc < 0 ? -rc : rc);
}

// Whether the PMD puts a per-packet RX timestamp in the mbuf dynfield.
// Normally it says so with RTE_ETH_RX_OFFLOAD_TIMESTAMP (mlx5, ice). DPDK
// 22.11's net_pcap does not (rx_offload_capa = 0), yet its eth_pcap_rx
// stamps every packet with libpcap's header time and sets the dynflag
// (drivers/net/pcap/pcap_ethdev.c; its probe registers the dynfield).
bool pmd_stamps_rx(const rte_eth_dev_info& info) {
  return (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP) != 0 || std::strcmp(info.driver_name, "net_pcap") == 0;
}

// Whether this port's T2 may come from the mbuf dynfield, by [dataplane]
// rx_timestamps. "auto" takes it where offered (it is only used if the NIC
// clock can be read too, see choose_t2); "unix-*" requires it, because those
// modes exist to use the PMD's own stamps and silently serving software T2
// instead would hide a misconfiguration. The dynfield is registered once
// (rte_mbuf_dyn_rx_timestamp_register returns the PMD's offset if it has
// registered it already).
bool want_rx_timestamps(DpdkBackend::Impl& b, std::uint16_t id, const std::string& name, const rte_eth_dev_info& info,
                        bool& want, std::string& error) {
  const config::RxTimestamps mode = b.cfg.dataplane.rx_timestamps;
  want = false;
  if (mode == config::RxTimestamps::kSoftware) return true;
  const bool unix_mode = mode == config::RxTimestamps::kUnixUs || mode == config::RxTimestamps::kUnixNs;
  if (!pmd_stamps_rx(info)) {
    if (!unix_mode) return true;
    error = "DPDK port " + name + " (" + info.driver_name + "): [dataplane] rx_timestamps = \"" +
            config::to_string(mode) +
            "\" needs per-packet RX timestamps (RTE_ETH_RX_OFFLOAD_TIMESTAMP), which this PMD does not offer; "
            "use \"auto\" or \"software\"";
    return false;
  }
  // "auto" uses the stamps only where the NIC clock can be read to map them
  // (choose_t2); where it cannot (ice, net_pcap), neither the offload nor the
  // dynfield is asked for, so the PMD does no per-packet work for nothing.
  std::uint64_t probe = 0;
  if (!unix_mode && rte_eth_read_clock(id, &probe) != 0) return true;
  if (b.ts_offset < 0 && rte_mbuf_dyn_rx_timestamp_register(&b.ts_offset, &b.ts_flag) != 0) {
    if (!unix_mode) return true;
    error = fail(name, "RX timestamp dynfield registration", rte_errno);
    return false;
  }
  want = true;
  return true;
}

// After start: the port's T2 source. "auto" uses the dynfield only where the
// NIC clock can be read, to map its ticks to UTC (mlx5); "unix-*" needs no
// clock, the stamps already are UTC.
void choose_t2(DpdkBackend::Impl& b, Port& p, bool ts_on) {
  if (!ts_on) return;
  switch (b.cfg.dataplane.rx_timestamps) {
    case config::RxTimestamps::kUnixUs:
    case config::RxTimestamps::kUnixNs: p.t2 = T2Source::kUnixEpoch; return;
    case config::RxTimestamps::kSoftware: return;
    case config::RxTimestamps::kAuto: break;
  }
  std::uint64_t probe = 0;
  if (rte_eth_read_clock(p.id, &probe) != 0) return;
  b.nic_clocks.push_back(std::make_unique<NicClock>(p.id, p.name, nic_reference(b.shared), b.shared.leaps));
  p.nic = b.nic_clocks.back().get();
  p.nic->clock.refresh();
  p.t2 = T2Source::kNicClock;
}

std::string t2_note(T2Source s, config::RxTimestamps mode) {
  switch (s) {
    case T2Source::kNicClock:
      return "T2 from hardware RX timestamps (NIC clock fitted to the configured clock source, on UTC)";
    case T2Source::kUnixEpoch:
      return std::string("T2 from the PMD's RX timestamps (") + (mode == config::RxTimestamps::kUnixUs ? "us" : "ns") +
             " since the UNIX epoch, rx_timestamps = \"" + config::to_string(mode) + "\")";
    case T2Source::kSoftware: break;
  }
  return "T2 read after rx_burst";
}


// A worker lcore polling a port on another NUMA node pays a remote access
// for every descriptor and frame: say so (the operator picks the lcores).
void warn_numa(const DpdkBackend::Impl& b, const std::string& name, std::uint16_t id) {
  const int ps = rte_eth_dev_socket_id(id);
  if (ps < 0) return;  // a virtual device: no node of its own
  for (unsigned lc : b.lcores) {
    const unsigned ls = rte_lcore_to_socket_id(lc);
    if (static_cast<int>(ls) != ps)
      runtime::log("warning: DPDK port " + name + " is on NUMA socket " + std::to_string(ps) + " but worker lcore " +
                   std::to_string(lc) + " is on socket " + std::to_string(ls) +
                   ": every frame crosses the interconnect; give the workers lcores of socket " + std::to_string(ps) +
                   " (-l in [dataplane] eal_args)");
  }
}

// RX offloads to ask for: checksums, and VLAN strip/filter with [dataplane] vlan.
void rx_offloads(const DpdkBackend::Impl& b, const rte_eth_dev_info& info, Port& p, rte_eth_conf& conf) {
  const std::uint64_t rx_ck = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
  p.rx_ip_cksum = (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) != 0;
  p.rx_l4_cksum = (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_UDP_CKSUM) != 0;
  conf.rxmode.offloads |= info.rx_offload_capa & rx_ck;
  if (b.cfg.dataplane.vlan != 0)
    conf.rxmode.offloads |=
        info.rx_offload_capa & (RTE_ETH_RX_OFFLOAD_VLAN_STRIP | RTE_ETH_RX_OFFLOAD_VLAN_FILTER);
}

void tx_offloads(const DpdkBackend::Impl& b, const rte_eth_dev_info& info, Port& p, rte_eth_conf& conf) {
  p.tx_udp_cksum = (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) != 0;
  // Only the UDP checksum is offloaded: the 20-byte IPv4 header sum is cheaper
  // in software than the per-mbuf offload metadata.
  p.tx_ip_cksum = false;
  conf.txmode.offloads |= info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
  p.tx_vlan_insert = b.cfg.dataplane.vlan != 0 && (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_VLAN_INSERT) != 0;
  if (p.tx_vlan_insert) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_VLAN_INSERT;
}

bool setup_queues(DpdkBackend::Impl& b, const std::string& name, const rte_eth_dev_info& info, const rte_eth_conf& conf,
                  Port& p, std::uint16_t nq, std::string& error) {
  std::uint16_t rxd = static_cast<std::uint16_t>(b.cfg.dataplane.rx_desc);
  std::uint16_t txd = static_cast<std::uint16_t>(b.cfg.dataplane.tx_desc);
  rte_eth_dev_adjust_nb_rx_tx_desc(p.id, &rxd, &txd);
  for (std::uint16_t q = 0; q < nq; ++q) {
    rte_eth_rxconf rxq = info.default_rxconf;
    rxq.offloads = conf.rxmode.offloads;
    rte_eth_txconf txq = info.default_txconf;
    txq.offloads = conf.txmode.offloads;
    int rc = rte_eth_rx_queue_setup(p.id, q, rxd, static_cast<unsigned>(p.socket), &rxq, p.pool);
    if (rc != 0) {
      error = fail(name, "rx queue setup", rc);
      return false;
    }
    if ((rc = rte_eth_tx_queue_setup(p.id, q, txd, static_cast<unsigned>(p.socket), &txq)) != 0) {
      error = fail(name, "tx queue setup", rc);
      return false;
    }
  }
  return true;
}

}  // namespace

bool setup_port(DpdkBackend::Impl& b, const std::string& spec, std::string& error) {
  Port p;
  const std::string name = spec.substr(0, spec.find(','));  // the device name without its arguments
  p.name = name;
  if (const auto at = spec.find(",iface="); at != std::string::npos) {
    const std::size_t from = at + 7;
    p.kernel_iface = spec.substr(from, spec.find(',', from) - from);
  }
  if (!find_port(name, p.id)) {
    error = "DPDK port '" + name + "' not found (" + std::to_string(rte_eth_dev_count_avail()) +
            " port(s) available; add it with --vdev=... in [dataplane] eal_args)";
    return false;
  }
  rte_eth_dev_info info{};
  int rc = rte_eth_dev_info_get(p.id, &info);
  if (rc != 0) {
    error = fail(name, "info", rc);
    return false;
  }
  p.driver = info.driver_name;
  const auto nq = static_cast<std::uint16_t>(b.lcores.size());
  if (nq > info.max_rx_queues || nq > info.max_tx_queues) {
    error = "DPDK port " + name + ": " + std::to_string(nq) + " workers need as many queues; the port has " +
            std::to_string(std::min(info.max_rx_queues, info.max_tx_queues));
    return false;
  }
  p.socket = port_socket(p.id);
  warn_numa(b, name, p.id);
  if ((p.pool = pool_for(b, p.socket, error)) == nullptr) return false;
  const bool isolate = b.cfg.dataplane.exception == config::Exception::kIsolate;
  if (isolate && !enable_isolate(p, p.driver, error)) return false;
  rte_eth_conf conf{};
  if (nq > 1 && info.flow_type_rss_offloads != 0) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    // Interleaved mode: hash on the addresses only, so that a client whose
    // port changes per request (chrony) stays on the worker holding its
    // entry (docs/dataplane.md, "Transmit timestamps").
    const std::uint64_t l4 = b.cfg.server.interleaved ? 0 : RTE_ETH_RSS_UDP;
    conf.rx_adv_conf.rss_conf.rss_hf = (RTE_ETH_RSS_IP | l4) & info.flow_type_rss_offloads;
  }
  rx_offloads(b, info, p, conf);
  tx_offloads(b, info, p, conf);
  // Per-packet RX timestamps where they will be used (mlx5; net_pcap with
  // rx_timestamps = "unix-*").
  bool want_ts = false;
  if (!want_rx_timestamps(b, p.id, name, info, want_ts, error)) return false;
  // Only an offload the port reports may be requested (rte_eth_dev_configure
  // rejects others); net_pcap stamps without it.
  if (want_ts) conf.rxmode.offloads |= info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP;
  if ((rc = rte_eth_dev_configure(p.id, nq, nq, &conf)) != 0) {
    error = fail(name, "configure", rc);
    return false;
  }
  if ((conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_VLAN_FILTER) != 0 &&
      (rc = rte_eth_dev_vlan_filter(p.id, static_cast<std::uint16_t>(b.cfg.dataplane.vlan), 1)) != 0)
    runtime::log("DPDK port " + name + ": VLAN filter for " + std::to_string(b.cfg.dataplane.vlan) + " not set (" +
                 rte_strerror(-rc) + "); other VLANs are dropped in software");
  if (!setup_queues(b, name, info, conf, p, nq, error)) return false;
  if ((rc = rte_eth_dev_start(p.id)) != 0) {
    error = fail(name, "start", rc);
    return false;
  }
  choose_t2(b, p, want_ts);
  rte_ether_addr mac{};
  rte_eth_macaddr_get(p.id, &mac);
  std::memcpy(p.mac.data(), mac.addr_bytes, 6);
  char macs[RTE_ETHER_ADDR_FMT_SIZE];
  rte_ether_format_addr(macs, sizeof macs, &mac);
  if (isolate && !create_ntp_flows(b, p, nq, error)) return false;
  if (!isolate) program_multicast(b, p);
  const int vlan = b.cfg.dataplane.vlan;
  runtime::log("DPDK port " + name + " (" + p.driver + ") mac " + macs + ", socket " + std::to_string(p.socket) + ": " +
               std::to_string(nq) + " queue pair(s)" + (conf.rxmode.mq_mode == RTE_ETH_MQ_RX_RSS ? " with RSS" : "") +
               ", rx cksum offload " + (p.rx_l4_cksum ? "on" : "off") + ", tx cksum offload " +
               (p.tx_udp_cksum ? "on" : "off") +
               (vlan != 0 ? ", VLAN " + std::to_string(vlan) + (p.tx_vlan_insert ? " (tag offloaded)" : " (tag in software)") : "") +
               ", " + t2_note(p.t2, b.cfg.dataplane.rx_timestamps));
  p.stats = b.shared.metrics.add_port(name, p.driver);
  b.ports.push_back(p);
  return true;
}

}  // namespace ntsd::dpdk
