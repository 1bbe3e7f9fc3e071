// Server outcomes (RFC 5905 §9.2, RFC 8915 §5.7), one test per reason, with a
// fake clock and seeded randomness.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

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

struct Example {
  Buf request, c2s, s2c, uid, cookie, master;
};
Example load_example() {
  const auto j =
      nlohmann::json::parse(test::read_file(test::vectors_dir() + "/nts/request_example.json"));
  auto h = [&](const nlohmann::json& v) { return test::from_hex(v.get<std::string>()); };
  return Example{h(j["request"]),           h(j["c2s_key"]),         h(j["s2c_key"]),
                 h(j["unique_identifier"]), h(j["cookie"]["bytes"]), h(j["cookie"]["master_key"])};
}

ServerState sync_state() {
  ServerState s;
  s.leap = 0;
  s.stratum = 1;
  s.precision = -23;
  s.root_delay = 0x10;
  s.root_dispersion = 0x20;
  s.refid = kiss_code("GPS\0");
  s.reference_time = 0xe5f0'0000'0000'0000ull;
  return s;
}

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() : server(crypto::make_scalar_engine()), ring(*testing::example_ring()), rng(42) {}

  Outcome run(const Buf& req, const crypto::KeyRing* r) {
    out.assign(req.size() + 64, 0xee);
    return server.handle_request(req, kRx, state, r, clock, rng, out);
  }
  Outcome run(const Buf& req) { return run(req, &ring); }

  Buf plain_request(std::uint8_t version = 4, std::int8_t poll = 6) {
    Buf b(kHeaderLen);
    PendingRequest p;
    build_plain_request(kT1, b, p, version, poll);
    return b;
  }

  // A valid NTS request from the client API, with the example's keys and cookie.
  Buf nts_request(std::uint8_t placeholders = 0, PendingRequest* pending = nullptr) {
    const auto ex = load_example();
    c2s = *crypto::SivKey::from_bytes(ex.c2s);
    Client client(crypto::make_scalar_engine());
    Buf b(nts_request_len(ex.cookie.size(), placeholders));
    NtsRequestSpec spec{&c2s, ex.cookie, placeholders, kT1, 4};
    PendingRequest p;
    SeededRandom crng(7);
    EXPECT_EQ(client.build_nts_request(spec, crng, b, p), b.size());
    if (pending) *pending = p;
    return b;
  }

  void expect_drop(const Buf& req, Reason why) {
    const Outcome o = run(req);
    EXPECT_EQ(o.verdict, Verdict::kDrop) << reason_name(o.reason);
    EXPECT_EQ(o.reason, why) << reason_name(o.reason) << " expected " << reason_name(why);
    EXPECT_EQ(o.len, 0);
  }

  Server server;
  crypto::KeyRing ring;
  ServerState state = sync_state();
  FakeClock clock;
  SeededRandom rng;
  Buf out;
  crypto::SivKey c2s;
};

