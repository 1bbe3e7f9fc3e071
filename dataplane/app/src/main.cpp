// ntsd: the NTP/NTS responder. The main thread is the control thread: it
// refreshes the clock (TSC fit, health, leap), watches the key file, reclaims
// old key rings and serves nothing itself. Workers live in the backend.
#include <csignal>
#include <memory>
#include <thread>

#include "backends.hpp"
#include "clock_setup.hpp"
#include "options.hpp"
#include "ntsd/runtime/derived_keys.hpp"
#include "ntsd/runtime/http.hpp"
#include "ntsd/runtime/key_watcher.hpp"
#include "ntsd/runtime/runtime.hpp"

namespace {

using namespace ntsd;
volatile std::sig_atomic_t g_signal = 0;

void on_signal(int sig) { g_signal = sig; }

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

// [server] interleaved into the workers' settings (RFC 9769): each worker
// allocates its own table at start; the hash key is drawn once here.
void configure_interleaved(const config::ServerConfig& c, runtime::Shared& shared) {
  if (!c.interleaved) {
    runtime::log("interleaved mode off: basic answers only");
    return;
  }
  shared.interleaved = true;
  shared.interleaved_entries = static_cast<std::size_t>(c.interleaved_table_size);
  shared.interleaved_secret = limit::Secret::random();
  runtime::log("interleaved mode (RFC 9769): " + std::to_string(shared.interleaved_entries) + " entries per worker (" +
               std::to_string(xleave::Table::bytes(shared.interleaved_entries) >> 10) + " KiB each)");
}

// [keys] mode = "derived": the secret file (mode 0600, >= 32 bytes) and the
// window; nullptr and `error` if either is wrong.
std::unique_ptr<keys::DerivedKeys> make_derived(const config::KeysConfig& k, std::string& error) {
  return keys::open_derived(k.secret_file, {k.period_s, k.past_periods, k.future_periods, config::master_key_aead(k)},
                            [](const std::string& s) { runtime::log("keys: " + s); }, error);
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
  // --check-config --no-devices: the system clock stands in for the PHC or
  // NIC clock, so that everything else (leap file, lock file, timescale,
  // keys) is still checked on a machine without that device.
  config::Config clock_cfg = cfg;
  if (opt->no_devices) clock_cfg.server.clock = "system";
  auto clk = app::ClockStack::create(clock_cfg, error);
  if (!clk) {
    std::fprintf(stderr, "ntsd: %s\n", error.c_str());
    return 1;
  }
  const bool derived = cfg.keys.mode == config::KeyMode::kDerived;
  std::unique_ptr<keys::DerivedKeys> dkeys;
  if (derived && !(dkeys = make_derived(cfg.keys, error))) {
    std::fprintf(stderr, "ntsd: %s\n", error.c_str());
    return 1;
  }
  if (opt->check_only && opt->probe_port) return app::probe_ports(*opt);
  if (opt->check_only) {
    std::printf("%s: configuration OK (backend %s, %d worker(s), keys %s%s)\n", opt->config_path.c_str(),
                config::to_string(cfg.dataplane.backend), cfg.dataplane.workers,
                derived ? ("derived, secret fingerprint " + dkeys->fingerprint()).c_str()
                        : ("from " + opt->keys_file).c_str(),
                opt->no_devices ? ("; devices not opened: clock " + cfg.server.clock).c_str() : "");
    return 0;
  }

  // The TSC fit exists, with a usable rate, before any worker starts;
  // refreshes refine it from there.
  if (!clk->waits_for_nic()) clk->calibrate();

  const auto workers = static_cast<std::size_t>(cfg.dataplane.workers);
  runtime::KeyRingRcu rcu(workers);
  runtime::Metrics metrics(workers);
  runtime::Shared shared{rcu, metrics, clk->tsc(), clk->server()};
  shared.nic_reference = clk->reference_factory();
  shared.leaps = &clk->leaps();
  if (!configure_ratelimit(cfg.ratelimit, shared, error)) {
    std::fprintf(stderr, "ntsd: [ratelimit] %s\n", error.c_str());
    return 1;
  }
  configure_interleaved(cfg.server, shared);
  // The key ring: from the key file ntsd-ke writes, or derived here.
  runtime::KeyWatcher keys(opt->keys_file, rcu, metrics.gauges());
  std::unique_ptr<runtime::DerivedKeySource> derived_keys;
  if (dkeys) {
    derived_keys = std::make_unique<runtime::DerivedKeySource>(std::move(dkeys), rcu, metrics.gauges());
    if (!derived_keys->start(error)) {
      std::fprintf(stderr, "ntsd: [keys] %s\n", error.c_str());
      return 1;
    }
  } else {
    keys.poll();
  }

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

  if (clk->waits_for_nic()) {  // clock = "dpdk": now that the ports run
    auto nic = backend->nic_clock(error);
    if (!nic) {
      std::fprintf(stderr, "ntsd: %s\n", error.c_str());
      return 1;
    }
    clk->set_nic_source(std::move(nic));
    clk->calibrate();
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  std::thread data([&] { backend->run(); });
  runtime::log("serving NTP/NTS with clock " + clk->source().name() + " (" + clock::to_string(clk->source().timescale()) +
               "), stratum " + std::to_string(cfg.server.stratum) + ", keys " +
               (derived_keys ? "derived from " + cfg.keys.secret_file : "from " + opt->keys_file));
  auto next_clock = std::chrono::steady_clock::now();
  auto next_keys = next_clock;
  while (g_signal == 0) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_clock) {
      clk->poll(metrics);  // refresh the TSC fit every 250 ms: a 16-sample window spans 4 s
      next_clock = now + std::chrono::milliseconds(250);
    }
    if (now >= next_keys) {
      if (derived_keys) derived_keys->poll();
      else keys.poll();
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
