// ntsd-ke as an NTS pool time source over loopback: support queries, Fixed
// Key Requests, Keep Alive with its cap and idle timeout, the token file, and
// each bad input's outcome (docs/pool.md "Time source").
#include <gtest/gtest.h>

#include <algorithm>

#include "ntsd/crypto/cookie.hpp"
#include "pool_fixture.hpp"

using namespace ntsd;
using test::Pki;
using test::RawStream;
using test::TimeSource;

namespace {

Pki& pki() {
  static Pki* p = [] {
    auto* x = new Pki;
    x->cert("source.test");
    return x;
  }();
  return *p;
}

std::vector<std::uint8_t> keys64() {
  std::vector<std::uint8_t> k(64);
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(i * 3 + 1);
  return k;
}

std::vector<std::uint8_t> fixed_key_request(const std::string& token, std::uint16_t aead, std::size_t half,
                                            bool keep, std::uint16_t protocol = 0) {
  auto k = keys64();
  k.resize(2 * half, 9);
  return ke::build_fixed_key_request(token, {k.data(), half}, {k.data() + half, half}, protocol, aead, keep);
}

int error_of(const std::vector<std::uint8_t>& reply) {
  auto r = ke::parse_response_records(reply, 65536);
  return r.status == ke::Response::Status::kErrorRecord ? r.error : -1;
}

}  // namespace

TEST(PoolTokens, FilesAreSecretAndCheckedWithoutEchoingTokens) {
  std::vector<std::string> t;
  std::string err;
  auto open = pki().file("open.tokens", "s3cret-token\n", 0640);
  EXPECT_FALSE(ke::read_token_file(open, t, err));
  EXPECT_NE(err.find("mode 640"), std::string::npos) << err;
  EXPECT_EQ(err.find("s3cret"), std::string::npos) << "a token leaked into: " << err;
  auto ok = pki().file("ok.tokens", "# pools\n\n  first-token  \r\nsecond\n", 0600);
  ASSERT_TRUE(ke::read_token_file(ok, t, err)) << err;
  EXPECT_EQ(t, (std::vector<std::string>{"first-token", "second"}));
  auto bad = pki().file("bad.tokens", "good\nhas space-secret\n", 0600);
  EXPECT_FALSE(ke::read_token_file(bad, t, err));
  EXPECT_NE(err.find("line 2"), std::string::npos) << err;
  EXPECT_EQ(err.find("secret"), std::string::npos) << err;
  EXPECT_FALSE(ke::read_token_file(pki().file("empty.tokens", "# none\n", 0600), t, err));
  EXPECT_FALSE(ke::read_token_file(pki().file("long.tokens", std::string(300, 'x') + "\n", 0600), t, err));
  EXPECT_FALSE(ke::read_token_file(pki().dir() + "/missing.tokens", t, err));

  auto set = ke::PoolTokens::load(ok, err);
  ASSERT_TRUE(set);
  auto b = [](const std::string& s) { return std::vector<std::uint8_t>(s.begin(), s.end()); };
  EXPECT_TRUE(set->accepts(b("second")));
  EXPECT_TRUE(set->accepts(b("first-token")));
  EXPECT_FALSE(set->accepts(b("secon")));
  EXPECT_FALSE(set->accepts(b("second ")));
  EXPECT_FALSE(set->accepts(b("")));
}

TEST(KePoolSource, AnswersSupportQueriesWithItsAeadsAndProtocol) {
  TimeSource src(pki(), "source.test", {"tok"});
  RawStream c(pki().ca(), src.port());
  ASSERT_TRUE(c.s);
  auto reply = c.ask(ke::build_support_request("tok", true, true, false));
  auto s = ke::parse_support_response(reply, 4096);
  ASSERT_EQ(s.status, ke::SupportResponse::Status::kOk) << s.why;
  // [ke] aeads defaults to [30, 15, 17]: AES-128-GCM-SIV has a 16-byte key.
  EXPECT_EQ(s.algorithms, (std::vector<ke::AlgorithmDescription>{{30, 16}, {15, 32}, {17, 64}}));
  EXPECT_EQ(s.protocols, std::vector<std::uint16_t>{0});
  EXPECT_FALSE(s.keep_alive);
  EXPECT_TRUE(c.closed_by_peer());  // no Keep Alive asked: closed after the answer
  // Only what was asked for (ntpd-rs SupportsResponse).
  RawStream c2(pki().ca(), src.port());
  s = ke::parse_support_response(c2.ask(ke::build_support_request("tok", false, true, false)), 4096);
  EXPECT_TRUE(s.has_algorithms);
  EXPECT_FALSE(s.has_protocols);
  EXPECT_EQ(src.server.stats().pool_support.load(), 2u);
}

