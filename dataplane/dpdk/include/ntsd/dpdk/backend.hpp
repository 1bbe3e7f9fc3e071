// The DPDK backend. EAL arguments, ports and our addresses come from the
// [dataplane] config; no DPDK type appears in this header.
//
// Ports may be any DPDK port: a PCI NIC, or a virtual device given in the
// EAL args (--vdev=net_af_packet0,iface=veth0 / net_memif / net_tap / ...).
// Each worker lcore owns RX/TX queue `w` of every port (RSS spreads flows
// where the port supports it) and runs to completion:
//   rx_burst -> classify (ARP/ND/echo answered here, NTP to the core)
//   -> Server::handle_burst -> tx_burst, freeing and counting what the
//   device did not take. The key ring is picked up between bursts (QSBR,
//   runtime/keyring_rcu.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "ntsd/clock/ntp_time.hpp"
#include "ntsd/clock/source.hpp"
#include "ntsd/config/config.hpp"
#include "ntsd/runtime/runtime.hpp"

namespace ntsd::dpdk {

// Checks [dataplane] for the DPDK backend (ports, addresses, workers).
bool validate(const config::Config& cfg, std::string& error);

// Mbufs in the pool: [dataplane] mbufs, or enough for every RX ring to be
// full, every TX ring to hold its descriptors in flight and every worker's
// per-lcore cache and burst arrays, per port (2^n - 1, the mempool's best).
unsigned pool_size(const config::DataplaneConfig& d, std::size_t workers);
// The same for the pool of one NUMA socket that has `ports` of the ports.
unsigned pool_size(const config::DataplaneConfig& d, std::size_t workers, std::size_t ports);
inline constexpr unsigned kPoolCache = 256;  // per-lcore mempool cache
// Exception path (docs/dataplane.md): hand-off ring entries and descriptors
// of the kernel-side device, each way.
inline constexpr unsigned kExceptionRing = 1024;
inline constexpr unsigned kExceptionDesc = 512;

// ntsd --probe-port: starts the EAL with the configured ports and writes
// what each can do (driver, queues, RSS, checksum and VLAN offloads, RX
// timestamps, rte_eth_read_clock, multicast filter, flow isolate, link) to
// `out`, then stops them. With `check`, also what in [server]/[dataplane]
// the ports cannot do, to `problems` (one line each); returns false if
// there is any, or if the EAL or a port cannot start (`problems` says why).
bool probe_ports(const config::Config& cfg, bool check, std::string& out, std::string& problems);

// T2 (NTP 64-bit, RFC 5905 §6) of a packet whose RX timestamp dynfield
// counts time since the UNIX epoch on the system clock's timescale
// ([dataplane] rx_timestamps = "unix-us" / "unix-ns"). DPDK 22.11's net_pcap
// stores libpcap's live-capture header time there, tv_sec * 10^6 + tv_usec:
// the kernel's receive time (CLOCK_REALTIME), in microseconds. No fit is
// needed, only the unit and the era: a multiply and to_ntp64, no syscall.
// Any other mode gives 0 (the caller never asks).
inline std::uint64_t unix_rx_timestamp_to_ntp64(std::uint64_t ts, config::RxTimestamps unit) noexcept {
  // int64 ns since 1970 lasts until 2262; a dynfield past that is garbage
  // either way, so the modular product is fine.
  switch (unit) {
    case config::RxTimestamps::kUnixUs: return clock::to_ntp64(static_cast<clock::UnixNs>(ts * 1000));
    case config::RxTimestamps::kUnixNs: return clock::to_ntp64(static_cast<clock::UnixNs>(ts));
    case config::RxTimestamps::kAuto:
    case config::RxTimestamps::kSoftware: break;
  }
  return 0;
}

class DpdkBackend {
 public:
  // Initialises the EAL, configures and starts the ports. On failure returns
  // null with `error` saying why (EAL message, missing port, too few lcores).
  static std::unique_ptr<DpdkBackend> create(const config::Config& cfg, runtime::Shared& shared,
                                             std::string& error);
  ~DpdkBackend();
  // Launches one worker per worker lcore and waits for them (until shared.stop).
  void run();
  // clock = "dpdk": the first port's NIC clock (rte_eth_read_clock) mapped to
  // UTC (ptp_clock/tick_clock.hpp). Null with `error` naming the port if its
  // PMD cannot read its clock (net_af_packet, net_memif, net_null, ...).
  std::unique_ptr<clock::ClockSource> nic_clock(std::string& error);

  struct Impl;

 private:
  explicit DpdkBackend(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ntsd::dpdk
