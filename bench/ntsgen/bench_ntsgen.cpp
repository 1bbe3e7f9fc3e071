// What one core of ntsgen can do without any I/O: build requests (the sender's
// cost per request) and build + verify (the cost with full verification of a
// response per request). The fake server's work is excluded from the timing.
#include <benchmark/benchmark.h>

#include <array>
#include <vector>

#include "codec.hpp"
#include "fake_nts_server.hpp"
#include "nts_codec.hpp"
#include "nts_fixture.hpp"

namespace ntsgen {
namespace {

constexpr std::size_t kBatch = 32;

struct Bufs {
  std::vector<std::array<std::uint8_t, 1280>> mem = std::vector<std::array<std::uint8_t, 1280>>(kBatch);
  std::array<TxBuf, kBatch> tx{};
  Bufs() {
    for (std::size_t i = 0; i < kBatch; ++i) tx[i].data = mem[i].data();
  }
};

void BM_NtpBuild(benchmark::State& st) {
  auto codec = make_ntp_codec();
  Tracker tr(1 << 16, 1);
  Counters c;
  Bufs b;
  for (auto _ : st) {
    codec->build(b.tx, 0, tr, c);
    benchmark::DoNotOptimize(b.tx[0].data[47]);
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * kBatch));
}
BENCHMARK(BM_NtpBuild);

void BM_NtsBuild(benchmark::State& st) {
  auto sessions = test::vector_sessions(64);
  Tracker tr(1 << 16, 1);
  auto codec = make_nts_codec(sessions, NtsCodecOptions{static_cast<std::uint8_t>(st.range(0))}, tr.capacity());
  Counters c;
  Bufs b;
  for (auto _ : st) {
    codec->build(b.tx, 0, tr, c);
    benchmark::DoNotOptimize(b.tx[0].data[100]);
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * kBatch));
}
BENCHMARK(BM_NtsBuild)->Arg(0)->Arg(1);

// Build a batch, let the fake server answer (not timed), verify the batch.
// Arg: --verify-every N (1: every response opened; 16: one in 16, the rest
// matched and checked without the AEAD).
void BM_NtsBuildAndVerify(benchmark::State& st) {
  auto keys = test::vector_keys();
  auto sessions = test::vector_sessions(64);
  Tracker tr(1 << 16, 1);
  NtsCodecOptions opt;
  opt.verify_every = static_cast<std::uint32_t>(st.range(0));
  auto codec = make_nts_codec(sessions, opt, tr.capacity());
  auto eng = ntsd::crypto::make_best_engine();
  Counters c;
  Histogram h;
  Bufs b;
  std::vector<std::vector<std::uint8_t>> resp(kBatch);
  std::array<RxPkt, kBatch> rx{};
  for (auto _ : st) {
    codec->build(b.tx, 0, tr, c);
    st.PauseTiming();
    for (std::size_t i = 0; i < kBatch; ++i) {
      resp[i] = test::fake_nts_response(*eng, keys.s2c, std::span(b.tx[i].data, b.tx[i].len));
      rx[i] = RxPkt{resp[i].data(), static_cast<std::uint16_t>(resp[i].size()), 1};
    }
    st.ResumeTiming();
    codec->verify(rx, tr, c, h);
  }
  if (c.valid != st.iterations() * kBatch) st.SkipWithError("not every response valid");
  st.counters["verified_share"] = static_cast<double>(c.verified) / static_cast<double>(c.valid);
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * kBatch));
}
BENCHMARK(BM_NtsBuildAndVerify)->Arg(1)->Arg(16);

}  // namespace
}  // namespace ntsgen

BENCHMARK_MAIN();
