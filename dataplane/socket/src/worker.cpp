// One socket worker: poll -> recvmmsg -> source checks -> rate-limit gate
// (runtime/ratelimit.hpp) -> handle_burst (+ RATE kisses) -> sendmmsg
// (-> interleaved mode: the burst's kernel TX timestamps, one
// recvmmsg(MSG_ERRQUEUE), into the table; tx_timestamps.hpp).
// All buffers, and the rate-limit and interleaved tables, are allocated once
// when the worker starts.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "ntsd/clock/ntp_time.hpp"
#include "ntsd/crypto/siv.hpp"
#include "ntsd/runtime/interleave.hpp"
#include "ntsd/runtime/ratelimit.hpp"
#include "ntsd/socket/backend.hpp"
#include "tx_timestamps.hpp"

namespace ntsd::sock {
namespace {

constexpr std::size_t kRxBuf = 2048;  // > proto::kMaxPacketLen, so too_long is seen, not truncated
constexpr std::size_t kCtrl = 256;

struct Slot {
  std::array<std::uint8_t, kRxBuf> rx;
  std::array<std::uint8_t, proto::kMaxPacketLen> out;
  sockaddr_storage peer;
  alignas(cmsghdr) std::array<std::uint8_t, kCtrl> rx_ctrl;
  alignas(cmsghdr) std::array<std::uint8_t, kCtrl> tx_ctrl;
  iovec rx_iov;
  iovec tx_iov;
  // Destination of the request = source of the reply.
  bool have_dst4 = false, have_dst6 = false;
  in_pktinfo dst4;
  in6_pktinfo dst6;
  limit::Address from;  // the client (IPv4-mapped IPv6 as IPv4)
};

class Worker {
 public:
  Worker(std::size_t index, const std::vector<int>& fds, const Options& opt, runtime::Shared& shared)
      : index_(index), fds_(fds), opt_(opt), shared_(shared), stats_(shared.metrics.worker(index)),
        server_(crypto::make_best_engine()), txclock_(shared.tsc), gate_(shared, stats_), xleave_(shared, stats_),
        txs_(fds.size(), static_cast<std::size_t>(opt.burst)),
        burst_(static_cast<std::size_t>(opt.burst)), slots_(new Slot[burst_]),
        rx_msgs_(burst_), tx_msgs_(burst_), reqs_(burst_), slot_of_(burst_), outcomes_(burst_),
        kiss_reqs_(burst_), kiss_slot_(burst_), msg_out_(burst_), pfds_(fds.size()) {
    for (std::size_t i = 0; i < fds_.size(); ++i) pfds_[i] = {fds_[i], POLLIN, 0};
  }

  void run() {
    while (!shared_.stop.load(std::memory_order_relaxed)) {
      const int ready = ::poll(pfds_.data(), pfds_.size(), 50);
      // Quiescent point: report after the wait, so that the ring used for
      // these bursts is the newest one, and at least every 50 ms when idle.
      const crypto::KeyRing* ring = shared_.keys.quiescent(index_);
      stats_.keyring_generation.store(shared_.keys.generation(), std::memory_order_relaxed);
      if (ready <= 0) continue;
      for (std::size_t i = 0; i < pfds_.size(); ++i) {
        if (pfds_[i].revents & POLLIN) burst(i, ring);
        // TX timestamps that came after their burst's drain (hardware ones).
        if (pfds_[i].revents & POLLERR) drain_tx_timestamps(i);
      }
    }
    shared_.keys.offline(index_);
  }

