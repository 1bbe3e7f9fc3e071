#include <arpa/inet.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "impl.hpp"

namespace ntsd::dpdk {

bool parse_addresses(const std::vector<std::string>& in, Addresses& out, std::string& error) {
  for (const auto& a : in) {
    net::Ip4 v4{};
    net::Ip6 v6{};
    if (inet_pton(AF_INET, a.c_str(), v4.data()) == 1) {
      out.ip4.push_back(v4);
    } else if (inet_pton(AF_INET6, a.c_str(), v6.data()) == 1) {
      out.ip6.push_back(v6);
    } else {
      error = "[dataplane] addresses: '" + a + "' is not an IPv4 or IPv6 address";
      return false;
    }
  }
  return true;
}

unsigned pool_size(const config::DataplaneConfig& d, std::size_t workers) {
  return pool_size(d, workers, std::max<std::size_t>(d.ports.size(), 1));
}

unsigned pool_size(const config::DataplaneConfig& d, std::size_t workers, std::size_t ports) {
  if (d.mbufs > 0) return static_cast<unsigned>(d.mbufs);
  // Per queue pair: a full RX ring, a full TX ring, and the worker's cache
  // and burst (the RX array, plus replies not yet handed to tx_burst).
  const std::size_t per_queue = static_cast<std::size_t>(d.rx_desc + d.tx_desc) + kPoolCache +
                                2 * static_cast<std::size_t>(d.burst);
  std::size_t need = per_queue * workers * std::max<std::size_t>(ports, 1);
  // An exception path per port: its device's rings and the two hand-off rings.
  if (d.exception == config::Exception::kTap || d.exception == config::Exception::kVirtioUser)
    need += ports * (2 * kExceptionRing + 2 * kExceptionDesc + kPoolCache);
  std::size_t n = 8192;
  while (n < need + 1) n *= 2;
  return static_cast<unsigned>(n - 1);
}

bool validate(const config::Config& cfg, std::string& error) {
  const auto& d = cfg.dataplane;
  if (d.ports.empty()) {
    error = "[dataplane] ports: the DPDK backend needs at least one port (e.g. \"net_af_packet0\")";
    return false;
  }
  if (d.addresses.empty()) {
    error = "[dataplane] addresses: the DPDK backend needs the IP addresses it answers for";
    return false;
  }
  Addresses a;
  if (!parse_addresses(d.addresses, a, error)) return false;
  if (d.exception == config::Exception::kVirtioUser && ::access("/dev/vhost-net", R_OK | W_OK) != 0) {
    error = "[dataplane] exception = \"virtio_user\" needs /dev/vhost-net (modprobe vhost_net), which this host "
            "lacks; use exception = \"tap\"";
    return false;
  }
  if (d.exception != config::Exception::kNone && d.exception != config::Exception::kIsolate && d.ports.size() > 1 &&
      d.exception_iface.size() > 13) {
    error = "[dataplane] exception_iface: with several ports each gets a numbered interface (" + d.exception_iface +
            "0, ...), so at most 13 characters";
    return false;
  }
  return true;
}

namespace {

// NTP 32.32 units of a duration in ns.
std::int64_t ntp_units(std::int64_t ns) { return static_cast<std::int64_t>((static_cast<__int128>(ns) << 32) / 1'000'000'000); }

// The plausibility window of a hardware T2 around its burst's software T2,
// and the test seam that shifts every hardware T2 (docs/operations.md).
void set_t2_bounds(DpdkBackend::Impl& im) {
  im.t2_max_before = ntp_units(im.cfg.dataplane.rx_timestamp_max_offset_us * 1000);
  im.t2_max_after = ntp_units(100'000);  // the two fits' error, with margin
  if (const char* s = std::getenv("NTSD_TEST_RX_TIMESTAMP_SHIFT_NS"); s != nullptr && *s != '\0') {
    im.t2_test_shift = ntp_units(std::strtoll(s, nullptr, 10));
    runtime::log(std::string("TEST SEAM: every hardware RX timestamp is shifted by ") + s + " ns");
  }
}

}  // namespace

bool eal_init(const config::Config& cfg, std::string& error) {
  std::vector<std::string> args = {"ntsd"};
  args.insert(args.end(), cfg.dataplane.eal_args.begin(), cfg.dataplane.eal_args.end());
  // A port given with device arguments ("net_af_packet0,iface=veth0") is a
  // virtual device to create: pass it to the EAL as --vdev.
  for (const auto& p : cfg.dataplane.ports)
    if (p.find(',') != std::string::npos) args.push_back("--vdev=" + p);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(args.size()), argv.data()) < 0) {
    error = std::string("DPDK EAL init failed: ") + rte_strerror(rte_errno) +
            " (check [dataplane] eal_args; without hugepages use --no-huge -m 256 --no-shconf)";
    return false;
  }
  return true;
}

int port_socket(std::uint16_t id) {
  const int s = rte_eth_dev_socket_id(id);
  return s < 0 ? static_cast<int>(rte_socket_id()) : s;
}

rte_mempool* pool_for(DpdkBackend::Impl& b, int socket, std::string& error) {
  if (auto it = b.pools.find(socket); it != b.pools.end()) return it->second;
  const unsigned n = pool_size(b.cfg.dataplane, b.lcores.size(), std::max(b.pool_ports[socket], 1u));
  const std::string name = "ntsd_mbufs_s" + std::to_string(socket);
  rte_mempool* mp = rte_pktmbuf_pool_create(name.c_str(), n, kPoolCache, 0, RTE_MBUF_DEFAULT_BUF_SIZE, socket);
  if (mp == nullptr) {
    error = "DPDK mbuf pool of " + std::to_string(n) + " mbufs on socket " + std::to_string(socket) + ": " +
            rte_strerror(rte_errno) + " (raise -m or the hugepages of that node, or lower [dataplane] mbufs)";
    return nullptr;
  }
  b.pools[socket] = mp;
  return mp;
}

DpdkBackend::DpdkBackend(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

DpdkBackend::~DpdkBackend() {
  if (!impl_ || !impl_->eal_up) return;
  for (const Port& p : impl_->ports) {
    rte_eth_dev_stop(p.id);
    rte_eth_dev_close(p.id);
  }
  for (const auto& e : impl_->exceptions) {
    rte_eth_dev_stop(e->port);
    rte_eth_dev_close(e->port);
  }
  for (int fd : impl_->mc_fds) ::close(fd);
  // No rte_eal_cleanup(): in DPDK 22.11 it unmaps memory while the EAL
  // interrupt thread may still be handling a closing vdev's control channel
  // (seen with net_memif: a crash at exit). The process is about to exit and
  // the kernel releases everything; hugepage files left behind are reclaimed
  // by the next EAL start.
}

std::unique_ptr<DpdkBackend> DpdkBackend::create(const config::Config& cfg, runtime::Shared& shared,
                                                 std::string& error) {
  if (!validate(cfg, error)) return nullptr;
  auto impl = std::make_unique<Impl>(Impl{cfg, shared});
  parse_addresses(cfg.dataplane.addresses, impl->addrs, error);
  set_t2_bounds(*impl);
  if (!eal_init(cfg, error)) return nullptr;
  impl->eal_up = true;
  std::unique_ptr<DpdkBackend> b(new DpdkBackend(std::move(impl)));
  Impl& im = *b->impl_;
  unsigned lc;
  RTE_LCORE_FOREACH_WORKER(lc) {
    if (im.lcores.size() < static_cast<std::size_t>(cfg.dataplane.workers)) im.lcores.push_back(lc);
  }
  if (im.lcores.size() < static_cast<std::size_t>(cfg.dataplane.workers)) {
    error = "DPDK: " + std::to_string(cfg.dataplane.workers) + " worker(s) configured but the EAL has only " +
            std::to_string(im.lcores.size()) + " worker lcore(s); give more with -l (the main lcore is the control thread)";
    return nullptr;
  }
  // NUMA: one mbuf pool per socket that has a port, sized for the ports on
  // it, so that a NIC DMAs into memory on its own node.
  for (const auto& spec : cfg.dataplane.ports) {
    std::uint16_t id = 0;
    if (find_port(spec.substr(0, spec.find(',')), id)) ++im.pool_ports[port_socket(id)];
  }
  for (const auto& name : cfg.dataplane.ports)
    if (!setup_port(im, name, error)) return nullptr;
  for (Port& p : im.ports)
    if (p.exc == nullptr && (cfg.dataplane.exception == config::Exception::kTap ||
                             cfg.dataplane.exception == config::Exception::kVirtioUser) &&
        !setup_exception(im, p, error))
      return nullptr;
  register_telemetry(&shared.metrics);
  return b;
}

namespace {

// clock = "dpdk": the NIC clock as the server's clock source, owned by the
// control thread (its own fit, independent of the RX-timestamp one).
class NicClockSource final : public clock::ClockSource {
 public:
  // Fitted to the system clock: with no PHC for this NIC (it is bound to
  // DPDK), the system clock is the only reference; the server clock's own
  // calibrator applies the leap-second table on top.
  NicClockSource(std::uint16_t port, const std::string& name)
      : nic_(port, name, std::make_unique<clock::SystemClock>()) {}
  const std::string& name() const noexcept override { return nic_.clock.name(); }
  clock::Reading read() noexcept override { return nic_.clock.read(); }
  const std::string& last_error() const noexcept override { return nic_.clock.last_error(); }
  clock::Timescale timescale() const noexcept override { return nic_.clock.timescale(); }
  clock::TickClock& tick_clock() noexcept { return nic_.clock; }

 private:
  NicClock nic_;
};

}  // namespace

std::unique_ptr<clock::ClockSource> DpdkBackend::nic_clock(std::string& error) {
  const Port& p = impl_->ports.front();  // create() fails without a port
  std::uint64_t c = 0;
  const int rc = rte_eth_read_clock(p.id, &c);
  if (rc != 0) {
    error = "clock = \"dpdk\": DPDK port " + p.name + " (" + p.driver + "): the PMD has no readable clock (rte_eth_read_clock: " +
            rte_strerror(-rc) + "); use clock = \"system\" or \"phc:/dev/ptpN\", or a NIC whose PMD can read its clock (e.g. mlx5)";
    return nullptr;
  }
  auto src = std::make_unique<NicClockSource>(p.id, p.name);
  // Two samples 20 ms apart give a first rate, so that the server clock's
  // first polls see a working source; later reads refine it every 100 ms.
  src->tick_clock().refresh();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (!src->tick_clock().refresh().ok) {
    error = "clock = \"dpdk\": " + src->last_error();
    return nullptr;
  }
  runtime::log("clock source: the NIC clock of DPDK port " + p.name + " (" + p.driver + "), mapped to UTC against the system clock");
  return src;
}

void DpdkBackend::run() {
  // Port counters and link, for /metrics, once a second (the PMDs' stats
  // calls may take locks or syscalls: never on a worker).
  std::thread monitor([this] {
    while (!impl_->shared.stop.load()) {
      refresh_port_stats(*impl_);
      for (int i = 0; i < 20 && !impl_->shared.stop.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  std::thread exception;
  if (!impl_->exceptions.empty()) exception = std::thread([this] { exception_loop(*impl_); });
  // NIC clocks (ports with hardware RX timestamps) are refit every 250 ms,
  // like the TSC, off the worker lcores.
  std::thread nic_thread;
  if (!impl_->nic_clocks.empty()) {
    nic_thread = std::thread([this] {
      while (!impl_->shared.stop.load()) {
        for (auto& n : impl_->nic_clocks) n->clock.refresh();
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
      }
    });
  }
  for (unsigned lc : impl_->lcores) rte_eal_remote_launch(worker_main, impl_.get(), lc);
  // rte_eal_wait_lcore() spins: called at once it would burn the main lcore
  // (which other software, e.g. a generator on a small box, may share) for
  // the whole run. Sleep until stop is asked or every worker has returned.
  const auto running = [this] {
    for (unsigned lc : impl_->lcores)
      if (rte_eal_get_lcore_state(lc) != WAIT) return true;
    return false;
  };
  do std::this_thread::sleep_for(std::chrono::milliseconds(20));
  while (!impl_->shared.stop.load() && running());
  for (unsigned lc : impl_->lcores) rte_eal_wait_lcore(lc);
  if (nic_thread.joinable()) nic_thread.join();
  if (exception.joinable()) exception.join();
  monitor.join();
  refresh_port_stats(*impl_);  // the final counts, for the log and last scrape
}

}  // namespace ntsd::dpdk
