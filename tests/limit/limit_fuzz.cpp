// libFuzzer: is_plain_request on any bytes, and a small limiter driven by the
// input (addresses, families, time steps back and forth): nothing out of
// bounds, every check is counted exactly once.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "ntsd/limit/limiter.hpp"

using namespace ntsd::limit;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  (void)is_plain_request(in);
  if (size < 4) return 0;
  Params p;
  p.interval = static_cast<int>(data[0] % 23) - 10;
  p.burst = 1 + data[1] % 16;
  p.leak = data[2] % 9;
  p.ipv6_prefix = 1 + data[3] % 128;
  p.ipv4_prefix = 1 + data[3] % 32;
  p.table_size = 16;
  Limiter l(p, Secret{1, 2, 3});
  std::uint64_t now = std::uint64_t{3'900'000'000} << 32;
  std::uint64_t checks = 0;
  for (std::size_t off = 4; off + 18 <= size; off += 18, ++checks) {
    const std::uint8_t flags = data[off];
    // Time moves by up to +-2^(flags & 63) NTP units, sometimes backwards.
    const std::uint64_t step = std::uint64_t{data[off + 1]} << (flags & 31);
    now = (flags & 0x80) ? now - step : now + step;
    const auto addr = in.subspan(off + 2).first<16>();
    const Address a = (flags & 0x40) ? Address::from_ip6(addr) : Address::from_ip4(addr.first<4>());
    const Decision d = l.check(a, now);
    if (d != Decision::kAllow && d != Decision::kLeak && d != Decision::kLimit) std::abort();
  }
  const Counters& c = l.counters();
  if (c.allowed + c.leaked + c.limited != checks) std::abort();
  if (c.inserts + c.evictions > checks) std::abort();
  return 0;
}
