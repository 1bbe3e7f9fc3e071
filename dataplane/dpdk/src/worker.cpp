// One DPDK worker lcore, run to completion. Per burst: one TSC read for T2,
// one key-ring quiescent report, one server-state load; no locks, no
// allocation, no syscalls (all buffers, and the rate-limit table, are
// allocated before the loop). Per NTP request, the rate-limit gate
// (runtime/ratelimit.hpp) decides before the core: the core's burst, a RATE
// kiss after it, or a silent drop.
#include <rte_lcore.h>
#include <rte_mbuf_dyn.h>
#include <rte_prefetch.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>

#include "impl.hpp"
#include "ntsd/clock/ntp_time.hpp"
#include "ntsd/crypto/siv.hpp"
#include "ntsd/runtime/interleave.hpp"
#include "ntsd/runtime/ratelimit.hpp"

namespace ntsd::dpdk {
namespace {

constexpr std::size_t kMaxBurst = 64;
constexpr std::uint16_t kPrefetchAhead = 8;  // frames in flight ahead of classify
constexpr std::size_t kPrefetchBytes = 512;

struct Pending {
  rte_mbuf* m;
  net::Classified c;
};

class Worker {
 public:
  Worker(DpdkBackend::Impl& b, std::size_t index)
      : b_(b), index_(index), stats_(b.shared.metrics.worker(index)),
        server_(crypto::make_best_engine()), txclock_(b.shared.tsc), gate_(b.shared, stats_), xleave_(b.shared, stats_),
        burst_(std::min<std::size_t>(static_cast<std::size_t>(b.cfg.dataplane.burst), kMaxBurst)),
        out_(new std::array<std::uint8_t, proto::kMaxPacketLen>[kMaxBurst]) {
    local_.ip4 = b.addrs.ip4;
    local_.ip6 = b.addrs.ip6;
  }

  void run() {
    last_poll_ns_ = b_.shared.tsc.now();
    while (!b_.shared.stop.load(std::memory_order_relaxed)) {
      ring_ = b_.shared.keys.quiescent(index_);
      stats_.keyring_generation.store(b_.shared.keys.generation(), std::memory_order_relaxed);
      for (const Port& p : b_.ports) poll(p);
    }
    b_.shared.keys.offline(index_);
  }

 private:
  void poll(const Port& p) {
    std::array<rte_mbuf*, kMaxBurst> rx;
    const auto q = static_cast<std::uint16_t>(index_);
    const std::uint16_t n = rte_eth_rx_burst(p.id, q, rx.data(), static_cast<std::uint16_t>(burst_));
    // One TSC read per poll, right after rx_burst. It is the burst's T2 (the
    // earliest point software sees the packets; hw_t2() replaces it per
    // packet where the port stamps packets), and a gap since the previous
    // poll far longer than any burst's work means the core was taken away.
    const clock::UnixNs now = b_.shared.tsc.now();
    stats_.record_iteration(now - last_poll_ns_, last_busy_);
    last_poll_ns_ = now;
    last_busy_ = n != 0;
    n_tx_ = 0;
    n_tickets_ = n_queued_ = 0;
    if (n == 0) {
      if (p.exc != nullptr && index_ == 0) from_kernel(p);
      flush(p);
      return;
    }
    const proto::NtpTime t2 = clock::to_ntp64(now);
    runtime::bump(stats_.rx, n);
    runtime::bump(stats_.bursts);
    local_.mac = p.mac;
    n_req_ = 0;
    n_kiss_ = 0;
    n_exc_ = 0;
    // The frames were just written by another core (the NIC's DMA, or a
    // memif peer): their first touch is a cache miss. Prefetching a few
    // packets ahead overlaps those misses instead of paying them in turn.
    for (std::uint16_t i = 0; i < std::min<std::uint16_t>(n, kPrefetchAhead); ++i) prefetch(rx[i]);
    for (std::uint16_t i = 0; i < n; ++i) {
      if (i + kPrefetchAhead < n) prefetch(rx[i + kPrefetchAhead]);
      classify_one(p, rx[i], t2);
    }
    if (n_req_ > 0 || n_kiss_ > 0) answer(p);
    gate_.sync();
    if (n_exc_ > 0) to_kernel(p);
    if (p.exc != nullptr && index_ == 0) from_kernel(p);
    flush(p);
  }

