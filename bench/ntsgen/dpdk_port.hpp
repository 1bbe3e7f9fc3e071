// DPDK set-up shared by ntsgen's DPDK transport and ntsgen-reflect: EAL from
// an argument string, and the first probed port with one queue pair.
#pragma once

#include <rte_mempool.h>

#include <cstdint>
#include <string>

namespace ntsgen {

// rte_eal_init with `prog` as argv[0] and `eal_args` split at whitespace.
// False if EAL failed (it prints why).
bool eal_init_from(const char* prog, const std::string& eal_args);

// The first port EAL probed, configured with one RX and one TX queue of
// `ring` descriptors on a new mbuf pool `pool_name`, and started. False
// (nothing started) on any failure.
bool start_first_port(const char* pool_name, std::uint16_t ring, std::uint16_t& port, rte_mempool*& pool);

}  // namespace ntsgen
