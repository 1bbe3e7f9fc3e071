// Backend selection: the socket backend always, DPDK when built with it.
#pragma once

#include <memory>
#include <string>

#include "options.hpp"
#include "ntsd/clock/source.hpp"
#include "ntsd/runtime/runtime.hpp"

namespace ntsd::app {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual void run() = 0;  // until shared.stop
  // clock = "dpdk": the NIC clock of the backend's first port, or null with
  // `error` saying why (the socket backend has none).
  virtual std::unique_ptr<clock::ClockSource> nic_clock(std::string& error) {
    error = "clock = \"dpdk\" needs the DPDK backend ([dataplane] backend = \"dpdk\")";
    return nullptr;
  }
};

// Checks the backend part of the configuration (addresses, ports, EAL args).
bool validate_backend(const Options& o, std::string& error);
// --probe-port: the DPDK ports' report on stdout (and with --check-config
// the configuration checked against it); returns the exit code.
int probe_ports(const Options& o);
// Opens the backend (sockets bound / EAL up and ports started), or says why not.
std::unique_ptr<Backend> make_backend(const Options& o, runtime::Shared& shared, std::string& error);

}  // namespace ntsd::app