  // Exception path (exception.cpp): frames for the kernel go on the
  // port's ring (multi-producer, no syscall here); what the ring cannot take
  // is freed and counted.
  void to_kernel(const Port& p) {
    const unsigned q = rte_ring_mp_enqueue_burst(p.exc->to_kernel, reinterpret_cast<void**>(exc_.data()),
                                                 static_cast<unsigned>(n_exc_), nullptr);
    for (std::size_t i = q; i < n_exc_; ++i) rte_pktmbuf_free(exc_[i]);
    if (q < n_exc_ && p.stats != nullptr)
      p.stats->exc_to_kernel_dropped.fetch_add(n_exc_ - q, std::memory_order_relaxed);
  }

  // Worker 0 sends what the kernel sent, in its own TX burst on the port.
  void from_kernel(const Port& p) {
    if (n_tx_ >= burst_) return;
    n_tx_ += rte_ring_sc_dequeue_burst(p.exc->to_wire, reinterpret_cast<void**>(tx_.data() + n_tx_),
                                       static_cast<unsigned>(burst_ - n_tx_), nullptr);
  }

  // [dataplane] vlan: the frame must carry that VLAN, as a tag the port
  // stripped (ol_flags) or one still in the frame (stripped here, in place:
  // a 12-byte move). Untagged or other VLANs: dropped as "vlan".
  bool untag(rte_mbuf* m) noexcept {
    if (vlan_ == 0) return true;
    if ((m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) == 0 && rte_vlan_strip(m) != 0) return false;
    return (m->vlan_tci & 0x0fff) == vlan_;
  }

  // Tags a reply with [dataplane] vlan (the port inserts it, or it is
  // inserted in the 4 bytes of headroom the strip gave back).
  bool tag(const Port& p, rte_mbuf*& m) noexcept {
    if (vlan_ == 0) return true;
    m->vlan_tci = vlan_;
    if (p.tx_vlan_insert) {
      m->ol_flags |= RTE_MBUF_F_TX_VLAN;
      return true;
    }
    return rte_vlan_insert(&m) == 0;
  }

  // Every cache line of the frame, up to the largest NTS request we expect
  // in one burst (a cookie and a few placeholders, RFC 8915 §5.7).
  static void prefetch(const rte_mbuf* m) noexcept {
    const auto* d = rte_pktmbuf_mtod(m, const std::uint8_t*);
    const std::size_t len = std::min<std::size_t>(rte_pktmbuf_data_len(m), kPrefetchBytes);
    for (std::size_t off = 0; off < len; off += RTE_CACHE_LINE_SIZE) rte_prefetch0(d + off);
  }

  void classify_one(const Port& p, rte_mbuf* m, proto::NtpTime t2) {
    if (m->nb_segs != 1) {  // never with 2 KiB buffers and default MTU; defined anyway
      drop(m, net::Drop::kTruncated);
      return;
    }
    if (!untag(m)) {
      drop(m, net::Drop::kVlan);
      return;
    }
    const std::uint64_t ip_ck = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
    const std::uint64_t l4_ck = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
    const net::RxOffload off{p.rx_ip_cksum && ip_ck == RTE_MBUF_F_RX_IP_CKSUM_GOOD,
                             p.rx_l4_cksum && l4_ck == RTE_MBUF_F_RX_L4_CKSUM_GOOD};
    const net::Bytes frame(rte_pktmbuf_mtod(m, const std::uint8_t*), rte_pktmbuf_data_len(m));
    const net::Classified c = net::classify(frame, local_, off);
    if (p.exc != nullptr && (c.kind == net::Kind::kDrop || c.kind == net::Kind::kEchoRequest) && for_kernel(frame, c)) {
      exc_[n_exc_++] = m;
      return;
    }
    const net::MutBytes buf = writable(m);
    std::size_t len = 0;
    switch (c.kind) {
      case net::Kind::kNtp:
        admit(p, m, c, frame, t2);
        return;
      case net::Kind::kArpRequest:
        len = net::build_arp_reply(buf, frame.size(), c, p.mac);
        if (len) runtime::bump(stats_.arp_replies);
        break;
      case net::Kind::kNeighborSolicit:
        len = net::build_neighbor_advert(buf, c, p.mac);
        if (len) runtime::bump(stats_.nd_replies);
        break;
      case net::Kind::kEchoRequest:
        len = net::build_echo_reply(buf, frame.size(), c);
        if (len) runtime::bump(stats_.echo_replies);
        break;
      case net::Kind::kDrop:
        drop(m, c.drop);
        return;
    }
    if (len == 0) {
      drop(m, net::Drop::kTruncated);
      return;
    }
    queue(p, m, len);
  }

