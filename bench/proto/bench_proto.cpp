// handle_burst at burst 32 (plain NTP; NTS with one cookie and no
// placeholder; one cookie and three placeholders) against handle_request
// called 32 times, in the same run, for AEAD 15 (AES-SIV-CMAC-256 sessions,
// 100-byte cookies under an AES-SIV master key) and AEAD 30 (AES-128-GCM-SIV
// sessions, 64-byte cookies under a GCM-SIV master key). Reports packets/s
// (items_per_second) and cycles per packet (thread CPU time at the TSC rate).
// Run: build/bin/bench_proto --benchmark_repetitions=5
// --benchmark_report_aggregates_only=true
// BM_BurstInterleaved: the same with an interleaved-mode table (RFC 9769),
// every request looking interleaved.
#include <benchmark/benchmark.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <x86intrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "ntsd/proto/client.hpp"
#include "ntsd/proto/server.hpp"
#include "ntsd/runtime/runtime.hpp"
#include "proto_fixtures.hpp"

namespace ntsd::proto {
namespace {

constexpr std::size_t kBurst = 32;

// A counter clock: the real one (TSC → NTP) costs a few ns more per packet.
class CounterClock final : public TxClock {
 public:
  NtpTime now() noexcept override { return t_ += 0x100; }

 private:
  NtpTime t_ = 0xe5f0'0000'0000'0000ull;
};

// An engine that does no AES at all (every op "succeeds", outputs untouched):
// isolates the protocol core's own cost from the crypto engine's.
class NullEngine final : public crypto::SivEngine {
 public:
  void seal(std::span<const crypto::SivOp>, std::span<crypto::SivStatus> st) noexcept override {
    for (auto& s : st) s = crypto::SivStatus::kOk;
  }
  void open(std::span<const crypto::SivOp>, std::span<crypto::SivStatus> st) noexcept override {
    for (auto& s : st) s = crypto::SivStatus::kOk;
  }
  const char* name() const noexcept override { return "null"; }
};

// aead 15: the example's keys and cookie; aead 30: AEAD-30 session keys and
// a cookie under the GCM-SIV master key, which is current (new cookies are
// GCM-SIV-sealed too).
struct Fixture {
  // `xleave`: requests carry a flagged origin and a receive field, as an
  // interleaved client's do (32 clients, one address each).
  Fixture(int aead, int placeholders, bool xleave = false)
      : ring(aead == 30 ? *testing::aead30_ring() : *testing::example_ring()) {
    const auto c2s = testing::key_from_hex(aead == 30 ? testing::kAead30C2s : testing::kExampleC2s);
    const auto cookie =
        aead == 30 ? testing::aead30_cookie(true) : testing::hex(testing::kExampleCookie);
    Client client(crypto::make_scalar_engine());
    testing::SeededRandom rng(1);
    for (std::size_t i = 0; i < kBurst; ++i) {
      PendingRequest p;
      if (placeholders < 0) {
        reqs[i].resize(kHeaderLen);
        build_plain_request(0xe5f0'0000'0000'0000ull + i, reqs[i], p, 4, 0, xleave ? 0xe5f0'0000'0000'0001ull : 0,
                            xleave ? 77 + i : 0);
      } else {
        reqs[i].resize(
            nts_request_len(cookie.size(), static_cast<std::size_t>(placeholders), c2s.aead()));
        const NtsRequestSpec spec{&c2s, cookie, static_cast<std::uint8_t>(placeholders), 0x1000 + i,
                                  0, xleave ? 0xe5f0'0000'0000'0001ull : 0, xleave ? 77 + i : 0};
        client.build_nts_request(spec, rng, reqs[i], p);
      }
      outs[i].resize(reqs[i].size());
      burst[i] = Request{reqs[i], 0xe5f0'0000'0000'0000ull + i, outs[i]};
      burst[i].client = limit::Address::from_ip4(std::array<std::uint8_t, 4>{10, 0, 0, static_cast<std::uint8_t>(i)});
      burst[i].port = static_cast<std::uint16_t>(1000 + i);
    }
    state.leap = 0;
    state.stratum = 1;
  }
  crypto::KeyRing ring;
  std::array<std::vector<std::uint8_t>, kBurst> reqs, outs;
  std::array<Request, kBurst> burst;
  ServerState state;
};

// This VM has no cycle counter for perf and the 2 cores are shared, so
// cycles = thread CPU time × the TSC rate (calibrated once), which leaves out
// time the thread was preempted (a raw rdtsc delta would count it).
double tsc_hz() {
  static const double hz = [] {
    const auto t0 = std::chrono::steady_clock::now();
    const std::uint64_t c0 = __rdtsc();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const std::uint64_t c1 = __rdtsc();
    const std::chrono::duration<double> d = std::chrono::steady_clock::now() - t0;
    return static_cast<double>(c1 - c0) / d.count();
  }();
  return hz;
}

std::uint64_t cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

void report(benchmark::State& st, std::uint64_t ns, const Reason want, const Server& s) {
  const auto pkts = static_cast<double>(st.iterations() * kBurst);
  st.SetItemsProcessed(static_cast<std::int64_t>(pkts));
  st.counters["cycles_per_pkt"] = static_cast<double>(ns) * 1e-9 * tsc_hz() / pkts;
  st.counters["ns_per_pkt"] = static_cast<double>(ns) / pkts;
  const auto total = s.counters()[want];
  if (total != static_cast<std::uint64_t>(pkts)) st.SkipWithError("unexpected outcome");
}

// handle_burst on the fixture's 32 requests with `server`, timed on CPU.
// Random bytes come the way workers draw them (runtime::WorkerRandom: the
// fast-key-erasure AES generator), so the bench pays what a worker pays per
// nonce.
// Arguments: aead, placeholders (-1 = plain NTP).
void run_burst(benchmark::State& st, Server& server, Reason want) {
  Fixture f(static_cast<int>(st.range(0)), static_cast<int>(st.range(1)));
  CounterClock clock;
  runtime::WorkerRandom rng;
  std::array<Outcome, kBurst> out{};
  tsc_hz();
  const std::uint64_t t0 = cpu_ns();
  for (auto _ : st) {
    server.handle_burst(f.burst, f.state, &f.ring, clock, rng, out);
    benchmark::DoNotOptimize(out);
  }
  report(st, cpu_ns() - t0, want, server);
}

// placeholders: -1 = plain NTP, else the number of placeholders with one cookie.
void BM_Burst(benchmark::State& st) {
  Server server(crypto::make_best_engine());
  run_burst(st, server, st.range(1) < 0 ? Reason::kOkPlain : Reason::kOkNts);
}

void BM_Single(benchmark::State& st) {
  Fixture f(static_cast<int>(st.range(0)), static_cast<int>(st.range(1)));
  Server server(crypto::make_best_engine());
  CounterClock clock;
  runtime::WorkerRandom rng;
  tsc_hz();
  const std::uint64_t t0 = cpu_ns();
  for (auto _ : st) {
    for (const Request& r : f.burst) {
      const Outcome o = server.handle_request(r.bytes, r.rx, f.state, &f.ring, clock, rng, r.out);
      benchmark::DoNotOptimize(o);
    }
  }
  report(st, cpu_ns() - t0, st.range(1) < 0 ? Reason::kOkPlain : Reason::kOkNts, server);
}

// The core without crypto: what the protocol code itself costs per packet.
void BM_BurstNullCrypto(benchmark::State& st) {
  Server server(std::make_unique<NullEngine>());
  run_burst(st, server, Reason::kOkNts);
}

// Wraps the best engine and times each of its calls by position in the burst
// (cookie open, auth verify, cookie seal, response seal), to show where the
// crypto time of an NTS burst goes. rdtsc, not the thread CPU clock: that
// clock is a system call here (~1 µs), which inflated every phase by ~35 ns
// per request; TSC cycles are the units of docs/benchmarks.md's cycle table.
class TimedEngine final : public crypto::SivEngine {
 public:
  TimedEngine() : inner_(crypto::make_best_engine()) {}
  void seal(std::span<const crypto::SivOp> ops, std::span<crypto::SivStatus> st) noexcept override {
    timed([&] { inner_->seal(ops, st); });
  }
  void open(std::span<const crypto::SivOp> ops, std::span<crypto::SivStatus> st) noexcept override {
    timed([&] { inner_->open(ops, st); });
  }
  const char* name() const noexcept override { return "timed"; }
  std::array<std::uint64_t, 4> cycles{};

 private:
  template <typename F>
  void timed(F&& f) {
    const std::uint64_t t0 = __rdtsc();
    f();
    cycles[call_++ % 4] += __rdtsc() - t0;
  }
  std::unique_ptr<crypto::SivEngine> inner_;
  std::size_t call_ = 0;
};

// The four engine calls' cycles per request as counters; returns their sum.
double phase_counters(benchmark::State& st, const TimedEngine& timed) {
  const auto pkts = static_cast<double>(st.iterations() * kBurst);
  const char* names[] = {"cyc_cookie_open", "cyc_auth_verify", "cyc_cookie_seal", "cyc_resp_seal"};
  double crypto = 0;
  for (int i = 0; i < 4; ++i) {
    const double c = static_cast<double>(timed.cycles[i]) / pkts;
    st.counters[names[i]] = c;
    crypto += c;
  }
  return crypto;
}

void BM_BurstPhases(benchmark::State& st) {
  auto eng = std::make_unique<TimedEngine>();
  const TimedEngine* timed = eng.get();
  Server server(std::move(eng));  // owns the engine `timed` reads below
  run_burst(st, server, Reason::kOkNts);
  const double crypto = phase_counters(st, *timed);
  // The rest of the request: the core, at the TSC rate (report() put the
  // whole request's cycles from CPU time into cycles_per_pkt).
  st.counters["cyc_core"] = st.counters["cycles_per_pkt"].value - crypto;
}

// A full RX ring in process: `bursts` bursts of the fixture's 32 requests,
// each request in its own buffer at a DPDK mempool object's stride (2 KiB of
// data room, 128 of headroom, the mbuf and the pool's header: 2368 bytes),
// handled in turn, so that each burst's requests were last touched a whole
// ring ago (4096 requests: ~9.7 MB, past L2, on 4 KiB pages as on this VM)
// while the responses go to the same 32 buffers, as a worker's do. With
// bursts = 1 it is BM_BurstPhases. The phases as BM_BurstPhases counts them.
// xcore = 1: another thread, on the other CPU, writes every burst's
// requests into the ring ahead of the server (as a memif peer or a NIC
// does), keeping it full: the lines the core reads were last written by
// another core. xcore = 2: the same, and the next burst's requests are
// prefetched before each burst is handled (what a worker that receives one
// burst ahead could do).
void BM_BurstRing(benchmark::State& st) {
  constexpr std::size_t kStride = 2368, kHeadroom = 128 + 128;
  Fixture f(static_cast<int>(st.range(0)), static_cast<int>(st.range(1)));
  const auto bursts = static_cast<std::size_t>(st.range(2));
  const bool xcore = st.range(3) != 0;
  const bool ahead = st.range(3) == 2;
  std::vector<std::uint8_t> pool(bursts * kBurst * kStride);
  std::vector<std::array<Request, kBurst>> ring(bursts);
  // Copies burst b's requests in from `src` (the producer's own copy: the
  // fixture's request vectors share cache lines with its response vectors,
  // which the server writes).
  const auto fill = [&](std::size_t b, const std::uint8_t* src) {
    for (std::size_t i = 0; i < kBurst; ++i)
      std::memcpy(pool.data() + (b * kBurst + i) * kStride + kHeadroom, src + i * kStride, f.reqs[i].size());
  };
  std::vector<std::uint8_t> tmpl(kBurst * kStride);
  for (std::size_t i = 0; i < kBurst; ++i) std::copy(f.reqs[i].begin(), f.reqs[i].end(), tmpl.data() + i * kStride);
  for (std::size_t b = 0; b < bursts; ++b) {
    fill(b, tmpl.data());
    for (std::size_t i = 0; i < kBurst; ++i) {
      ring[b][i] = f.burst[i];
      ring[b][i].bytes = Bytes(pool.data() + (b * kBurst + i) * kStride + kHeadroom, f.reqs[i].size());
    }
  }
  auto eng = std::make_unique<TimedEngine>();
  const TimedEngine* timed = eng.get();
  Server server(std::move(eng));
  CounterClock clock;
  // The producer refills a burst once the server is done with it; `filled`
  // counts bursts written, `done` bursts handled (one writer each).
  alignas(64) std::atomic<std::uint64_t> filled{bursts};
  alignas(64) std::atomic<std::uint64_t> done{0};
  alignas(64) std::atomic<bool> stop{false};
  std::thread producer;
  cpu_set_t before;  // the benchmark thread's affinity, restored at the end
  pthread_getaffinity_np(pthread_self(), sizeof before, &before);
  if (xcore) {
    // The server stays on its CPU and the producer takes the other one.
    const int here = sched_getcpu();
    cpu_set_t mine;
    CPU_ZERO(&mine);
    CPU_SET(here, &mine);
    pthread_setaffinity_np(pthread_self(), sizeof mine, &mine);
    producer = std::thread([&, here] {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(here == 0 ? 1 : 0, &set);
      pthread_setaffinity_np(pthread_self(), sizeof set, &set);
      // Its own copy of the requests, on lines nobody else writes.
      std::vector<std::uint8_t> own(tmpl);
      while (!stop.load(std::memory_order_relaxed)) {
        const std::uint64_t n = filled.load(std::memory_order_relaxed);
        if (n - done.load(std::memory_order_acquire) >= bursts) continue;
        fill(n % bursts, own.data());
        filled.store(n + 1, std::memory_order_release);
      }
    });
  }
  runtime::WorkerRandom rng;
  std::array<Outcome, kBurst> out{};
  tsc_hz();
  std::uint64_t next = 0;
  const std::uint64_t t0 = cpu_ns();
  for (auto _ : st) {
    while (xcore && filled.load(std::memory_order_acquire) <= next) {
    }
    if (ahead) {  // the next burst's requests, a whole burst ahead
      for (const Request& r : ring[(next + 1) % bursts])
        for (std::size_t off = 0; off < r.bytes.size(); off += 64) __builtin_prefetch(r.bytes.data() + off);
    }
    server.handle_burst(ring[next % bursts], f.state, &f.ring, clock, rng, out);
    benchmark::DoNotOptimize(out);
    done.store(++next, std::memory_order_release);
  }
  const std::uint64_t ns = cpu_ns() - t0;
  stop = true;
  if (producer.joinable()) producer.join();
  pthread_setaffinity_np(pthread_self(), sizeof before, &before);
  report(st, ns, Reason::kOkNts, server);
  phase_counters(st, *timed);
}

// Interleaved mode, every request looking interleaved, 32 clients, the TX
// time stored for every answer as a worker does. Plain NTP: each request's
// origin is patched to the receive timestamp of its client's previous
// answer, so every answer after the first burst is interleaved (a take that
// hits, a save, no T3 clock read). NTS: the origin is sealed into the
// request, so every request misses the table (a take that misses, a save,
// T3 read): the same table work. Counters: the share of interleaved answers.
void BM_BurstInterleaved(benchmark::State& st) {
  Fixture f(static_cast<int>(st.range(0)), static_cast<int>(st.range(1)), true);
  Server server(crypto::make_best_engine());
  limit::Secret secret;
  secret.k0 = 1;
  secret.k1 = 2;
  xleave::Table table(65536, secret);
  CounterClock clock;
  runtime::WorkerRandom rng;
  std::array<Outcome, kBurst> out{};
  const bool plain = st.range(1) < 0;
  tsc_hz();
  const std::uint64_t t0 = cpu_ns();
  for (auto _ : st) {
    for (std::size_t i = 0; i < kBurst; ++i) {
      f.burst[i].rx += NtpTime{1} << 24;  // the next exchange's T2
      // Origin = the receive field of the client's previous answer.
      if (plain && out[i].len != 0) std::copy_n(f.outs[i].begin() + 32, 8, f.reqs[i].begin() + 24);
    }
    server.handle_burst(f.burst, f.state, &f.ring, clock, rng, out, &table);
    for (std::size_t i = 0; i < kBurst; ++i) table.set_tx(out[i].tx_ticket, f.burst[i].rx + 0x1000);
    benchmark::DoNotOptimize(out);
  }
  report(st, cpu_ns() - t0, plain ? Reason::kOkPlain : Reason::kOkNts, server);
  st.counters["interleaved_pct"] = 100.0 * static_cast<double>(server.interleaved_counters().answers) /
                                   static_cast<double>(st.iterations() * kBurst);
}

// A table, basic clients (origin 0): what interleaved mode costs everyone
// else (the flag bits, a test per request).
void BM_BurstTableBasic(benchmark::State& st) {
  Fixture f(static_cast<int>(st.range(0)), static_cast<int>(st.range(1)));
  Server server(crypto::make_best_engine());
  limit::Secret secret;
  xleave::Table table(65536, secret);
  CounterClock clock;
  runtime::WorkerRandom rng;
  std::array<Outcome, kBurst> out{};
  tsc_hz();
  const std::uint64_t t0 = cpu_ns();
  for (auto _ : st) {
    server.handle_burst(f.burst, f.state, &f.ring, clock, rng, out, &table);
    benchmark::DoNotOptimize(out);
  }
  report(st, cpu_ns() - t0, st.range(1) < 0 ? Reason::kOkPlain : Reason::kOkNts, server);
}

// main's runtime::BufferedRandom before the fast-key-erasure generator (kept
// here as the reference BM_RandomFill compares against): a 16 KiB buffer
// refilled by RAND_bytes, copied out and wiped.
class RandBytesBuffer final : public Random {
 public:
  void fill(MutBytes out) noexcept override {
    std::size_t done = 0;
    while (done < out.size()) {
      if (pos_ == sizeof buf_) {
        if (RAND_bytes(buf_, sizeof buf_) != 1) std::abort();
        pos_ = 0;
      }
      const std::size_t n = std::min(out.size() - done, sizeof buf_ - pos_);
      std::memcpy(out.data() + done, buf_ + pos_, n);
      std::memset(buf_ + pos_, 0, n);
      pos_ += n;
      done += n;
    }
  }

 private:
  std::uint8_t buf_[16384];
  std::size_t pos_ = sizeof buf_;
};

// crypto::FkeRandom with the OpenSSL backend (what a CPU without VAES runs).
class FkeOpenSsl final : public Random {
 public:
  void fill(MutBytes out) noexcept override { gen_.fill(out); }

 private:
  static constexpr std::uint8_t kKey[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  crypto::FkeRandom gen_{crypto::FkeRandom::ForTestsOnly{}, kKey,
                         crypto::FkeRandom::Backend::kOpenSsl};
};

// One fill of `bytes` (a burst's nonces are ~1-2 KiB) from: 0 the old
// RAND_bytes buffer, 1 runtime::WorkerRandom (VAES here), 2 FkeRandom's
// OpenSSL fallback. TSC cycles per call: the mean (refills included) and the
// median of every call timed alone (rdtsc around it).
void BM_RandomFill(benchmark::State& st) {
  std::unique_ptr<Random> rng;
  if (st.range(0) == 0)
    rng = std::make_unique<RandBytesBuffer>();
  else if (st.range(0) == 1)
    rng = std::make_unique<runtime::WorkerRandom>();
  else
    rng = std::make_unique<FkeOpenSsl>();
  std::vector<std::uint8_t> buf(static_cast<std::size_t>(st.range(1)));
  std::vector<std::uint32_t> samples;
  samples.reserve(1 << 20);
  std::uint64_t total = 0;
  for (auto _ : st) {
    const std::uint64_t t0 = __rdtsc();
    rng->fill(MutBytes(buf.data(), buf.size()));
    const std::uint64_t d = __rdtsc() - t0;
    benchmark::DoNotOptimize(buf.data());
    total += d;
    if (samples.size() < samples.capacity()) samples.push_back(static_cast<std::uint32_t>(d));
  }
  std::nth_element(samples.begin(), samples.begin() + samples.size() / 2, samples.end());
  st.counters["cyc_median"] = samples.empty() ? 0 : samples[samples.size() / 2];
  st.counters["cyc_mean"] = static_cast<double>(total) / static_cast<double>(st.iterations());
  st.counters["cyc_per_byte"] = st.counters["cyc_mean"].value / static_cast<double>(buf.size());
  st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations()) * st.range(1));
}

// AEAD 15 and AEAD 30 side by side (plain NTP once: it has no AEAD).
BENCHMARK(BM_BurstPhases)
    ->ArgNames({"aead", "placeholders"})
    ->ArgsProduct({{15, 30}, {0, 3}});
BENCHMARK(BM_Burst)
    ->ArgNames({"aead", "placeholders"})
    ->Args({15, -1})
    ->ArgsProduct({{15, 30}, {0, 3}});
BENCHMARK(BM_BurstNullCrypto)
    ->ArgNames({"aead", "placeholders"})
    ->ArgsProduct({{15, 30}, {0, 3}});
BENCHMARK(BM_Single)
    ->ArgNames({"aead", "placeholders"})
    ->Args({15, -1})
    ->ArgsProduct({{15, 30}, {0, 3}});
BENCHMARK(BM_BurstRing)
    ->ArgNames({"aead", "placeholders", "bursts", "xcore"})
    ->Args({15, 0, 1, 0})
    ->Args({15, 0, 128, 0})
    ->Args({15, 0, 128, 1})
    ->Args({15, 0, 128, 2});
BENCHMARK(BM_RandomFill)
    ->ArgNames({"impl", "bytes"})
    ->ArgsProduct({{0, 1, 2}, {32, 1024, 2048, 16384}});
// Interleaved mode: plain NTP and NTS with one cookie, AEAD 15 and 30.
BENCHMARK(BM_BurstInterleaved)
    ->ArgNames({"aead", "placeholders"})
    ->Args({15, -1})
    ->ArgsProduct({{15, 30}, {0}});
BENCHMARK(BM_BurstTableBasic)
    ->ArgNames({"aead", "placeholders"})
    ->Args({15, -1})
    ->ArgsProduct({{15, 30}, {0}});

}  // namespace
}  // namespace ntsd::proto

BENCHMARK_MAIN();
