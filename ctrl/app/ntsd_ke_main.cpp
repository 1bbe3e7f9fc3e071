// ntsd-ke: the NTS-KE server and owner of the cookie master keys.
//
//   ntsd-ke --config FILE
//   ntsd-ke --cert CERT --key KEY [--port N] [--keys-file F] [--keys-format ntsd|chrony]
//           [--listen ADDR]... [--threads N] [--rotation-interval S] [--check-config]
//           [--verbose]  (one log line per completed NTS-KE)
//           [--rotate-now]  (rotate the master keys once at start, whatever
//                            the schedule says: an operator's explicit act)
//           [--metrics ADDR:PORT]  (Prometheus endpoint, [metrics] ke_listen; "" = off)
//
// Flags override the file. SIGHUP reloads the certificate and key (so does a
// change of either file, checked every second) and the pool tokens
// ([ke] pool_tokens_file, docs/pool.md); SIGUSR1 rotates the master keys
// once; SIGINT/SIGTERM stop. Key rotation runs on CLOCK_BOOTTIME, not the
// wall clock (ctrl/keys manager.hpp).
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <time.h>

#include "ke_metrics.hpp"
#include "ntsd/config/config.hpp"
#include "ntsd/config/lcores.hpp"
#include "ntsd/http/server.hpp"
#include "ntsd/ke/server.hpp"
#include "ntsd/ke/server_config.hpp"
#include "ntsd/keys/derived.hpp"
#include "ntsd/keys/manager.hpp"
#include "ntsd/version.hpp"

namespace {

bool g_verbose = false;
bool g_rotate_now = false;

void log(const char* fmt, ...) {
  // One fputs per line: the event-loop threads log too (--verbose).
  char line[1024];
  std::time_t t = std::time(nullptr);
  std::size_t n = std::strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ ntsd-ke: ", std::gmtime(&t));
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
  va_end(ap);
  std::strcat(line, "\n");
  std::fputs(line, stderr);
}

constexpr const char* kUsage =
    "usage: ntsd-ke [--config FILE] [--cert PEM] [--key PEM] [--port N]\n"
    "               [--keys-file FILE] [--keys-format ntsd|chrony] [--listen ADDR]...\n"
    "               [--threads N] [--rotation-interval S] [--check-config] [--verbose]\n"
    "               [--rotate-now] [--metrics ADDR:PORT]\n"
    "       ntsd-ke --help | --version\n"
    "NTS-KE server (RFC 8915) and owner of the cookie master keys. Flags override\n"
    "the config file; every key: ntsd.toml(5), docs/configuration.md.\n";

bool parse_int(const char* s, long lo, long hi, long& out) {
  char* end = nullptr;
  out = std::strtol(s, &end, 10);
  return *s && !*end && out >= lo && out <= hi;
}

// Applies command-line flags on top of the configuration.
bool apply_flags(int argc, char** argv, ntsd::config::Config& c, std::string& config_path,
                 bool& check_only) {
  bool listen_set = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--check-config") {
      check_only = true;
      continue;
    }
    if (a == "--verbose") {
      g_verbose = true;
      continue;
    }
    if (a == "--rotate-now") {
      g_rotate_now = true;
      continue;
    }
    if (i + 1 >= argc) return false;
    const char* v = argv[++i];
    long n = 0;
    if (a == "--config") {
      config_path = v;
    } else if (a == "--cert") {
      c.ke.cert = v;
    } else if (a == "--key") {
      c.ke.key = v;
    } else if (a == "--port" && parse_int(v, 0, 65535, n)) {
      c.ke.port = static_cast<int>(n);
    } else if (a == "--keys-file") {
      c.keys.file = v;
    } else if (a == "--metrics") {
      c.metrics.ke_listen = v;
    } else if (a == "--keys-format" && (std::string(v) == "ntsd" || std::string(v) == "chrony")) {
      c.keys.format = std::string(v) == "chrony" ? ntsd::config::KeyFormat::kChrony
                                                 : ntsd::config::KeyFormat::kNtsd;
      if (c.keys.format == ntsd::config::KeyFormat::kChrony) c.keys.previous = 2;
    } else if (a == "--listen") {
      if (!listen_set) c.ke.listen.clear();
      listen_set = true;
      c.ke.listen.push_back(v);
    } else if (a == "--threads" && parse_int(v, 0, 1024, n)) {
      c.ke.threads = static_cast<int>(n);
    } else if (a == "--rotation-interval" && parse_int(v, 1, 365L * 86400, n)) {
      c.keys.rotation_interval_s = n;
    } else {
      return false;
    }
  }
  return true;
}

