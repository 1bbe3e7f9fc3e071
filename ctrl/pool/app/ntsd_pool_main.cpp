// ntsd-pool: an NTS pool's NTS-KE front end (docs/pool.md).
//
//   ntsd-pool --config FILE [--check-config] [--verbose]
//
// Users do ordinary RFC 8915 NTS-KE with the pool ([ke] table: listen, port,
// cert, key, threads, max_connections, handshake_timeout_ms,
// max_request_bytes, as for ntsd-ke). The pool hands each user to one of its
// time sources ([[backend]] tables) with a Fixed Key Request over a kept-alive
// TLS connection, and relays the cookies. [pool] tunes the time-source side,
// [metrics] pool_listen is the Prometheus endpoint.
//
// SIGHUP reloads the certificate and key (so does a change of either file,
// checked every second); SIGINT/SIGTERM stop.
#include <signal.h>
#include <sys/resource.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string>

#include "ntsd/config/config.hpp"
#include "ntsd/ke/server.hpp"
#include "ntsd/ke/server_config.hpp"
#include "ntsd/ke/tokens.hpp"
#include "ntsd/pool/pool.hpp"
#include "ntsd/version.hpp"
#include "ntsd/http/server.hpp"

namespace {

void log_line(const std::string& msg) {
  // One fputs per line: the loop and worker threads log too.
  char head[64];
  std::time_t t = std::time(nullptr);
  std::strftime(head, sizeof head, "%Y-%m-%dT%H:%M:%SZ ntsd-pool: ", std::gmtime(&t));
  std::string line = head + msg + "\n";
  std::fputs(line.c_str(), stderr);
}

void logf(const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  log_line(buf);
}

constexpr const char* kUsage =
    "usage: ntsd-pool --config FILE [--check-config] [--verbose]\n"
    "       ntsd-pool --help | --version\n"
    "NTS pool front end (draft-ietf-ntp-nts-keyexchange-pool): hands NTS-KE users to\n"
    "healthy time sources ([pool], [[backend]]; docs/pool.md).\n";

// Each time source's token file holds exactly our one token for it.
bool load_tokens(const ntsd::config::Config& cfg, std::vector<std::string>& tokens, std::string& err) {
  for (const auto& b : cfg.backends) {
    std::vector<std::string> t;
    if (!ntsd::ke::read_token_file(b.token_file, t, err)) {
      err = "[[backend]] " + b.name + ": token_file: " + err;
      return false;
    }
    if (t.size() != 1) {
      err = "[[backend]] " + b.name + ": token_file: " + b.token_file + " must hold exactly one token";
      return false;
    }
    tokens.push_back(std::move(t[0]));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  bool check_only = false, verbose = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (a == "--version") return ntsd::cli::print_version("ntsd-pool");
    if (a == "--check-config") check_only = true;
    else if (a == "--verbose") verbose = true;
    else if (a == "--config" && i + 1 < argc) path = argv[++i];
    else return ntsd::cli::usage_error("ntsd-pool", ("bad option " + a).c_str(), kUsage);
  }
  if (path.empty()) return ntsd::cli::usage_error("ntsd-pool", "--config FILE is required", kUsage);
  std::string err;
  auto cfg = ntsd::config::load_config(path, err);
  if (!cfg) {
    log_line(err);
    return 1;
  }
  if (cfg->ke.cert.empty() || cfg->ke.key.empty()) {
    log_line("[ke] cert and key are required");
    return 1;
  }
  if (cfg->backends.empty()) {
    log_line("no [[backend]]: a pool needs at least one time source");
    return 1;
  }
  ntsd::pool::PoolOptions po;
  po.pool = cfg->pool;
  po.backends = cfg->backends;
  po.verbose = verbose;
  if (!load_tokens(*cfg, po.tokens, err)) {
    log_line(err);
    return 1;
  }
  if (check_only) {
    log_line("configuration ok");
    return 0;
  }

  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGHUP);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);  // before any thread starts
  signal(SIGPIPE, SIG_IGN);

  auto pool = std::make_shared<ntsd::pool::Pool>(std::move(po), log_line);
  if (!pool->start(err)) {
    log_line(err);
    return 1;
  }
  // The users' side: the same [ke] options as ntsd-ke's, slot protection and
  // per-source limits included (issue 20, item 2): the pool faces the same users.
  ntsd::ke::KeServer server(ntsd::ke::server_options(cfg->ke, ntsd::ke::ServerRole::kPoolFrontEnd),
                            pool);
  if (!server.start(err)) {
    log_line(err);
    return 1;
  }
  ntsd::http::MetricsServer metrics;
  if (!cfg->metrics.pool_listen.empty()) {
    auto ep = ntsd::http::parse_endpoint(cfg->metrics.pool_listen, err);
    if (!ep || !metrics.start(*ep, [&] { return pool->render_metrics(&server.stats()); }, err)) {
      log_line("[metrics] pool_listen: " + err);
      return 1;
    }
  }
  logf("listening on port %u for users, %zu time source(s), %d worker(s), metrics on %s", server.port(),
       pool->backend_count(), cfg->pool.workers,
       cfg->metrics.pool_listen.empty() ? "(off)" : cfg->metrics.pool_listen.c_str());

  for (;;) {
    timespec one_second{1, 0};
    int sig = sigtimedwait(&sigs, nullptr, &one_second);
    if (sig == SIGINT || sig == SIGTERM) break;
    if (sig == SIGHUP || server.certificate_files_changed()) {
      if (server.reload_certificate(err))
        log_line("certificate reloaded");
      else
        log_line("certificate reload failed, keeping the old one: " + err);
    }
  }
  server.stop();
  pool->stop();
  metrics.stop();
  const auto& s = server.stats();
  logf("stopping: %llu users accepted, %llu answered, %llu TLS failures, %llu timed out",
       (unsigned long long)s.accepted.load(), (unsigned long long)s.completed.load(),
       (unsigned long long)s.tls_failed.load(), (unsigned long long)s.timed_out.load());
  return 0;
}
