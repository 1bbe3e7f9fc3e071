// Per-worker counters and their Prometheus text rendering.
//
// Each worker owns one WorkerStats (its own cache lines) and is its only
// writer: bump() is a relaxed load + store, i.e. a plain add, no atomic RMW
// and no sharing per packet. Readers (the metrics thread, telemetry) load
// relaxed and may see a value a burst old, which is fine for counters.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "ntsd/net/packet.hpp"
#include "ntsd/runtime/clock_metrics.hpp"
#include "ntsd/proto/server.hpp"
#include "ntsd/xleave/table.hpp"

namespace ntsd::runtime {

using Counter = std::atomic<std::uint64_t>;

inline void bump(Counter& c, std::uint64_t n = 1) noexcept {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

struct alignas(64) WorkerStats {
  Counter rx{0};          // packets received (frames on DPDK, datagrams on sockets)
  Counter tx{0};          // packets sent
  Counter tx_failed{0};   // replies the NIC/kernel did not take (freed and counted)
  Counter bursts{0};      // non-empty bursts handled
  Counter arp_replies{0};
  Counter nd_replies{0};
  Counter echo_replies{0};
  Counter keyring_generation{0};  // the key-ring generation this worker last picked up
  // NTP requests whose T2 came from the packet's own RX timestamp (the mbuf
  // timestamp dynfield, [dataplane] rx_timestamps), not from the software
  // read after rx_burst. DPDK workers only.
  Counter rx_timestamped{0};
  // Hardware T2s discarded as implausible: further from the burst's software
  // T2 than [dataplane] rx_timestamp_max_offset_us (another timescale, an
  // unfitted NIC clock), replaced by the software T2.
  Counter rx_timestamp_discarded{0};
  // Rate limiting (runtime/ratelimit.hpp): over-limit plain requests answered
  // with a RATE kiss, over-limit NTS requests dropped silently, over-limit
  // requests answered anyway (leak), and table entries evicted.
  Counter ratelimit_kod{0};
  Counter ratelimit_dropped{0};
  Counter ratelimit_leaked{0};
  Counter ratelimit_evictions{0};
  // Interleaved mode (RFC 9769, runtime/interleave.hpp): interleaved answers;
  // basic answers to requests that looked interleaved, by why (index
  // xleave::Miss); table entries evicted; actual TX times captured for saved
  // responses (stored, or dropped as implausible / entry reused), and kernel
  // TX timestamps that matched no response sent (socket backend).
  Counter xleave_answers{0};
  std::array<Counter, xleave::kMissCount> xleave_basic{};
  Counter xleave_evictions{0};
  Counter tx_timestamps_stored{0};
  Counter tx_timestamps_rejected{0};
  Counter tx_timestamps_unmatched{0};
  std::array<Counter, proto::kReasonCount> reasons{};
  std::array<Counter, net::kDropCount> net_drops{};
  // Server processing time T3 - T2 of answered requests: 100 buckets of
  // 0.1 us up to 10 us, 90 of 1 us up to 100 us, then one open-ended bucket.
  static constexpr std::size_t kProcBuckets = 191;
  static constexpr std::int64_t proc_upper_ns(std::size_t b) noexcept {
    const auto i = static_cast<std::int64_t>(b);
    return b < 100 ? (i + 1) * 100 : 10'000 + (i - 99) * 1'000;
  }
  static constexpr std::size_t proc_bucket(std::int64_t ns) noexcept {
    if (ns < 10'000) return static_cast<std::size_t>(ns / 100);
    if (ns < 100'000) return static_cast<std::size_t>(100 + (ns - 10'000) / 1'000);
    return kProcBuckets - 1;
  }
  std::array<Counter, kProcBuckets> proc_ns{};
  Counter proc_sum_ns{0};

  // Poll-loop iterations that took longer than any burst's work can (the
  // longest, 64 NTS requests with placeholders, is ~0.2 ms): the worker
  // lost its core (preemption, a hypervisor, SMIs). A polling worker's RX
  // ring is its only buffer, so these are when a port overflows. DPDK
  // workers only; the socket backend blocks in the kernel by design.
  static constexpr std::array<std::int64_t, 3> kStallOverNs{250'000, 1'000'000, 4'000'000};
  std::array<Counter, kStallOverNs.size()> stalls{};
  Counter stalled_ns{0};  // the time of iterations over kStallOverNs[0]
  void record_stall(std::int64_t ns) noexcept {
    if (ns < kStallOverNs[0]) return;
    for (std::size_t i = 0; i < kStallOverNs.size() && ns >= kStallOverNs[i]; ++i) bump(stalls[i]);
    bump(stalled_ns, static_cast<std::uint64_t>(ns));
  }
  // A polling worker is always at 100 % CPU, so its load is only visible as
  // the time it spends on bursts: iterations whose rx_burst returned
  // packets, from that read to the next poll's (stalls excluded: counted
  // above). rx over busy time is the worker's capacity at the current burst
  // sizes, measurable below saturation (docs/dataplane.md).
  Counter busy_ns{0};
  // One poll-loop iteration of `ns`, which served a burst if `busy`.
  void record_iteration(std::int64_t ns, bool busy) noexcept {
    if (ns >= kStallOverNs[0]) return record_stall(ns);
    if (busy) bump(busy_ns, static_cast<std::uint64_t>(ns));
  }

  // Records T3 - T2 of one response (T3 read back from its transmit timestamp,
  // RFC 5905 §7.3 offset 40): no clock read, a few adds.
  void record_processing(proto::NtpTime t2, proto::Bytes response) noexcept {
    if (response.size() < 48) return;
    std::uint64_t t3;  // one 8-byte load, big-endian (RFC 5905 §6)
    std::memcpy(&t3, response.data() + 40, 8);
    t3 = __builtin_bswap64(t3);
    const auto d = static_cast<std::int64_t>(t3 - t2);  // 32.32, modular
    const std::int64_t ns = d <= 0 ? 0 : static_cast<std::int64_t>((static_cast<__int128>(d) * 1'000'000'000) >> 32);
    bump(proc_ns[proc_bucket(ns)]);
    bump(proc_sum_ns, static_cast<std::uint64_t>(ns));
  }

  // Copies the core's per-reason counters (plain, owned by the same worker).
  void sync_reasons(const proto::ReasonCounters& rc) noexcept {
    for (std::size_t i = 0; i < proto::kReasonCount; ++i)
      reasons[i].store(rc.n[i], std::memory_order_relaxed);
  }
};

// One DPDK port as its PMD counts it (rte_eth_stats_get, rte_eth_link_get),
// copied about once a second by the backend's monitor thread, and the
// exception path's traffic to and from the kernel on that port
// (docs/dataplane.md, "Exception path"). `name` and `driver` are set once,
// before the metrics endpoint starts.
struct PortStats {
  std::string name, driver;
  Counter rx_packets{0}, tx_packets{0};
  Counter rx_missed{0};   // imissed: frames the port dropped, RX ring full
  Counter rx_nombuf{0};   // RX mbuf allocation failures (pool empty)
  Counter rx_errors{0};   // ierrors: erroneous frames received
  Counter tx_errors{0};   // oerrors: frames the port failed to send
  std::atomic<int> link_up{0};
  std::atomic<std::uint32_t> link_speed_mbps{0};
  bool exception = false;  // this port has an exception path (tap / virtio_user)
  Counter exc_to_kernel{0}, exc_to_wire{0};          // frames handed over
  Counter exc_to_kernel_dropped{0}, exc_to_wire_dropped{0};  // ring or device full
};

// Process-wide gauges, written by the control thread.
struct Gauges {
  std::atomic<int> clock_healthy{0};
  std::atomic<int> leap{3};
  std::atomic<std::uint64_t> keyring_generation{0};
  std::atomic<std::uint64_t> key_reloads{0};
  std::atomic<std::uint64_t> key_reload_errors{0};
  // [keys] mode = "derived" (derived_keys.hpp); zeros in file mode.
  std::atomic<int> keys_derived{0};
  std::atomic<std::int64_t> derived_period{0};
  std::atomic<int> derived_held{0};
  std::atomic<std::uint64_t> derived_holds{0};
  std::atomic<std::int64_t> derived_offset{0};
};

class Metrics {
 public:
  explicit Metrics(std::size_t workers) : workers_(new WorkerStats[workers]), n_(workers) {}
  WorkerStats& worker(std::size_t w) noexcept { return workers_[w]; }
  const WorkerStats& worker(std::size_t w) const noexcept { return workers_[w]; }
  std::size_t workers() const noexcept { return n_; }
  Gauges& gauges() noexcept { return gauges_; }
  ClockGauges& clock() noexcept { return clock_; }
  // Registers a port (the DPDK backend, at start, before render() may run).
  // At most kMaxPorts; null beyond.
  static constexpr std::size_t kMaxPorts = 32;
  PortStats* add_port(std::string name, std::string driver) {
    const std::size_t n = n_ports_.load(std::memory_order_relaxed);
    if (n >= kMaxPorts) return nullptr;
    ports_[n].name = std::move(name);
    ports_[n].driver = std::move(driver);
    n_ports_.store(n + 1, std::memory_order_release);
    return &ports_[n];
  }
  std::size_t ports() const noexcept { return n_ports_.load(std::memory_order_acquire); }
  const PortStats& port(std::size_t i) const noexcept { return ports_[i]; }

  // Prometheus text exposition format 0.0.4: every metric with HELP and TYPE.
  std::string render() const;
  // Sum over workers of one proto reason (for logs and tests).
  std::uint64_t total_reason(proto::Reason r) const noexcept;

 private:
  void render_interleaved(std::string& out) const;
  // A per-worker counter of nanoseconds, as a counter family in seconds.
  void worker_seconds(std::string& out, const char* name, const char* help,
                      const Counter WorkerStats::*ns) const;

  std::unique_ptr<WorkerStats[]> workers_;
  std::size_t n_;
  Gauges gauges_;
  ClockGauges clock_;
  std::unique_ptr<PortStats[]> ports_{new PortStats[kMaxPorts]};
  std::atomic<std::size_t> n_ports_{0};
};

}  // namespace ntsd::runtime
