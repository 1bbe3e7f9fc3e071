// Built when DPDK is not available: the socket transport still works.
#include "transport_dpdk.hpp"

namespace ntsgen {

std::unique_ptr<Transport> make_dpdk_transport(const Options&, std::string& err) {
  err = "this ntsgen was built without DPDK (libdpdk-dev); use --transport socket";
  return nullptr;
}

}  // namespace ntsgen