 private:
  void burst(std::size_t sock, const crypto::KeyRing* ring) {
    const int fd = fds_[sock];
    const std::size_t received = receive(fd);
    if (received == 0) return;
    // Fallback T2 for packets without a kernel timestamp, read once per burst.
    const proto::NtpTime t_after = clock::to_ntp64(shared_.tsc.now());
    const proto::ServerState state = runtime::server_state(shared_);
    std::size_t count = 0;  // requests handed to the core; slot_of_ maps them back
    std::size_t kisses = 0;  // over the rate limit, plain: RATE kiss after the core
    for (std::size_t i = 0; i < received; ++i) {
      Slot& s = slots_[i];
      const proto::NtpTime t2 = parse_ctrl(rx_msgs_[i].msg_hdr, s);
      const limit::Address from = client(s);  // IPv4-mapped IPv6 comes back as IPv4
      if (!answerable(s, from)) continue;     // counted in answerable()
      s.from = from;
      const std::size_t len = std::min<std::size_t>(rx_msgs_[i].msg_len, kRxBuf);
      proto::Request r{proto::Bytes(s.rx.data(), len), t2 != 0 ? t2 : t_after, proto::MutBytes(s.out)};
      r.client = from;
      r.port = ntohs(peer_port(s));
      switch (gate_.admit(from, r.rx, r.bytes)) {
        case runtime::Admit::kCore:
          reqs_[count] = r;
          slot_of_[count++] = i;
          break;
        case runtime::Admit::kKiss:
          kiss_reqs_[kisses] = r;
          kiss_slot_[kisses++] = i;
          break;
        case runtime::Admit::kDrop: break;  // counted by the gate
      }
    }
    runtime::bump(stats_.rx, received);
    runtime::bump(stats_.bursts);
    server_.handle_burst(std::span(reqs_.data(), count), state, ring, txclock_, rng_,
                         std::span(outcomes_.data(), count), xleave_.table());
    count = append_kisses(count, kisses, state);
    gate_.sync();
    stats_.sync_reasons(server_.counters());  // before the replies leave: a client that got one sees it counted
    xleave_.sync(server_);
    // Software TX timestamps are taken as the driver takes the packet, so
    // they are on the error queue by the time sendmmsg returns.
    if (send(sock, count) > 0) drain_tx_timestamps(sock);
  }

  // Reads the socket's error queue in batches of a burst (bounded) and puts
  // each TX time in the table entry of the response it belongs to.
  void drain_tx_timestamps(std::size_t sock) noexcept {
    // Served clock - CLOCK_REALTIME, once per drain, for software
    // timestamps when the clock is not the system clock.
    std::int64_t offset = 0;
    if (opt_.tx_source != TxSource::kSystem) offset = shared_.tsc.now() - clock::system_now();
    const clock::LeapStep tai = shared_.tsc.load().leap;
    for (int round = 0; round < 4; ++round) {
      const std::span<mmsghdr> msgs = txs_.prepare();
      const int n = ::recvmmsg(fds_[sock], msgs.data(), static_cast<unsigned>(msgs.size()), MSG_ERRQUEUE | MSG_DONTWAIT,
                               nullptr);
      if (n <= 0) break;
      for (int k = 0; k < n; ++k) one_tx_timestamp(sock, static_cast<std::size_t>(k), msgs[static_cast<std::size_t>(k)], offset, tai);
      if (static_cast<std::size_t>(n) < msgs.size()) break;
    }
    xleave_.sync(server_);
  }

  void one_tx_timestamp(std::size_t sock, std::size_t k, mmsghdr& m, std::int64_t offset,
                        const clock::LeapStep& tai) noexcept {
    TxTimes times;
    bool have_id = false;
    std::uint32_t id = 0;
    msghdr& h = m.msg_hdr;
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPING) {
        scm_timestamping ts;
        std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
        if (ts.ts[0].tv_sec != 0) times.software = clock::from_timespec(ts.ts[0]);
        if (ts.ts[2].tv_sec != 0) times.hardware = clock::from_timespec(ts.ts[2]);
      } else if ((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
                 (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
        sock_extended_err e;
        std::memcpy(&e, CMSG_DATA(c), sizeof e);
        if (e.ee_origin == SO_EE_ORIGIN_TIMESTAMPING) {
          have_id = true;
          id = e.ee_data;
        }
      }
    }
    if (!have_id) return;
    const xleave::Ticket t = txs_.match(sock, id, txs_.data(k, m));
    if (t == xleave::kNoTicket) {
      runtime::bump(stats_.tx_timestamps_unmatched);
      return;
    }
    const clock::UnixNs tx = tx_time(times, opt_.tx_source, offset, tai);
    if (tx != 0) xleave_.transmitted(t, clock::to_ntp64(tx));
  }

