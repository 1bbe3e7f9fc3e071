// DPDK transport: one port (the first one EAL probes: a NIC, or a vdev such as
// net_memif / net_af_packet / net_null), one RX and one TX queue driven from
// the calling (main) lcore, which EAL pins (-l). Payloads are built straight
// into mbufs; ARP requests and Neighbor Solicitations for our client
// addresses are answered with ntsd_net's builders so that a server can reach
// the simulated clients.
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>

#include <array>
#include <cstring>
#include <ctime>
#include <vector>

#include "dpdk_port.hpp"
#include "frames.hpp"
#include "ntsd/net/packet.hpp"
#include "transport_dpdk.hpp"

namespace ntsgen {
namespace {

constexpr std::size_t kBurst = 256;
constexpr std::uint16_t kRing = 1024;
constexpr std::size_t kMaxAnswered = 4096;  // client addresses we answer ARP/ND for

class DpdkTransport final : public Transport {
 public:
  ~DpdkTransport() override {
    release_rx();
    free_unsent();
    if (started_) {
      rte_eth_dev_stop(port_);
      rte_eth_dev_close(port_);
    }
    rte_eal_cleanup();
  }

  bool open(const Options& o, std::string& err);

  std::span<TxBuf> tx_buffers(std::size_t n, std::size_t len) noexcept override {
    free_unsent();
    n = std::min(n, kBurst);
    if (len + fb_->header_len() + RTE_PKTMBUF_HEADROOM > rte_pktmbuf_data_room_size(pool_)) return {};
    if (rte_pktmbuf_alloc_bulk(pool_, txm_.data(), static_cast<unsigned>(n)) != 0) return {};
    for (std::size_t i = 0; i < n; ++i) {
      tx_[i].data = rte_pktmbuf_mtod(txm_[i], std::uint8_t*) + fb_->header_len();
      tx_[i].len = 0;
      tx_[i].client = next_client_;
      next_client_ = next_client_ + 1 == fb_->config().clients ? 0 : next_client_ + 1;
    }
    ntx_ = n;
    return {tx_.data(), n};
  }

  std::size_t send(std::span<TxBuf> bufs) noexcept override {
    std::size_t m = 0;
    for (std::size_t i = 0; i < ntx_ && i < bufs.size(); ++i) {
      rte_mbuf* mb = txm_[i];
      if (bufs[i].len == 0) {
        rte_pktmbuf_free(mb);
        continue;
      }
      const std::size_t flen = fb_->write(rte_pktmbuf_mtod(mb, std::uint8_t*), bufs[i].client, bufs[i].len);
      mb->data_len = static_cast<std::uint16_t>(flen);
      mb->pkt_len = static_cast<std::uint32_t>(flen);
      txm_[m++] = mb;
    }
    const std::uint16_t sent = rte_eth_tx_burst(port_, 0, txm_.data(), static_cast<std::uint16_t>(m));
    // What the port did not take is freed on the next tx_buffers(): the caller
    // still reads those requests to retire them.
    for (std::size_t i = sent; i < m; ++i) unsent_[nunsent_++] = txm_[i];
    ntx_ = 0;
    return sent;
  }

  std::span<const RxPkt> recv(std::size_t max) noexcept override {
    release_rx();
    max = std::min(max, kBurst);
    const std::uint16_t n = rte_eth_rx_burst(port_, 0, rxm_.data(), static_cast<std::uint16_t>(max));
    if (n == 0) return {};
    const std::uint64_t now = now_ns();
    // T4 on the real-time clock for the transmit-timestamp offsets: read
    // once per burst, right after rx_burst (interleave.hpp).
    timespec rt{};
    clock_gettime(CLOCK_REALTIME, &rt);
    const std::uint64_t real = static_cast<std::uint64_t>(rt.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(rt.tv_nsec);
    std::size_t got = 0;
    for (std::uint16_t i = 0; i < n; ++i) {
      rte_mbuf* mb = rxm_[i];
      const std::span<const std::uint8_t> frame(rte_pktmbuf_mtod(mb, const std::uint8_t*), mb->data_len);
      const auto payload = fb_->response_payload(frame);
      if (!payload.empty()) {
        rx_[got++] = RxPkt{payload.data(), static_cast<std::uint16_t>(payload.size()), now, real};
        keep_[nkeep_++] = mb;
      } else if (!answer_neighbour(mb)) {
        rte_pktmbuf_free(mb);
      }
    }
    return {rx_.data(), got};
  }

  // The TSC, scaled to ns: the run loop reads the time every iteration, and
  // clock_gettime cost ~18 % of the sender's core at 2 M req/s. EAL measured
  // the TSC rate at init; timestamps are only compared with each other.
  std::uint64_t now_ns() const noexcept override {
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(rte_rdtsc() - tsc0_) * tsc_mult_) >> 32);
  }
  std::string describe() const override { return desc_; }
  std::uint32_t clients() const noexcept override { return fb_->config().clients; }

