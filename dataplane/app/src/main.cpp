// ntsd: the NTP/NTS responder. The main thread is the control thread: it
// refreshes the clock (TSC fit, health, leap), watches the key file, reclaims
// old key rings and serves nothing itself. Workers live in the backend.
#include <csignal>
#include <memory>
#include <thread>

#include "backends.hpp"
#include "options.hpp"
#include "ntsd/clock/phc_clock.hpp"
#include "ntsd/clock/server_clock.hpp"
#include "ntsd/clock/system_clock.hpp"
#include "ntsd/runtime/http.hpp"
#include "ntsd/runtime/key_watcher.hpp"
#include "ntsd/runtime/runtime.hpp"

namespace {

using namespace ntsd;
volatile std::sig_atomic_t g_signal = 0;

void on_signal(int sig) { g_signal = sig; }

// clock = "dpdk": the NIC clock exists only once the DPDK backend has
// started its ports, which comes after the server clock is built; this
// stands in for it until then (reads fail: unhealthy, leap 3).
class LateSource final : public clock::ClockSource {
 public:
  void set(std::unique_ptr<clock::ClockSource> s) { s_ = std::move(s); }
  const std::string& name() const noexcept override { return s_ ? s_->name() : name_; }
  clock::Reading read() noexcept override { return s_ ? s_->read() : clock::Reading{}; }
  const std::string& last_error() const noexcept override { return s_ ? s_->last_error() : error_; }

