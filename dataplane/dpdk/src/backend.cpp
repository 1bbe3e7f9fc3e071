#include <arpa/inet.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

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
  if (d.mbufs > 0) return static_cast<unsigned>(d.mbufs);
  // Per queue pair: a full RX ring, a full TX ring, and the worker's cache
  // and burst (the RX array, plus replies not yet handed to tx_burst).
  const std::size_t per_queue = static_cast<std::size_t>(d.rx_desc + d.tx_desc) + kPoolCache +
                                2 * static_cast<std::size_t>(d.burst);
  const std::size_t need = per_queue * workers * std::max<std::size_t>(d.ports.size(), 1);
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
  return parse_addresses(d.addresses, a, error);
}

DpdkBackend::DpdkBackend(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

DpdkBackend::~DpdkBackend() {
  if (!impl_ || !impl_->eal_up) return;
  for (const Port& p : impl_->ports) {
    rte_eth_dev_stop(p.id);
    rte_eth_dev_close(p.id);
  }
  // No rte_eal_cleanup(): in DPDK 22.11 it unmaps memory while the EAL
  // interrupt thread may still be handling a closing vdev's control channel
  // (seen with net_memif: a crash at exit). The process is about to exit and
  // the kernel releases everything; hugepage files left behind are reclaimed
  // by the next EAL start.
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

std::unique_ptr<DpdkBackend> DpdkBackend::create(const config::Config& cfg, runtime::Shared& shared,
                                                 std::string& error) {
  if (!validate(cfg, error)) return nullptr;
  auto impl = std::make_unique<Impl>(Impl{cfg, shared});
  parse_addresses(cfg.dataplane.addresses, impl->addrs, error);
  set_t2_bounds(*impl);
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
    return nullptr;
  }
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
  const unsigned n_mbufs = pool_size(cfg.dataplane, im.lcores.size());
  im.pool = rte_pktmbuf_pool_create("ntsd_mbufs", n_mbufs, kPoolCache, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    static_cast<int>(rte_socket_id()));
  if (im.pool == nullptr) {
    error = "DPDK mbuf pool of " + std::to_string(n_mbufs) + " mbufs: " + rte_strerror(rte_errno) +
            " (raise -m, or lower [dataplane] mbufs)";
    return nullptr;
  }
  for (const auto& name : cfg.dataplane.ports)
    if (!setup_port(im, name, error)) return nullptr;
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
}

}  // namespace ntsd::dpdk