  // The rate-limit gate (runtime/ratelimit.hpp), before the core sees the
  // request: the core's burst, a RATE kiss after it, or a silent drop.
  void admit(const Port& p, rte_mbuf* m, const net::Classified& c, net::Bytes frame, proto::NtpTime burst_t2) {
    // Built in its slot, field by field: a local Request copied in whole
    // (wide loads over the narrow stores that had just built it) stalled on
    // store-to-load forwarding once per request.
    proto::Request& r = reqs_[n_req_];
    r.bytes = frame.subspan(c.payload, c.payload_len);
    r.rx = hw_t2(p, m, burst_t2);
    r.out = proto::MutBytes(out_[n_req_]);
    set_source(r.client, frame, c);
    r.port = static_cast<std::uint16_t>(frame[c.l4] << 8 | frame[c.l4 + 1]);  // UDP source port
    switch (gate_.admit(r.client, r.rx, r.bytes)) {
      case runtime::Admit::kCore:
        pending_[n_req_].m = m;
        pending_[n_req_].c = c;
        ++n_req_;
        return;
      case runtime::Admit::kKiss:
        kiss_[n_kiss_] = {m, c};
        kiss_reqs_[n_kiss_++] = r;
        return;
      case runtime::Admit::kDrop:
        rte_pktmbuf_free(m);  // counted by the gate
        return;
    }
  }

  // The request's IP source (the classifier checked the header is there).
  // In the slot (limit::Address::set_ip4: no temporary to load back whole).
  static void set_source(limit::Address& a, net::Bytes frame, const net::Classified& c) noexcept {
    if (c.ip6) {
      a.set_ip6(frame.subspan(c.l3 + 8).first<16>());
    } else {
      a.set_ip4(frame.subspan(c.l3 + 12).first<4>());
    }
  }

  // The packet's own RX timestamp as T2 where the port's T2 source uses it
  // (Port::t2, [dataplane] rx_timestamps) and the PMD set the dynflag on this
  // mbuf; else the burst's T2. NIC ticks go through the NIC clock fit; the
  // "unix-*" stamps already are UTC. A hardware T2 must come before the
  // burst's software T2 (by at most rx_timestamp_max_offset_us: queueing)
  // and not after it (beyond the fits' error): anything else is on another
  // timescale and is discarded, counted, and replaced. Counted per request.
  proto::NtpTime hw_t2(const Port& p, const rte_mbuf* m, proto::NtpTime burst_t2) noexcept {
    if (p.t2 == T2Source::kSoftware || (m->ol_flags & b_.ts_flag) == 0) return burst_t2;
    const auto ts = *RTE_MBUF_DYNFIELD(m, b_.ts_offset, const rte_mbuf_timestamp_t*);
    if (p.t2 == T2Source::kNicClock && !p.nic->clock.map().valid()) return burst_t2;
    const proto::NtpTime hw = (p.t2 == T2Source::kNicClock ? clock::to_ntp64(p.nic->clock.map().map(ts))
                                                           : unix_rx_timestamp_to_ntp64(ts, unix_unit_)) +
                              static_cast<std::uint64_t>(b_.t2_test_shift);
    const auto ahead = static_cast<std::int64_t>(hw - burst_t2);  // 32.32, modular
    if (ahead > b_.t2_max_after || ahead < -b_.t2_max_before) {
      runtime::bump(stats_.rx_timestamp_discarded);
      return burst_t2;
    }
    runtime::bump(stats_.rx_timestamped);
    return hw;
  }

