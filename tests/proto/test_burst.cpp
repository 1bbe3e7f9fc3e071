// handle_burst is byte-identical to handle_request called N times with the
// same inputs, clock and random bytes (DESIGN §1), on random mixed bursts.
#include <gtest/gtest.h>

#include <algorithm>

#include "burst_mix.hpp"
#include "proto_fixtures.hpp"

namespace ntsd::proto {
namespace {

void check_identical(std::uint64_t seed, std::size_t n,
                     std::unique_ptr<crypto::SivEngine> burst_engine, bool aead30 = false) {
  const auto ring = aead30 ? *testing::aead30_ring() : *testing::example_ring();
  testing::SeededRandom gen(seed);
  const auto reqs = testing::mixed_requests(gen, n, aead30);
  ServerState st;
  st.leap = 0;
  st.stratum = 1;

  Server single(crypto::make_scalar_engine());
  testing::FakeClock c1;
  testing::SeededRandom r1(seed + 1);
  std::vector<std::vector<std::uint8_t>> out1(n);
  std::vector<Outcome> o1(n);
  for (std::size_t i = 0; i < n; ++i) {
    out1[i].assign(reqs[i].size(), 0xcc);
    o1[i] = single.handle_request(reqs[i], 1000 + i, st, &ring, c1, r1, out1[i]);
  }

  Server burst(std::move(burst_engine));
  testing::FakeClock c2;
  testing::SeededRandom r2(seed + 1);
  std::vector<std::vector<std::uint8_t>> out2(n);
  std::vector<Request> rq(n);
  for (std::size_t i = 0; i < n; ++i) {
    out2[i].assign(reqs[i].size(), 0xcc);
    rq[i] = Request{reqs[i], 1000 + i, out2[i]};
  }
  std::vector<Outcome> o2(n);
  burst.handle_burst(rq, st, &ring, c2, r2, o2);

  std::size_t nts = 0, naks = 0;
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_EQ(o1[i].verdict, o2[i].verdict) << i;
    ASSERT_EQ(o1[i].reason, o2[i].reason) << i;
    ASSERT_EQ(o1[i].len, o2[i].len) << i;
    ASSERT_LE(o1[i].len, reqs[i].size());
    ASSERT_EQ(out1[i], out2[i]) << "packet " << i << " " << reason_name(o1[i].reason);
    nts += o1[i].reason == Reason::kOkNts;
    naks += o1[i].verdict == Verdict::kNak;
  }
  EXPECT_EQ(c1.calls, c2.calls);
  EXPECT_EQ(r1.bytes, r2.bytes);
  EXPECT_EQ(single.counters().n, burst.counters().n);
  // The mix really exercised NTS and NAKs.
  EXPECT_GT(nts, n / 8);
  EXPECT_GT(naks, 0u);
}

// Answering in the request's own buffer gives the same bytes as a separate one.
TEST(Burst, InPlaceMatchesSeparateBuffers) {
  const auto ring = *testing::example_ring();
  testing::SeededRandom gen(5);
  auto reqs = testing::mixed_requests(gen, 48);
  ServerState st;
  Server server(crypto::make_best_engine());
  testing::FakeClock c1, c2;
  testing::SeededRandom r1(9), r2(9);
  std::vector<std::vector<std::uint8_t>> sep(reqs.size());
  std::vector<Request> a(reqs.size()), b(reqs.size());
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    sep[i].assign(reqs[i].size(), 0);
    a[i] = Request{reqs[i], 10 + i, sep[i]};
  }
  std::vector<Outcome> oa(reqs.size()), ob(reqs.size());
  server.handle_burst(a, st, &ring, c1, r1, oa);
  auto inplace = reqs;
  for (std::size_t i = 0; i < reqs.size(); ++i) b[i] = Request{inplace[i], 10 + i, inplace[i]};
  server.handle_burst(b, st, &ring, c2, r2, ob);
  std::size_t nts = 0;
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    ASSERT_EQ(oa[i].reason, ob[i].reason) << i;
    ASSERT_EQ(oa[i].len, ob[i].len) << i;
    EXPECT_TRUE(std::equal(sep[i].begin(), sep[i].begin() + oa[i].len, inplace[i].begin())) << i;
    nts += oa[i].reason == Reason::kOkNts;
  }
  EXPECT_GT(nts, 0u);
}