// Both clocks the key manager needs, in seconds. CLOCK_BOOTTIME keeps
// counting through a suspend, so a long sleep is seen as time passed (one
// rotation), and no settimeofday/clock step moves it.
ntsd::keys::Clocks clocks() {
  timespec b{};
  ::clock_gettime(CLOCK_BOOTTIME, &b);
  return {static_cast<std::int64_t>(std::time(nullptr)), static_cast<std::int64_t>(b.tv_sec)};
}

// What the derived-key schedule reads: the same, plus the test seam's offset
// (ntsd::keys::test_wall_offset, 0 in service).
ntsd::keys::Clocks derived_clocks() {
  auto c = clocks();
  c.wall += ntsd::keys::test_wall_offset();
  return c;
}

// [keys] mode = "derived": the secret file (mode 0600, >= 32 bytes) and the
// window. nullptr and `err` on a bad secret file.
std::unique_ptr<ntsd::keys::DerivedKeys> make_derived(const ntsd::config::KeysConfig& k, std::string& err) {
  return ntsd::keys::open_derived(
      k.secret_file, {k.period_s, k.past_periods, k.future_periods, ntsd::config::master_key_aead(k)},
      [](const std::string& s) { log("keys: %s", s.c_str()); }, err);
}

void note_derived(const ntsd::keys::DerivedKeys& d, std::int64_t period_s, int result, ntsd::keapp::KeGauges& g) {
  if (result < 0) ++g.rotation_errors;
  const auto st = d.status();
  g.derived = 1;
  g.rotations = st.changes;
  g.key_rotated_at = st.period_start;
  g.key_next_rotation = st.period_start + period_s;
  g.derived_period = st.period;
  g.derived_held = st.held ? 1 : 0;
  g.derived_holds = st.holds;
  g.derived_offset = st.offset_s;
}

long long next_rotation_in(const ntsd::keys::KeyManager& keys) {
  return static_cast<long long>(keys.next_rotation() - clocks().mono);
}

// The pool tokens ([ke] pool_tokens_file), swapped whole on reload. Tokens
// never reach the log: errors name the file and line only.
class TokenHolder {
 public:
  explicit TokenHolder(std::string path) : path_(std::move(path)) {}
  bool enabled() const { return !path_.empty(); }
  bool load(std::string& err) {
    auto t = ntsd::ke::PoolTokens::load(path_, err);
    if (!t) return false;
    std::lock_guard lock(mu_);
    cur_ = std::move(t);
    return true;
  }
  std::shared_ptr<const ntsd::ke::PoolTokens> get() const {
    std::lock_guard lock(mu_);
    return cur_;
  }
  std::size_t count() const {
    auto t = get();
    return t ? t->size() : 0;
  }

