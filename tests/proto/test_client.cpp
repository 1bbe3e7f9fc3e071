// Client request building and response verification (RFC 5905 §8, RFC 8915 §5).
#include <gtest/gtest.h>

#include <string>

#include "ntsd/proto/client.hpp"
#include "proto_fixtures.hpp"
#include "test_util.hpp"

namespace ntsd::proto {
namespace {

using testing::FakeClock;
using testing::SeededRandom;
using Buf = std::vector<std::uint8_t>;

constexpr NtpTime kSec = NtpTime{1} << 32;
constexpr NtpTime kT1 = 0xe5f0'0000'0000'0000ull;

struct RoundTrip : ::testing::Test {
  RoundTrip()
      : server(crypto::make_scalar_engine()),
        client(crypto::make_scalar_engine()),
        ring(*testing::example_ring()),
        c2s(testing::key_from_hex(testing::kExampleC2s)),
        s2c(testing::key_from_hex(testing::kExampleS2c)),
        cookie(testing::hex(testing::kExampleCookie)) {
    state.leap = 0;
    state.stratum = 2;
    state.refid = 0xc0000201;
  }

  // Request at T1, server receives at T1 + 1.25 s and answers at T1 + 1.5 s
  // (its clock runs 1 s ahead, path 0.25 s each way), response received at T1 + 0.75 s.
  Response round_trip(std::uint8_t placeholders, Buf* resp_out = nullptr,
                      PendingRequest* pend = nullptr) {
    Buf req(nts_request_len(cookie.size(), placeholders));
    PendingRequest pending;
    NtsRequestSpec spec{&c2s, cookie, placeholders, kT1, 3};
    EXPECT_EQ(client.build_nts_request(spec, crng, req, pending), req.size());
    Buf resp(req.size());
    FakeClock clock(kT1 + kSec + kSec / 2);
    const Outcome o =
        server.handle_request(req, kT1 + kSec + kSec / 4, state, &ring, clock, srng, resp);
    EXPECT_EQ(o.reason, Reason::kOkNts) << reason_name(o.reason);
    resp.resize(o.len);
    if (resp_out) *resp_out = resp;
    if (pend) *pend = pending;
    return client.verify_nts_response(resp, pending, s2c, kT1 + kSec * 3 / 4);
  }

