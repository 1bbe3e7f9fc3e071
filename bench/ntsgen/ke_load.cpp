#include "ke_load.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ntsd/ke/client.hpp"

namespace ntsgen {
namespace {

int usage() {
  std::fprintf(stderr,
               "usage: ke-load HOST[:PORT] --ca FILE [--threads N] [--seconds S] [--aead ID[,ID]]\n"
               "               [--deny NAME]... [--timeout MS]\n");
  return 1;
}

bool parse_aeads(const std::string& s, std::vector<std::uint16_t>& out) {
  out.clear();
  std::size_t pos = 0;
  while (pos <= s.size()) {
    std::size_t comma = s.find(',', pos);
    if (comma == std::string::npos) comma = s.size();
    long v = std::strtol(s.substr(pos, comma - pos).c_str(), nullptr, 10);
    if (v <= 0 || v > 65535) return false;
    out.push_back(static_cast<std::uint16_t>(v));
    pos = comma + 1;
  }
  return !out.empty();
}

// What the threads found, merged under a mutex once per thread at the end.
struct Tally {
  std::uint64_t ok = 0, bad = 0;
  std::map<std::string, std::uint64_t> errors, servers;
  std::string first_error;
};

}  // namespace

int ke_load_main(int argc, char** argv) {
  ntsd::ke::ClientOptions o;
  std::string target;
  int threads = 4;
  double seconds = 5;
  o.timeout_ms = 3000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "--ca" && v) o.ca_file = argv[++i];
    else if (a == "--threads" && v) threads = std::atoi(argv[++i]);
    else if (a == "--seconds" && v) seconds = std::atof(argv[++i]);
    else if (a == "--timeout" && v) o.timeout_ms = std::atoi(argv[++i]);
    else if (a == "--aead" && v) {
      if (!parse_aeads(argv[++i], o.aeads)) return usage();
    } else if (a == "--deny" && v) o.deny.push_back(argv[++i]);
    else if (target.empty() && !a.empty() && a[0] != '-') target = a;
    else return usage();
  }
  if (target.empty() || !ntsd::ke::split_host_port(target, o.host, o.port) || threads < 1 || threads > 256 ||
      seconds <= 0 || seconds > 600 || o.timeout_ms <= 0)
    return usage();
  ntsd::ke::KeConnector conn(o.ca_file);
  if (!conn.ok()) {
    std::fprintf(stderr, "ke-load: %s\n", conn.error().c_str());
    return 1;
  }
  std::atomic<bool> stop{false};
  std::mutex mu;
  Tally total;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&] {
      Tally mine;
      while (!stop.load(std::memory_order_relaxed)) {
        auto r = conn.run(o);
        if (r.error == ntsd::ke::KeError::kOk && !r.cookies.empty()) {
          mine.ok++;
          mine.servers[r.ntp_server]++;
        } else {
          mine.bad++;
          std::string kind = ntsd::ke::ke_error_name(r.error);
          if (r.error == ntsd::ke::KeError::kErrorRecord) kind += " " + std::to_string(r.error_code);
          mine.errors[kind]++;
          if (mine.first_error.empty()) mine.first_error = r.message;
        }
      }
      std::lock_guard lock(mu);
      total.ok += mine.ok;
      total.bad += mine.bad;
      for (const auto& [k, n] : mine.errors) total.errors[k] += n;
      for (const auto& [k, n] : mine.servers) total.servers[k] += n;
      if (total.first_error.empty()) total.first_error = mine.first_error;
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : ts) t.join();
  const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("handshakes %llu errors %llu seconds %.2f rate %.0f/s\n", (unsigned long long)total.ok,
              (unsigned long long)total.bad, el, static_cast<double>(total.ok) / el);
  if (total.bad) {
    std::printf("first error: %s\nerrors:", total.first_error.c_str());
    for (const auto& [k, n] : total.errors) std::printf(" %s %llu", k.c_str(), (unsigned long long)n);
    std::printf("\n");
  }
  if (total.servers.size() > 1 || (total.servers.size() == 1 && total.servers.begin()->first != o.host)) {
    std::printf("servers:");
    for (const auto& [k, n] : total.servers)
      std::printf(" %s %.1f %%", k.c_str(), 100.0 * static_cast<double>(n) / static_cast<double>(total.ok));
    std::printf("\n");
  }
  return total.ok > 0 ? 0 : 2;
}

}  // namespace ntsgen