 private:
  std::string path_;
  mutable std::mutex mu_;
  std::shared_ptr<const ntsd::ke::PoolTokens> cur_;
};
// [ke] threads = 0: one event-loop thread per CPU this process may use,
// less the CPUs of ntsd's DPDK worker lcores ([dataplane] eal_args), and the
// process pinned to the rest, so that NTS-KE never preempts a polling worker
// (docs/operations.md, "CPU isolation"). A set thread count is left alone:
// pin it with the unit's CPUAffinity.
void place_threads(ntsd::config::Config& c, ntsd::keapp::KeGauges& g) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  std::set<int> cpus;
  if (::sched_getaffinity(0, sizeof allowed, &allowed) == 0)
    for (int i = 0; i < CPU_SETSIZE; ++i)
      if (CPU_ISSET(i, &allowed)) cpus.insert(i);
  if (c.ke.threads == 0 && !cpus.empty()) {
    std::string err;
    const auto workers = ntsd::config::dpdk_worker_cpus(c.dataplane, cpus, err);
    if (!workers) log("warning: %s; NTS-KE threads may share ntsd's worker cores", err.c_str());
    std::set<int> mine;
    for (int cpu : cpus)
      if (!workers || !workers->count(cpu)) mine.insert(cpu);
    if (mine.empty()) {
      log("warning: every CPU of ntsd-ke is an ntsd worker lcore (%s); using them all",
          ntsd::config::cpu_list(cpus).c_str());
      mine = cpus;
    } else if (workers && !workers->empty()) {
      cpu_set_t set;
      CPU_ZERO(&set);
      for (int cpu : mine) CPU_SET(cpu, &set);
      ::sched_setaffinity(0, sizeof set, &set);
      log("NTS-KE on CPUs %s, off ntsd's worker lcores (CPUs %s)", ntsd::config::cpu_list(mine).c_str(),
          ntsd::config::cpu_list(*workers).c_str());
    }
    c.ke.threads = static_cast<int>(mine.size());
  }
  g.threads = c.ke.threads > 0 ? c.ke.threads : static_cast<int>(cpus.size());
}

void note_certificate(const std::string& cert, ntsd::keapp::KeGauges& g) {
  std::string err;
  const std::int64_t t = ntsd::keapp::certificate_not_after(cert, err);
  if (t == 0) log("warning: certificate expiry unknown: %s", err.c_str());
  g.cert_not_after = t;
}

// The gauges are UNIX seconds; the schedule runs on the monotonic clock, so
// the next rotation is now plus what is left of the interval.
void note_keys(const ntsd::keys::KeyManager& k, int rotated, ntsd::keapp::KeGauges& g) {
  if (rotated > 0) g.rotations += static_cast<std::uint64_t>(rotated);
  if (rotated < 0) ++g.rotation_errors;
  const auto now = clocks();
  g.key_next_rotation = now.wall + (k.next_rotation() - now.mono);
  g.key_rotated_at = k.rotated_at();
}

}  // namespace