  // One recvmmsg into the slots; returns how many datagrams arrived.
  std::size_t receive(int fd) noexcept {
    for (std::size_t i = 0; i < burst_; ++i) {
      Slot& s = slots_[i];
      s.rx_iov = {s.rx.data(), s.rx.size()};
      msghdr& h = rx_msgs_[i].msg_hdr;
      h = {};
      h.msg_name = &s.peer;
      h.msg_namelen = sizeof s.peer;
      h.msg_iov = &s.rx_iov;
      h.msg_iovlen = 1;
      h.msg_control = s.rx_ctrl.data();
      h.msg_controllen = s.rx_ctrl.size();
    }
    const int n = ::recvmmsg(fd, rx_msgs_.data(), static_cast<unsigned>(burst_), MSG_DONTWAIT, nullptr);
    return n > 0 ? static_cast<std::size_t>(n) : 0;
  }

  // RATE kisses for the over-limit plain requests, placed after the core's
  // `count` requests in the same arrays (count + kisses <= received <=
  // burst_), so that one send() handles both. Returns the new total.
  std::size_t append_kisses(std::size_t count, std::size_t kisses, const proto::ServerState& state) noexcept {
    for (std::size_t k = 0; k < kisses; ++k, ++count) {
      const proto::Request& r = kiss_reqs_[k];
      reqs_[count] = r;
      slot_of_[count] = kiss_slot_[k];
      outcomes_[count] = server_.kiss(r.bytes, r.rx, state, txclock_, r.out);
      gate_.kissed(outcomes_[count]);
    }
    return count;
  }

  static in_port_t peer_port(const Slot& s) noexcept {
    if (s.peer.ss_family == AF_INET) return reinterpret_cast<const sockaddr_in&>(s.peer).sin_port;
    if (s.peer.ss_family == AF_INET6) return reinterpret_cast<const sockaddr_in6&>(s.peer).sin6_port;
    return 0;
  }

  static limit::Address client(const Slot& s) noexcept {
    if (s.peer.ss_family == AF_INET6) {
      const auto& a = reinterpret_cast<const sockaddr_in6&>(s.peer).sin6_addr;
      return limit::Address::from_ip6(std::span<const std::uint8_t, 16>(a.s6_addr, 16));
    }
    const auto& a = reinterpret_cast<const sockaddr_in&>(s.peer).sin_addr;
    return limit::Address::from_ip4(std::span<const std::uint8_t, 4>(reinterpret_cast<const std::uint8_t*>(&a.s_addr), 4));
  }

  // A reply must be deliverable and must not leave from a broadcast or
  // multicast address: source port 0 (RFC 768 allows it for "no reply
  // expected"), spoofed sources (net::bad_source_ip4/6) and non-unicast
  // destinations are dropped here, as the DPDK classifier does, before the
  // core spends any crypto on them.
  bool answerable(const Slot& s, const limit::Address& from) noexcept {
    if (!good_source(s, from)) return false;
    if (peer_port(s) == 0) {
      runtime::bump(stats_.net_drops[static_cast<std::size_t>(net::Drop::kUdpPort)]);
      return false;
    }
    if (s.have_dst4) {
      const std::uint32_t dst = ntohl(s.dst4.ipi_addr.s_addr);
      if (IN_MULTICAST(dst) || dst == INADDR_BROADCAST) {
        runtime::bump(stats_.net_drops[static_cast<std::size_t>(net::Drop::kIp4BadSource)]);
        return false;
      }
    } else if (s.have_dst6 && IN6_IS_ADDR_MULTICAST(&s.dst6.ipi6_addr)) {
      runtime::bump(stats_.net_drops[static_cast<std::size_t>(net::Drop::kIp6BadSource)]);
      return false;
    }
    return true;
  }