  Server server;
  Client client;
  crypto::KeyRing ring;
  crypto::SivKey c2s, s2c;
  Buf cookie;
  ServerState state;
  SeededRandom crng{1}, srng{2};
};

TEST_F(RoundTrip, NtsOffsetDelayAndCookies) {
  const Response r = round_trip(2);
  ASSERT_EQ(r.status, ClientStatus::kOk) << client_status_name(r.status);
  EXPECT_EQ(r.stratum, 2);
  EXPECT_EQ(r.refid, 0xc0000201u);
  EXPECT_EQ(r.poll, 3);
  EXPECT_EQ(r.t1, kT1);
  EXPECT_EQ(r.t2, kT1 + kSec + kSec / 4);
  EXPECT_EQ(r.t3, kT1 + kSec + kSec / 2);
  EXPECT_EQ(r.t4, kT1 + kSec * 3 / 4);
  // θ = ((1.25) + (1.5 − 0.75)) / 2 = 1.0 s; δ = 0.75 − 0.25 = 0.5 s.
  EXPECT_DOUBLE_EQ(r.offset_s(), 1.0);
  EXPECT_DOUBLE_EQ(r.delay_s(), 0.5);
  ASSERT_EQ(r.cookie_count, 3);
  // Each new cookie opens to our session keys.
  auto eng = crypto::make_scalar_engine();
  for (std::size_t i = 0; i < r.cookie_count; ++i) {
    crypto::CookieKeys k;
    ASSERT_EQ(crypto::open_cookie(*eng, ring, r.cookies[i], k), crypto::CookieStatus::kOk);
    EXPECT_EQ(test::to_hex(k.s2c.bytes()), testing::kExampleS2c);
  }
}

TEST_F(RoundTrip, EveryBitFlipInTheResponseIsRejected) {
  Buf resp;
  PendingRequest pending;
  ASSERT_EQ(round_trip(0, &resp, &pending).status, ClientStatus::kOk);
  for (std::size_t i = 0; i < resp.size() * 8; ++i) {
    Buf t = resp;
    t[i / 8] ^= static_cast<std::uint8_t>(1u << (i % 8));
    const Response r = client.verify_nts_response(t, pending, s2c, kT1);
    ASSERT_NE(r.status, ClientStatus::kOk) << "bit " << i;
  }
}

TEST_F(RoundTrip, WrongUidOriginOrKey) {
  Buf resp;
  PendingRequest pending;
  ASSERT_EQ(round_trip(0, &resp, &pending).status, ClientStatus::kOk);
  PendingRequest p = pending;
  p.uid[5] ^= 1;
  EXPECT_EQ(client.verify_nts_response(resp, p, s2c, kT1).status, ClientStatus::kUidMismatch);
  p = pending;
  p.t1 += 1;
  EXPECT_EQ(client.verify_nts_response(resp, p, s2c, kT1).status, ClientStatus::kOriginMismatch);
  EXPECT_EQ(client.verify_nts_response(resp, pending, c2s, kT1).status, ClientStatus::kAuthFailed);
  Buf cut(resp.begin(), resp.begin() + kHeaderLen + 36);  // header + UID, no authenticator
  EXPECT_EQ(client.verify_nts_response(cut, pending, s2c, kT1).status, ClientStatus::kAuthMissing);
  EXPECT_EQ(client.verify_nts_response(Buf(47), pending, s2c, kT1).status,
            ClientStatus::kMalformed);
}

TEST_F(RoundTrip, NakNeedsOurUid) {
  Buf req(nts_request_len(cookie.size(), 0));
  PendingRequest pending;
  NtsRequestSpec spec{&c2s, cookie, 0, kT1, 0};
  ASSERT_GT(client.build_nts_request(spec, crng, req, pending), 0u);
  Buf resp(req.size());
  FakeClock clock;
  const Outcome o = server.handle_request(req, kT1, state, nullptr, clock, srng, resp);
  ASSERT_EQ(o.verdict, Verdict::kNak);
  resp.resize(o.len);
  EXPECT_EQ(client.verify_nts_response(resp, pending, s2c, kT1).status, ClientStatus::kNak);
  pending.uid[0] ^= 1;  // a NAK for someone else's request is not ours to act on
  EXPECT_EQ(client.verify_nts_response(resp, pending, s2c, kT1).status, ClientStatus::kUidMismatch);
}

TEST_F(RoundTrip, BuildRejectsBadInput) {
  Buf req(nts_request_len(cookie.size(), 0));
  PendingRequest pending;
  NtsRequestSpec spec{nullptr, cookie, 0, kT1, 0};
  EXPECT_EQ(client.build_nts_request(spec, crng, req, pending), 0u);
  spec.c2s = &c2s;
  Buf small(100);
  EXPECT_EQ(client.build_nts_request(spec, crng, small, pending), 0u);
  spec.cookie = {};
  EXPECT_EQ(client.build_nts_request(spec, crng, req, pending), 0u);
}

// A plain request sent at T1 and answered by a server with T2 = T1 + 2 s and
// T3 = T1 + 3 s; empty `resp` if the server did not answer kOkPlain.
static Buf plain_exchange(Buf& req, PendingRequest& pending) {
  Server server(crypto::make_scalar_engine());
  ServerState st;
  st.leap = 0;
  st.stratum = 1;
  req.assign(kHeaderLen, 0);
  if (build_plain_request(kT1, req, pending) != kHeaderLen) return {};
  Buf resp(kHeaderLen);
  FakeClock clock(kT1 + 3 * kSec);
  SeededRandom rng(0);
  const Outcome o = server.handle_request(req, kT1 + 2 * kSec, st, nullptr, clock, rng, resp);
  return o.reason == Reason::kOkPlain ? resp : Buf{};
}

TEST(Plain, RoundTrip) {
  Buf req;
  PendingRequest pending;
  const Buf resp = plain_exchange(req, pending);
  ASSERT_EQ(resp.size(), kHeaderLen);
  const Response r = verify_plain_response(resp, pending, kT1 + 2 * kSec);
  ASSERT_EQ(r.status, ClientStatus::kOk);
  // θ = (2 + (3 − 2)) / 2 = 1.5 s; δ = 2 − 1 = 1 s.
  EXPECT_DOUBLE_EQ(r.offset_s(), 1.5);
  EXPECT_DOUBLE_EQ(r.delay_s(), 1.0);
  Buf mode3 = req;  // a request is not a response
  EXPECT_EQ(verify_plain_response(mode3, pending, kT1).status, ClientStatus::kMalformed);
}

// A server may send any T2 and T3: δ is computed modulo 2^64 (RFC 5905
// §6 era arithmetic), never as an overflowing signed subtraction.
TEST(Plain, HostileTimestampsGiveAModularDelay) {
  Buf req;
  PendingRequest pending;
  Buf resp = plain_exchange(req, pending);
  ASSERT_EQ(resp.size(), kHeaderLen);
  const NtpTime t2 = kT1 + 2 * kSec;
  const NtpTime t3 = t2 + (NtpTime{1} << 63);  // T3 − T2 = INT64_MIN
  for (int i = 0; i < 8; ++i) resp[40 + i] = static_cast<std::uint8_t>(t3 >> (56 - 8 * i));
  const NtpTime t4 = kT1 + kSec;
  const Response r = verify_plain_response(resp, pending, t4);
  ASSERT_EQ(r.status, ClientStatus::kOk);
  EXPECT_EQ(r.delay, static_cast<std::int64_t>((t4 - kT1) - (t3 - t2)));
}

TEST_F(RoundTrip, BurstBuildAndVerifyMatchSingle) {
  constexpr std::size_t kN = 70;  // crosses Client::kMaxBurst
  std::vector<NtsRequestSpec> specs(kN);
  std::vector<Buf> bufs_b(kN), bufs_s(kN);
  std::vector<MutBytes> outs(kN);
  std::vector<PendingRequest> pend_b(kN), pend_s(kN);
  std::vector<std::size_t> lens(kN);
  for (std::size_t i = 0; i < kN; ++i) {
    specs[i] = NtsRequestSpec{&c2s, cookie, static_cast<std::uint8_t>(i % 4), kT1 + i, 0};
    bufs_b[i].assign(nts_request_len(cookie.size(), i % 4), 0);
    bufs_s[i] = bufs_b[i];
    outs[i] = bufs_b[i];
  }
  SeededRandom rb(99), rs(99);
  client.build_nts_burst(specs, rb, outs, pend_b, lens);
  for (std::size_t i = 0; i < kN; ++i) {
    ASSERT_EQ(client.build_nts_request(specs[i], rs, bufs_s[i], pend_s[i]), lens[i]);
    ASSERT_EQ(bufs_s[i], bufs_b[i]) << i;
  }
  // Answer each, then verify as a burst and one by one.
  std::vector<Buf> resp(kN);
  std::vector<Client::VerifyJob> jobs(kN);
  FakeClock clock;
  for (std::size_t i = 0; i < kN; ++i) {
    resp[i].assign(bufs_b[i].size(), 0);
    const Outcome o = server.handle_request(bufs_b[i], kT1 + i, state, &ring, clock, srng, resp[i]);
    ASSERT_EQ(o.reason, Reason::kOkNts);
    resp[i].resize(o.len);
    if (i % 9 == 5) resp[i][resp[i].size() - 3] ^= 4;  // some tampered ones in the mix
    jobs[i] = Client::VerifyJob{resp[i], &pend_b[i], &s2c, kT1 + 100};
  }
  // Verify at most kMaxBurst at a time, as the API asks; the jobs past it are
  // refused rather than silently half-done. Cookies are copied out right after
  // each call, since they live in the client's scratch.
  std::vector<Response> rb_res(kN);
  std::vector<std::string> first_cookie(kN);
  auto verify_chunk = [&](std::size_t from, std::size_t count) {
    client.verify_nts_burst(std::span(jobs).subspan(from, count),
                            std::span(rb_res).subspan(from, count));
    for (std::size_t i = from; i < from + count; ++i)
      if (rb_res[i].cookie_count) first_cookie[i] = test::to_hex(rb_res[i].cookies[0]);
  };
  client.verify_nts_burst(jobs, rb_res);
  for (std::size_t i = Client::kMaxBurst; i < kN; ++i)
    EXPECT_EQ(rb_res[i].status, ClientStatus::kMalformed);
  verify_chunk(0, Client::kMaxBurst);
  verify_chunk(Client::kMaxBurst, kN - Client::kMaxBurst);
  for (std::size_t i = 0; i < kN; ++i) {
    EXPECT_EQ(rb_res[i].status, i % 9 == 5 ? ClientStatus::kAuthFailed : ClientStatus::kOk) << i;
    EXPECT_EQ(rb_res[i].cookie_count, i % 9 == 5 ? 0 : 1 + i % 4);
    const Response r = client.verify_nts_response(resp[i], pend_b[i], s2c, kT1 + 100);
    EXPECT_EQ(r.status, rb_res[i].status);
    EXPECT_EQ(r.offset, rb_res[i].offset);
    EXPECT_EQ(r.delay, rb_res[i].delay);
    EXPECT_EQ(r.cookie_count, rb_res[i].cookie_count);
    if (r.cookie_count) {
      EXPECT_EQ(test::to_hex(r.cookies[0]), first_cookie[i]);
    }
  }
}

}  // namespace
}  // namespace ntsd::proto
