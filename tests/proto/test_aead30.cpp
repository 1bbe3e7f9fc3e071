// NTS under AEAD 30 (AES-128-GCM-SIV, RFC 8452) through the sans-IO core
// (RFC 8915 §5.6/§5.7): the client builds requests with a 12-byte nonce and
// no additional padding (N_REQ = 12), the server answers with 12-byte nonces
// and cookies sealed under its current master key (64 bytes under a GCM-SIV
// master key), the client verifies and the new cookies open to the session
// keys; every bad input keeps its defined outcome (NAK, drop).
#include <gtest/gtest.h>

#include "ntsd/crypto/cookie.hpp"
#include "ntsd/proto/client.hpp"
#include "ntsd/proto/server.hpp"
#include "proto_fixtures.hpp"
#include "test_util.hpp"

namespace ntsd::proto {
namespace {

using testing::FakeClock;
using testing::SeededRandom;
using Buf = std::vector<std::uint8_t>;

constexpr NtpTime kT1 = 0xe5f0'1234'5678'9abcull;
constexpr NtpTime kRx = 0xe5f0'1235'0000'0000ull;

ServerState sync_state() {
  ServerState s;
  s.leap = 0;
  s.stratum = 1;
  return s;
}

// The Authenticator EF of a packet: (offset, nonce length, ciphertext length).
struct AuthInfo {
  std::size_t offset = 0, nonce_len = 0, ct_len = 0, ef_len = 0;
};
AuthInfo auth_of(const Buf& pkt) {
  EfList efs;
  EXPECT_EQ(parse_efs(pkt, kHeaderLen, efs), EfStatus::kOk);
  for (std::size_t i = 0; i < efs.count; ++i) {
    const Ef& e = efs.ef[i];
    if (e.type != kEfAuthenticator) continue;
    return AuthInfo{e.offset, static_cast<std::size_t>(e.body[0] << 8 | e.body[1]),
                    static_cast<std::size_t>(e.body[2] << 8 | e.body[3]), e.len};
  }
  ADD_FAILURE() << "no authenticator";
  return {};
}

class Aead30 : public ::testing::TestWithParam<bool> {  // param: burst engine
 protected:
  Aead30()
      : server(GetParam() ? crypto::make_best_engine() : crypto::make_scalar_engine()),
        client(crypto::make_scalar_engine()),
        ring(*testing::aead30_ring()),
        c2s(testing::key_from_hex(testing::kAead30C2s)),
        s2c(testing::key_from_hex(testing::kAead30S2c)),
        rng(30) {}

  Buf request(const Buf& cookie, std::uint8_t placeholders, PendingRequest& p,
              const crypto::SivKey* key = nullptr) {
    const crypto::SivKey& k = key ? *key : c2s;
    Buf b(nts_request_len(cookie.size(), placeholders, k.aead()));
    const NtsRequestSpec spec{&k, cookie, placeholders, kT1, 4};
    SeededRandom crng(7 + placeholders);
    EXPECT_EQ(client.build_nts_request(spec, crng, b, p), b.size());
    return b;
  }

  Outcome run(const Buf& req) {
    out.assign(req.size(), 0xee);
    return server.handle_request(req, kRx, state, &ring, clock, rng, out);
  }

