#include "backends.hpp"

#include <cstdio>

#include "ntsd/runtime/endpoint.hpp"
#include "ntsd/socket/backend.hpp"
#ifdef NTSD_HAVE_DPDK
#include "ntsd/dpdk/backend.hpp"
#endif

namespace ntsd::app {
namespace {

class SocketAdapter final : public Backend {
 public:
  SocketAdapter(sock::Options o, runtime::Shared& s) : b_(std::move(o), s) {}
  bool open(std::string& e) { return b_.open(e); }
  void run() override { b_.run(); }

 private:
  sock::SocketBackend b_;
};

#ifdef NTSD_HAVE_DPDK
class DpdkAdapter final : public Backend {
 public:
  explicit DpdkAdapter(std::unique_ptr<dpdk::DpdkBackend> b) : b_(std::move(b)) {}
  void run() override { b_->run(); }
  std::unique_ptr<clock::ClockSource> nic_clock(std::string& error) override { return b_->nic_clock(error); }

 private:
  std::unique_ptr<dpdk::DpdkBackend> b_;
};
#endif

std::optional<sock::Options> socket_options(const Options& o, std::string& error) {
  sock::Options so;
  for (const auto& l : o.cfg.dataplane.listen) {
    auto ep = runtime::parse_endpoint(l, error);
    if (!ep) {
      error = "[dataplane] listen: " + error;
      return std::nullopt;
    }
    so.listen.push_back(*ep);
  }
  so.workers = o.cfg.dataplane.workers;
  so.burst = o.cfg.dataplane.burst;
  // The kernel's receive timestamps (SO_TIMESTAMPING) are on the system
  // clock, so they are T2 only with clock = "system"; "software" turns them
  // off. The "unix-*" modes describe a DPDK PMD's stamps and mean nothing here.
  const config::RxTimestamps ts = o.cfg.dataplane.rx_timestamps;
  if (ts == config::RxTimestamps::kUnixUs || ts == config::RxTimestamps::kUnixNs) {
    error = std::string("[dataplane] rx_timestamps = \"") + config::to_string(ts) +
            "\" describes a DPDK port's RX timestamps; the socket backend takes the kernel's (\"auto\" or \"software\")";
    return std::nullopt;
  }
  so.kernel_rx_timestamps = o.cfg.server.clock == "system" && ts == config::RxTimestamps::kAuto;
  // Kernel TX timestamps (interleaved mode): software ones are on the system
  // clock; with a PHC as the clock, that NIC's hardware ones are on it.
  const bool tai = o.cfg.server.phc_timescale == config::PhcTimescale::kTai;
  so.tx_source = o.cfg.server.clock == "system"      ? sock::TxSource::kSystem
                 : o.cfg.server.clock.starts_with("phc:") ? (tai ? sock::TxSource::kPhcTai : sock::TxSource::kPhcUtc)
                                                         : sock::TxSource::kOther;
  return so;
}

}  // namespace

int probe_ports(const Options& o) {
  if (o.cfg.dataplane.backend != config::Backend::kDpdk) {
    std::fprintf(stderr, "ntsd: --probe-port probes DPDK ports: it needs [dataplane] backend = \"dpdk\"\n");
    return 1;
  }
#ifdef NTSD_HAVE_DPDK
  std::string out, problems;
  const bool ok = dpdk::probe_ports(o.cfg, o.check_only, out, problems);
  std::fputs(out.c_str(), stdout);
  std::fflush(stdout);
  if (!problems.empty()) std::fprintf(stderr, "ntsd: %s", problems.c_str());
  if (o.check_only && ok)
    std::printf("%s: configuration OK (backend dpdk, %d worker(s), %zu port(s) probed)\n", o.config_path.c_str(),
                o.cfg.dataplane.workers, o.cfg.dataplane.ports.size());
  return ok ? 0 : 1;
#else
  std::fprintf(stderr, "ntsd: --probe-port: this ntsd was built without DPDK\n");
  return 1;
#endif
}

bool validate_backend(const Options& o, std::string& error) {
  if (o.cfg.dataplane.backend == config::Backend::kSocket) return socket_options(o, error).has_value();
#ifdef NTSD_HAVE_DPDK
  return dpdk::validate(o.cfg, error);
#else
  error = "[dataplane] backend = \"dpdk\" but this ntsd was built without DPDK; use --socket";
  return false;
#endif
}

std::unique_ptr<Backend> make_backend(const Options& o, runtime::Shared& shared, std::string& error) {
  if (o.cfg.dataplane.backend == config::Backend::kSocket) {
    auto so = socket_options(o, error);
    if (!so) return nullptr;
    std::string eps;
    for (const auto& l : o.cfg.dataplane.listen) eps += " " + l;
    auto b = std::make_unique<SocketAdapter>(*so, shared);
    if (!b->open(error)) return nullptr;
    runtime::log("socket backend: " + std::to_string(so->workers) + " worker(s), burst " +
                 std::to_string(so->burst) + ", listening on" + eps);
    return b;
  }
#ifdef NTSD_HAVE_DPDK
  auto d = dpdk::DpdkBackend::create(o.cfg, shared, error);
  if (!d) return nullptr;
  return std::make_unique<DpdkAdapter>(std::move(d));
#else
  error = "built without DPDK";
  return nullptr;
#endif
}

}  // namespace ntsd::app
