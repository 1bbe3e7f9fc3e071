// Fuzz: handle_burst gives byte-identical results to handle_request called
// once per packet, on bursts mixing fuzz-chosen raw packets with generated
// plain/NTS/NAK requests, with the scalar engine on one side and the best
// (multi-buffer) engine on the other, and once more answering in place.
// Half of the inputs (by the top bit of data[8]) mix AEAD-30 requests in
// (AES-128-GCM-SIV sessions, cookies under a GCM-SIV or AES-SIV master key).
// Then interleaved mode: rounds of traffic from the seed through a table
// (xleave_mix.hpp), single against burst.
#include <algorithm>
#include <cstdlib>
#include <vector>

#include "burst_mix.hpp"
#include "xleave_mix.hpp"

using namespace ntsd::proto;

namespace {
void require(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Server single(ntsd::crypto::make_scalar_engine());
  static Server burst(ntsd::crypto::make_best_engine());
  static const auto ring15 = *testing::example_ring();
  static const auto ring30 = *testing::aead30_ring();
  if (size < 9) return 0;
  const bool aead30 = (data[8] & 0x80) != 0;
  const auto& ring = aead30 ? ring30 : ring15;
  std::uint64_t seed = 0;
  for (int i = 0; i < 8; ++i) seed = seed << 8 | data[i];
  testing::SeededRandom gen(seed);
  const std::size_t n = 1 + (data[8] & 0x7f) % 48;
  auto reqs = testing::mixed_requests(gen, n, aead30);
  // The rest of the input: raw packets, each a length byte then bytes,
  // overwriting generated slots so the burst mixes both kinds.
  std::size_t pos = 9, slot = 0;
  while (pos < size && slot < n) {
    const std::size_t len = std::min<std::size_t>(data[pos] * 2u, size - pos - 1);
    reqs[slot].assign(data + pos + 1, data + pos + 1 + len);
    pos += 1 + len;
    slot += 1 + data[pos - len - 1] % 3;
  }
  ServerState st;
  testing::FakeClock c1, c2;
  testing::SeededRandom r1(seed ^ 1), r2(seed ^ 1);
  std::vector<std::vector<std::uint8_t>> o1(n), o2(n);
  std::vector<Request> rq(n);
  std::vector<Outcome> out1(n), out2(n);
  for (std::size_t i = 0; i < n; ++i) {
    o1[i].assign(reqs[i].size(), 0);
    o2[i].assign(reqs[i].size(), 0);
    out1[i] = single.handle_request(reqs[i], 5 + i, st, &ring, c1, r1, o1[i]);
    rq[i] = Request{reqs[i], 5 + i, o2[i]};
  }
  burst.handle_burst(rq, st, &ring, c2, r2, out2);
  for (std::size_t i = 0; i < n; ++i) {
    require(out1[i].verdict == out2[i].verdict && out1[i].reason == out2[i].reason &&
            out1[i].len == out2[i].len);
    require(o1[i] == o2[i]);
    require(out1[i].len <= reqs[i].size());
  }
  require(c1.calls == c2.calls && r1.bytes == r2.bytes);
  // Once more in place (each request's own buffer is its out buffer).
  testing::FakeClock c3;
  testing::SeededRandom r3(seed ^ 1);
  auto inplace = reqs;
  for (std::size_t i = 0; i < n; ++i) rq[i] = Request{inplace[i], 5 + i, inplace[i]};
  burst.handle_burst(rq, st, &ring, c3, r3, out2);
  for (std::size_t i = 0; i < n; ++i) {
    require(out1[i].reason == out2[i].reason && out1[i].len == out2[i].len);
    require(std::equal(o1[i].begin(), o1[i].begin() + out1[i].len, inplace[i].begin()));
  }
  // Interleaved mode: a table of 4..64 entries (evictions), up to 24 clients.
  const std::size_t clients = 1 + data[8] % 24, entries = std::size_t{4} << (data[8] >> 5) % 5;
  const auto xa = testing::run_xleave_rounds(seed, false, ntsd::crypto::make_scalar_engine(), clients, 4, entries);
  const auto xb = testing::run_xleave_rounds(seed, true, ntsd::crypto::make_best_engine(), clients, 4, entries);
  require(xa.responses == xb.responses && xa.outcomes.size() == xb.outcomes.size());
  for (std::size_t i = 0; i < xa.outcomes.size(); ++i)
    require(xa.outcomes[i].reason == xb.outcomes[i].reason && xa.outcomes[i].interleaved == xb.outcomes[i].interleaved &&
            xa.outcomes[i].tx_ticket == xb.outcomes[i].tx_ticket);
  require(xa.counters.answers == xb.counters.answers && xa.counters.basic == xb.counters.basic);
  require(xa.clock_calls == xb.clock_calls && xa.random_bytes == xb.random_bytes);
  return 0;
}