  Server server;
  Client client;
  crypto::KeyRing ring;
  crypto::SivKey c2s, s2c;
  ServerState state = sync_state();
  FakeClock clock;
  SeededRandom rng;
  Buf out;
};

TEST_P(Aead30, RoundTrip) {
  auto eng = crypto::make_scalar_engine();
  for (const bool gcm_cookie : {true, false}) {
    const Buf cookie = testing::aead30_cookie(gcm_cookie);
    ASSERT_EQ(cookie.size(), gcm_cookie ? 64u : 68u);
    for (std::uint8_t ph = 0; ph <= 3; ++ph) {
      SCOPED_TRACE(std::to_string(gcm_cookie) + " placeholders " + std::to_string(ph));
      PendingRequest p;
      const Buf req = request(cookie, ph, p);
      // RFC 8915 §5.6 with N_REQ = 12: a 12-byte nonce, no additional padding.
      const AuthInfo ra = auth_of(req);
      EXPECT_EQ(ra.nonce_len, 12u);
      EXPECT_EQ(ra.ct_len, 16u);
      EXPECT_EQ(ra.ef_len, 4u + 4 + 12 + 16);
      const Outcome o = run(req);
      ASSERT_EQ(o.verdict, Verdict::kRespond) << reason_name(o.reason);
      ASSERT_EQ(o.reason, Reason::kOkNts);
      // New cookies are 64 bytes (GCM-SIV master key): as long as the
      // request under one, 4 bytes shorter per cookie under the AES-SIV one.
      EXPECT_EQ(o.len, req.size() - (gcm_cookie ? 0 : 4 * (1 + ph)));
      const Buf resp(out.begin(), out.begin() + o.len);
      const AuthInfo sa = auth_of(resp);
      EXPECT_EQ(sa.nonce_len, 12u);
      EXPECT_EQ(sa.ct_len, 16u + (4 + 64) * (1 + ph));
      const Response r = client.verify_nts_response(resp, p, s2c, kRx + 5);
      ASSERT_EQ(r.status, ClientStatus::kOk) << client_status_name(r.status);
      ASSERT_EQ(r.cookie_count, 1 + ph);
      for (std::size_t i = 0; i < r.cookie_count; ++i) {
        ASSERT_EQ(r.cookies[i].size(), 64u);
        crypto::CookieKeys keys;
        ASSERT_EQ(crypto::open_cookie(*eng, ring, r.cookies[i], keys), crypto::CookieStatus::kOk);
        EXPECT_EQ(keys.c2s.aead(), crypto::AeadId::kAesGcmSiv128);
        EXPECT_EQ(test::to_hex(keys.c2s.bytes()), test::to_hex(c2s.bytes()));
        EXPECT_EQ(test::to_hex(keys.s2c.bytes()), test::to_hex(s2c.bytes()));
      }
      // A response verified with the wrong key does not authenticate.
      EXPECT_EQ(client.verify_nts_response(resp, p, c2s, kRx + 5).status, ClientStatus::kAuthFailed);
    }
  }
}

TEST_P(Aead30, BadInputsKeepTheirOutcomes) {
  const Buf cookie = testing::aead30_cookie(true);
  PendingRequest p;
  const Buf req = request(cookie, 1, p);
  const AuthInfo a = auth_of(req);

  // A flipped tag byte: NAK (RFC 8915 §5.7), the UID echoed, nothing else.
  Buf bad = req;
  bad.back() ^= 1;
  Outcome o = run(bad);
  EXPECT_EQ(o.verdict, Verdict::kNak);
  EXPECT_EQ(o.reason, Reason::kAuthFailed);
  EXPECT_EQ(o.len, kHeaderLen + 36);
  EXPECT_EQ(client.verify_nts_response(Buf(out.begin(), out.begin() + o.len), p, s2c, kRx).status,
            ClientStatus::kNak);

  // A flipped cookie byte: kCookieBad NAK; an unknown key id: kCookieUnknownKey NAK.
  bad = req;
  bad[kHeaderLen + 36 + 4 + 20] ^= 1;
  EXPECT_EQ(run(bad).reason, Reason::kCookieBad);
  bad = req;
  bad[kHeaderLen + 36 + 4] ^= 0x40;
  EXPECT_EQ(run(bad).reason, Reason::kCookieUnknownKey);

  // A 16-byte nonce cannot be a GCM-SIV nonce: the authenticator does not
  // verify, so NAK, as chrony answers (its SIV_Decrypt refuses the length).
  {
    const crypto::SivKey siv_c2s = testing::key_from_hex(testing::kExampleC2s);
    PendingRequest p15;
    Buf r15 = request(cookie, 0, p15, &siv_c2s);  // AES-SIV authenticator, 16-byte nonce
    o = run(r15);
    EXPECT_EQ(o.verdict, Verdict::kNak);
    EXPECT_EQ(o.reason, Reason::kAuthFailed);
  }

  // Truncated authenticator body: dropped as malformed before any crypto.
  bad = req;
  bad[a.offset + 7] = 40;  // ciphertext length past the EF
  EXPECT_EQ(run(bad).reason, Reason::kAuthMalformed);

  // No key ring yet: NAK.
  out.assign(req.size(), 0);
  o = server.handle_request(req, kRx, state, nullptr, clock, rng, out);
  EXPECT_EQ(o.reason, Reason::kNoKeyRing);
}

// An AES-SIV (AEAD 15) session with a 12-byte nonce and no padding to 16
// breaks N_REQ = 16 (RFC 8915 §5.6): dropped as malformed, as before AEAD 30
// existed; the GCM-SIV session may use that form.
TEST_P(Aead30, ShortNonceUnpaddedIsOnlyForGcmSiv) {
  const crypto::SivKey c2s15 = testing::key_from_hex(testing::kExampleC2s);
  const Buf cookie15 = testing::hex(testing::kExampleCookie);
  // Build an AEAD-15 request by hand with a 12-byte nonce, sealed correctly.
  Buf req(kHeaderLen);
  PendingRequest pend;
  build_plain_request(kT1, req, pend);
  Buf uid(32, 0x11);
  Buf tmp(512);
  std::size_t n = write_ef(kEfUniqueId, uid, tmp);
  req.insert(req.end(), tmp.begin(), tmp.begin() + static_cast<std::ptrdiff_t>(n));
  n = write_ef(kEfCookie, cookie15, tmp);
  req.insert(req.end(), tmp.begin(), tmp.begin() + static_cast<std::ptrdiff_t>(n));
  const std::size_t a = req.size();
  const Buf nonce(12, 0x42);
  // Type 0x0404, length 36, nonce length 12, ciphertext length 16, nonce, tag.
  req.resize(a + 36, 0);
  const std::uint8_t head[8] = {0x04, 0x04, 0x00, 0x24, 0x00, 0x0c, 0x00, 0x10};
  std::copy(std::begin(head), std::end(head), req.begin() + static_cast<std::ptrdiff_t>(a));
  std::fill(req.begin() + static_cast<std::ptrdiff_t>(a + 8),
            req.begin() + static_cast<std::ptrdiff_t>(a + 20), std::uint8_t{0x42});
  auto eng = crypto::make_scalar_engine();
  const crypto::Bytes all(req);
  ASSERT_EQ(eng->seal_one(crypto::make_aead_op(c2s15, all.first(a), nonce, {},
                                               crypto::MutBytes(req).subspan(a + 20, 16))),
            crypto::SivStatus::kOk);
  ring = *testing::example_ring();
  const Outcome o = run(req);
  EXPECT_EQ(o.verdict, Verdict::kDrop);
  EXPECT_EQ(o.reason, Reason::kAuthMalformed);
}

// The current master key is AES-SIV and the client's AEAD-30 cookie is a
// (shorter) GCM-SIV one: new cookies would make the response longer than the
// request, so it is dropped (anti-amplification, RFC 8915 §5.7); the client
// gets new cookies through NTS-KE. docs/protocol.md notes this for operators
// switching master-key algorithms back from 30 to 15.
TEST_P(Aead30, LongerCookiesThanTheRequestAreNotSent) {
  const crypto::MasterKey gcm[] = {testing::gcm_master()};
  ring = *crypto::KeyRing::make(testing::example_master(), gcm, std::nullopt);
  PendingRequest p;
  const Buf req = request(testing::aead30_cookie(true), 0, p);
  const Outcome o = run(req);
  EXPECT_EQ(o.verdict, Verdict::kDrop);
  EXPECT_EQ(o.reason, Reason::kResponseTooLarge);
}

INSTANTIATE_TEST_SUITE_P(Engines, Aead30, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "Best" : "Scalar"; });

// The client's burst form builds and verifies AEAD-15 and AEAD-30 requests
// in one engine call each, with the same bytes as one by one.
TEST(Aead30Client, BurstMatchesSingle) {
  const crypto::SivKey k30 = testing::key_from_hex(testing::kAead30C2s);
  const crypto::SivKey k15 = testing::key_from_hex(testing::kExampleC2s);
  const Buf c30 = testing::aead30_cookie(true);
  const Buf c15 = testing::hex(testing::kExampleCookie);
  std::vector<NtsRequestSpec> specs;
  for (int i = 0; i < 8; ++i)
    specs.push_back(i % 2 ? NtsRequestSpec{&k30, c30, static_cast<std::uint8_t>(i % 3), kT1 + i, 0}
                          : NtsRequestSpec{&k15, c15, static_cast<std::uint8_t>(i % 3), kT1 + i, 0});
  std::vector<Buf> a(8), b(8);
  std::vector<MutBytes> outs(8);
  std::vector<PendingRequest> pa(8), pb(8);
  std::vector<std::size_t> lens(8);
  Client single(crypto::make_scalar_engine()), burst(crypto::make_best_engine());
  SeededRandom r1(5), r2(5);
  for (int i = 0; i < 8; ++i) {
    const auto& s = specs[static_cast<std::size_t>(i)];
    a[static_cast<std::size_t>(i)].assign(nts_request_len(s.cookie.size(), s.placeholders, s.c2s->aead()), 0);
    b[static_cast<std::size_t>(i)] = a[static_cast<std::size_t>(i)];
    outs[static_cast<std::size_t>(i)] = b[static_cast<std::size_t>(i)];
    EXPECT_EQ(single.build_nts_request(s, r1, a[static_cast<std::size_t>(i)], pa[static_cast<std::size_t>(i)]),
              a[static_cast<std::size_t>(i)].size());
  }
  burst.build_nts_burst(specs, r2, outs, pb, lens);
  for (std::size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(lens[i], a[i].size());
    EXPECT_EQ(a[i], b[i]) << i;
    EXPECT_EQ(auth_of(a[i]).nonce_len, i % 2 ? 12u : 16u);
  }
}

}  // namespace
}  // namespace ntsd::proto
