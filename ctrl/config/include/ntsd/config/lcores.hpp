// Which CPUs ntsd's DPDK workers poll on, read from [dataplane] eal_args the
// way the EAL reads them, so that other processes (ntsd-ke) can stay off
// those cores without starting an EAL.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "ntsd/config/config.hpp"

namespace ntsd::config {

// The CPUs of the worker lcores: the EAL's lcores (-l LIST, -c MASK or
// --lcores MAP; all CPUs in `available` if none is given) minus the main
// lcore (--main-lcore, else the lowest), the first `workers` of them in id
// order (RTE_LCORE_FOREACH_WORKER), mapped to their CPUs (--lcores
// "lcore@cpu" or "(lcores)@(cpus)"; otherwise lcore id = CPU). An empty set
// for the socket backend. nullopt with `error` if the arguments cannot be
// read.
std::optional<std::set<int>> dpdk_worker_cpus(const DataplaneConfig& d, const std::set<int>& available,
                                              std::string& error);

// "0-2,5" for {0, 1, 2, 5}.
std::string cpu_list(const std::set<int>& cpus);

}  // namespace ntsd::config