  // Loopback sources are fine only towards a loopback destination: such a
  // packet never left the host (the kernel drops 127/8 and ::1 arriving on
  // other interfaces, but that depends on sysctls such as route_localnet).
  bool good_source(const Slot& s, const limit::Address& a) noexcept {
    if (!a.v6) {
      std::array<std::uint8_t, 4> dst{};  // unknown destination: loopback not allowed
      if (s.have_dst4) std::memcpy(dst.data(), &s.dst4.ipi_addr.s_addr, 4);
      else if (s.have_dst6 && IN6_IS_ADDR_V4MAPPED(&s.dst6.ipi6_addr)) std::memcpy(dst.data(), s.dst6.ipi6_addr.s6_addr + 12, 4);
      if (net::host_source_ok_ip4(std::span<const std::uint8_t, 4>(a.bytes.data(), 4), dst)) return true;
      runtime::bump(stats_.net_drops[static_cast<std::size_t>(net::Drop::kIp4BadSource)]);
      return false;
    }
    std::array<std::uint8_t, 16> dst{};
    if (s.have_dst6) std::memcpy(dst.data(), s.dst6.ipi6_addr.s6_addr, 16);
    if (net::host_source_ok_ip6(std::span<const std::uint8_t, 16>(a.bytes.data(), 16), dst)) return true;
    runtime::bump(stats_.net_drops[static_cast<std::size_t>(net::Drop::kIp6BadSource)]);
    return false;
  }

