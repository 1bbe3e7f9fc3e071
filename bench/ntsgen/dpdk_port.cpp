#include "dpdk_port.hpp"

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <sstream>
#include <vector>

namespace ntsgen {

bool eal_init_from(const char* prog, const std::string& eal_args) {
  std::vector<std::string> args{prog};
  std::istringstream in(eal_args);
  for (std::string a; in >> a;) args.push_back(a);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return rte_eal_init(static_cast<int>(argv.size()), argv.data()) >= 0;
}

bool start_first_port(const char* pool_name, std::uint16_t ring, std::uint16_t& port, rte_mempool*& pool) {
  port = static_cast<std::uint16_t>(rte_eth_find_next(0));
  pool = rte_pktmbuf_pool_create(pool_name, 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                 static_cast<int>(rte_socket_id()));
  rte_eth_conf conf{};
  return pool != nullptr && rte_eth_dev_configure(port, 1, 1, &conf) == 0 &&
         rte_eth_rx_queue_setup(port, 0, ring, rte_eth_dev_socket_id(port), nullptr, pool) == 0 &&
         rte_eth_tx_queue_setup(port, 0, ring, rte_eth_dev_socket_id(port), nullptr) == 0 &&
         rte_eth_dev_start(port) == 0;
}

}  // namespace ntsgen
