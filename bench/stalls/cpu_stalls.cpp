// cpu_stalls: spins on one CPU reading CLOCK_MONOTONIC and reports the gaps
// between consecutive reads, i.e. how long the core was taken away from a
// busy-polling thread (preemption, interrupts, a hypervisor descheduling
// the vCPU). A DPDK worker has no buffer but its RX ring while that lasts,
// so this is the machine's side of the responder's zero-loss rate; ntsd
// counts the same per worker (ntsd_worker_stalls_total).
//
//   cpu_stalls [--cpu N] [--seconds S] [--list-over MS]
//
// Prints counts of gaps over 10 us, 0.1, 0.25, 0.5, 1, 2 and 4 ms, the
// longest gap and the share of time lost in gaps over 0.25 ms; with
// --list-over, each gap over that many ms with its CLOCK_MONOTONIC start
// (to correlate with `perf record -k CLOCK_MONOTONIC` traces).
#include <sched.h>
#include <time.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

std::int64_t now_ns() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

struct Options {
  int cpu = 1;
  double seconds = 10;
  double list_over_ms = 0;  // 0: no list
};

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return false;
    char* end = nullptr;
    const double v = std::strtod(argv[++i], &end);
    if (end == argv[i] || *end != '\0' || v < 0) return false;
    if (a == "--cpu") o.cpu = static_cast<int>(v);
    else if (a == "--seconds" && v > 0 && v <= 3600) o.seconds = v;
    else if (a == "--list-over") o.list_over_ms = v;
    else return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(stderr, "usage: cpu_stalls [--cpu N] [--seconds S (1..3600)] [--list-over MS]\n");
    return 2;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(o.cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    std::fprintf(stderr, "cpu_stalls: cannot pin to CPU %d: %s\n", o.cpu, std::strerror(errno));
    return 1;
  }
  constexpr std::array<std::int64_t, 7> kOverNs{10'000, 100'000, 250'000, 500'000, 1'000'000, 2'000'000, 4'000'000};
  std::array<std::uint64_t, kOverNs.size()> over{};
  const auto list_ns = static_cast<std::int64_t>(o.list_over_ms * 1e6);
  std::int64_t longest = 0, lost = 0;
  const std::int64_t t0 = now_ns(), end = t0 + static_cast<std::int64_t>(o.seconds * 1e9);
  // Bounded by time: the loop ends by itself after --seconds.
  for (std::int64_t prev = t0, t = t0; t < end; prev = t) {
    t = now_ns();
    const std::int64_t gap = t - prev;
    if (gap < kOverNs[0]) continue;
    for (std::size_t i = 0; i < kOverNs.size() && gap >= kOverNs[i]; ++i) ++over[i];
    if (gap > longest) longest = gap;
    if (gap >= 250'000) lost += gap;
    if (list_ns > 0 && gap >= list_ns)
      std::printf("gap %.6f s + %.3f ms\n", static_cast<double>(prev) / 1e9, static_cast<double>(gap) / 1e6);
  }
  std::printf("cpu %d, %.0f s: gaps over 10us %llu, 0.1ms %llu, 0.25ms %llu, 0.5ms %llu, 1ms %llu, 2ms %llu, 4ms %llu; "
              "longest %.2f ms; %.3f %% of the time in gaps over 0.25 ms\n",
              o.cpu, o.seconds, static_cast<unsigned long long>(over[0]), static_cast<unsigned long long>(over[1]),
              static_cast<unsigned long long>(over[2]), static_cast<unsigned long long>(over[3]),
              static_cast<unsigned long long>(over[4]), static_cast<unsigned long long>(over[5]),
              static_cast<unsigned long long>(over[6]), static_cast<double>(longest) / 1e6,
              100.0 * static_cast<double>(lost) / (o.seconds * 1e9));
  return 0;
}
