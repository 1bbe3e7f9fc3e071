// The worker's per-packet L2-L4 work on an NTS-sized frame (Ethernet, IPv4,
// UDP, 228 bytes of NTP: a request with one AEAD-15 cookie), outside the
// protocol core: classify (with the RX checksums in software, as over
// net_memif or any port without checksum offload), then rewrite it in place
// into the reply (the UDP checksum in software, or left to the port).
// Items are frames; cycles_per_frame are TSC cycles (docs/benchmarks.md).
#include <benchmark/benchmark.h>
#include <x86intrin.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include "ntsd/net/packet.hpp"

namespace {

using namespace ntsd;

constexpr net::Mac kOurMac = {0x02, 0, 0, 0, 0, 1};
constexpr net::Mac kPeerMac = {0x02, 0, 0, 0, 0, 2};
constexpr net::Ip4 kOur4 = {198, 18, 0, 2};
constexpr net::Ip4 kPeer4 = {198, 18, 0, 1};
constexpr std::size_t kNtpLen = 228;
constexpr std::size_t kFrames = 32;  // a burst

void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}

// A valid request frame, checksums set, in a 2 KiB buffer (an mbuf's room).
std::vector<std::uint8_t> request_frame(std::uint32_t seed) {
  std::vector<std::uint8_t> f(2048, 0);
  std::memcpy(f.data(), kOurMac.data(), 6);
  std::memcpy(f.data() + 6, kPeerMac.data(), 6);
  put16(&f[12], 0x0800);
  std::uint8_t* ip = &f[14];
  ip[0] = 0x45;
  put16(ip + 2, static_cast<std::uint16_t>(20 + 8 + kNtpLen));
  ip[8] = 64;
  ip[9] = 17;
  std::memcpy(ip + 12, kPeer4.data(), 4);
  std::memcpy(ip + 16, kOur4.data(), 4);
  put16(ip + 10, net::csum_fold(net::csum_add(0, net::Bytes(ip, 20))));
  std::uint8_t* udp = ip + 20;
  put16(udp, static_cast<std::uint16_t>(40000 + seed));
  put16(udp + 2, 123);
  put16(udp + 4, static_cast<std::uint16_t>(8 + kNtpLen));
  for (std::size_t i = 0; i < kNtpLen; ++i) udp[8 + i] = static_cast<std::uint8_t>(seed * 131 + i * 7);
  udp[8] = 0x23;  // LI 0, VN 4, mode 3
  const net::Classified c{net::Kind::kNtp, net::Drop::kNone, false, 14, 34, 42, kNtpLen};
  const std::uint32_t ph = net::pseudo_sum(net::Bytes(f.data(), 14 + 20 + 8 + kNtpLen), c, 17, 8 + kNtpLen);
  put16(udp + 6, net::csum_fold(net::csum_add(ph, net::Bytes(udp, 8 + kNtpLen))));
  return f;
}

// BM_NetBurst/offload:O: classify 32 frames, then build their replies
// (`O`: the UDP checksum left to the port). The frames are restored from
// copies between iterations, outside the timing.
void BM_NetBurst(benchmark::State& state) {
  const bool offload = state.range(0) != 0;
  const std::array<net::Ip4, 1> v4 = {kOur4};
  const net::LocalAddrs local{kOurMac, v4, {}, 123};
  std::vector<std::vector<std::uint8_t>> orig, frames;
  for (std::size_t i = 0; i < kFrames; ++i) orig.push_back(request_frame(static_cast<std::uint32_t>(i)));
  frames = orig;
  std::array<std::uint8_t, kNtpLen> resp{};
  for (std::size_t i = 0; i < resp.size(); ++i) resp[i] = static_cast<std::uint8_t>(i * 13);
  const std::size_t frame_len = 14 + 20 + 8 + kNtpLen;
  std::uint64_t cycles = 0;
  std::array<net::Classified, kFrames> cls{};
  for (auto _ : state) {
    state.PauseTiming();
    for (std::size_t i = 0; i < kFrames; ++i) std::memcpy(frames[i].data(), orig[i].data(), frame_len);
    state.ResumeTiming();
    const std::uint64_t t0 = __rdtsc();
    for (std::size_t i = 0; i < kFrames; ++i) cls[i] = net::classify(net::Bytes(frames[i].data(), frame_len), local);
    for (std::size_t i = 0; i < kFrames; ++i) {
      if (cls[i].kind != net::Kind::kNtp) state.SkipWithError("not classified as NTP");
      benchmark::DoNotOptimize(net::build_ntp_reply(net::MutBytes(frames[i]), cls[i], resp, offload));
    }
    cycles += __rdtsc() - t0;
  }
  const auto n = static_cast<double>(state.iterations() * kFrames);
  state.SetItemsProcessed(static_cast<std::int64_t>(n));
  state.counters["cycles_per_frame"] = static_cast<double>(cycles) / n;
}
BENCHMARK(BM_NetBurst)->ArgName("offload")->Arg(0)->Arg(1);

}  // namespace

BENCHMARK_MAIN();