 private:
  std::unique_ptr<clock::ClockSource> s_;
  std::string name_ = "dpdk";
  std::string error_ = "the DPDK ports are not started yet";
};

std::unique_ptr<clock::ClockSource> make_source(const config::Config& cfg, std::string& error) {
  const std::string& spec = cfg.server.clock;
  if (spec == "system") return std::make_unique<clock::SystemClock>();
  if (spec == "dpdk") {
    if (cfg.dataplane.backend != config::Backend::kDpdk) {
      error = "clock = \"dpdk\" reads the NIC clock of a DPDK port: it needs [dataplane] backend = \"dpdk\"";
      return nullptr;
    }
    return std::make_unique<LateSource>();
  }
  if (spec.rfind("phc:", 0) == 0) {
    // A PHC normally runs on TAI; 37 s is TAI-UTC since 2017 (IERS Bulletin C).
    auto phc = std::make_unique<clock::PhcClock>(spec.substr(4), 37);
    if (!phc->ok()) {
      error = "clock " + spec + ": " + phc->last_error();
      return nullptr;
    }
    return phc;
  }
  error = "clock '" + spec + "' is not available (use system, phc:/dev/ptpN or dpdk)";
  return nullptr;
}

clock::ServerClockConfig clock_config(const config::ServerConfig& s) {
  clock::ServerClockConfig c;
  c.stratum = static_cast<std::uint8_t>(s.stratum);
  c.precision = static_cast<std::int8_t>(s.precision);
  // RFC 5905 §7.3: for stratum 1 the refid is a left-justified ASCII code.
  std::uint32_t id = 0;
  for (std::size_t i = 0; i < 4; ++i)
    id = id << 8 | (i < s.refid.size() ? static_cast<std::uint8_t>(s.refid[i]) : 0);
  c.refid = id;
  switch (s.leap) {
    case config::Leap::kAuto: c.leap = clock::LeapMode::kKernel; break;
    case config::Leap::kNone: c.leap = clock::LeapMode::kNone; break;
    case config::Leap::kInsert: c.leap = clock::LeapMode::kInsert; break;
    case config::Leap::kDelete: c.leap = clock::LeapMode::kDelete; break;
  }
  c.max_offset_ns = s.clock == "system" ? 0 : s.max_clock_offset_ms * 1'000'000;
  return c;
}

// [ratelimit] into the workers' settings; the secret is drawn once here.
bool configure_ratelimit(const config::RateLimitConfig& r, runtime::Shared& shared, std::string& error) {
  if (!r.enabled) return true;
  limit::Params p;
  p.interval = r.interval;
  p.burst = r.burst;
  p.leak = r.leak;
  p.ipv4_prefix = r.ipv4_prefix;
  p.ipv6_prefix = r.ipv6_prefix;
  p.table_size = static_cast<std::size_t>(r.table_size);
  if (const char* why = limit::check(p); *why != '\0') {
    error = why;
    return false;
  }
  shared.ratelimit = true;
  shared.ratelimit_params = p;
  shared.ratelimit_secret = limit::Secret::random();
  const std::string leak = p.leak == 0 ? "no leak" : "leak 1 in " + std::to_string(1 << p.leak);
  runtime::log("rate limit per client: burst " + std::to_string(p.burst) + ", then one request per 2^" +
               std::to_string(p.interval) + " s, " + leak + ", prefixes /" + std::to_string(p.ipv4_prefix) +
               " and /" + std::to_string(p.ipv6_prefix) + ", " + std::to_string(p.table_size) +
               " entries per worker");
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int code = 0;
  auto opt = app::parse_args(argc, argv, code);
  if (!opt) return code;
  const config::Config& cfg = opt->cfg;
  std::string error;
  if (opt->probe_port && !opt->check_only) return app::probe_ports(*opt);
  if (!app::validate_backend(*opt, error)) {
    std::fprintf(stderr, "ntsd: %s\n", error.c_str());
    return 1;
  }
  auto source = make_source(cfg, error);
  if (!source) {
    std::fprintf(stderr, "ntsd: %s\n", error.c_str());
    return 1;
  }
  if (opt->check_only && opt->probe_port) return app::probe_ports(*opt);
  if (opt->check_only) {
    std::printf("%s: configuration OK (backend %s, %d worker(s))\n", opt->config_path.c_str(),
                config::to_string(cfg.dataplane.backend), cfg.dataplane.workers);
    return 0;
  }

  clock::TscTicks ticks;
  clock::TscMap tsc;
  clock::Calibrator cal(*source, ticks, tsc);
  clock::ServerClock sclock(clock_config(cfg.server), cal, *source, [](const std::string& m) { runtime::log(m); });
  // Three samples over 100 ms: the TSC fit exists, with a usable rate,
  // before any worker starts; refreshes refine it from there.
  auto calibrate = [&] {
    for (int i = 0; i < 3; ++i) {
      if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      sclock.poll();
    }
  };
  auto* late = dynamic_cast<LateSource*>(source.get());
  if (late == nullptr) calibrate();

  const auto workers = static_cast<std::size_t>(cfg.dataplane.workers);
  runtime::KeyRingRcu rcu(workers);
  runtime::Metrics metrics(workers);
  runtime::Shared shared{rcu, metrics, tsc, sclock};
  shared.root_delay = runtime::ntp_short_from_us(cfg.server.root_delay_us);
  shared.root_dispersion = runtime::ntp_short_from_us(cfg.server.root_dispersion_us);
  if (!configure_ratelimit(cfg.ratelimit, shared, error)) {
    std::fprintf(stderr, "ntsd: [ratelimit] %s\n", error.c_str());
    return 1;
  }
  runtime::KeyWatcher keys(opt->keys_file, rcu, metrics.gauges());
  keys.poll();

  auto backend = app::make_backend(*opt, shared, error);
  if (!backend) {
    std::fprintf(stderr, "ntsd: %s\n", error.c_str());
    return 1;
  }
  // Started after the backend: the DPDK EAL pins this thread to the main
  // lcore, and threads created from now on inherit that, so the HTTP thread
  // never preempts a polling worker on its core.
  runtime::MetricsServer http;
  if (!cfg.metrics.listen.empty()) {
    auto ep = runtime::parse_endpoint(cfg.metrics.listen, error);
    if (!ep || !http.start(*ep, [&] { return metrics.render(); }, error)) {
      std::fprintf(stderr, "ntsd: [metrics] listen: %s\n", error.c_str());
      return 1;
    }
    runtime::log("metrics on http://" + cfg.metrics.listen + "/metrics");
  }

  if (late != nullptr) {  // clock = "dpdk": now that the ports run
    auto nic = backend->nic_clock(error);
    if (!nic) {
      std::fprintf(stderr, "ntsd: %s\n", error.c_str());
      return 1;
    }
    late->set(std::move(nic));
    calibrate();
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  std::thread data([&] { backend->run(); });
  runtime::log("serving NTP/NTS with clock " + source->name() + ", stratum " + std::to_string(cfg.server.stratum) +
               ", keys from " + opt->keys_file);
  auto next_clock = std::chrono::steady_clock::now();
  auto next_keys = next_clock;
  while (g_signal == 0) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_clock) {
      sclock.poll();  // refresh the TSC fit every 250 ms: a 16-sample window spans 4 s
      if (sclock.healthy()) shared.reference_time.store(clock::to_ntp64(clock::system_now()));
      metrics.gauges().clock_healthy = sclock.healthy() ? 1 : 0;
      metrics.gauges().leap = static_cast<int>(sclock.state().leap);
      next_clock = now + std::chrono::milliseconds(250);
    }
    if (now >= next_keys) {
      keys.poll();
      rcu.reclaim();
      next_keys = now + std::chrono::milliseconds(cfg.dataplane.keys_poll_ms);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  runtime::log(std::string("signal ") + std::to_string(g_signal) + ": stopping");
  shared.stop = true;
  data.join();
  http.stop();
  runtime::log("stopped: " + std::to_string(metrics.total_reason(proto::Reason::kOkPlain)) + " plain and " +
               std::to_string(metrics.total_reason(proto::Reason::kOkNts)) + " NTS responses");
  return 0;
}