TEST(KePoolSource, FixedKeyCookiesCarryThePoolsKeysAndKeepAliveKeepsTheConnection) {
  TimeSource src(pki(), "source.test", {"other", "tok"});
  RawStream c(pki().ca(), src.port());
  ASSERT_TRUE(c.s);
  // Support with Keep Alive: echoed, connection kept.
  auto s = ke::parse_support_response(c.ask(ke::build_support_request("tok", true, true, true)), 4096);
  ASSERT_EQ(s.status, ke::SupportResponse::Status::kOk);
  EXPECT_TRUE(s.keep_alive);
  EXPECT_EQ(src.server.stats().keepalive_open.load(), 1);
  auto eng = crypto::make_scalar_engine();
  for (std::uint16_t aead : {15, 17}) {
    const std::size_t half = aead == 15 ? 32 : 64;
    auto reply = c.ask(fixed_key_request("tok", aead, half, true));
    auto r = ke::parse_response(reply);
    ASSERT_EQ(r.status, ke::Response::Status::kOk) << r.why;
    EXPECT_EQ(*r.aead, aead);
    EXPECT_TRUE(r.keep_alive);
    ASSERT_EQ(r.cookies.size(), 8u);
    auto k = keys64();
    k.resize(2 * half, 9);
    for (const auto& ck : r.cookies) {
      crypto::CookieKeys keys;
      ASSERT_EQ(crypto::open_cookie(*eng, *src.km.ring(), ck, keys), crypto::CookieStatus::kOk);
      EXPECT_TRUE(std::ranges::equal(keys.c2s.bytes(), std::span(k).first(half)));
      EXPECT_TRUE(std::ranges::equal(keys.s2c.bytes(), std::span(k).subspan(half)));
    }
  }
  // An ordinary request on a kept-alive connection: never a key export.
  const std::uint16_t a[] = {15};
  EXPECT_EQ(error_of(c.ask(ke::build_request(a))), 1);
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_EQ(src.server.stats().pool_kept_alive_key_exchange.load(), 1u);
  EXPECT_EQ(src.server.stats().pool_fixed_key.load(), 2u);
  EXPECT_TRUE(test::eventually([&] { return src.server.stats().keepalive_open.load() == 0; }));
  // Without Keep Alive the answer has none and the connection closes.
  RawStream c2(pki().ca(), src.port());
  auto r = ke::parse_response(c2.ask(fixed_key_request("tok", 15, 32, false)));
  ASSERT_EQ(r.status, ke::Response::Status::kOk);
  EXPECT_FALSE(r.keep_alive);
  EXPECT_TRUE(c2.closed_by_peer());
}

