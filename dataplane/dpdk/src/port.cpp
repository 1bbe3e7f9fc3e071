// Port setup: one RX/TX queue pair per worker, RSS where the port has it,
// checksum offloads where the port has them, RX timestamps where offered.
#include <rte_errno.h>
#include <rte_lcore.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include <rte_mbuf_dyn.h>

#include "impl.hpp"
#include "ntsd/runtime/runtime.hpp"

namespace ntsd::dpdk {
namespace {

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

std::string fail(const std::string& port, const char* what, int rc) {
  return "DPDK port " + port + ": " + what + ": " + rte_strerror(rc < 0 ? -rc : rc);
}

}  // namespace

bool setup_port(DpdkBackend::Impl& b, const std::string& spec, std::string& error) {
  Port p;
  const std::string name = spec.substr(0, spec.find(','));  // the device name without its arguments
  p.name = name;
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
  const auto nq = static_cast<std::uint16_t>(b.lcores.size());
  if (nq > info.max_rx_queues || nq > info.max_tx_queues) {
    error = "DPDK port " + name + ": " + std::to_string(nq) + " workers need as many queues; the port has " +
            std::to_string(std::min(info.max_rx_queues, info.max_tx_queues));
    return false;
  }
  rte_eth_conf conf{};
  if (nq > 1 && info.flow_type_rss_offloads != 0) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
  }
  const std::uint64_t rx_ck = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
  p.rx_ip_cksum = (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) != 0;
  p.rx_l4_cksum = (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_UDP_CKSUM) != 0;
  conf.rxmode.offloads |= info.rx_offload_capa & rx_ck;
  p.tx_ip_cksum = (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) != 0;
  p.tx_udp_cksum = (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) != 0;
  // Only the UDP checksum is offloaded: the 20-byte IPv4 header sum is cheaper
  // in software than the per-mbuf offload metadata.
  p.tx_ip_cksum = false;
  conf.txmode.offloads |= info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
  // Per-packet hardware RX timestamps where the PMD offers them (mlx5, ice).
  const bool want_ts = (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP) != 0 &&
                       (b.ts_offset >= 0 || rte_mbuf_dyn_rx_timestamp_register(&b.ts_offset, &b.ts_flag) == 0);
  if (want_ts) conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TIMESTAMP;
  if ((rc = rte_eth_dev_configure(p.id, nq, nq, &conf)) != 0) {
    error = fail(name, "configure", rc);
    return false;
  }
  std::uint16_t rxd = static_cast<std::uint16_t>(b.cfg.dataplane.rx_desc);
  std::uint16_t txd = static_cast<std::uint16_t>(b.cfg.dataplane.tx_desc);
  rte_eth_dev_adjust_nb_rx_tx_desc(p.id, &rxd, &txd);
  const int sock = rte_eth_dev_socket_id(p.id);
  const unsigned socket = sock < 0 ? rte_socket_id() : static_cast<unsigned>(sock);
  for (std::uint16_t q = 0; q < nq; ++q) {
    rte_eth_rxconf rxq = info.default_rxconf;
    rxq.offloads = conf.rxmode.offloads;
    rte_eth_txconf txq = info.default_txconf;
    txq.offloads = conf.txmode.offloads;
    if ((rc = rte_eth_rx_queue_setup(p.id, q, rxd, socket, &rxq, b.pool)) != 0) {
      error = fail(name, "rx queue setup", rc);
      return false;
    }
    if ((rc = rte_eth_tx_queue_setup(p.id, q, txd, socket, &txq)) != 0) {
      error = fail(name, "tx queue setup", rc);
      return false;
    }
  }
  if ((rc = rte_eth_dev_start(p.id)) != 0) {
    error = fail(name, "start", rc);
    return false;
  }
  std::uint64_t probe = 0;
  if (want_ts && rte_eth_read_clock(p.id, &probe) == 0) {
    b.nic_clocks.push_back(std::make_unique<NicClock>(p.id, name));
    p.nic = b.nic_clocks.back().get();
    p.nic->clock.refresh();
  }
  rte_ether_addr mac{};
  rte_eth_macaddr_get(p.id, &mac);
  std::memcpy(p.mac.data(), mac.addr_bytes, 6);
  char macs[RTE_ETHER_ADDR_FMT_SIZE];
  rte_ether_format_addr(macs, sizeof macs, &mac);
  runtime::log("DPDK port " + name + " (" + info.driver_name + ") mac " + macs + ": " + std::to_string(nq) +
               " queue pair(s)" + (conf.rxmode.mq_mode == RTE_ETH_MQ_RX_RSS ? " with RSS" : "") +
               ", rx cksum offload " + (p.rx_l4_cksum ? "on" : "off") + ", tx cksum offload " +
               (p.tx_udp_cksum ? "on" : "off") +
               (p.nic ? ", T2 from hardware RX timestamps (NIC clock mapped to UTC)" : ", T2 read after rx_burst"));
  p.driver = info.driver_name;
  b.ports.push_back(p);
  return true;
}

}  // namespace ntsd::dpdk
