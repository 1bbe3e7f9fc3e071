#include "ntsd/runtime/stats.hpp"

#include <cstdio>
#include <functional>
#include <string_view>

namespace ntsd::runtime {
namespace {

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void sample(std::string& out, std::string_view name, std::string_view labels, std::uint64_t v) {
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(std::to_string(v)).append("\n");
}

// The DPDK ports' own counters and link, and the exception path.
void render_ports(std::string& out, const Metrics& m) {
  const std::size_t n = m.ports();
  if (n == 0) return;
  const auto label = [&](std::size_t i) {
    return "port=\"" + m.port(i).name + "\",driver=\"" + m.port(i).driver + "\"";
  };
  struct PortCounter {
    const char* name;
    const char* help;
    const Counter PortStats::*field;
  };
  static constexpr PortCounter kPort[] = {
      {"ntsd_port_rx_packets_total", "Frames the DPDK port received (rte_eth_stats ipackets).", &PortStats::rx_packets},
      {"ntsd_port_tx_packets_total", "Frames the DPDK port sent (opackets).", &PortStats::tx_packets},
      {"ntsd_port_rx_missed_total",
       "Frames the port dropped because its RX ring was full (imissed): the workers did not keep up or lost "
       "their core.",
       &PortStats::rx_missed},
      {"ntsd_port_rx_nombuf_total", "RX mbuf allocation failures (rx_nombuf): the mbuf pool ran dry.", &PortStats::rx_nombuf},
      {"ntsd_port_rx_errors_total", "Erroneous frames received (ierrors).", &PortStats::rx_errors},
      {"ntsd_port_tx_errors_total", "Frames the port failed to send (oerrors).", &PortStats::tx_errors},
  };
  for (const PortCounter& c : kPort) {
    header(out, c.name, "counter", c.help);
    for (std::size_t i = 0; i < n; ++i) sample(out, c.name, label(i), (m.port(i).*c.field).load(std::memory_order_relaxed));
  }
  header(out, "ntsd_port_link_up", "gauge", "1 if the DPDK port's link is up.");
  for (std::size_t i = 0; i < n; ++i) sample(out, "ntsd_port_link_up", label(i), static_cast<std::uint64_t>(m.port(i).link_up.load()));
  header(out, "ntsd_port_link_speed_bits_per_second", "gauge", "Link speed of the DPDK port (0 if down or unknown).");
  for (std::size_t i = 0; i < n; ++i)
    sample(out, "ntsd_port_link_speed_bits_per_second", label(i), std::uint64_t{m.port(i).link_speed_mbps.load()} * 1'000'000);
  bool exc = false;
  for (std::size_t i = 0; i < n; ++i) exc = exc || m.port(i).exception;
  if (!exc) return;
  header(out, "ntsd_exception_packets_total", "counter",
         "Frames carried by the exception path: to_kernel = for this host but not ntsd's work (TCP, ICMP beyond "
         "echo, ARP/ND for other addresses), handed to the kernel interface; to_wire = sent by the kernel, "
         "transmitted on the port.");
  for (std::size_t i = 0; i < n; ++i) {
    if (!m.port(i).exception) continue;
    sample(out, "ntsd_exception_packets_total", label(i) + ",direction=\"to_kernel\"", m.port(i).exc_to_kernel.load());
    sample(out, "ntsd_exception_packets_total", label(i) + ",direction=\"to_wire\"", m.port(i).exc_to_wire.load());
  }
  header(out, "ntsd_exception_dropped_total", "counter",
         "Exception-path frames dropped because a ring or the device was full, by direction.");
  for (std::size_t i = 0; i < n; ++i) {
    if (!m.port(i).exception) continue;
    sample(out, "ntsd_exception_dropped_total", label(i) + ",direction=\"to_kernel\"", m.port(i).exc_to_kernel_dropped.load());
    sample(out, "ntsd_exception_dropped_total", label(i) + ",direction=\"to_wire\"", m.port(i).exc_to_wire_dropped.load());
  }
}

}  // namespace

std::uint64_t Metrics::total_reason(proto::Reason r) const noexcept {
  std::uint64_t t = 0;
  for (std::size_t w = 0; w < n_; ++w)
    t += workers_[w].reasons[static_cast<std::size_t>(r)].load(std::memory_order_relaxed);
  return t;
}

// Interleaved mode (RFC 9769; docs/dataplane.md "Transmit timestamps").
void Metrics::render_interleaved(std::string& out) const {
  header(out, "ntsd_interleaved_answers_total", "counter",
         "Answers in interleaved mode (RFC 9769): transmit timestamp = the actual TX time of the client's previous response.");
  for (std::size_t w = 0; w < n_; ++w)
    sample(out, "ntsd_interleaved_answers_total", "worker=\"" + std::to_string(w) + "\"",
           workers_[w].xleave_answers.load(std::memory_order_relaxed));
  header(out, "ntsd_interleaved_basic_total", "counter",
         "Basic answers to requests that looked interleaved, by reason: unknown = no entry for (client address, origin) "
         "(first interleaved request, evicted, already used, or not this client's), ambiguous = two responses to one "
         "address shared a receive timestamp, no_tx_timestamp = the previous response's TX time was not captured.");
  for (std::size_t w = 0; w < n_; ++w)
    for (std::size_t m = 1; m < xleave::kMissCount; ++m)
      sample(out, "ntsd_interleaved_basic_total",
             "worker=\"" + std::to_string(w) + "\",reason=\"" + xleave::miss_name(static_cast<xleave::Miss>(m)) + "\"",
             workers_[w].xleave_basic[m].load(std::memory_order_relaxed));
  header(out, "ntsd_interleaved_evictions_total", "counter",
         "Interleaved-mode table entries replaced before their client came back (table full in that bucket).");
  for (std::size_t w = 0; w < n_; ++w)
    sample(out, "ntsd_interleaved_evictions_total", "worker=\"" + std::to_string(w) + "\"",
           workers_[w].xleave_evictions.load(std::memory_order_relaxed));
  header(out, "ntsd_tx_timestamps_total", "counter",
         "Actual TX times of responses an interleaved client will ask about: stored, rejected (entry reused or "
         "implausible time), unmatched (a kernel TX timestamp that matched no response sent).");
  for (std::size_t w = 0; w < n_; ++w) {
    const WorkerStats& ws = workers_[w];
    const std::string wl = "worker=\"" + std::to_string(w) + "\",result=";
    sample(out, "ntsd_tx_timestamps_total", wl + "\"stored\"", ws.tx_timestamps_stored.load(std::memory_order_relaxed));
    sample(out, "ntsd_tx_timestamps_total", wl + "\"rejected\"", ws.tx_timestamps_rejected.load(std::memory_order_relaxed));
    sample(out, "ntsd_tx_timestamps_total", wl + "\"unmatched\"", ws.tx_timestamps_unmatched.load(std::memory_order_relaxed));
  }
}

// Derived keys (docs/keys.md "Derived keys"): all 0 in file mode. Signed
// values go through text: sample() takes unsigned counters.
static void render_derived(std::string& out, const Gauges& g) {
  header(out, "ntsd_keys_derived", "gauge", "1 if the master keys are derived from [keys] secret_file, 0 if read from the key file.");
  sample(out, "ntsd_keys_derived", "", static_cast<std::uint64_t>(g.keys_derived.load()));
  header(out, "ntsd_keys_derived_period", "gauge",
         "The UTC period whose derived key seals cookies (floor(UNIX time / [keys] period_s)); hosts of a fleet agree.");
  out.append("ntsd_keys_derived_period ").append(std::to_string(g.derived_period.load())).append("\n");
  header(out, "ntsd_keys_derived_clock_held", "gauge",
         "1 while the wall clock is outside the accepted window and the derived keys follow the monotonic clock.");
  sample(out, "ntsd_keys_derived_clock_held", "", static_cast<std::uint64_t>(g.derived_held.load()));
  header(out, "ntsd_keys_derived_clock_holds_total", "counter",
         "Times the wall clock left the accepted window (a jump) and the derived keys held.");
  sample(out, "ntsd_keys_derived_clock_holds_total", "", g.derived_holds.load());
  header(out, "ntsd_keys_derived_clock_offset_seconds", "gauge",
         "Wall clock minus the time carried on the monotonic clock since start (0 unless it stepped by 60 s or more).");
  out.append("ntsd_keys_derived_clock_offset_seconds ").append(std::to_string(g.derived_offset.load())).append("\n");
}

void Metrics::worker_seconds(std::string& out, const char* name, const char* help,
                             const Counter WorkerStats::*ns) const {
  header(out, name, "counter", help);
  for (std::size_t w = 0; w < n_; ++w) {
    char v[48];
    std::snprintf(v, sizeof v, "%.6f", static_cast<double>((workers_[w].*ns).load(std::memory_order_relaxed)) * 1e-9);
    out.append(name).append("{worker=\"").append(std::to_string(w)).append("\"} ").append(v).append("\n");
  }
}

std::string Metrics::render() const {
  std::string out;
  out.reserve(16384);
  struct PerWorker {
    const char* name;
    const char* help;
    const Counter WorkerStats::*field;
  };
  static constexpr PerWorker kCounters[] = {
      {"ntsd_rx_packets_total", "Packets received by the worker.", &WorkerStats::rx},
      {"ntsd_tx_packets_total", "Packets sent by the worker.", &WorkerStats::tx},
      {"ntsd_tx_failed_total", "Replies the device or kernel did not take (freed, not sent).", &WorkerStats::tx_failed},
      {"ntsd_bursts_total", "Non-empty receive bursts handled.", &WorkerStats::bursts},
      {"ntsd_arp_replies_total", "ARP replies sent for our IPv4 addresses (RFC 826).", &WorkerStats::arp_replies},
      {"ntsd_nd_replies_total", "Neighbor Advertisements sent for our IPv6 addresses (RFC 4861).", &WorkerStats::nd_replies},
      {"ntsd_echo_replies_total", "ICMP/ICMPv6 echo replies sent.", &WorkerStats::echo_replies},
      {"ntsd_rx_timestamped_total",
       "NTP requests whose receive timestamp T2 came from the packet's own RX timestamp (mbuf dynfield), "
       "not from a software read after rx_burst.",
       &WorkerStats::rx_timestamped},
      {"ntsd_rx_timestamp_discarded_total",
       "Hardware receive timestamps discarded as implausible against the burst's software T2 (another "
       "timescale); the software T2 was used instead.",
       &WorkerStats::rx_timestamp_discarded},
  };
  for (const PerWorker& c : kCounters) {
    header(out, c.name, "counter", c.help);
    for (std::size_t w = 0; w < n_; ++w)
      sample(out, c.name, "worker=\"" + std::to_string(w) + "\"", (workers_[w].*c.field).load(std::memory_order_relaxed));
  }
  header(out, "ntsd_requests_total", "counter",
         "NTP/NTS requests handled by the protocol core, by worker and outcome reason.");
  for (std::size_t w = 0; w < n_; ++w)
    for (std::size_t r = 0; r < proto::kReasonCount; ++r)
      sample(out, "ntsd_requests_total",
             "worker=\"" + std::to_string(w) + "\",reason=\"" + proto::reason_name(static_cast<proto::Reason>(r)) + "\"",
             workers_[w].reasons[r].load(std::memory_order_relaxed));
  header(out, "ntsd_frames_dropped_total", "counter",
         "Frames dropped by the dataplane classifier before the protocol core, by worker and reason.");
  for (std::size_t w = 0; w < n_; ++w)
    for (std::size_t d = 1; d < net::kDropCount; ++d)
      sample(out, "ntsd_frames_dropped_total",
             "worker=\"" + std::to_string(w) + "\",reason=\"" + net::drop_name(static_cast<net::Drop>(d)) + "\"",
             workers_[w].net_drops[d].load(std::memory_order_relaxed));
  header(out, "ntsd_ratelimit_total", "counter",
         "Requests over the per-client rate limit, by worker and action: kod = plain request answered with a "
         "RATE Kiss-o'-Death, drop = NTS request dropped silently, leak = answered anyway (1 in 2^leak).");
  for (std::size_t w = 0; w < n_; ++w) {
    const WorkerStats& ws = workers_[w];
    const std::string wl = "worker=\"" + std::to_string(w) + "\",action=";
    sample(out, "ntsd_ratelimit_total", wl + "\"kod\"", ws.ratelimit_kod.load(std::memory_order_relaxed));
    sample(out, "ntsd_ratelimit_total", wl + "\"drop\"", ws.ratelimit_dropped.load(std::memory_order_relaxed));
    sample(out, "ntsd_ratelimit_total", wl + "\"leak\"", ws.ratelimit_leaked.load(std::memory_order_relaxed));
  }
  header(out, "ntsd_ratelimit_evictions_total", "counter",
         "Rate-limit table entries replaced by a new client (table full in that bucket).");
  for (std::size_t w = 0; w < n_; ++w)
    sample(out, "ntsd_ratelimit_evictions_total", "worker=\"" + std::to_string(w) + "\"",
           workers_[w].ratelimit_evictions.load(std::memory_order_relaxed));
  render_interleaved(out);
  header(out, "ntsd_worker_keyring_generation", "gauge", "Key-ring generation the worker last picked up.");
  for (std::size_t w = 0; w < n_; ++w)
    sample(out, "ntsd_worker_keyring_generation", "worker=\"" + std::to_string(w) + "\"",
           workers_[w].keyring_generation.load(std::memory_order_relaxed));
  header(out, "ntsd_processing_seconds", "histogram",
         "Server processing time T3 - T2 of answered requests, by worker (T2 = receive timestamp).");
  for (std::size_t w = 0; w < n_; ++w) {
    const WorkerStats& ws = workers_[w];
    const std::string wl = "worker=\"" + std::to_string(w) + "\"";
    std::uint64_t cum = 0;
    for (std::size_t b = 0; b < WorkerStats::kProcBuckets; ++b) {
      cum += ws.proc_ns[b].load(std::memory_order_relaxed);
      if (b + 1 == WorkerStats::kProcBuckets) break;
      char le[32];
      std::snprintf(le, sizeof le, "%.7f", static_cast<double>(WorkerStats::proc_upper_ns(b)) * 1e-9);
      sample(out, "ntsd_processing_seconds_bucket", wl + ",le=\"" + le + "\"", cum);
    }
    sample(out, "ntsd_processing_seconds_bucket", wl + ",le=\"+Inf\"", cum);
    char sum[48];
    std::snprintf(sum, sizeof sum, "%.9f", static_cast<double>(ws.proc_sum_ns.load(std::memory_order_relaxed)) * 1e-9);
    out.append("ntsd_processing_seconds_sum{").append(wl).append("} ").append(sum).append("\n");
    sample(out, "ntsd_processing_seconds_count", wl, cum);
  }
  header(out, "ntsd_worker_stalls_total", "counter",
         "DPDK worker poll-loop iterations longer than `over` seconds: the worker lost its core "
         "(preemption, hypervisor, SMI) and its RX ring was the only buffer.");
  for (std::size_t w = 0; w < n_; ++w)
    for (std::size_t i = 0; i < WorkerStats::kStallOverNs.size(); ++i) {
      char over[32];
      std::snprintf(over, sizeof over, "%g", static_cast<double>(WorkerStats::kStallOverNs[i]) * 1e-9);
      sample(out, "ntsd_worker_stalls_total", "worker=\"" + std::to_string(w) + "\",over=\"" + over + "\"",
             workers_[w].stalls[i].load(std::memory_order_relaxed));
    }
  worker_seconds(out, "ntsd_worker_stalled_seconds_total",
                 "Time DPDK workers spent in poll-loop iterations counted by ntsd_worker_stalls_total.",
                 &WorkerStats::stalled_ns);
  worker_seconds(out, "ntsd_worker_busy_seconds_total",
                 "Time DPDK workers spent serving bursts (poll-loop iterations that received packets; stalls excluded).",
                 &WorkerStats::busy_ns);
  header(out, "ntsd_clock_healthy", "gauge", "1 if the clock source is healthy, 0 if ntsd answers with leap=3.");
  sample(out, "ntsd_clock_healthy", "", static_cast<std::uint64_t>(gauges_.clock_healthy.load()));
  header(out, "ntsd_leap_indicator", "gauge", "Leap indicator in responses (RFC 5905 §7.3; 3 = unsynchronised).");
  sample(out, "ntsd_leap_indicator", "", static_cast<std::uint64_t>(gauges_.leap.load()));
  header(out, "ntsd_keyring_generation", "gauge", "Key rings published to the workers since start.");
  sample(out, "ntsd_keyring_generation", "", gauges_.keyring_generation.load());
  header(out, "ntsd_key_reloads_total", "counter", "Key file reloads that produced a new key ring.");
  sample(out, "ntsd_key_reloads_total", "", gauges_.key_reloads.load());
  header(out, "ntsd_key_reload_errors_total", "counter", "Key file reloads that failed (old ring kept).");
  sample(out, "ntsd_key_reload_errors_total", "", gauges_.key_reload_errors.load());
  render_derived(out, gauges_);
  render_clock(out, clock_);
  render_ports(out, *this);
  return out;
}

}  // namespace ntsd::runtime
