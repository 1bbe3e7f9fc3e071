// ntsgen-reflect: a DPDK responder that costs almost nothing per packet, to
// measure ntsgen's own ceiling (bench/ntsgen/gen_ceiling.sh, docs/ntsgen.md).
// It answers each NTS request in place with a response of ntsd's shape and
// length (RFC 8915 §5.7): mode 4, the origin = the request's transmit
// timestamp, the Unique Identifier EF echoed, then an Authenticator EF whose
// nonce and "ciphertext" are a fixed pattern. So the generator's cheap
// checks pass and its full verification fails (counted invalid: auth), with
// the same packet sizes and memif work as against ntsd. Plain NTP requests
// get a mode-4 header. ARP requests for its address are answered (ntsgen
// resolves the server's MAC). Not a server: nothing is authenticated.
//
//   ntsgen-reflect --eal 'EAL ARGS' --ip A [--seconds S]
//
// One port (the first EAL probes), one queue pair, bursts of 32, polled on
// the main lcore until SIGINT/SIGTERM or S seconds (default 60, at most 600).
// Prints the packets and bursts it reflected (the average burst says whether
// it was saturated: 32).
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <array>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "codec.hpp"
#include "dpdk_port.hpp"
#include "frames.hpp"
#include "ntsd/net/packet.hpp"
#include "ntsd/proto/wire.hpp"

namespace {

namespace net = ntsd::net;
namespace proto = ntsd::proto;

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true); }

constexpr std::uint16_t kBurst = 32;
constexpr std::uint16_t kRing = 4096;

// Rewrites an NTS or NTP request (payload p, n bytes) into a response of the
// same length. Returns false if it cannot.
bool fake_response(std::uint8_t* p, std::size_t n) noexcept {
  using ntsgen::kNtpHeaderLen;
  if (n < kNtpHeaderLen) return false;
  std::uint8_t xmt[8];
  std::memcpy(xmt, p + ntsgen::kTransmitOff, 8);
  p[0] = 0x24;  // LI 0, VN 4, mode 4
  p[1] = 1;     // stratum 1
  p[3] = 0xec;
  std::memcpy(p + 12, "REFL", 4);
  std::memcpy(p + ntsgen::kOriginOff, xmt, 8);
  ntsgen::store_be64(p + ntsgen::kReceiveOff, 0xe000000000000001ull);
  ntsgen::store_be64(p + ntsgen::kTransmitOff, 0xe000000000000002ull);
  if (n == kNtpHeaderLen) return true;
  // NTS: ntsgen's request is header | UID EF | cookie EF | placeholders |
  // Authenticator. The response keeps the UID EF where it is and turns the
  // rest into one Authenticator EF: nonce 16, "ciphertext" to the end.
  constexpr std::size_t kUidEf = proto::kEfHeaderLen + 32;
  const std::size_t at = kNtpHeaderLen + kUidEf;
  if (ntsgen::load_be16(p + kNtpHeaderLen) != proto::kEfUniqueId || n < at + 8 + 16 + 16) return false;
  const std::size_t ef_len = n - at, ct_len = ef_len - 8 - 16;
  ntsgen::store_be16(p + at, proto::kEfAuthenticator);
  ntsgen::store_be16(p + at + 2, static_cast<std::uint16_t>(ef_len));
  ntsgen::store_be16(p + at + 4, 16);
  ntsgen::store_be16(p + at + 6, static_cast<std::uint16_t>(ct_len));
  // Nonce and "ciphertext" written, not left as the request's bytes: ntsd
  // writes every byte of its response, so the generator's memif copy finds
  // none of it in its own cache; neither must it here.
  std::memset(p + at + 8, 0xa5, ef_len - 8);
  return true;
}

struct Args {
  std::string eal, ip;
  double seconds = 60;
};

