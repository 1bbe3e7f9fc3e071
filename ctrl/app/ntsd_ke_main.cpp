// ntsd-ke: the NTS-KE server and owner of the cookie master keys.
//
//   ntsd-ke --config FILE
//   ntsd-ke --cert CERT --key KEY [--port N] [--keys-file F] [--keys-format ntsd|chrony]
//           [--listen ADDR]... [--threads N] [--rotation-interval S] [--check-config]
//           [--verbose]  (one log line per completed NTS-KE)
//
// Flags override the file. SIGHUP reloads the certificate and key (so does a
// change of either file, checked every second); SIGINT/SIGTERM stop.
#include <signal.h>
#include <sys/resource.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "ntsd/config/config.hpp"
#include "ntsd/ke/server.hpp"
#include "ntsd/keys/manager.hpp"

namespace {

bool g_verbose = false;

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

int usage() {
  std::fprintf(stderr,
               "usage: ntsd-ke [--config FILE] [--cert PEM] [--key PEM] [--port N]\n"
               "               [--keys-file FILE] [--keys-format ntsd|chrony] [--listen ADDR]...\n"
               "               [--threads N] [--rotation-interval S] [--check-config] [--verbose]\n");
  return 1;
}

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

ntsd::ke::ServerOptions server_options(const ntsd::config::KeConfig& k) {
  ntsd::ke::ServerOptions o;
  o.listen = k.listen;
  o.port = static_cast<std::uint16_t>(k.port);
  o.cert = k.cert;
  o.key = k.key;
  o.threads = k.threads;
  o.max_connections = k.max_connections;
  o.handshake_timeout_ms = k.handshake_timeout_ms;
  o.max_request_bytes = static_cast<std::size_t>(k.max_request_bytes);
  o.ntp_server = k.ntp_server;
  o.ntp_port = static_cast<std::uint16_t>(k.ntp_port);
  o.aeads = k.aeads;
  o.cookies = k.cookies;
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  // First pass finds --config, second applies flags over the file.
  ntsd::config::Config cfg;
  std::string path;
  bool check_only = false;
  if (!apply_flags(argc, argv, cfg, path, check_only)) return usage();
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
  if (check_only) {
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
  // Blocked before the threads start, so only sigtimedwait below sees them.
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  ntsd::keys::RotationParams rp;
  rp.interval_s = cfg.keys.rotation_interval_s;
  rp.previous = cfg.keys.previous;
  rp.aead = ntsd::config::master_key_aead(cfg.keys);
  auto fmt = cfg.keys.format == ntsd::config::KeyFormat::kChrony ? ntsd::keys::Format::kChrony
                                                                 : ntsd::keys::Format::kNtsd;
  ntsd::keys::KeyManager keys(cfg.keys.file, fmt, rp);
  std::string err;
  if (!keys.start(std::time(nullptr), err)) {
    log("keys: %s", err.c_str());
    return 1;
  }
  auto sopt = server_options(cfg.ke);
  if (g_verbose)
    sopt.on_session = [](std::uint16_t aead, int cookies) {
      log("NTS-KE completed: AEAD %u, %d cookies", aead, cookies);
    };
  ntsd::ke::KeServer server(std::move(sopt), [&keys] { return keys.ring(); });
  if (!server.start(err)) {
    log("%s", err.c_str());
    return 1;
  }
  log("listening on port %u, keys in %s (%s format), next rotation in %lld s", server.port(),
      cfg.keys.file.c_str(), ntsd::config::to_string(cfg.keys.format),
      static_cast<long long>(keys.next_rotation() - std::time(nullptr)));

  for (;;) {
    timespec one_second{1, 0};
    int sig = sigtimedwait(&sigs, nullptr, &one_second);
    if (sig == SIGINT || sig == SIGTERM) break;
    if (sig == SIGHUP || server.certificate_files_changed()) {
      if (server.reload_certificate(err))
        log("certificate reloaded");
      else
        log("certificate reload failed, keeping the old one: %s", err.c_str());
    }
    int n = keys.tick(std::time(nullptr), err);
    if (n > 0) log("rotated master keys (%d), next in %lld s", n,
                   static_cast<long long>(keys.next_rotation() - std::time(nullptr)));
    if (n < 0) log("key rotation failed: %s", err.c_str());
  }
  server.stop();
  const auto& s = server.stats();
  log("stopping: %llu accepted, %llu completed, %llu TLS failures, %llu without ALPN, %llu timed out, "
      "%llu errors sent, %llu refused (full)",
      (unsigned long long)s.accepted.load(), (unsigned long long)s.completed.load(),
      (unsigned long long)s.tls_failed.load(), (unsigned long long)s.no_alpn.load(),
      (unsigned long long)s.timed_out.load(), (unsigned long long)s.errors_sent.load(),
      (unsigned long long)s.refused_full.load());
  return 0;
}