TEST(KePoolSource, EveryBadPoolRequestGetsItsErrorThenClose) {
  TimeSource src(pki(), "source.test", {"tok"});
  struct Case {
    const char* what;
    std::vector<std::uint8_t> req;
    int error;
  };
  std::vector<Case> cases = {
      {"wrong token", ke::build_support_request("nope", true, true, true), 1},
      {"token of another length", ke::build_support_request("tok2", true, false, false), 1},
      {"no token", fixed_key_request("", 15, 32, false), 1},
      {"wrong key length", fixed_key_request("tok", 15, 16, false), 1},
      {"unsupported AEAD", fixed_key_request("tok", 16, 24, false), 1},
      {"not NTPv4", fixed_key_request("tok", 15, 32, false, 0x8001), 1},
  };
  {
    // A support query mixed with a Next Protocol record.
    auto m = ke::build_support_request("tok", true, false, false);
    std::vector<std::uint8_t> np;
    const std::uint16_t zero = 0;
    ke::append_u16_record(np, true, ke::kNextProtocol, {&zero, 1});
    m.insert(m.begin(), np.begin(), np.end());
    cases.push_back({"support + next protocol", m, 1});
    // Several AEADs in a Fixed Key Request.
    auto f = fixed_key_request("tok", 15, 32, false);
    std::vector<std::uint8_t> two;
    const std::uint16_t aeads[] = {15, 17};
    ke::append_u16_record(two, true, ke::kAeadAlgorithm, aeads);
    auto g = two;
    g.insert(g.end(), f.begin(), f.end());
    cases.push_back({"two AEAD records", g, 1});
    // An unknown critical record.
    auto u = ke::build_support_request("tok", true, true, false);
    std::vector<std::uint8_t> crit;
    ke::append_record(crit, true, 0x1234, {});
    u.insert(u.begin(), crit.begin(), crit.end());
    cases.push_back({"unknown critical", u, 0});
  }
  for (const auto& c : cases) {
    RawStream s(pki().ca(), src.port());
    ASSERT_TRUE(s.s) << c.what;
    EXPECT_EQ(error_of(s.ask(c.req)), c.error) << c.what;
    EXPECT_TRUE(s.closed_by_peer()) << c.what;
  }
  EXPECT_EQ(src.server.stats().pool_bad_token.load(), 3u);
  EXPECT_EQ(src.server.stats().keepalive_open.load(), 0);
}

TEST(KePoolSource, WithoutTokensNoPoolMayUseIt) {
  TimeSource src(pki(), "source.test", {});
  RawStream c(pki().ca(), src.port());
  EXPECT_EQ(error_of(c.ask(ke::build_support_request("tok", true, true, true))), 1);
  // Ordinary NTS-KE is unchanged.
  ke::ClientOptions o;
  o.host = "127.0.0.1";
  o.port = src.port();
  o.ca_file = pki().ca();
  auto r = ke::run_ke(o);
  EXPECT_EQ(r.error, ke::KeError::kOk) << r.message;
}

TEST(KePoolSource, KeepAliveIsCappedAndIdleConnectionsClose) {
  ke::ServerOptions o;
  o.keepalive_connections = 1;
  o.keepalive_idle_ms = 300;
  TimeSource src(pki(), "source.test", {"tok"}, o);
  RawStream a(pki().ca(), src.port()), b(pki().ca(), src.port());
  auto sa = ke::parse_support_response(a.ask(ke::build_support_request("tok", true, true, true)), 4096);
  EXPECT_TRUE(sa.keep_alive);
  // At the cap: answered, but without Keep Alive, and closed.
  auto sb = ke::parse_support_response(b.ask(ke::build_support_request("tok", true, true, true)), 4096);
  ASSERT_EQ(sb.status, ke::SupportResponse::Status::kOk);
  EXPECT_FALSE(sb.keep_alive);
  EXPECT_TRUE(b.closed_by_peer());
  EXPECT_EQ(src.server.stats().keepalive_refused.load(), 1u);
  // Idle past keepalive_idle_ms: closed, and the slot is free again.
  EXPECT_TRUE(a.closed_by_peer(2000));
  EXPECT_EQ(src.server.stats().keepalive_idle_closed.load(), 1u);
  EXPECT_TRUE(test::eventually([&] { return src.server.stats().keepalive_open.load() == 0; }));
  RawStream c(pki().ca(), src.port());
  EXPECT_TRUE(ke::parse_support_response(c.ask(ke::build_support_request("tok", true, true, true)), 4096).keep_alive);
}

TEST(KePoolSource, ServerDenyRecordsDoNotBotherAnOrdinaryServer) {
  TimeSource src(pki(), "source.test", {"tok"});
  ke::ClientOptions o;
  o.host = "127.0.0.1";
  o.port = src.port();
  o.ca_file = pki().ca();
  o.deny = {"a.example", "b.example"};
  auto r = ke::run_ke(o);
  EXPECT_EQ(r.error, ke::KeError::kOk) << r.message;
  EXPECT_EQ(r.cookies.size(), 8u);
}