  void answer(const Port& p) {
    const proto::ServerState state = runtime::server_state(b_.shared);
    server_.handle_burst(std::span(reqs_.data(), n_req_), state, ring_, txclock_, rng_,
                         std::span(outcomes_.data(), n_req_), xleave_.table());
    for (std::size_t i = 0; i < n_req_; ++i) {
      const proto::Outcome& o = outcomes_[i];
      // An interleaved answer's T3 is the previous response's: not this one's processing time.
      if (o.verdict == proto::Verdict::kRespond && !o.interleaved)
        stats_.record_processing(reqs_[i].rx, net::Bytes(out_[i].data(), o.len));
      reply(p, pending_[i], o, out_[i].data());
    }
    // Over the limit, plain: a 48-byte RATE kiss (never longer than the request).
    for (std::size_t i = 0; i < n_kiss_; ++i) {
      const proto::Request& r = kiss_reqs_[i];
      const proto::Outcome o = server_.kiss(r.bytes, r.rx, state, txclock_, proto::MutBytes(kiss_out_));
      gate_.kissed(o);
      reply(p, kiss_[i], o, kiss_out_.data());
    }
    stats_.sync_reasons(server_.counters());
    xleave_.sync(server_);
  }

  // Sends the core's answer `o` (bytes at `ntp`) in the request's own mbuf, or frees it.
  void reply(const Port& p, const Pending& req, const proto::Outcome& o, const std::uint8_t* ntp) {
    rte_mbuf* m = req.m;
    if (o.verdict == proto::Verdict::kDrop || o.len == 0) {
      rte_pktmbuf_free(m);
      return;
    }
    const net::Classified& c = req.c;
    const std::size_t len = net::build_ntp_reply(writable(m), c, net::Bytes(ntp, o.len), p.tx_udp_cksum);
    if (len == 0) {
      rte_pktmbuf_free(m);
      return;
    }
    if (p.tx_udp_cksum) {
      m->l2_len = net::kEthLen;
      m->l3_len = c.ip6 ? net::kIp6Len : net::kIp4Len;
      m->ol_flags = RTE_MBUF_F_TX_UDP_CKSUM | (c.ip6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4);
    }
    queue(p, m, len, o.tx_ticket);
  }

  static net::MutBytes writable(rte_mbuf* m) {
    return {rte_pktmbuf_mtod(m, std::uint8_t*), static_cast<std::size_t>(rte_pktmbuf_data_len(m)) + rte_pktmbuf_tailroom(m)};
  }

  // `ticket`: where the frame's TX time goes (interleaved mode), if anywhere.
  void queue(const Port& p, rte_mbuf* m, std::size_t len, xleave::Ticket ticket = xleave::kNoTicket) {
    m->data_len = static_cast<std::uint16_t>(len);
    m->pkt_len = static_cast<std::uint32_t>(len);
    if (!tag(p, m)) {
      drop(m, net::Drop::kTruncated);  // no headroom for the tag: never with RX mbufs
      return;
    }
    tx_ticket_[n_tx_] = ticket;
    n_tickets_ += ticket != xleave::kNoTicket;
    tx_[n_tx_++] = m;
    n_queued_ = n_tx_;  // frames from the kernel follow: they have no tickets
  }

  void drop(rte_mbuf* m, net::Drop why) {
    runtime::bump(stats_.net_drops[static_cast<std::size_t>(why)]);
    rte_pktmbuf_free(m);
  }

  void flush(const Port& p) {
    if (n_tx_ == 0) return;
    const auto q = static_cast<std::uint16_t>(index_);
    const clock::UnixNs before = n_tickets_ != 0 ? b_.shared.tsc.now() : 0;
    const std::uint16_t sent = rte_eth_tx_burst(p.id, q, tx_.data(), static_cast<std::uint16_t>(n_tx_));
    if (n_tickets_ != 0) transmitted(sent, before);
    for (std::size_t i = sent; i < n_tx_; ++i) rte_pktmbuf_free(tx_[i]);  // what the device did not take
    runtime::bump(stats_.tx, sent);
    runtime::bump(stats_.tx_failed, n_tx_ - sent);
  }