TEST_F(ServerTest, PlainV4) {
  const Outcome o = run(plain_request(4, 6));
  ASSERT_EQ(o.verdict, Verdict::kRespond);
  EXPECT_EQ(o.reason, Reason::kOkPlain);
  ASSERT_EQ(o.len, kHeaderLen);
  NtpHeader h;
  ASSERT_TRUE(parse_header(out, h));
  EXPECT_EQ(h.mode, Mode::kServer);
  EXPECT_EQ(h.version, 4);
  EXPECT_EQ(h.leap, 0);
  EXPECT_EQ(h.stratum, 1);
  EXPECT_EQ(h.poll, 6);
  EXPECT_EQ(h.precision, -23);
  EXPECT_EQ(h.root_delay, 0x10u);
  EXPECT_EQ(h.root_dispersion, 0x20u);
  EXPECT_EQ(h.refid, kiss_code("GPS\0"));
  EXPECT_EQ(h.reference, state.reference_time);
  EXPECT_EQ(h.origin, kT1);
  EXPECT_EQ(h.receive, kRx);
  EXPECT_EQ(h.transmit, 0xe5f0'0000'0000'0000ull);  // first FakeClock value
  EXPECT_EQ(clock.calls, 1);
  EXPECT_EQ(rng.bytes, 0u);  // plain NTP needs no randomness
  EXPECT_EQ(server.counters()[Reason::kOkPlain], 1u);
}

TEST_F(ServerTest, PlainV3EchoesVersionAndClampsPoll) {
  run(plain_request(3, 100));
  NtpHeader h;
  ASSERT_TRUE(parse_header(out, h));
  EXPECT_EQ(h.version, 3);
  EXPECT_EQ(h.poll, 17);
  run(plain_request(4, -100));
  ASSERT_TRUE(parse_header(out, h));
  EXPECT_EQ(h.poll, -7);
}

// One Server answers under whatever state each call passes: a change of
// state between calls (the clock synchronising, a new reference time) shows
// in the next answer, in responses and in NAKs alike.
TEST_F(ServerTest, HeaderFollowsStateBetweenCalls) {
  NtpHeader h;
  run(plain_request());
  ASSERT_TRUE(parse_header(out, h));
  EXPECT_EQ(h.stratum, 1);
  state.stratum = 2;
  state.leap = 1;
  state.refid = 0x0a000001;
  state.root_dispersion = 0x99;
  state.reference_time += 1;
  run(plain_request());
  ASSERT_TRUE(parse_header(out, h));
  EXPECT_EQ(h.stratum, 2);
  EXPECT_EQ(h.leap, 1);
  EXPECT_EQ(h.refid, 0x0a000001u);
  EXPECT_EQ(h.root_dispersion, 0x99u);
  EXPECT_EQ(h.reference, state.reference_time);
  const Example ex = load_example();
  run(ex.request, nullptr);  // a NAK: its own header, whatever came before
  ASSERT_TRUE(parse_header(out, h));
  EXPECT_EQ(h.stratum, 0);
  EXPECT_EQ(h.leap, 3);
  EXPECT_EQ(h.refid, kKissNtsNak);
  EXPECT_EQ(h.root_dispersion, 0u);
  EXPECT_EQ(h.reference, 0u);
  state.precision = -10;
  run(plain_request(3, 4));
  ASSERT_TRUE(parse_header(out, h));
  EXPECT_EQ(h.stratum, 2);
  EXPECT_EQ(h.precision, -10);
  EXPECT_EQ(h.version, 3);
  EXPECT_EQ(h.poll, 4);
}

TEST_F(ServerTest, UnsynchronisedStateIsReported) {
  state = ServerState{};
  state.stratum = 0;  // never send stratum 0 in a normal answer: it reads as a KoD
  run(plain_request());
  NtpHeader h;
  ASSERT_TRUE(parse_header(out, h));
  EXPECT_EQ(h.leap, 3);
  EXPECT_EQ(h.stratum, 16);
}

TEST_F(ServerTest, UnknownEfIgnored) {
  Buf req = plain_request();
  const Buf body(28, 0x5a);
  Buf ef(32);
  ASSERT_EQ(write_ef(0x7777, body, ef), 32u);
  req.insert(req.end(), ef.begin(), ef.end());
  const Outcome o = run(req);
  EXPECT_EQ(o.reason, Reason::kOkPlain);
  EXPECT_EQ(o.len, kHeaderLen);
}

TEST_F(ServerTest, StructuralDrops) {
  Buf req = plain_request();
  expect_drop(Buf(req.begin(), req.begin() + 47), Reason::kTooShort);
  Buf big = req;
  big.resize(kMaxPacketLen + 4);
  expect_drop(big, Reason::kTooLong);
  for (int mode : {0, 1, 2, 4, 5, 6, 7}) {
    Buf m = req;
    m[0] = static_cast<std::uint8_t>((m[0] & ~7) | mode);
    expect_drop(m, Reason::kNotClientMode);
  }
  for (int v : {0, 5, 7}) {
    Buf m = req;
    m[0] = static_cast<std::uint8_t>((m[0] & ~0x38) | v << 3);
    expect_drop(m, Reason::kBadVersion);
  }
  Buf ef = req;
  ef.insert(ef.end(), {0x77, 0x77, 0x00, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                       0,    0,    0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  expect_drop(ef, Reason::kBadEfLength);
  ef[kHeaderLen + 3] = 0x40;
  expect_drop(ef, Reason::kEfTruncated);
  Buf many = req;
  for (std::size_t i = 0; i <= kMaxEfs; ++i)
    many.insert(many.end(), {0x77, 0x77, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  many.insert(many.end(), 16, 0);
  expect_drop(many, Reason::kTooManyEfs);
  for (std::size_t mac : {4u, 20u, 24u}) {
    Buf m = req;
    m.resize(m.size() + mac, 1);
    expect_drop(m, Reason::kMacUnsupported);
    Buf v3 = plain_request(3);
    v3.resize(v3.size() + mac, 1);
    expect_drop(v3, Reason::kMacUnsupported);
  }
  EXPECT_EQ(clock.calls, 0);  // drops never read the clock
}

TEST_F(ServerTest, ExampleVectorGetsValidNtsResponse) {
  const Example ex = load_example();
  const Outcome o = run(ex.request);
  ASSERT_EQ(o.verdict, Verdict::kRespond) << reason_name(o.reason);
  EXPECT_EQ(o.reason, Reason::kOkNts);
  EXPECT_LE(o.len, ex.request.size());
  EXPECT_EQ(rng.bytes, 16u + 16u);  // one cookie nonce, one response nonce
  // The client API verifies it with the vector's S2C.
  PendingRequest pending;
  NtpHeader rh;
  ASSERT_TRUE(parse_header(ex.request, rh));
  pending.t1 = rh.transmit;
  pending.nts = true;
  std::copy(ex.uid.begin(), ex.uid.end(), pending.uid.begin());
  Client client(crypto::make_scalar_engine());
  const auto s2c = *crypto::SivKey::from_bytes(ex.s2c);
  const Response r = client.verify_nts_response(std::span(out).first(o.len), pending, s2c, kRx + 5);
  ASSERT_EQ(r.status, ClientStatus::kOk) << client_status_name(r.status);
  EXPECT_EQ(r.t2, kRx);
  EXPECT_EQ(r.stratum, 1);
  ASSERT_EQ(r.cookie_count, 1);
  // The fresh cookie opens with the ring to the same C2S/S2C.
  auto eng = crypto::make_scalar_engine();
  crypto::CookieKeys keys;
  ASSERT_EQ(crypto::open_cookie(*eng, ring, r.cookies[0], keys), crypto::CookieStatus::kOk);
  EXPECT_EQ(test::to_hex(keys.c2s.bytes()), test::to_hex(ex.c2s));
  EXPECT_EQ(test::to_hex(keys.s2c.bytes()), test::to_hex(ex.s2c));
  EXPECT_NE(test::to_hex(r.cookies[0]), test::to_hex(ex.cookie));  // a fresh nonce
}

TEST_F(ServerTest, PlaceholdersGetOneCookieEach) {
  for (std::uint8_t ph : {1, 3, 7}) {
    PendingRequest pending;
    const Buf req = nts_request(ph, &pending);
    const Outcome o = run(req);
    ASSERT_EQ(o.reason, Reason::kOkNts) << reason_name(o.reason);
    EXPECT_EQ(o.len, req.size());  // same size as the request, never more
    Client client(crypto::make_scalar_engine());
    const auto s2c = testing::key_from_hex(testing::kExampleS2c);
    const Response r = client.verify_nts_response(std::span(out).first(o.len), pending, s2c, kRx);
    ASSERT_EQ(r.status, ClientStatus::kOk);
    EXPECT_EQ(r.cookie_count, 1 + ph);
  }
}

TEST_F(ServerTest, ExtraPlaceholdersBeyondMaxAreIgnored) {
  PendingRequest pending;
  const Buf req = nts_request(9, &pending);  // 10 cookies wanted, 8 given
  const Outcome o = run(req);
  ASSERT_EQ(o.reason, Reason::kOkNts);
  EXPECT_LT(o.len, req.size());
  Client client(crypto::make_scalar_engine());
  const Response r = client.verify_nts_response(std::span(out).first(o.len), pending,
                                                testing::key_from_hex(testing::kExampleS2c), kRx);
  ASSERT_EQ(r.status, ClientStatus::kOk);
  EXPECT_EQ(r.cookie_count, kMaxNewCookies);
}

// NAK layout (RFC 8915 §5.7): KoD NTSN, stratum 0, the UID EF echoed, nothing else.
void expect_nak(const Outcome& o, const Buf& out, const Buf& req, Reason why) {
  ASSERT_EQ(o.verdict, Verdict::kNak) << reason_name(o.reason);
  EXPECT_EQ(o.reason, why) << reason_name(o.reason);
  NtpHeader h;
  ASSERT_TRUE(parse_header(out, h));
  EXPECT_EQ(h.stratum, 0);
  EXPECT_EQ(h.refid, kKissNtsNak);
  EXPECT_EQ(h.mode, Mode::kServer);
  EfList efs;
  ASSERT_EQ(parse_efs(std::span(out).first(o.len), kHeaderLen, efs), EfStatus::kOk);
  ASSERT_EQ(efs.count, 1);
  EXPECT_EQ(efs.ef[0].type, kEfUniqueId);
  EXPECT_TRUE(std::equal(out.begin() + kHeaderLen, out.begin() + o.len, req.begin() + kHeaderLen));
}

TEST_F(ServerTest, NakOnUnknownKey) {
  const Example ex = load_example();
  const crypto::MasterKey other{0x11111111, testing::key_from_hex(testing::kExampleC2s)};
  const auto other_ring = *crypto::KeyRing::make(other, {}, std::nullopt);
  const Outcome o = run(ex.request, &other_ring);
  expect_nak(o, out, ex.request, Reason::kCookieUnknownKey);
  EXPECT_EQ(rng.bytes, 0u);
}

TEST_F(ServerTest, NakWithoutRing) {
  const Example ex = load_example();
  expect_nak(run(ex.request, nullptr), out, ex.request, Reason::kNoKeyRing);
}

TEST_F(ServerTest, NakOnBadCookie) {
  Example ex = load_example();
  ex.request[84 + 4 + 30] ^= 1;  // inside the cookie's ciphertext
  expect_nak(run(ex.request), out, ex.request, Reason::kCookieBad);
}

TEST_F(ServerTest, NakOnBadAuthenticator) {
  Example ex = load_example();
  ex.request.back() ^= 0x80;  // last byte of the SIV tag
  expect_nak(run(ex.request), out, ex.request, Reason::kAuthFailed);
}

TEST_F(ServerTest, PreviousKeyStillOpensAndNewCookieUsesCurrent) {
  const Example ex = load_example();
  const auto r2 = *testing::example_ring(true);
  const Outcome o = run(ex.request, &r2);
  ASSERT_EQ(o.reason, Reason::kOkNts);
  PendingRequest pending;
  pending.t1 = 0x404783176d76ee40ull;
  std::copy(ex.uid.begin(), ex.uid.end(), pending.uid.begin());
  Client client(crypto::make_scalar_engine());
  const Response r = client.verify_nts_response(std::span(out).first(o.len), pending,
                                                *crypto::SivKey::from_bytes(ex.s2c), kRx);
  ASSERT_EQ(r.status, ClientStatus::kOk);
  ASSERT_EQ(r.cookie_count, 1);
  EXPECT_EQ(r.cookies[0][0], 0x01);  // key id 0x01020304, the ring's current key
  EXPECT_EQ(r.cookies[0][3], 0x04);
}

TEST_F(ServerTest, EveryBitFlipInTheRequestIsRefused) {
  const Example ex = load_example();
  for (std::size_t i = 0; i < ex.request.size() * 8; ++i) {
    Buf req = ex.request;
    req[i / 8] ^= static_cast<std::uint8_t>(1u << (i % 8));
    const Outcome o = run(req);
    ASSERT_NE(o.verdict, Verdict::kRespond) << "bit " << i << " " << reason_name(o.reason);
  }
}

// Rebuilds the example with its EFs rearranged, for the structural NTS rules.
Buf rebuild(const Example& ex, std::initializer_list<std::pair<std::uint16_t, Buf>> efs) {
  Buf b(ex.request.begin(), ex.request.begin() + kHeaderLen);
  for (const auto& [type, body] : efs) {
    Buf ef(4 + body.size() + 16);
    ef.resize(write_ef(type, body, ef));
    b.insert(b.end(), ef.begin(), ef.end());
  }
  return b;
}

TEST_F(ServerTest, NtsStructuralDrops) {
  const Example ex = load_example();
  const Buf auth =
      test::from_hex("001000107208a18a82f9a600130d32d05c9d74dd464470e598f324b731647dde6191623e");
  const Buf& uid = ex.uid;
  const Buf& ck = ex.cookie;
  const Buf ph(ck.size(), 0);
  expect_drop(rebuild(ex, {{kEfCookie, ck}, {kEfAuthenticator, auth}}), Reason::kMissingUid);
  expect_drop(rebuild(ex, {{kEfUniqueId, Buf(uid.begin(), uid.begin() + 28)},
                           {kEfCookie, ck},
                           {kEfAuthenticator, auth}}),
              Reason::kShortUid);
  expect_drop(
      rebuild(ex,
              {{kEfUniqueId, uid}, {kEfUniqueId, uid}, {kEfCookie, ck}, {kEfAuthenticator, auth}}),
      Reason::kDuplicateUid);
  expect_drop(rebuild(ex, {{kEfUniqueId, uid}, {kEfAuthenticator, auth}}), Reason::kMissingCookie);
  expect_drop(
      rebuild(ex, {{kEfUniqueId, uid}, {kEfCookie, ck}, {kEfCookie, ck}, {kEfAuthenticator, auth}}),
      Reason::kMultipleCookies);
  expect_drop(rebuild(ex, {{kEfUniqueId, uid},
                           {kEfCookie, ck},
                           {kEfPlaceholder, Buf(96, 0)},
                           {kEfAuthenticator, auth}}),
              Reason::kPlaceholderLength);
  expect_drop(rebuild(ex, {{kEfUniqueId, uid}, {kEfCookie, ck}, {kEfPlaceholder, ph}}),
              Reason::kAuthMissing);
  Buf bad_auth = auth;
  bad_auth[3] = 0x40;  // ciphertext length past the body
  expect_drop(rebuild(ex, {{kEfUniqueId, uid}, {kEfCookie, ck}, {kEfAuthenticator, bad_auth}}),
              Reason::kAuthMalformed);
  Buf short_ct = test::from_hex("00100008");  // a ciphertext shorter than the SIV tag
  short_ct.resize(4 + 16 + 8, 0);
  expect_drop(rebuild(ex, {{kEfUniqueId, uid}, {kEfCookie, ck}, {kEfAuthenticator, short_ct}}),
              Reason::kAuthMalformed);
  expect_drop(rebuild(ex, {{kEfUniqueId, uid}, {kEfAuthenticator, auth}, {kEfCookie, ck}}),
              Reason::kAuthNotLast);
  // An unknown EF after the authenticator is ignored (RFC 8915 §5.6), so the
  // example still verifies with one appended.
  Buf tail = ex.request;
  Buf unk(32);
  write_ef(0x7777, Buf(28, 1), unk);
  tail.insert(tail.end(), unk.begin(), unk.end());
  EXPECT_EQ(run(tail).reason, Reason::kOkNts);
}

// An unknown EF before the authenticator is covered by the AD (RFC 8915
// §5.6) and otherwise ignored (RFC 7822 §3): the request still verifies, and
// changing the unknown EF breaks verification.
TEST_F(ServerTest, UnknownEfBeforeAuthenticatorIsAuthenticated) {
  PendingRequest pending;
  const Buf base = nts_request(1, &pending);
  const std::size_t auth_len = auth_ef_len(kNonceLen, crypto::kSivTagLen);
  const std::size_t auth_off = base.size() - auth_len;
  Buf unk(32);
  ASSERT_EQ(write_ef(0x7777, Buf(28, 0x42), unk), 32u);
  Buf req(base.begin(), base.begin() + static_cast<std::ptrdiff_t>(auth_off));
  req.insert(req.end(), unk.begin(), unk.end());
  req.insert(req.end(), base.begin() + static_cast<std::ptrdiff_t>(auth_off), base.end());
  const std::size_t a = auth_off + unk.size();
  auto eng = crypto::make_scalar_engine();
  const std::span<const std::uint8_t> all(req);
  ASSERT_EQ(eng->seal_one(crypto::make_aead_op(c2s, all.first(a), all.subspan(a + 8, kNonceLen), {},
                                               std::span(req).subspan(a + 8 + kNonceLen, 16))),
            crypto::SivStatus::kOk);
  const Outcome o = run(req);
  ASSERT_EQ(o.reason, Reason::kOkNts) << reason_name(o.reason);
  Client client(crypto::make_scalar_engine());
  const Response r = client.verify_nts_response(std::span(out).first(o.len), pending,
                                                testing::key_from_hex(testing::kExampleS2c), kRx);
  EXPECT_EQ(r.status, ClientStatus::kOk);
  EXPECT_EQ(r.cookie_count, 2);
  req[auth_off + 10] ^= 1;
  EXPECT_EQ(run(req).reason, Reason::kAuthFailed);
}

// With an unknown EF ahead of the Unique Identifier, the UID has to move
// forward to offset 48 in the response; answering in the request's own
// buffer (the move overlaps) gives the same bytes as a separate buffer, for
// an NTS response and for a NAK.
TEST_F(ServerTest, UidAfterUnknownEfEchoedInPlace) {
  PendingRequest pending;
  const Buf base = nts_request(0, &pending);
  Buf unk(20);
  ASSERT_EQ(write_ef(0x7777, Buf(13, 0x42), unk), 20u);
  Buf req(base.begin(), base.begin() + kHeaderLen);
  req.insert(req.end(), unk.begin(), unk.end());
  req.insert(req.end(), base.begin() + kHeaderLen, base.end());
  // Re-seal the authenticator over the new AD (everything before it).
  const std::size_t a = req.size() - auth_ef_len(kNonceLen, crypto::kSivTagLen);
  auto eng = crypto::make_scalar_engine();
  const std::span<const std::uint8_t> all(req);
  ASSERT_EQ(eng->seal_one(crypto::make_aead_op(c2s, all.first(a), all.subspan(a + 8, kNonceLen), {},
                                               std::span(req).subspan(a + 8 + kNonceLen, 16))),
            crypto::SivStatus::kOk);
  Buf nak_req = req;
  nak_req[kHeaderLen + unk.size() + 36 + 4] ^= 0x40;  // the cookie's key id: unknown → NAK

  for (const Buf* r : {&req, &nak_req}) {
    Server a_server(crypto::make_scalar_engine()), b_server(crypto::make_scalar_engine());
    FakeClock c1, c2;
    SeededRandom r1(5), r2(5);
    Buf sep(r->size(), 0);
    const Outcome o1 = a_server.handle_request(*r, kRx, state, &ring, c1, r1, sep);
    Buf inplace = *r;
    const Outcome o2 = b_server.handle_request(inplace, kRx, state, &ring, c2, r2, inplace);
    ASSERT_EQ(o1.reason, r == &req ? Reason::kOkNts : Reason::kCookieUnknownKey);
    ASSERT_EQ(o2.reason, o1.reason);
    ASSERT_EQ(o2.len, o1.len);
    EXPECT_TRUE(std::equal(sep.begin(), sep.begin() + o1.len, inplace.begin()));
    // The UID EF is echoed whole right after the header.
    const std::size_t uid_ef = 4 + pending.uid.size();
    EXPECT_TRUE(std::equal(sep.begin() + kHeaderLen, sep.begin() + kHeaderLen + uid_ef,
                           r->begin() + kHeaderLen + unk.size()));
    if (r == &req) {
      Client client(crypto::make_scalar_engine());
      const Response resp = client.verify_nts_response(
          std::span(sep).first(o1.len), pending, testing::key_from_hex(testing::kExampleS2c), kRx);
      EXPECT_EQ(resp.status, ClientStatus::kOk);
    } else {
      EXPECT_EQ(o1.len, kHeaderLen + uid_ef);
    }
  }
}

TEST_F(ServerTest, OutTooSmall) {
  const Example ex = load_example();
  Buf small(100);
  const Outcome o = server.handle_request(ex.request, kRx, state, &ring, clock, rng, small);
  EXPECT_EQ(o.verdict, Verdict::kDrop);
  EXPECT_EQ(o.reason, Reason::kOutTooSmall);
  EXPECT_EQ(rng.bytes, 0u);
}

TEST_F(ServerTest, KissRate) {
  const Example ex = load_example();
  for (const Buf& req : {plain_request(), ex.request}) {
    out.assign(req.size(), 0);
    const Outcome o = server.kiss(req, kRx, state, clock, out);
    ASSERT_EQ(o.verdict, Verdict::kKod);
    EXPECT_EQ(o.reason, Reason::kRateLimited);
    EXPECT_EQ(o.len, kHeaderLen);
    NtpHeader h;
    ASSERT_TRUE(parse_header(out, h));
    EXPECT_EQ(h.stratum, 0);
    EXPECT_EQ(h.refid, kKissRate);
    PendingRequest p;
    NtpHeader rq;
    parse_header(req, rq);
    p.t1 = rq.transmit;
    const Response r = verify_plain_response(std::span(out).first(o.len), p, kRx);
    EXPECT_EQ(r.status, ClientStatus::kKod);
    EXPECT_EQ(r.refid, kKissRate);
  }
  Buf resp = plain_request();
  resp[0] = (resp[0] & ~7) | 4;
  EXPECT_EQ(server.kiss(resp, kRx, state, clock, out).verdict, Verdict::kDrop);
}

TEST(Reasons, NamesAreUniqueSnakeCase) {
  std::set<std::string> seen;
  for (std::size_t i = 0; i < kReasonCount; ++i) {
    const std::string n = reason_name(static_cast<Reason>(i));
    EXPECT_TRUE(seen.insert(n).second) << n;
    for (char c : n) EXPECT_TRUE((c >= 'a' && c <= 'z') || c == '_') << n;
  }
  EXPECT_EQ(reason_verdict(Reason::kOkNts), Verdict::kRespond);
  EXPECT_EQ(reason_verdict(Reason::kAuthFailed), Verdict::kNak);
  EXPECT_EQ(reason_verdict(Reason::kRateLimited), Verdict::kKod);
  EXPECT_STREQ(reason_name(Reason::kCount), "invalid");
}

}  // namespace
}  // namespace ntsd::proto
