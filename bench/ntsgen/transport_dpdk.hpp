// DPDK transport (net_memif, net_af_packet, net_null, NICs): one port, one
// queue pair, on the calling lcore. Requests go out from a range of simulated
// clients (source addresses x ports); the server's MAC comes from ARP/ND or
// --dst-mac.
#pragma once

#include <memory>
#include <string>

#include "cli.hpp"
#include "transport.hpp"

namespace ntsgen {

// Null with `err` set if DPDK is not built in or the port cannot be set up.
std::unique_ptr<Transport> make_dpdk_transport(const Options& o, std::string& err);

}  // namespace ntsgen
