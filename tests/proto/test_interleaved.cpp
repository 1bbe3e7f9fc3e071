// Interleaved mode (RFC 9769 §2) in the protocol core and the client: the
// fields of an interleaved answer, every fallback to basic, NTS, and single
// vs burst with a table.
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "ntsd/proto/client.hpp"
#include "proto_fixtures.hpp"
#include "xleave_mix.hpp"

namespace ntsd::proto {
namespace {

using testing::FakeClock;
using testing::SeededRandom;
using Buf = std::vector<std::uint8_t>;

constexpr NtpTime kSec = NtpTime{1} << 32;
constexpr NtpTime kT0 = 0xe600'0000'0000'0000ull;

limit::Address ip4(std::uint8_t d) {
  const std::array<std::uint8_t, 4> a{192, 0, 2, d};
  return limit::Address::from_ip4(a);
}

limit::Secret secret() {
  limit::Secret s;
  s.k0 = 11;
  s.k1 = 22;
  return s;
}

NtpHeader header_of(const Buf& b) {
  NtpHeader h;
  EXPECT_TRUE(parse_header(b, h));
  return h;
}

// One server with a table; a client's exchanges through it (plain NTP). The
// server receives 1 ms after the client sends, the response leaves 20 us
// later (the "actual" TX time handed to set_tx) and arrives 1 ms after that.
struct Interleaved : ::testing::Test {
  Interleaved() : server(crypto::make_scalar_engine()), table(1024, secret()) {
    state.leap = 0;
    state.stratum = 1;
  }

  struct Exchange {
    Buf resp;
    Outcome o;
    Response r;
    NtpTime t1 = 0, t2 = 0, tx = 0, t4 = 0;
  };

  Exchange plain(InterleavedAssociation& a, NtpTime t1, std::uint8_t addr = 1, std::uint16_t port = 40000,
                 bool capture_tx = true, std::uint8_t version = 4) {
    Exchange e;
    Buf req(kHeaderLen);
    PendingRequest pend;
    build_plain_request(t1, req, pend, version, 0, a.next_origin(), a.next_receive());
    e.resp.assign(req.size(), 0);
    e.t1 = t1;
    e.t2 = t1 + kSec / 1000;
    Request q{req, e.t2, e.resp};
    q.client = ip4(addr);
    q.port = port;
    e.o = server.handle_request(q, state, nullptr, clock, rng, &table);
    e.resp.resize(e.o.len);
    e.tx = e.t2 + kSec / 50000;
    if (capture_tx && e.o.tx_ticket != xleave::kNoTicket) table.set_tx(e.o.tx_ticket, e.tx);
    e.t4 = e.tx + kSec / 1000;
    e.r = verify_plain_response(e.resp, pend, e.t4);
    return e;
  }