  proto::NtpTime parse_ctrl(msghdr& h, Slot& s) noexcept {
    proto::NtpTime t2 = 0;
    s.have_dst4 = s.have_dst6 = false;
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPING && opt_.kernel_rx_timestamps) {
        scm_timestamping ts;
        std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
        if (ts.ts[0].tv_sec != 0) t2 = clock::to_ntp64(clock::from_timespec(ts.ts[0]));
      } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        std::memcpy(&s.dst4, CMSG_DATA(c), sizeof s.dst4);
        s.have_dst4 = true;
      } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
        std::memcpy(&s.dst6, CMSG_DATA(c), sizeof s.dst6);
        s.have_dst6 = true;
      }
    }
    return t2;
  }

  // The reply's control messages: its source address, and for a response
  // an interleaved client will ask about, a TX timestamp request (software;
  // hardware too where the clock is the NIC's PHC).
  void set_control(msghdr& h, Slot& s, bool tx_timestamp) noexcept {
    h.msg_control = s.tx_ctrl.data();
    h.msg_controllen = 0;
    auto* c = reinterpret_cast<cmsghdr*>(s.tx_ctrl.data());
    if (s.have_dst4) {
      in_pktinfo pi{};
      pi.ipi_spec_dst = s.dst4.ipi_addr;  // reply from the address the client used
      c->cmsg_level = IPPROTO_IP;
      c->cmsg_type = IP_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof pi);
      std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
      h.msg_controllen = CMSG_SPACE(sizeof pi);
    } else if (s.have_dst6) {
      c->cmsg_level = IPPROTO_IPV6;
      c->cmsg_type = IPV6_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof s.dst6);
      std::memcpy(CMSG_DATA(c), &s.dst6, sizeof s.dst6);
      h.msg_controllen = CMSG_SPACE(sizeof s.dst6);
    }
    if (tx_timestamp) {
      auto* t = reinterpret_cast<cmsghdr*>(s.tx_ctrl.data() + h.msg_controllen);
      const bool hw = opt_.tx_source == TxSource::kPhcUtc || opt_.tx_source == TxSource::kPhcTai;
      const int flags = SOF_TIMESTAMPING_TX_SOFTWARE | (hw ? SOF_TIMESTAMPING_TX_HARDWARE : 0);
      t->cmsg_level = SOL_SOCKET;
      t->cmsg_type = SO_TIMESTAMPING;
      t->cmsg_len = CMSG_LEN(sizeof flags);
      std::memcpy(CMSG_DATA(t), &flags, sizeof flags);
      h.msg_controllen += CMSG_SPACE(sizeof flags);
    }
    if (h.msg_controllen == 0) h.msg_control = nullptr;
  }

  // Sends the burst's replies; returns how many of them asked for a TX
  // timestamp and were sent.
  std::size_t send(std::size_t sock, std::size_t count) {
    const int fd = fds_[sock];
    std::size_t m = 0;
    for (std::size_t j = 0; j < count; ++j) {
      const proto::Outcome& o = outcomes_[j];
      if (o.verdict == proto::Verdict::kDrop || o.len == 0) continue;
      const std::size_t i = slot_of_[j];
      Slot& s = slots_[i];
      // An interleaved answer's T3 is the previous response's: not this one's processing time.
      if (o.verdict == proto::Verdict::kRespond && !o.interleaved)
        stats_.record_processing(reqs_[j].rx, proto::Bytes(s.out.data(), o.len));
      s.tx_iov = {s.out.data(), o.len};
      msghdr& h = tx_msgs_[m].msg_hdr;
      h = {};
      h.msg_name = &s.peer;
      h.msg_namelen = rx_msgs_[i].msg_hdr.msg_namelen;
      h.msg_iov = &s.tx_iov;
      h.msg_iovlen = 1;
      set_control(h, s, o.tx_ticket != xleave::kNoTicket);
      msg_out_[m] = j;
      ++m;
    }
    // sendmmsg stops at the first message the kernel refuses and reports only
    // those before it. A refused message (EINVAL, EACCES, unreachable, ...)
    // is skipped so that it cannot take the rest of the burst with it; a
    // full socket (EAGAIN/ENOBUFS) ends the burst after one more try.
    std::size_t pos = 0, sent = 0, stamped = 0;
    int full_tries = 0;
    while (pos < m) {
      const int r = ::sendmmsg(fd, tx_msgs_.data() + pos, static_cast<unsigned>(m - pos), MSG_DONTWAIT);
      if (r > 0) {
        for (std::size_t k = pos; k < pos + static_cast<std::size_t>(r); ++k) stamped += expect_tx_timestamp(sock, k);
        pos += static_cast<std::size_t>(r);
        sent += static_cast<std::size_t>(r);
      } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || errno == EINTR) {
        if (++full_tries >= 2) break;
      } else {
        ++pos;  // this one message is undeliverable
      }
    }
    runtime::bump(stats_.tx, sent);
    runtime::bump(stats_.tx_failed, m - sent);
    return stamped;
  }

  // Message k went out: if it asked for a TX timestamp, note what the
  // kernel will hand back for it (tx_timestamps.hpp).
  bool expect_tx_timestamp(std::size_t sock, std::size_t k) noexcept {
    const std::size_t j = msg_out_[k];
    const proto::Outcome& o = outcomes_[j];
    if (o.tx_ticket == xleave::kNoTicket) return false;
    const Slot& s = slots_[slot_of_[j]];
    Looped expect;
    expect.to = s.from;
    expect.port = ntohs(peer_port(s));
    for (std::size_t b = 32; b < 40; ++b) expect.receive = expect.receive << 8 | s.out[b];  // the receive field sent
    txs_.sent(sock, o.tx_ticket, expect);
    return true;
  }

  std::size_t index_;
  const std::vector<int>& fds_;
  const Options& opt_;
  runtime::Shared& shared_;
  runtime::WorkerStats& stats_;
  proto::Server server_;
  runtime::TscTxClock txclock_;
  runtime::WorkerRandom rng_;
  runtime::RateGate gate_;
  runtime::Interleave xleave_;
  TxTimestamps txs_;
  std::size_t burst_;
  std::unique_ptr<Slot[]> slots_;
  std::vector<mmsghdr> rx_msgs_, tx_msgs_;
  std::vector<proto::Request> reqs_;
  std::vector<std::size_t> slot_of_;  // reqs_[j] came from slots_[slot_of_[j]]
  std::vector<proto::Outcome> outcomes_;
  std::vector<proto::Request> kiss_reqs_;  // over the limit, answered with a RATE kiss
  std::vector<std::size_t> kiss_slot_;
  std::vector<std::size_t> msg_out_;  // tx_msgs_[m] answers reqs_[msg_out_[m]]
  std::vector<pollfd> pfds_;
};

}  // namespace

void run_socket_worker(std::size_t index, const std::vector<int>& fds, const Options& opt,
                       runtime::Shared& shared) {
  auto w = std::make_unique<Worker>(index, fds, opt, shared);
  w->run();
}

}  // namespace ntsd::sock
