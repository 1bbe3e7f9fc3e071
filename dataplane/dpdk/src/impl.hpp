// Internal state of the DPDK backend, shared by its source files.
#pragma once

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ntsd/clock/system_clock.hpp"
#include "ntsd/clock/tick_clock.hpp"
#include "ntsd/clock/tsc_map.hpp"

#include "ntsd/config/config.hpp"
#include "ntsd/dpdk/backend.hpp"
#include "ntsd/net/packet.hpp"

namespace ntsd::dpdk {

// A port's NIC clock as a tick counter (rte_eth_read_clock).
class NicTicks final : public clock::TickSource {
 public:
  explicit NicTicks(std::uint16_t port) : port_(port) {}
  std::uint64_t ticks() noexcept override {
    std::uint64_t c = 0;
    rte_eth_read_clock(port_, &c);
    return c;
  }

 private:
  std::uint16_t port_;
};

// The NIC clock mapped to UTC (ptp_clock/tick_clock.hpp: the TSC's offset +
// drift fit) against `ref`: the configured clock source (runtime::Shared::
// nic_reference), so that hardware T2s and the T3s read from the TSC fit are
// on one timescale -- a NIC clock fitted to the system clock while T3 comes
// from a PHC would put every T2 off by the PHC-system offset. With `leaps`
// the fit runs on TAI and converts to UTC at the right tick across a leap.
// Used for the per-packet hardware RX timestamps (mbuf dynfield), refreshed
// by the backend's clock thread, and, as a separate instance owned by the
// control thread, for clock = "dpdk" (then `ref` is the system clock).
struct NicClock {
  NicClock(std::uint16_t port, const std::string& name, std::unique_ptr<clock::ClockSource> reference,
           const clock::LeapTableRef* leaps = nullptr)
      : ticks(port), ref(std::move(reference)),
        clock("nic " + name, ticks, *ref, 100'000'000, clock::CalibratorConfig{}, leaps) {}
  NicTicks ticks;
  std::unique_ptr<clock::ClockSource> ref;
  clock::TickClock clock;
};

// The reference for a NIC clock: the configured source, else the system clock.
inline std::unique_ptr<clock::ClockSource> nic_reference(const runtime::Shared& s) {
  if (s.nic_reference) return s.nic_reference();
  return std::make_unique<clock::SystemClock>();
}

// Where a port's requests get their T2 ([dataplane] rx_timestamps).
enum class T2Source : std::uint8_t {
  kSoftware,  // the TSC read right after rx_burst, per burst
  kNicClock,  // mbuf dynfield in NIC ticks, mapped to UTC by `Port::nic`
  kUnixEpoch, // mbuf dynfield in us or ns since the UNIX epoch, as rx_timestamps says
};

// The exception path of one port (exception.cpp, docs/dataplane.md): a
// kernel interface (net_tap or virtio_user) with the port's MAC, and two
// rings. Workers put frames for the kernel on `to_kernel` (many producers,
// no syscall on a worker); the exception thread moves them to the kernel
// device, and what the kernel sends onto `to_wire`, which worker 0 drains
// into its own TX burst on the port (so the port needs no extra TX queue).
struct ExceptionPath {
  std::uint16_t port = 0;  // the kernel-side DPDK device
  std::string dev;         // its DPDK name, e.g. "net_tap_exc0"
  std::string iface;       // the kernel interface, e.g. "ntsd0"
  rte_ring* to_kernel = nullptr;
  rte_ring* to_wire = nullptr;
};

struct Port {
  std::uint16_t id = 0;
  T2Source t2 = T2Source::kSoftware;
  NicClock* nic = nullptr;  // set with T2Source::kNicClock
  std::string name;
  std::string driver;  // the PMD, e.g. "net_af_packet"
  std::string kernel_iface;  // the kernel netdev behind a vdev ("iface=" in its spec), if any
  net::Mac mac{};
  bool rx_ip_cksum = false, rx_l4_cksum = false;  // RX offloads enabled
  bool tx_ip_cksum = false, tx_udp_cksum = false;  // TX offloads enabled
  bool tx_vlan_insert = false;                     // the port inserts the [dataplane] vlan tag
  int socket = 0;                                  // NUMA socket of its mbuf pool
  rte_mempool* pool = nullptr;
  runtime::PortStats* stats = nullptr;  // null beyond Metrics::kMaxPorts
  ExceptionPath* exc = nullptr;         // [dataplane] exception = "tap" / "virtio_user"
};

struct Addresses {
  std::vector<net::Ip4> ip4;
  std::vector<net::Ip6> ip6;
};

struct DpdkBackend::Impl {
  const config::Config& cfg;
  runtime::Shared& shared;
  std::map<int, rte_mempool*> pools;  // one mbuf pool per NUMA socket that has a port
  std::map<int, unsigned> pool_ports;   // ports (and exception devices) per socket, to size them
  std::vector<Port> ports;
  std::vector<std::unique_ptr<ExceptionPath>> exceptions;
  std::vector<int> mc_fds;  // AF_PACKET sockets holding multicast memberships (l2.cpp)
  Addresses addrs;
  std::vector<unsigned> lcores;  // worker lcores, one per worker
  bool eal_up = false;
  int ts_offset = -1;  // mbuf RX timestamp dynfield (rte_mbuf_dyn_rx_timestamp_register)
  std::uint64_t ts_flag = 0;
  // A hardware T2 must lie within [software T2 - before, software T2 +
  // after] (NTP 32.32 units, [dataplane] rx_timestamp_max_offset_us), and
  // the test seam NTSD_TEST_RX_TIMESTAMP_SHIFT_NS moves every hardware T2.
  std::int64_t t2_max_before = 0, t2_max_after = 0, t2_test_shift = 0;
  std::vector<std::unique_ptr<NicClock>> nic_clocks;
};

bool parse_addresses(const std::vector<std::string>& in, Addresses& out, std::string& error);
// Starts the EAL with [dataplane] eal_args and the ports' vdevs.
bool eal_init(const config::Config& cfg, std::string& error);
// A port by name ("net_tap0", "0000:3b:00.0") or number.
bool find_port(const std::string& name, std::uint16_t& id);
// The NUMA socket a port's memory should come from (the main lcore's for a
// virtual device, which has none).
int port_socket(std::uint16_t id);
// The mbuf pool of `socket`, made on first use.
rte_mempool* pool_for(DpdkBackend::Impl& b, int socket, std::string& error);
bool setup_port(DpdkBackend::Impl& b, const std::string& name, std::string& error);
// L2: the solicited-node multicast MACs of our IPv6 addresses (RFC 4291
// §2.7.1, RFC 2464 §7), or allmulticast where the port cannot filter.
void program_multicast(DpdkBackend::Impl& b, const Port& p);
// rte_flow isolate mode ([dataplane] exception = "isolate"): before configure.
bool enable_isolate(const Port& p, const std::string& driver, std::string& error);
// The flow rules that steer UDP 123 to our addresses to the workers' queues.
bool create_ntp_flows(DpdkBackend::Impl& b, const Port& p, std::uint16_t queues, std::string& error);
// The exception path of `p` (tap / virtio_user), after the port started.
bool setup_exception(DpdkBackend::Impl& b, Port& p, std::string& error);
// The exception thread: kernel device <-> rings, until shared.stop.
void exception_loop(DpdkBackend::Impl& b);
// Whether a frame the dataplane does not answer belongs to the kernel
// (exception path): for this host, not NTP, not malformed.
bool for_kernel(net::Bytes frame, const net::Classified& c) noexcept;
// Copies the ports' counters and link into their PortStats.
void refresh_port_stats(DpdkBackend::Impl& b);
int worker_main(void* arg);  // rte_lcore_function_t
void register_telemetry(runtime::Metrics* m);

}  // namespace ntsd::dpdk