  Server server;
  xleave::Table table;
  ServerState state;
  FakeClock clock{kT0 + 500 * kSec};
  SeededRandom rng{3};
};

TEST_F(Interleaved, ThirdExchangeIsInterleavedWithTheTrueTransmitTime) {
  InterleavedAssociation a;
  Response sample;
  // 1: origin 0, a plain basic request: nothing is saved.
  const auto e1 = plain(a, kT0 + 10 * kSec);
  ASSERT_EQ(e1.r.status, ClientStatus::kOk);
  EXPECT_FALSE(e1.o.interleaved);
  EXPECT_EQ(e1.o.tx_ticket, xleave::kNoTicket);
  // The flags: receive has the low bit set, transmit has it clear.
  const NtpHeader h1 = header_of(e1.resp);
  EXPECT_EQ(h1.receive, e1.t2 | 1);
  EXPECT_EQ(h1.transmit & 1, 0u);
  ASSERT_TRUE(a.update(e1.r, e1.t1, sample));
  EXPECT_FALSE(sample.interleaved);
  // 2: origin = the receive timestamp of answer 1: looks interleaved, but
  // nothing was saved for it -> basic, and this answer is saved.
  const auto e2 = plain(a, kT0 + 11 * kSec);
  ASSERT_EQ(e2.r.status, ClientStatus::kOk);
  EXPECT_FALSE(e2.o.interleaved);
  EXPECT_NE(e2.o.tx_ticket, xleave::kNoTicket);
  EXPECT_EQ(server.interleaved_counters().basic[static_cast<std::size_t>(xleave::Miss::kUnknown)], 1u);
  ASSERT_TRUE(a.update(e2.r, e2.t1, sample));
  // 3: interleaved: transmit = the actual TX time of answer 2, origin = our
  // receive field, receive = this exchange's T2.
  const NtpTime receive_field = a.next_receive();
  const auto e3 = plain(a, kT0 + 12 * kSec);
  ASSERT_EQ(e3.r.status, ClientStatus::kOk) << client_status_name(e3.r.status);
  EXPECT_TRUE(e3.o.interleaved);
  EXPECT_TRUE(e3.r.interleaved);
  const NtpHeader h3 = header_of(e3.resp);
  EXPECT_EQ(h3.origin, receive_field);
  EXPECT_EQ(h3.receive, e3.t2 | 1);
  EXPECT_EQ(h3.transmit, e2.tx & ~NtpTime{1});
  EXPECT_EQ(server.interleaved_counters().answers, 1u);
  // The sample pairs answer 3's T3 with exchange 2: delay = the two 1 ms
  // paths, offset 0 (same clock), to the 32.32 rounding of the flag bits.
  ASSERT_TRUE(a.update(e3.r, e3.t1, sample));
  EXPECT_TRUE(sample.interleaved);
  EXPECT_EQ(sample.t1, e2.t1);
  EXPECT_EQ(sample.t3, e2.tx & ~NtpTime{1});
  EXPECT_NEAR(sample.delay_s(), 0.002, 1e-8);
  EXPECT_NEAR(sample.offset_s(), 0.0, 1e-8);
  // And it stays interleaved.
  for (int i = 0; i < 5; ++i) {
    const auto e = plain(a, kT0 + (13 + i) * kSec, 1, static_cast<std::uint16_t>(41000 + i));  // new port each time
    EXPECT_TRUE(e.o.interleaved) << i;
    ASSERT_TRUE(a.update(e.r, e.t1, sample));
  }
}

TEST_F(Interleaved, WithoutATableNothingChanges) {
  Buf req(kHeaderLen), r1(kHeaderLen), r2(kHeaderLen);
  PendingRequest pend;
  build_plain_request(kT0 + kSec, req, pend, 4, 0, kT0 + 3, kT0 + 7);
  FakeClock c1(kT0 + 9 * kSec), c2(kT0 + 9 * kSec);
  Request q{req, kT0 + 2 * kSec, r1};
  const Outcome o1 = server.handle_request(q, state, nullptr, c1, rng, nullptr);
  const Outcome o2 = server.handle_request(req, kT0 + 2 * kSec, state, nullptr, c2, rng, r2);
  EXPECT_EQ(r1, r2);
  EXPECT_EQ(o1.len, o2.len);
  EXPECT_FALSE(o1.interleaved);
  EXPECT_EQ(o1.tx_ticket, xleave::kNoTicket);
  const NtpHeader h = header_of(r1);
  EXPECT_EQ(h.receive, kT0 + 2 * kSec);  // no flag bit
  EXPECT_EQ(h.origin, kT0 + kSec);
}

TEST_F(Interleaved, NoTxTimestampGivesBasic) {
  InterleavedAssociation a;
  Response s;
  auto e = plain(a, kT0 + kSec);
  a.update(e.r, e.t1, s);
  e = plain(a, kT0 + 2 * kSec, 1, 40000, /*capture_tx=*/false);
  a.update(e.r, e.t1, s);
  e = plain(a, kT0 + 3 * kSec);
  EXPECT_FALSE(e.o.interleaved);
  EXPECT_FALSE(e.r.interleaved);
  EXPECT_EQ(e.r.status, ClientStatus::kOk);  // a basic answer the client accepts
  EXPECT_EQ(server.interleaved_counters().basic[static_cast<std::size_t>(xleave::Miss::kNoTx)], 1u);
  a.update(e.r, e.t1, s);
  e = plain(a, kT0 + 4 * kSec);
  EXPECT_TRUE(e.o.interleaved);  // recovered on its own (RFC 9769 §2)
}

TEST_F(Interleaved, AnotherClientsOriginGetsBasic) {
  InterleavedAssociation a;
  Response s;
  for (int i = 0; i < 2; ++i) {
    auto e = plain(a, kT0 + (1 + i) * kSec, 1);
    a.update(e.r, e.t1, s);
  }
  // Client 2 (another address) copies client 1's next origin and receive.
  Buf req(kHeaderLen), resp(kHeaderLen);
  PendingRequest pend;
  build_plain_request(kT0 + 5 * kSec, req, pend, 4, 0, a.next_origin(), 12345);
  Request q{req, kT0 + 5 * kSec, resp};
  q.client = ip4(2);
  q.port = 40000;
  const Outcome o = server.handle_request(q, state, nullptr, clock, rng, &table);
  EXPECT_FALSE(o.interleaved);
  EXPECT_EQ(header_of(resp).origin, kT0 + 5 * kSec);  // a basic answer to client 2's own T1
  EXPECT_EQ(server.interleaved_counters().basic[static_cast<std::size_t>(xleave::Miss::kUnknown)], 2u);
  // Client 1's entry was not consumed by the attempt.
  const auto e = plain(a, kT0 + 6 * kSec, 1);
  EXPECT_TRUE(e.o.interleaved);
}

TEST_F(Interleaved, EvictedEntryGivesBasicNeverAWrongOne) {
  xleave::Table tiny(4, secret());  // one bucket of 4
  std::vector<InterleavedAssociation> as(6);
  Response s;
  const auto exchange = [&](std::size_t c, NtpTime t1) {
    Buf req(kHeaderLen), resp(kHeaderLen);
    PendingRequest pend;
    build_plain_request(t1, req, pend, 4, 0, as[c].next_origin(), as[c].next_receive());
    Request q{req, t1 + 1000, resp};
    q.client = ip4(static_cast<std::uint8_t>(10 + c));
    q.port = 123;
    const Outcome o = server.handle_request(q, state, nullptr, clock, rng, &tiny);
    if (o.tx_ticket) tiny.set_tx(o.tx_ticket, t1 + 5000);
    const Response r = verify_plain_response(resp, pend, t1 + 9000);
    EXPECT_EQ(r.status, ClientStatus::kOk);
    EXPECT_FALSE(r.interleaved);
    as[c].update(r, t1, s);
    return o;
  };
  std::size_t interleaved = 0;
  for (int round = 0; round < 5; ++round)
    for (std::size_t c = 0; c < as.size(); ++c) interleaved += exchange(c, kT0 + (round * 10 + c) * kSec).interleaved;
  // Six clients, four ways: the oldest entries are evicted before their
  // clients come back, so every answer is basic.
  EXPECT_EQ(interleaved, 0u);
  EXPECT_GT(tiny.counters().evictions, 0u);
}

TEST_F(Interleaved, Version3IsNeverInterleaved) {
  InterleavedAssociation a;
  Response s;
  for (int i = 0; i < 4; ++i) {
    const auto e = plain(a, kT0 + (1 + i) * kSec, 1, 40000, true, 3);
    EXPECT_FALSE(e.o.interleaved);
    EXPECT_EQ(e.o.tx_ticket, xleave::kNoTicket);
    a.update(e.r, e.t1, s);
  }
}

// NTS: an interleaved answer is authenticated and carries fresh cookies.
TEST_F(Interleaved, NtsInterleavedIsAuthenticatedWithNewCookies) {
  const auto ring = *testing::example_ring();
  const crypto::SivKey c2s = testing::key_from_hex(testing::kExampleC2s);
  const crypto::SivKey s2c = testing::key_from_hex(testing::kExampleS2c);
  const Buf cookie = testing::hex(testing::kExampleCookie);
  Client client(crypto::make_scalar_engine());
  SeededRandom crng(5);
  InterleavedAssociation a;
  Response s;
  for (int i = 0; i < 4; ++i) {
    const NtpTime t1 = kT0 + (1 + i) * kSec;
    Buf req(nts_request_len(cookie.size(), 2)), resp(req.size());
    PendingRequest pend;
    NtsRequestSpec spec{&c2s, cookie, 2, t1, 0, a.next_origin(), a.next_receive()};
    ASSERT_EQ(client.build_nts_request(spec, crng, req, pend), req.size());
    Request q{req, t1 + 100, resp};
    q.client = ip4(7);
    q.port = 555;
    const Outcome o = server.handle_request(q, state, &ring, clock, rng, &table);
    ASSERT_EQ(o.reason, Reason::kOkNts);
    if (o.tx_ticket) table.set_tx(o.tx_ticket, t1 + 200);
    resp.resize(o.len);
    const Response r = client.verify_nts_response(resp, pend, s2c, t1 + 300);
    ASSERT_EQ(r.status, ClientStatus::kOk) << client_status_name(r.status);
    EXPECT_EQ(r.cookie_count, 3u);
    EXPECT_EQ(r.interleaved, i >= 2) << i;
    EXPECT_EQ(o.interleaved, i >= 2) << i;
    if (r.interleaved) {
      EXPECT_EQ(r.t3, (t1 - kSec + 200) & ~NtpTime{1});  // the previous answer's TX time
    }
    a.update(r, t1, s);
  }
}

// Single and burst give identical bytes, outcomes, tickets and counters
// with a table (DESIGN §1), with the scalar engine on both sides and with
// the best engine in the burst.
TEST(InterleavedBurst, IdenticalToSingle) {
  for (std::uint64_t seed : {1u, 2u, 3u, 99u}) {
    const auto a = testing::run_xleave_rounds(seed, false, crypto::make_scalar_engine(), 40, 12);
    const auto b = testing::run_xleave_rounds(seed, true, crypto::make_best_engine(), 40, 12);
    ASSERT_EQ(a.responses.size(), b.responses.size());
    for (std::size_t i = 0; i < a.responses.size(); ++i) {
      ASSERT_EQ(a.responses[i], b.responses[i]) << "seed " << seed << " response " << i;
      ASSERT_EQ(a.outcomes[i].reason, b.outcomes[i].reason);
      ASSERT_EQ(a.outcomes[i].interleaved, b.outcomes[i].interleaved);
      ASSERT_EQ(a.outcomes[i].tx_ticket, b.outcomes[i].tx_ticket);
    }
    EXPECT_EQ(a.counters.answers, b.counters.answers);
    EXPECT_EQ(a.counters.basic, b.counters.basic);
    EXPECT_EQ(a.table.evictions, b.table.evictions);
    EXPECT_EQ(a.clock_calls, b.clock_calls);
    EXPECT_EQ(a.random_bytes, b.random_bytes);
    // The mix exercised interleaved answers and every fallback.
    EXPECT_GT(a.counters.answers, 20u) << seed;
    EXPECT_GT(a.counters.basic[static_cast<std::size_t>(xleave::Miss::kUnknown)], 0u);
    EXPECT_GT(a.counters.basic[static_cast<std::size_t>(xleave::Miss::kNoTx)], 0u);
    EXPECT_GT(a.table.evictions, 0u);
  }
}

}  // namespace
}  // namespace ntsd::proto
