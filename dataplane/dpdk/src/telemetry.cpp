// DPDK telemetry: /ntsd/stats gives the per-reason totals over all workers,
// /ntsd/worker,<n> one worker's counters (dpdk-telemetry.py can query both).
#include <rte_telemetry.h>

#include <cstdlib>
#include <string>

#include "impl.hpp"

namespace ntsd::dpdk {
namespace {

runtime::Metrics* g_metrics = nullptr;  // set once before the workers start

void add_worker(rte_tel_data* d, const runtime::WorkerStats& w) {
  rte_tel_data_add_dict_u64(d, "rx", w.rx.load());
  rte_tel_data_add_dict_u64(d, "tx", w.tx.load());
  rte_tel_data_add_dict_u64(d, "tx_failed", w.tx_failed.load());
  rte_tel_data_add_dict_u64(d, "stalls_over_1ms", w.stalls[1].load());
  rte_tel_data_add_dict_u64(d, "stalled_ns", w.stalled_ns.load());
  rte_tel_data_add_dict_u64(d, "busy_ns", w.busy_ns.load());
  rte_tel_data_add_dict_u64(d, "arp_replies", w.arp_replies.load());
  rte_tel_data_add_dict_u64(d, "nd_replies", w.nd_replies.load());
  rte_tel_data_add_dict_u64(d, "echo_replies", w.echo_replies.load());
  rte_tel_data_add_dict_u64(d, "rx_timestamped", w.rx_timestamped.load());
  rte_tel_data_add_dict_u64(d, "ratelimit_kod", w.ratelimit_kod.load());
  rte_tel_data_add_dict_u64(d, "ratelimit_dropped", w.ratelimit_dropped.load());
  rte_tel_data_add_dict_u64(d, "ratelimit_leaked", w.ratelimit_leaked.load());
  rte_tel_data_add_dict_u64(d, "ratelimit_evictions", w.ratelimit_evictions.load());
  rte_tel_data_add_dict_u64(d, "interleaved_answers", w.xleave_answers.load());
  for (std::size_t m = 1; m < xleave::kMissCount; ++m)
    rte_tel_data_add_dict_u64(d, (std::string("interleaved_basic_") + xleave::miss_name(static_cast<xleave::Miss>(m))).c_str(),
                              w.xleave_basic[m].load());
  rte_tel_data_add_dict_u64(d, "interleaved_evictions", w.xleave_evictions.load());
  rte_tel_data_add_dict_u64(d, "tx_timestamps_stored", w.tx_timestamps_stored.load());
  rte_tel_data_add_dict_u64(d, "tx_timestamps_rejected", w.tx_timestamps_rejected.load());
  for (std::size_t r = 0; r < proto::kReasonCount; ++r)
    rte_tel_data_add_dict_u64(d, proto::reason_name(static_cast<proto::Reason>(r)), w.reasons[r].load());
  for (std::size_t r = 1; r < net::kDropCount; ++r)
    rte_tel_data_add_dict_u64(d, net::drop_name(static_cast<net::Drop>(r)), w.net_drops[r].load());
}

int stats(const char*, const char*, rte_tel_data* d) {
  rte_tel_data_start_dict(d);
  for (std::size_t r = 0; r < proto::kReasonCount; ++r)
    rte_tel_data_add_dict_u64(d, proto::reason_name(static_cast<proto::Reason>(r)),
                              g_metrics->total_reason(static_cast<proto::Reason>(r)));
  return 0;
}

int worker(const char*, const char* params, rte_tel_data* d) {
  if (params == nullptr) return -1;
  const unsigned long w = std::strtoul(params, nullptr, 10);
  if (w >= g_metrics->workers()) return -1;
  rte_tel_data_start_dict(d);
  add_worker(d, g_metrics->worker(w));
  return 0;
}

}  // namespace

void register_telemetry(runtime::Metrics* m) {
  g_metrics = m;
  rte_telemetry_register_cmd("/ntsd/stats", stats, "NTP/NTS requests by outcome reason, all workers.");
  rte_telemetry_register_cmd("/ntsd/worker", worker, "One worker's counters. Parameter: worker index.");
}

}  // namespace ntsd::dpdk

namespace ntsd::dpdk {

void refresh_port_stats(DpdkBackend::Impl& b) {
  for (const Port& p : b.ports) {
    if (p.stats == nullptr) continue;
    rte_eth_stats s{};
    if (rte_eth_stats_get(p.id, &s) == 0) {
      p.stats->rx_packets.store(s.ipackets, std::memory_order_relaxed);
      p.stats->tx_packets.store(s.opackets, std::memory_order_relaxed);
      p.stats->rx_missed.store(s.imissed, std::memory_order_relaxed);
      p.stats->rx_nombuf.store(s.rx_nombuf, std::memory_order_relaxed);
      p.stats->rx_errors.store(s.ierrors, std::memory_order_relaxed);
      p.stats->tx_errors.store(s.oerrors, std::memory_order_relaxed);
    }
    rte_eth_link link{};
    if (rte_eth_link_get_nowait(p.id, &link) == 0) {
      p.stats->link_up.store(link.link_status == RTE_ETH_LINK_UP ? 1 : 0, std::memory_order_relaxed);
      const std::uint32_t speed = link.link_status == RTE_ETH_LINK_UP && link.link_speed != RTE_ETH_SPEED_NUM_UNKNOWN
                                      ? link.link_speed
                                      : 0;
      p.stats->link_speed_mbps.store(speed, std::memory_order_relaxed);
    }
  }
}

}  // namespace ntsd::dpdk