int main(int argc, char** argv) {
  // First pass finds --config, second applies flags over the file.
  ntsd::config::Config cfg;
  std::string path;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (a == "--version") return ntsd::cli::print_version("ntsd-ke");
  }
  if (!apply_flags(argc, argv, cfg, path, check_only))
    return ntsd::cli::usage_error("ntsd-ke", "bad option or value", kUsage);
  if (!path.empty()) {
    std::string err;
    auto loaded = ntsd::config::load_config(path, err);
    if (!loaded) {
      log("%s", err.c_str());
      return 1;
    }
    cfg = *loaded;
    apply_flags(argc, argv, cfg, path, check_only);
  }
  if (cfg.ke.cert.empty() || cfg.ke.key.empty()) {
    log("[ke] cert and key are required (--cert/--key or the config file)");
    return 1;
  }
  const bool derived = cfg.keys.mode == ntsd::config::KeyMode::kDerived;
  std::string err;
  std::unique_ptr<ntsd::keys::DerivedKeys> dkeys;
  if (derived && !(dkeys = make_derived(cfg.keys, err))) {
    log("%s", err.c_str());
    return 1;
  }
  if (derived && g_rotate_now) {
    log("--rotate-now: derived keys rotate with the UTC period ([keys] period_s); SIGUSR1 resyncs their clock");
    return 1;
  }
  if (check_only) {
    if (dkeys) log("derived keys: secret %s, fingerprint %s", cfg.keys.secret_file.c_str(), dkeys->fingerprint().c_str());
    log("configuration ok");
    return 0;
  }

  // Every connection is a descriptor: make room for max_connections (an
  // accept failing with EMFILE would otherwise spin on the listener).
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 &&
      nofile.rlim_cur < static_cast<rlim_t>(cfg.ke.max_connections) + 64)
    log("warning: open-file limit %llu is below [ke] max_connections + 64",
        static_cast<unsigned long long>(nofile.rlim_cur));

  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGHUP);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGUSR1);
  // Blocked before the threads start, so only sigtimedwait below sees them.
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  ntsd::keys::RotationParams rp;
  rp.interval_s = cfg.keys.rotation_interval_s;
  rp.previous = cfg.keys.previous;
  rp.aead = ntsd::config::master_key_aead(cfg.keys);
  auto fmt = cfg.keys.format == ntsd::config::KeyFormat::kChrony ? ntsd::keys::Format::kChrony
                                                                 : ntsd::keys::Format::kNtsd;
  ntsd::keys::KeyManager keys(cfg.keys.file, fmt, rp, ntsd::keys::system_random(),
                              [](const std::string& s) { log("keys: %s", s.c_str()); });
  if (dkeys) {
    if (const char* f = ntsd::keys::test_wall_offset_file())
      log("TEST SEAM: derived keys read the wall clock plus the seconds in %s (NTSD_TEST_WALL_OFFSET_FILE)", f);
    if (!dkeys->start(derived_clocks(), err)) {
      log("keys: %s", err.c_str());
      return 1;
    }
    log("keys: derived from %s (fingerprint %s), AEAD %u, periods of %lld s, %d past and %d future accepted",
        cfg.keys.secret_file.c_str(), dkeys->fingerprint().c_str(), static_cast<unsigned>(ntsd::config::master_key_aead(cfg.keys)),
        static_cast<long long>(cfg.keys.period_s), cfg.keys.past_periods, cfg.keys.future_periods);
  } else if (!keys.start(clocks(), err)) {
    log("keys: %s", err.c_str());
    return 1;
  }
  if (g_rotate_now) {
    if (!keys.rotate_now(clocks(), err)) {
      log("keys: --rotate-now: %s", err.c_str());
      return 1;
    }
    log("keys: rotated once (--rotate-now)");
  }
  TokenHolder tokens(cfg.ke.pool_tokens_file);
  if (tokens.enabled() && !tokens.load(err)) {
    log("[ke] pool_tokens_file: %s", err.c_str());
    return 1;
  }
  ntsd::keapp::KeGauges gauges;
  place_threads(cfg, gauges);
  note_certificate(cfg.ke.cert, gauges);
  if (dkeys) note_derived(*dkeys, cfg.keys.period_s, 0, gauges);
  else note_keys(keys, g_rotate_now ? 1 : 0, gauges);
  auto sopt = ntsd::ke::server_options(cfg.ke, ntsd::ke::ServerRole::kTimeSource);
  if (tokens.enabled()) sopt.pool_tokens = [&tokens] { return tokens.get(); };
  if (g_verbose)
    sopt.on_session = [](std::uint16_t aead, int cookies) {
      log("NTS-KE completed: AEAD %u, %d cookies", aead, cookies);
    };
  ntsd::ke::KeServer server(std::move(sopt), [&keys, &dkeys] { return dkeys ? dkeys->ring() : keys.ring(); });
  if (!server.start(err)) {
    log("%s", err.c_str());
    return 1;
  }
  ntsd::http::MetricsServer http;
  if (!cfg.metrics.ke_listen.empty()) {
    auto ep = ntsd::http::parse_endpoint(cfg.metrics.ke_listen, err);
    if (!ep || !http.start(*ep, [&] { return ntsd::keapp::render(server.stats(), gauges, std::time(nullptr)); }, err)) {
      log("[metrics] ke_listen: %s", err.c_str());
      return 1;
    }
    log("metrics on http://%s/metrics", cfg.metrics.ke_listen.c_str());
  }
  if (dkeys)
    log("listening on port %u, derived keys, period %lld", server.port(),
        static_cast<long long>(dkeys->status().period));
  else
    log("listening on port %u, keys in %s (%s format), next rotation in %lld s", server.port(),
        cfg.keys.file.c_str(), ntsd::config::to_string(cfg.keys.format), next_rotation_in(keys));
  if (tokens.enabled())
    log("NTS pool time source: %zu pool token(s), at most %d kept-alive connections, idle timeout %d ms",
        tokens.count(), cfg.ke.pool_keepalive_connections, cfg.ke.pool_idle_timeout_ms);

  bool rotation_failing = false;
  std::string rotation_error;
  std::uint64_t bad_tokens_logged = 0;
  std::time_t bad_tokens_at = 0;
  for (;;) {
    timespec one_second{1, 0};
    int sig = sigtimedwait(&sigs, nullptr, &one_second);
    if (sig == SIGINT || sig == SIGTERM) break;
    if (sig == SIGHUP || server.certificate_files_changed()) {
      if (server.reload_certificate(err)) {
        log("certificate reloaded");
        ++gauges.cert_reloads;
        note_certificate(cfg.ke.cert, gauges);
      } else {
        log("certificate reload failed, keeping the old one: %s", err.c_str());
        ++gauges.cert_reload_errors;
      }
    }
    if (sig == SIGUSR1 && dkeys) {
      dkeys->resync(derived_clocks());
    } else if (sig == SIGUSR1) {
      const bool ok = keys.rotate_now(clocks(), err);
      if (ok)
        log("rotated master keys (SIGUSR1), next in %lld s", next_rotation_in(keys));
      else
        log("key rotation (SIGUSR1) failed: %s", err.c_str());
      note_keys(keys, ok ? 1 : -1, gauges);
    }
    if (sig == SIGHUP && tokens.enabled()) {
      if (tokens.load(err))
        log("pool tokens reloaded: %zu token(s)", tokens.count());
      else
        log("pool token reload failed, keeping the old ones: %s", err.c_str());
    }
    // Refused pool requests, at most one line per 10 s (a flood of wrong
    // tokens must not flood the log).
    std::uint64_t bad = server.stats().pool_bad_token.load();
    if (bad != bad_tokens_logged && std::time(nullptr) - bad_tokens_at >= 10) {
      log("refused %llu pool request(s) with a missing or wrong Authentication Token (Error 1)",
          static_cast<unsigned long long>(bad - bad_tokens_logged));
      bad_tokens_logged = bad;
      bad_tokens_at = std::time(nullptr);
    }
    if (dkeys) {
      const int n = dkeys->tick(derived_clocks(), err);
      if (n > 0) log("derived keys: period %lld", static_cast<long long>(dkeys->status().period));
      if (n < 0) log("derived keys: %s", err.c_str());
      note_derived(*dkeys, cfg.keys.period_s, n, gauges);
      continue;
    }
    int n = keys.tick(clocks(), err);
    if (n > 0) log("rotated master keys, next in %lld s", next_rotation_in(keys));
    // A failing save is retried every second: log it when it starts or its
    // reason changes, and when it works again, not every second.
    if (n < 0 && (!rotation_failing || err != rotation_error))
      log("key rotation failed (retried every second, NTS-KE keeps the current keys): %s", err.c_str());
    if (n >= 0 && rotation_failing) log("key file written again: the pending rotation is complete");
    if (n < 0) rotation_error = err;
    rotation_failing = n < 0;
    note_keys(keys, n, gauges);
  }
  http.stop();
  server.stop();
  const auto& s = server.stats();
  log("stopping: %llu accepted, %llu completed, %llu TLS failures, %llu without ALPN, %llu timed out, "
      "%llu errors sent, %llu refused (full), %llu refused (per source), %llu refused (rate), "
      "%llu silent closed, %llu silent evicted",
      (unsigned long long)s.accepted.load(), (unsigned long long)s.completed.load(),
      (unsigned long long)s.tls_failed.load(), (unsigned long long)s.no_alpn.load(),
      (unsigned long long)s.timed_out.load(), (unsigned long long)s.errors_sent.load(),
      (unsigned long long)s.refused_full.load(), (unsigned long long)s.refused_source.load(),
      (unsigned long long)s.refused_rate.load(), (unsigned long long)s.silent_closed.load(),
      (unsigned long long)s.evicted.load());
  if (tokens.enabled())
    log("pool: %llu support queries, %llu Fixed Key Requests, %llu refused tokens, %llu Keep Alive refused "
        "at the cap, %llu idle connections closed",
        (unsigned long long)s.pool_support.load(), (unsigned long long)s.pool_fixed_key.load(),
        (unsigned long long)s.pool_bad_token.load(), (unsigned long long)s.keepalive_refused.load(),
        (unsigned long long)s.keepalive_idle_closed.load());
  return 0;
}
