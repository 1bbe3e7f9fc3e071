// ke_load: NTS-KE handshakes per second against any NTS-KE server (ntsd-ke,
// chrony, ntpsec), through the ntsd client library: each exchange is a full
// TCP connect + TLS 1.3 handshake + request + 8 cookies + key export.
//
//   ke_load HOST:PORT --ca FILE [--threads N] [--seconds S] [--aead ID]
//
// Bounded in time; prints one line: "handshakes N errors E seconds S rate R/s".
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "ntsd/ke/client.hpp"

int main(int argc, char** argv) {
  ntsd::ke::ClientOptions o;
  std::string target;
  int threads = 4;
  double seconds = 5;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--ca" && i + 1 < argc) o.ca_file = argv[++i];
    else if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (a == "--seconds" && i + 1 < argc) seconds = std::atof(argv[++i]);
    else if (a == "--aead" && i + 1 < argc) o.aeads = {static_cast<std::uint16_t>(std::atoi(argv[++i]))};
    else if (target.empty() && a[0] != '-') target = a;
    else {
      std::fprintf(stderr, "usage: ke_load HOST:PORT --ca FILE [--threads N] [--seconds S] [--aead ID]\n");
      return 1;
    }
  }
  if (target.empty() || !ntsd::ke::split_host_port(target, o.host, o.port) || threads < 1 || threads > 256 ||
      seconds <= 0 || seconds > 600)
    return 1;
  o.timeout_ms = 3000;
  ntsd::ke::KeConnector conn(o.ca_file);
  if (!conn.ok()) {
    std::fprintf(stderr, "ke_load: %s\n", conn.error().c_str());
    return 1;
  }
  std::atomic<std::uint64_t> ok{0}, bad{0};
  std::atomic<bool> stop{false};
  std::string first_error;
  std::atomic_flag err_once = ATOMIC_FLAG_INIT;
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        auto r = conn.run(o);
        if (r.error == ntsd::ke::KeError::kOk && r.cookies.size() == 8) {
          ok++;
        } else {
          bad++;
          if (!err_once.test_and_set()) first_error = r.message;
        }
      }
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : ts) t.join();
  double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("handshakes %llu errors %llu seconds %.2f rate %.0f/s\n", (unsigned long long)ok.load(),
              (unsigned long long)bad.load(), el, static_cast<double>(ok.load()) / el);
  if (bad.load()) std::printf("first error: %s\n", first_error.c_str());
  return ok.load() > 0 ? 0 : 2;
}