  // Interleaved mode: the TX time of the frames the device took. No PMD of
  // DPDK 22.11 reports a per-packet TX timestamp for UDP (timesync's
  // rte_eth_timesync_read_tx_timestamp is for PTP frames, one at a time), so
  // it is the TSC read right after rte_eth_tx_burst took them: one read for
  // the burst, later and truer than the T3 stamped before sealing. The burst
  // index names each frame's table entry (its ticket): no lookup.
  // The frames left between `before` (the TSC just before tx_burst) and that
  // read. A wider window than kMaxTxWindowNs means the worker lost its core
  // in between (a PMD that sends in a syscall, net_af_packet, can be
  // preempted inside it; measured: 3 ms on a loaded 2-vCPU VM): the read is
  // then no TX time, so none is stored and the client's next answer is basic
  // (no_tx_timestamp), never a wrong interleaved one.
  static constexpr clock::UnixNs kMaxTxWindowNs = 250'000;
  void transmitted(std::uint16_t sent, clock::UnixNs before) noexcept {
    const clock::UnixNs after = b_.shared.tsc.now();
    const bool timed = after - before <= kMaxTxWindowNs;
    const proto::NtpTime tx = clock::to_ntp64(after);
    for (std::size_t i = 0; i < std::min<std::size_t>(sent, n_queued_); ++i) {
      if (timed) {
        xleave_.transmitted(tx_ticket_[i], tx);
      } else {
        xleave_.untimed(tx_ticket_[i]);
      }
    }
    n_tickets_ = 0;
  }

  DpdkBackend::Impl& b_;
  std::size_t index_;
  runtime::WorkerStats& stats_;
  proto::Server server_;
  runtime::TscTxClock txclock_;
  runtime::WorkerRandom rng_;
  runtime::RateGate gate_;
  runtime::Interleave xleave_;
  std::size_t burst_;
  std::unique_ptr<std::array<std::uint8_t, proto::kMaxPacketLen>[]> out_;
  net::LocalAddrs local_;
  const crypto::KeyRing* ring_ = nullptr;
  std::array<Pending, kMaxBurst> pending_{};
  std::array<proto::Request, kMaxBurst> reqs_{};
  std::array<proto::Outcome, kMaxBurst> outcomes_{};
  std::array<rte_mbuf*, kMaxBurst> tx_{};
  std::array<xleave::Ticket, kMaxBurst> tx_ticket_{};  // tx_[i]'s table entry (interleaved mode)
  std::size_t n_tickets_ = 0, n_queued_ = 0;
  std::array<Pending, kMaxBurst> kiss_{};  // over the limit, plain: RATE kiss
  std::array<proto::Request, kMaxBurst> kiss_reqs_{};
  std::array<std::uint8_t, proto::kHeaderLen> kiss_out_{};
  std::array<rte_mbuf*, kMaxBurst> exc_{};  // for the kernel (exception path)
  std::size_t n_req_ = 0, n_tx_ = 0, n_kiss_ = 0, n_exc_ = 0;
  std::uint16_t vlan_ = static_cast<std::uint16_t>(b_.cfg.dataplane.vlan);
  clock::UnixNs last_poll_ns_ = 0;
  bool last_busy_ = false;  // the previous iteration served a burst
  // The dynfield's unit on ports whose stamps count from the UNIX epoch.
  config::RxTimestamps unix_unit_ = b_.cfg.dataplane.rx_timestamps;
};

}  // namespace

int worker_main(void* arg) {
  auto& b = *static_cast<DpdkBackend::Impl*>(arg);
  const unsigned me = rte_lcore_id();
  std::size_t index = 0;
  while (index < b.lcores.size() && b.lcores[index] != me) ++index;
  auto w = std::make_unique<Worker>(b, index);
  w->run();
  return 0;
}

}  // namespace ntsd::dpdk