// Counts fill() calls; the bytes are a seeded stream.
class CountingRandom final : public Random {
 public:
  void fill(MutBytes out) noexcept override {
    ++calls;
    inner.fill(out);
  }
  testing::SeededRandom inner{11};
  int calls = 0;
};

// The nonces of a whole burst come from one Random call (one virtual call
// per burst, not two per packet), 16 bytes per new cookie and per response.
TEST(Burst, OneRandomCallPerBurst) {
  const auto ring = *testing::example_ring();
  const crypto::SivKey c2s = testing::key_from_hex(testing::kExampleC2s);
  const auto cookie = testing::hex(testing::kExampleCookie);
  Client client(crypto::make_scalar_engine());
  testing::SeededRandom gen(3);
  constexpr std::size_t kN = 24;
  std::vector<std::vector<std::uint8_t>> reqs(kN), outs(kN);
  std::vector<Request> rq(kN);
  std::size_t want = 0;
  for (std::size_t i = 0; i < kN; ++i) {
    const auto ph = static_cast<std::uint8_t>(i % 3);
    reqs[i].resize(nts_request_len(cookie.size(), ph));
    PendingRequest p;
    client.build_nts_request(NtsRequestSpec{&c2s, cookie, ph, 100 + i, 0}, gen, reqs[i], p);
    if (i % 4 == 3)
      reqs[i].back() ^= 1;  // bad authenticator: a NAK, no nonces
    else
      want += 16 * (1 + ph) + 16;
    outs[i].resize(reqs[i].size());
    rq[i] = Request{reqs[i], 1 + i, outs[i]};
  }
  Server server(crypto::make_best_engine());
  testing::FakeClock clock;
  CountingRandom rng;
  std::vector<Outcome> o(kN);
  server.handle_burst(rq, ServerState{}, &ring, clock, rng, o);
  EXPECT_EQ(rng.calls, 1);
  EXPECT_EQ(rng.inner.bytes, want);
  EXPECT_EQ(server.counters()[Reason::kOkNts], kN - kN / 4);
  EXPECT_EQ(server.counters()[Reason::kAuthFailed], kN / 4);
}

TEST(Burst, IdenticalToSingleScalar) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(seed);
    check_identical(seed, 32, crypto::make_scalar_engine());
  }
}

TEST(Burst, IdenticalAcrossChunks) {
  check_identical(777, 150, crypto::make_scalar_engine());  // > Server::kMaxBurst
}

TEST(Burst, BestEngineIdenticalToScalarSingle) {
  auto best = crypto::make_best_engine();
  ASSERT_NE(best, nullptr);
  for (std::uint64_t seed = 100; seed < 110; ++seed) {
    SCOPED_TRACE(seed);
    check_identical(seed, 64, crypto::make_best_engine());
  }
}

// AEAD 15 and AEAD 30 requests in one burst (the engine routes each op to
// the AES-SIV or the GCM-SIV engine), cookies under both master keys.
TEST(Burst, MixedAeadsIdenticalToSingle) {
  for (std::uint64_t seed = 200; seed < 215; ++seed) {
    SCOPED_TRACE(seed);
    check_identical(seed, 64, crypto::make_best_engine(), true);
    check_identical(seed + 1000, 32, crypto::make_scalar_engine(), true);
  }
  check_identical(999, 150, crypto::make_best_engine(), true);  // across chunks
}

}  // namespace
}  // namespace ntsd::proto