 private:
  void free_unsent() noexcept {
    if (nunsent_) rte_pktmbuf_free_bulk(unsent_.data(), static_cast<unsigned>(nunsent_));
    nunsent_ = 0;
  }
  void release_rx() noexcept {
    if (nkeep_) rte_pktmbuf_free_bulk(keep_.data(), static_cast<unsigned>(nkeep_));
    nkeep_ = 0;
  }
  // ARP request / Neighbor Solicitation for a client address: reply in place.
  bool answer_neighbour(rte_mbuf* mb) noexcept;
  bool resolve(std::string& err);

  std::uint16_t port_ = 0;
  bool started_ = false;
  std::uint64_t tsc0_ = 0;
  std::uint64_t tsc_mult_ = 0;  // ns per TSC tick, 32.32 fixed point
  rte_mempool* pool_ = nullptr;
  std::unique_ptr<FrameBuilder> fb_;
  std::uint32_t next_client_ = 0;
  std::string desc_;
  ntsd::net::Mac mac_{};
  std::vector<ntsd::net::Ip4> my4_;
  std::vector<ntsd::net::Ip6> my6_;
  std::array<rte_mbuf*, kBurst> txm_{}, rxm_{}, keep_{}, unsent_{};
  std::size_t ntx_ = 0, nkeep_ = 0, nunsent_ = 0;
  std::array<TxBuf, kBurst> tx_{};
  std::array<RxPkt, kBurst> rx_{};
};

bool DpdkTransport::answer_neighbour(rte_mbuf* mb) noexcept {
  ntsd::net::LocalAddrs local;
  local.mac = mac_;
  local.ip4 = my4_;
  local.ip6 = my6_;
  std::uint8_t* d = rte_pktmbuf_mtod(mb, std::uint8_t*);
  const std::size_t cap = rte_pktmbuf_tailroom(mb) + mb->data_len;
  const ntsd::net::Bytes frame(d, mb->data_len);
  const auto c = ntsd::net::classify(frame, local);
  std::size_t len = 0;
  if (c.kind == ntsd::net::Kind::kArpRequest) {
    len = ntsd::net::build_arp_reply(ntsd::net::MutBytes(d, cap), mb->data_len, c, mac_);
  } else if (c.kind == ntsd::net::Kind::kNeighborSolicit) {
    len = ntsd::net::build_neighbor_advert(ntsd::net::MutBytes(d, cap), c, mac_);
  }
  if (len == 0) return false;
  mb->data_len = static_cast<std::uint16_t>(len);
  mb->pkt_len = static_cast<std::uint32_t>(len);
  if (rte_eth_tx_burst(port_, 0, &mb, 1) != 1) rte_pktmbuf_free(mb);
  return true;
}

bool DpdkTransport::resolve(std::string& err) {
  // Ask every 200 ms for up to 3 s; answer the server's own ARP/ND meanwhile.
  const std::uint64_t end = mono_ns() + 3'000'000'000ull;
  std::uint64_t next_ask = 0;
  while (mono_ns() < end) {
    if (mono_ns() >= next_ask) {
      rte_mbuf* mb = rte_pktmbuf_alloc(pool_);
      if (mb) {
        const std::size_t len = fb_->write_resolve(rte_pktmbuf_mtod(mb, std::uint8_t*), rte_pktmbuf_tailroom(mb));
        mb->data_len = static_cast<std::uint16_t>(len);
        mb->pkt_len = static_cast<std::uint32_t>(len);
        if (len == 0 || rte_eth_tx_burst(port_, 0, &mb, 1) != 1) rte_pktmbuf_free(mb);
      }
      next_ask = mono_ns() + 200'000'000ull;
    }
    std::array<rte_mbuf*, 32> m;
    const std::uint16_t n = rte_eth_rx_burst(port_, 0, m.data(), 32);
    for (std::uint16_t i = 0; i < n; ++i) {
      Mac mac;
      if (fb_->parse_resolve({rte_pktmbuf_mtod(m[i], const std::uint8_t*), m[i]->data_len}, mac)) {
        fb_->set_dst_mac(mac);
        for (std::uint16_t k = i; k < n; ++k) rte_pktmbuf_free(m[k]);
        return true;
      }
      if (!answer_neighbour(m[i])) rte_pktmbuf_free(m[i]);
    }
  }
  err = "no ARP/ND answer from the server address (give --dst-mac)";
  return false;
}

bool DpdkTransport::open(const Options& o, std::string& err) {
  FrameConfig fc;
  bool v6s = false, v6d = false;
  if (!parse_ip(o.src_ip, fc.src, v6s) || !parse_ip(o.dst_ip, fc.dst, v6d) || v6s != v6d) {
    err = "--transport dpdk needs --src-ip and --dst-ip of the same family";
    return false;
  }
  fc.v6 = v6d;
  fc.dst_port = o.sock.port;
  fc.clients = o.clients;
  fc.addrs = std::max(1u, std::min(o.src_addrs, o.clients));
  if (!eal_init_from("ntsgen", o.dpdk_args)) {
    err = "rte_eal_init failed (see the EAL messages above)";
    return false;
  }
  if (rte_eth_dev_count_avail() == 0) {
    err = "no DPDK port (give one with --eal '--vdev=...')";
    return false;
  }
  const std::uint64_t hz = rte_get_tsc_hz();
  if (hz == 0) {
    err = "DPDK reports no TSC frequency";
    return false;
  }
  tsc0_ = rte_rdtsc();
  tsc_mult_ = static_cast<std::uint64_t>((static_cast<unsigned __int128>(1'000'000'000ull) << 32) / hz);
  if (!start_first_port("ntsgen_pool", kRing, port_, pool_)) {
    err = "DPDK port setup failed";
    return false;
  }
  started_ = true;
  rte_eth_promiscuous_enable(port_);
  // Virtual links come up asynchronously (memif connects to its peer after
  // start): wait for the link, or every early burst would be a send error.
  for (int i = 0; i < 100; ++i) {
    rte_eth_link link{};
    if (rte_eth_link_get_nowait(port_, &link) == 0 && link.link_status == RTE_ETH_LINK_UP) break;
    if (i == 99) {
      err = "DPDK port link did not come up within 5 s";
      return false;
    }
    rte_delay_ms(50);
  }
  rte_ether_addr ea;
  rte_eth_macaddr_get(port_, &ea);
  std::memcpy(mac_.data(), ea.addr_bytes, 6);
  std::memcpy(fc.src_mac.data(), ea.addr_bytes, 6);
  fb_ = std::make_unique<FrameBuilder>(fc);
  for (std::uint32_t i = 0; i < std::min<std::uint32_t>(fc.addrs, kMaxAnswered); ++i) {
    const auto a = fb_->client_addr(i);
    if (fc.v6) {
      ntsd::net::Ip6 x;
      std::memcpy(x.data(), a.data(), 16);
      my6_.push_back(x);
    } else {
      ntsd::net::Ip4 x;
      std::memcpy(x.data(), a.data(), 4);
      my4_.push_back(x);
    }
  }
  if (!o.dpdk_dst_mac.empty()) {
    Mac m;
    if (!parse_mac(o.dpdk_dst_mac, m)) {
      err = "bad --dst-mac " + o.dpdk_dst_mac;
      return false;
    }
    fb_->set_dst_mac(m);
  } else if (!resolve(err)) {
    return false;
  }
  rte_eth_dev_info info{};
  rte_eth_dev_info_get(port_, &info);
  desc_ = std::string("dpdk port ") + std::to_string(port_) + " (" + info.driver_name + "), " +
          std::to_string(fc.clients) + " clients on " + std::to_string(fc.addrs) + " address(es) -> " +
          o.dst_ip + ":" + std::to_string(fc.dst_port);
  return true;
}

}  // namespace

std::unique_ptr<Transport> make_dpdk_transport(const Options& o, std::string& err) {
  auto t = std::make_unique<DpdkTransport>();
  if (!t->open(o, err)) return nullptr;
  return t;
}

}  // namespace ntsgen
