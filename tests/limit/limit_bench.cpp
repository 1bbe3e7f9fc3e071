// Cost of one rate-limit check (hash + one bucket), warm and with a table
// far larger than the cache. Not a test: run build/tests/limit_bench.
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <vector>

#include "ntsd/limit/limiter.hpp"

using namespace ntsd::limit;

namespace {

std::vector<Address> clients(std::size_t n) {
  std::vector<Address> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::array<std::uint8_t, 4> a{static_cast<std::uint8_t>(10 + (i >> 24)), static_cast<std::uint8_t>(i >> 16),
                                        static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)};
    v[i] = Address::from_ip4(std::span<const std::uint8_t, 4>(a));
  }
  return v;
}

// state.range(0) distinct clients against a table of state.range(1) entries,
// one request each per round, time advancing 1 us per request.
void BM_Check(benchmark::State& state) {
  Params p;
  p.table_size = static_cast<std::size_t>(state.range(1));
  Limiter l(p, Secret::random());
  const auto cs = clients(static_cast<std::size_t>(state.range(0)));
  std::uint64_t now = std::uint64_t{3'900'000'000} << 32;
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(l.check(cs[i], now));
    if (++i == cs.size()) i = 0;
    now += 4295;  // ~1 us in NTP 32.32
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_Check)->Args({1, 4096})->Args({4096, 4096})->Args({1 << 20, 65536})->Args({1 << 20, 1 << 20});

void BM_Hash(benchmark::State& state) {
  Limiter l(Params{}, Secret::random());
  const auto cs = clients(1024);
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(l.hash(cs[i]));
    i = (i + 1) & 1023;
  }
}
BENCHMARK(BM_Hash);

}  // namespace

BENCHMARK_MAIN();
