// Rounds of interleaved-mode traffic for the single-vs-burst checks (gtest
// and fuzzer): K clients on fewer addresses (so some share one), each round
// one request per client, plain or NTS, basic or interleaved (origin = the
// receive timestamp of its last answer), some with another client's origin
// (spoofed), some v3, some sharing a receive timestamp with the previous
// client (one burst, one software T2). Between rounds most tickets get a TX
// time, some never do (no TX timestamp captured). Everything is derived from
// the seed and the server's own answers, so two runs that answer alike see
// the same traffic.
#pragma once

#include <memory>
#include <vector>

#include "ntsd/proto/client.hpp"
#include "ntsd/xleave/table.hpp"
#include "proto_fixtures.hpp"

namespace ntsd::proto::testing {

struct XleaveRun {
  std::vector<std::vector<std::uint8_t>> responses;  // every answer, round by round
  std::vector<Outcome> outcomes;
  InterleavedCounters counters;
  xleave::Counters table;
  int clock_calls = 0;
  std::uint64_t random_bytes = 0;
};

inline XleaveRun run_xleave_rounds(std::uint64_t seed, bool burst, std::unique_ptr<crypto::SivEngine> engine,
                                   std::size_t clients, std::size_t rounds, std::size_t table_entries = 64) {
  static const crypto::SivKey c2s = key_from_hex(kExampleC2s);
  static const std::vector<std::uint8_t> cookie = hex(kExampleCookie);
  static const crypto::KeyRing ring = *example_ring();
  constexpr NtpTime kSec = NtpTime{1} << 32;
  Server server(std::move(engine));
  Client client(crypto::make_scalar_engine());
  limit::Secret secret;
  secret.k0 = seed;
  secret.k1 = ~seed;
  xleave::Table table(table_entries, secret);
  SeededRandom gen(seed), crng(seed + 1), srng(seed + 2);
  FakeClock clock(0xe600'0000'0000'0000ull, 0x2000);
  ServerState st;
  st.leap = 0;
  st.stratum = 1;
  std::vector<NtpTime> last_rx(clients, 0);  // receive field of the client's last answer
  XleaveRun run;
  for (std::size_t r = 0; r < rounds; ++r) {
    std::vector<std::vector<std::uint8_t>> reqs(clients), outs(clients);
    std::vector<Request> rq(clients);
    NtpTime rx = 0xe600'0000'0000'0000ull + (r + 1) * kSec;
    for (std::size_t c = 0; c < clients; ++c) {
      const std::uint64_t g = gen.next();
      const unsigned kind = static_cast<unsigned>(g % 10);
      NtpTime origin = kind == 0 ? 0 : last_rx[c];
      if (kind == 7 && clients > 1) origin = last_rx[(c + 1) % clients];  // spoofed
      if (kind == 8) origin ^= 2;                                         // stale / mangled
      const NtpTime receive = g | 0x8000'0000ull;                          // nonzero, != transmit
      const NtpTime t1 = gen.next();
      PendingRequest pend;
      if (kind <= 3 || kind >= 7) {
        reqs[c].resize(kHeaderLen);
        build_plain_request(t1, reqs[c], pend, kind == 9 ? 3 : 4, 0, origin, receive);
      } else {
        const auto ph = static_cast<std::uint8_t>((g >> 8) % 3);
        reqs[c].resize(nts_request_len(cookie.size(), ph));
        NtsRequestSpec spec{&c2s, cookie, ph, t1, 0, origin, receive};
        client.build_nts_request(spec, crng, reqs[c], pend);
      }
      outs[c].assign(reqs[c].size(), 0xcc);
      if ((g >> 16) % 4 != 0) rx += 0x1000;  // else: the same T2 as the client before
      Request q{reqs[c], rx, outs[c]};
      // Two clients per address where there are enough: ports tell them apart.
      const std::uint8_t a = static_cast<std::uint8_t>(c / 2);
      const std::array<std::uint8_t, 4> ip{198, 18, 0, a};
      q.client = limit::Address::from_ip4(ip);
      q.port = static_cast<std::uint16_t>(20000 + c);
      rq[c] = q;
    }
    std::vector<Outcome> o(clients);
    if (burst) {
      server.handle_burst(rq, st, &ring, clock, srng, o, &table);
    } else {
      for (std::size_t c = 0; c < clients; ++c) o[c] = server.handle_request(rq[c], st, &ring, clock, srng, &table);
    }
    for (std::size_t c = 0; c < clients; ++c) {
      outs[c].resize(o[c].len);
      if (o[c].verdict == Verdict::kRespond && o[c].len >= kHeaderLen) {
        NtpHeader h;
        parse_header(outs[c], h);
        last_rx[c] = h.receive;
      }
      // Most responses get their TX time; one in 6 never does.
      if (o[c].tx_ticket != xleave::kNoTicket && gen.next() % 6 != 0)
        table.set_tx(o[c].tx_ticket, rq[c].rx + 0x10000 + c);
      run.responses.push_back(outs[c]);
      run.outcomes.push_back(o[c]);
    }
  }
  run.counters = server.interleaved_counters();
  run.table = table.counters();
  run.clock_calls = clock.calls;
  run.random_bytes = srng.bytes;
  return run;
}

}  // namespace ntsd::proto::testing