bool parse(int argc, char** argv, Args& a) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--eal") a.eal = v;
    else if (k == "--ip") a.ip = v;
    else if (k == "--seconds") a.seconds = std::atof(v.c_str());
    else return false;
  }
  return argc % 2 == 1 && !a.eal.empty() && !a.ip.empty() && a.seconds > 0 && a.seconds <= 600;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!parse(argc, argv, a)) {
    std::fprintf(stderr, "usage: ntsgen-reflect --eal 'EAL ARGS' --ip ADDR [--seconds S (60, max 600)]\n");
    return 2;
  }
  std::array<std::uint8_t, 16> ip{};
  bool v6 = false;
  if (!ntsgen::parse_ip(a.ip, ip, v6)) {
    std::fprintf(stderr, "ntsgen-reflect: bad --ip %s\n", a.ip.c_str());
    return 2;
  }
  if (!ntsgen::eal_init_from("ntsgen-reflect", a.eal) || rte_eth_dev_count_avail() == 0) {
    std::fprintf(stderr, "ntsgen-reflect: EAL init failed or no port\n");
    return 1;
  }
  std::uint16_t port = 0;
  rte_mempool* pool = nullptr;
  if (!ntsgen::start_first_port("reflect_pool", kRing, port, pool)) {
    std::fprintf(stderr, "ntsgen-reflect: port setup failed\n");
    return 1;
  }
  rte_ether_addr ea;
  rte_eth_macaddr_get(port, &ea);
  net::LocalAddrs local;
  std::memcpy(local.mac.data(), ea.addr_bytes, 6);
  net::Ip4 a4{};
  net::Ip6 a6{};
  std::memcpy(a4.data(), ip.data(), 4);
  std::memcpy(a6.data(), ip.data(), 16);
  if (v6) local.ip6 = std::span(&a6, 1);
  else local.ip4 = std::span(&a4, 1);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::fprintf(stderr, "ntsgen-reflect: serving on port %u\n", port);

  const std::uint64_t end = rte_rdtsc() + static_cast<std::uint64_t>(a.seconds * static_cast<double>(rte_get_tsc_hz()));
  std::uint64_t packets = 0, bursts = 0, tx_failed = 0, polls = 0;
  // Time in bursts that brought packets, from the poll that found them to
  // the end of their TX: the rest of the run was idle polling.
  std::uint64_t busy = 0, t_start = rte_rdtsc(), t_prev = t_start, t_last = t_start;
  std::array<rte_mbuf*, kBurst> rx{}, tx{};
  for (; !g_stop.load(std::memory_order_relaxed); ++polls) {
    if ((polls & 1023) == 0 && t_prev > end) break;
    const std::uint16_t n = rte_eth_rx_burst(port, 0, rx.data(), kBurst);
    if (n == 0) {
      if ((polls & 1023) == 0) t_prev = rte_rdtsc();
      continue;
    }
    const std::uint64_t t0 = rte_rdtsc();
    if (bursts == 0) t_start = t0;
    ++bursts;
    packets += n;
    std::uint16_t m = 0;
    for (std::uint16_t i = 0; i < n; ++i) {
      rte_mbuf* mb = rx[i];
      auto* d = rte_pktmbuf_mtod(mb, std::uint8_t*);
      const net::MutBytes buf(d, mb->data_len + rte_pktmbuf_tailroom(mb));
      // The checksums are the generator's own (its frames are checked in
      // tests/ntsgen/test_frames.cpp); verifying them here would read every
      // byte of the request once more for nothing.
      const auto c = net::classify(net::Bytes(d, mb->data_len), local, net::RxOffload{true, true});
      std::size_t len = 0;
      if (c.kind == net::Kind::kNtp && fake_response(d + c.payload, c.payload_len)) {
        len = net::build_ntp_reply(buf, c, net::Bytes(d + c.payload, c.payload_len));
      } else if (c.kind == net::Kind::kArpRequest) {
        len = net::build_arp_reply(buf, mb->data_len, c, local.mac);
      }
      if (len == 0) {
        rte_pktmbuf_free(mb);
        continue;
      }
      mb->data_len = static_cast<std::uint16_t>(len);
      mb->pkt_len = static_cast<std::uint32_t>(len);
      tx[m++] = mb;
    }
    const std::uint16_t sent = rte_eth_tx_burst(port, 0, tx.data(), m);
    for (std::uint16_t i = sent; i < m; ++i) rte_pktmbuf_free(tx[i]);
    tx_failed += m - sent;
    t_prev = rte_rdtsc();
    busy += t_prev - t0;
    t_last = t_prev;
  }
  // Busy share between the first and the last packet (the load, not the
  // waits before and after it).
  const double total = static_cast<double>(t_last - t_start);
  std::printf("reflected packets %llu bursts %llu avg_burst %.2f tx_failed %llu polls %llu busy_pct %.1f\n",
              static_cast<unsigned long long>(packets), static_cast<unsigned long long>(bursts),
              bursts ? static_cast<double>(packets) / static_cast<double>(bursts) : 0.0,
              static_cast<unsigned long long>(tx_failed), static_cast<unsigned long long>(polls),
              total > 0 ? 100.0 * static_cast<double>(busy) / total : 0.0);
  std::fflush(stdout);
  rte_eth_dev_stop(port);
  return 0;
}
