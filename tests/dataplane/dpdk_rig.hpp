// The DPDK backend in one process (dpdk_*_test): ntsd's port is a net_memif
// server, the test drives a second net_memif port (the client end) in the
// same EAL. One Rig per process: the EAL starts once.
#pragma once

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "frames.hpp"
#include "ntsd/clock/system_clock.hpp"
#include "ntsd/dpdk/backend.hpp"
#include "ntsd/proto/client.hpp"

namespace ntsd::test {

inline proto::NtpTime now() { return clock::to_ntp64(clock::system_now()); }

struct Rig {
  clock::SystemClock src;
  clock::TscTicks ticks;
  clock::TscMap tsc;
  clock::Calibrator cal{src, ticks, tsc};
  clock::ServerClock sclock{clock::ServerClockConfig{1, 0x47505300, -20, clock::LeapMode::kNone, 0}, cal, src, nullptr};
  runtime::KeyRingRcu rcu{1};
  runtime::Metrics metrics{1};
  runtime::Shared shared{rcu, metrics, tsc, sclock};
  config::Config cfg;
  std::unique_ptr<dpdk::DpdkBackend> backend;
  std::thread thread;
  std::uint16_t peer = 0;
  rte_mempool* pool = nullptr;
  net::Mac ntsd_mac{};
  std::string sock = "/tmp/ntsd_dpdk_test_" + std::to_string(::getpid()) + ".sock";

  bool start(std::string& err) {
    for (int i = 0; i < 3; ++i) {
      if (i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      sclock.poll();
    }
    cfg.dataplane.backend = config::Backend::kDpdk;
    cfg.dataplane.eal_args = {"-l", "0-1", "--no-huge", "-m", "256", "--no-shconf", "--no-pci", "--no-telemetry",
                              "--file-prefix=ntsd_dpdk_test_" + std::to_string(::getpid()),
                              // Server end first: in one process both ends share memif's
                              // socket entry, and the device probed first creates it.
                              "--vdev=net_memif0,role=server,socket=" + sock,
                              "--vdev=net_memif1,role=client,socket=" + sock};
    cfg.dataplane.ports = {"net_memif0"};
    cfg.dataplane.addresses = {"192.0.2.1", "2001:db8::1"};
    backend = dpdk::DpdkBackend::create(cfg, shared, err);
    if (!backend) return false;
    if (rte_eth_dev_get_port_by_name("net_memif1", &peer) != 0) return (err = "no peer port"), false;
    pool = rte_pktmbuf_pool_create("test_pool", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    rte_eth_conf conf{};
    if (pool == nullptr) return (err = "test mbuf pool"), false;
    int rc = rte_eth_dev_configure(peer, 1, 1, &conf);
    if (rc == 0) rc = rte_eth_rx_queue_setup(peer, 0, 256, 0, nullptr, pool);
    if (rc == 0) rc = rte_eth_tx_queue_setup(peer, 0, 256, 0, nullptr);
    if (rc == 0) rc = rte_eth_dev_start(peer);
    if (rc != 0) return (err = "peer port setup failed: " + std::to_string(rc)), false;
    std::uint16_t port0 = 0;
    rte_eth_dev_get_port_by_name("net_memif0", &port0);
    rte_ether_addr mac{};
    rte_eth_macaddr_get(port0, &mac);
    std::memcpy(ntsd_mac.data(), mac.addr_bytes, 6);
    thread = std::thread([this] { backend->run(); });
    // memif connects asynchronously: wait for the link.
    for (int i = 0; i < 100; ++i) {
      rte_eth_link link{};
      rte_eth_link_get_nowait(peer, &link);
      if (link.link_status) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    err = "memif link did not come up";
    return false;
  }

  ~Rig() {
    shared.stop = true;
    if (thread.joinable()) thread.join();
    if (pool != nullptr) {  // before the backend closes its port
      rte_eth_dev_stop(peer);
      rte_eth_dev_close(peer);
    }
    ::unlink(sock.c_str());
    // The EAL's (empty) runtime directory for our file prefix.
    ::rmdir(("/var/run/dpdk/ntsd_dpdk_test_" + std::to_string(::getpid())).c_str());
  }

  // Sends one frame and returns the first frame that comes back within 1 s (empty if none).
  Frame exchange(Frame f) {
    std::copy(ntsd_mac.begin(), ntsd_mac.end(), f.begin());  // to ntsd's MAC (ARP: broadcast is kept below)
    return send_raw(f);
  }
  Frame send_raw(const Frame& f) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    std::memcpy(rte_pktmbuf_append(m, static_cast<std::uint16_t>(f.size())), f.data(), f.size());
    if (rte_eth_tx_burst(peer, 0, &m, 1) != 1) rte_pktmbuf_free(m);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (std::chrono::steady_clock::now() < deadline) {
      rte_mbuf* r = nullptr;
      if (rte_eth_rx_burst(peer, 0, &r, 1) == 1) {
        const auto* p = rte_pktmbuf_mtod(r, const std::uint8_t*);
        Frame out(p, p + rte_pktmbuf_data_len(r));
        rte_pktmbuf_free(r);
        return out;
      }
    }
    return {};
  }
};

}  // namespace ntsd::test
