// ntsd-pool's request handling over loopback: users -> KeServer(Pool) ->
// in-process ntsd-ke time sources (and fake ones that misbehave on cue).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>

#include "ntsd/crypto/cookie.hpp"
#include "ntsd/pool/pool.hpp"
#include "pool_fixture.hpp"

using namespace ntsd;
using test::Pki;
using test::TimeSource;

namespace {

Pki& pki() {
  static Pki* p = [] {
    auto* x = new Pki;
    for (const char* n : {"a.test", "b.test", "c.test", "pool.test"}) x->cert(n);
    return x;
  }();
  return *p;
}

// A time source that answers support queries well and Fixed Key Requests
// the way a test wants (a misbehaving operator).
class FakeSource final : public ke::RequestHandler {
 public:
  enum class Fkr { kError2, kGarbage, kClose, kCookiesNoServer };
  explicit FakeSource(Fkr how) : how_(how) {}
  std::atomic<int> fixed_keys{0};
  void handle(ke::KeRequest& r) override {
    auto p = ke::parse_pool_request(r.bytes(), r.bytes().size());
    if (p.kind == ke::PoolRequest::Kind::kSupport) {
      std::vector<ke::AlgorithmDescription> algs = {{15, 32}};
      std::vector<std::uint16_t> protos = {0};
      bool keep = p.keep_alive && r.acquire_keep_alive();
      return r.respond(ke::build_support_response(&algs, &protos, keep), keep);
    }
    if (p.kind != ke::PoolRequest::Kind::kFixedKey) return r.respond(ke::build_error(ke::ErrorCode::kBadRequest));
    fixed_keys++;
    switch (how_) {
      case Fkr::kError2: return r.respond(ke::build_error(ke::ErrorCode::kInternalServerError));
      case Fkr::kGarbage: return r.respond({0x80, 0x01, 0x00, 0x03, 1, 2, 3, 0x80, 0, 0, 0});
      case Fkr::kClose: return r.respond({});  // nothing, then close
      case Fkr::kCookiesNoServer: {
        std::vector<std::vector<std::uint8_t>> c(8, std::vector<std::uint8_t>(100, 1));
        ke::ResponseParams rp;
        rp.cookies = c;
        rp.keep_alive = p.keep_alive && r.acquire_keep_alive();
        return r.respond(ke::build_response(rp), rp.keep_alive);
      }
    }
  }

 private:
  Fkr how_;
};

struct FakeServer {
  std::shared_ptr<FakeSource> handler;
  ke::KeServer server;
  FakeServer(const std::string& name, FakeSource::Fkr how)
      : handler(std::make_shared<FakeSource>(how)), server(opts(name), handler) {
    std::string err;
    if (!server.start(err)) std::abort();
  }
  static ke::ServerOptions opts(const std::string& name) {
    ke::ServerOptions o;
    o.listen = {"127.0.0.1"};
    o.port = 0;
    o.cert = pki().pem(name);
    o.key = pki().key(name);
    o.threads = 1;
    return o;
  }
};

config::BackendConfig backend(const std::string& name, std::uint16_t port, int weight = 1) {
  config::BackendConfig b;
  b.name = name;
  b.address = "127.0.0.1";
  b.port = port;
  b.weight = weight;
  return b;
}

// ntsd-pool in process: Pool behind the shared KE server.
struct PoolRig {
  std::mutex mu;
  std::vector<std::string> log;
  std::shared_ptr<pool::Pool> pool;
  std::unique_ptr<ke::KeServer> server;
  PoolRig(std::vector<config::BackendConfig> backends, std::vector<std::string> tokens, int timeout_ms = 1500) {
    pool::PoolOptions o;
    o.pool.ca_file = pki().ca();
    o.pool.workers = 4;
    o.pool.timeout_ms = timeout_ms;
    o.pool.retry_min_ms = 200;
    o.pool.retry_max_ms = 400;
    o.backends = std::move(backends);
    o.tokens = std::move(tokens);
    pool = std::make_shared<pool::Pool>(o, [this](const std::string& l) {
      std::lock_guard lock(mu);
      log.push_back(l);
    });
    std::string err;
    if (!pool->start(err)) std::abort();
    ke::ServerOptions so;
    so.listen = {"127.0.0.1", "::1"};
    so.port = 0;
    so.cert = pki().pem("pool.test");
    so.key = pki().key("pool.test");
    so.threads = 2;
    server = std::make_unique<ke::KeServer>(so, pool);
    if (!server->start(err)) std::abort();
  }
  ~PoolRig() {
    server->stop();
    pool->stop();
  }
  ke::KeResult user(std::vector<std::string> deny = {}, const std::string& host = "127.0.0.1",
                    std::vector<std::uint16_t> aeads = {15, 17}, bool compliant = true) {
    ke::ClientOptions c;
    c.host = host;
    c.port = server->port();
    c.ca_file = pki().ca();
    c.timeout_ms = 5000;
    c.deny = std::move(deny);
    c.aeads = std::move(aeads);
    c.compliant_gcm_siv = compliant;
    return ke::run_ke(c);
  }
  bool logged(const std::string& needle) {
    std::lock_guard lock(mu);
    return std::any_of(log.begin(), log.end(), [&](const std::string& l) { return l.find(needle) != std::string::npos; });
  }
  std::string metrics() { return pool->render_metrics(&server->stats()); }
  bool metric(const std::string& line) { return metrics().find(line + "\n") != std::string::npos; }
};

// The source a cookie belongs to opens it, and it carries the user's keys.
bool cookie_from(TimeSource& src, const ke::KeResult& r) {
  auto eng = crypto::make_scalar_engine();
  crypto::CookieKeys keys;
  if (crypto::open_cookie(*eng, *src.km.ring(), r.cookies.front(), keys) != crypto::CookieStatus::kOk) return false;
  return std::ranges::equal(keys.c2s.bytes(), r.c2s.bytes()) && std::ranges::equal(keys.s2c.bytes(), r.s2c.bytes());
}

}  // namespace

TEST(Pool, UsersGetCookiesForTheirOwnKeysFromOneSource) {
  TimeSource a(pki(), "a.test", {"tok-a"}), b(pki(), "b.test", {"tok-b"});
  PoolRig rig({backend("a.test", a.port()), backend("b.test", b.port())}, {"tok-a", "tok-b"});
  ASSERT_TRUE(test::eventually([&] { return rig.pool->healthy_count() == 2; }));
  int from_a = 0, from_b = 0;
  for (int i = 0; i < 30; ++i) {
    auto r = rig.user({}, i % 2 ? "127.0.0.1" : "::1", i % 3 ? std::vector<std::uint16_t>{15, 17}
                                                          : std::vector<std::uint16_t>{17});
    ASSERT_EQ(r.error, ke::KeError::kOk) << r.message;
    ASSERT_EQ(r.cookies.size(), 8u);
    // The pool inserted a Server record naming the source (ntsd-ke sends none here).
    ASSERT_TRUE(r.ntp_server == "a.test" || r.ntp_server == "b.test") << r.ntp_server;
    TimeSource& s = r.ntp_server == "a.test" ? a : b;
    EXPECT_TRUE(cookie_from(s, r)) << "cookie does not carry the user's exported keys";
    (r.ntp_server == "a.test" ? from_a : from_b)++;
    EXPECT_EQ(r.aead, i % 3 ? 15 : 17);
  }
  EXPECT_GT(from_a, 3);
  EXPECT_GT(from_b, 3);
  // Kept-alive connections: a handful of TLS handshakes with each source for
  // 30 users and the health checks.
  auto m = rig.metrics();
  EXPECT_TRUE(rig.metric("ntsd_pool_user_responses_total{outcome=\"ok\"} 30")) << m;
  EXPECT_TRUE(rig.metric("ntsd_pool_backend_up{backend=\"a.test\"} 1")) << m;
  EXPECT_EQ(a.server.stats().pool_fixed_key.load() + b.server.stats().pool_fixed_key.load(), 30u);
  EXPECT_LE(a.server.stats().accepted.load() + b.server.stats().accepted.load(), 12u)
      << "connections are not being kept alive";
}

// AEAD 30 through the pool: the user's keys come from exporter id 30 when it
// sent record 1024 (chrony >= 4.6), which the pool then echoes, and from
// chrony's legacy id 15 when it did not (chrony 4.4-4.5). Either way the
// source's cookie carries exactly the keys the user derived.
TEST(Pool, Aead30KeysFollowTheUsersExporterContext) {
  TimeSource a(pki(), "a.test", {"tok-a"});
  PoolRig rig({backend("a.test", a.port())}, {"tok-a"});
  ASSERT_TRUE(test::eventually([&] { return rig.pool->healthy_count() == 1; }));
  for (bool compliant : {true, false}) {
    auto r = rig.user({}, "127.0.0.1", {30, 15}, compliant);
    ASSERT_EQ(r.error, ke::KeError::kOk) << r.message;
    EXPECT_EQ(r.aead, 30);
    EXPECT_EQ(r.compliant_gcm_siv, compliant) << "record 1024 echoed iff the user sent it";
    EXPECT_TRUE(cookie_from(a, r)) << "compliant " << compliant << ": cookie keys differ from the user's";
  }
}

TEST(Pool, DenyGetsTheOtherSourceAndTheSourcesOwnServerNameCounts) {
  ke::ServerOptions named;
  named.ntp_server = "ntp.b.test";
  TimeSource a(pki(), "a.test", {"tok-a"}), b(pki(), "b.test", {"tok-b"}, named);
  PoolRig rig({backend("a.test", a.port()), backend("b.test", b.port())}, {"tok-a", "tok-b"});
  ASSERT_TRUE(test::eventually([&] { return rig.pool->healthy_count() == 2; }));
  for (int i = 0; i < 10; ++i) {
    auto r = rig.user({"a.test"});
    ASSERT_EQ(r.error, ke::KeError::kOk) << r.message;
    EXPECT_EQ(r.ntp_server, "ntp.b.test");  // B's own Server record, relayed
  }
  // B answered with ntp.b.test, so denying that name gets A.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(rig.user({"ntp.b.test"}).ntp_server, "a.test");
  // Both denied: still served (nts-pool's fallback), and counted.
  EXPECT_EQ(rig.user({"a.test", "ntp.b.test"}).error, ke::KeError::kOk);
  EXPECT_TRUE(rig.metric("ntsd_pool_deny_ignored_total 1"));
}

TEST(Pool, ASourceThatStopsIsSkippedWithoutErrorsAndNoSourceIsError2) {
  auto a = std::make_unique<TimeSource>(pki(), "a.test", std::vector<std::string>{"tok-a"});
  TimeSource b(pki(), "b.test", {"tok-b"});
  PoolRig rig({backend("a.test", a->port()), backend("b.test", b.port())}, {"tok-a", "tok-b"});
  ASSERT_TRUE(test::eventually([&] { return rig.pool->healthy_count() == 2; }));
  for (int i = 0; i < 6; ++i) ASSERT_EQ(rig.user().error, ke::KeError::kOk);  // warm connections to both
  a.reset();  // ntsd-ke of A stops: its kept-alive connections close
  for (int i = 0; i < 20; ++i) {
    auto r = rig.user();
    ASSERT_EQ(r.error, ke::KeError::kOk) << i << ": " << r.message;
    EXPECT_EQ(r.ntp_server, "b.test");
  }
  EXPECT_TRUE(rig.logged("backend a.test down"));
  EXPECT_TRUE(rig.metric("ntsd_pool_backend_up{backend=\"a.test\"} 0"));
  EXPECT_TRUE(rig.metric("ntsd_pool_user_responses_total{outcome=\"backend_failed\"} 0"));
}

TEST(Pool, EverySourceDownIsError2) {
  auto a = std::make_unique<TimeSource>(pki(), "a.test", std::vector<std::string>{"tok-a"});
  PoolRig rig({backend("a.test", a->port())}, {"tok-a"});
  ASSERT_TRUE(test::eventually([&] { return rig.pool->healthy_count() == 1; }));
  a.reset();
  for (int i = 0; i < 3; ++i) {
    auto r = rig.user();
    EXPECT_EQ(r.error, ke::KeError::kErrorRecord) << r.message;
    EXPECT_EQ(r.error_code, 2);
  }
  EXPECT_TRUE(rig.metric("ntsd_pool_backend_up{backend=\"a.test\"} 0"));
  EXPECT_FALSE(rig.metric("ntsd_pool_user_responses_total{outcome=\"no_backend\"} 0"));
}

TEST(Pool, AWrongTokenIsRefusedByTheSourceAndThePoolSaysSo) {
  TimeSource a(pki(), "a.test", {"tok-a"}), b(pki(), "b.test", {"tok-b"});
  PoolRig rig({backend("a.test", a.port()), backend("b.test", b.port())}, {"WRONG", "tok-b"});
  ASSERT_TRUE(test::eventually([&] { return rig.logged("backend a.test down (refused)"); }));
  EXPECT_TRUE(rig.logged("Error 1"));
  EXPECT_FALSE(rig.logged("WRONG"));  // the token never reaches the log
  EXPECT_GE(a.server.stats().pool_bad_token.load(), 1u);
  ASSERT_TRUE(test::eventually([&] { return rig.pool->healthy_count() == 1; }));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(rig.user().ntp_server, "b.test");
  auto m = rig.metrics();
  EXPECT_EQ(m.find("ntsd_pool_backend_errors_total{backend=\"a.test\",reason=\"refused\"} 0"), std::string::npos) << m;
  EXPECT_NE(m.find("ntsd_pool_backend_errors_total{backend=\"a.test\",reason=\"refused\""), std::string::npos);
}

TEST(Pool, AFailureAfterTheKeysLeftIsError2AndNeverRetriedElsewhere) {
  for (auto how : {FakeSource::Fkr::kError2, FakeSource::Fkr::kGarbage, FakeSource::Fkr::kClose}) {
    FakeServer bad("c.test", how);
    TimeSource b(pki(), "b.test", {"tok-b"});
    PoolRig rig({backend("c.test", bad.server.port()), backend("b.test", b.port())}, {"x", "tok-b"});
    ASSERT_TRUE(test::eventually([&] { return rig.pool->healthy_count() == 2; }));
    auto fixed_b = b.server.stats().pool_fixed_key.load();
    // Denying B makes the fake source the first choice and B the fallback
    // that a retry would use.
    auto r = rig.user({"b.test"});
    ASSERT_EQ(bad.handler->fixed_keys.load(), 1) << "the fake source was not chosen";
    EXPECT_EQ(r.error, ke::KeError::kErrorRecord) << static_cast<int>(how) << ": " << r.message;
    EXPECT_EQ(r.error_code, 2);
    EXPECT_EQ(b.server.stats().pool_fixed_key.load(), fixed_b) << "the user's keys went to a second source";
    EXPECT_TRUE(rig.metric("ntsd_pool_user_responses_total{outcome=\"backend_failed\"} 1"));
    EXPECT_TRUE(rig.metric("ntsd_pool_backend_up{backend=\"c.test\"} 0"));
  }
}

TEST(Pool, InsertsTheSourcesNameWhenItSendsNoServerRecord) {
  FakeServer fake("c.test", FakeSource::Fkr::kCookiesNoServer);
  PoolRig rig({backend("c.test", fake.server.port())}, {"x"});
  ASSERT_TRUE(test::eventually([&] { return rig.pool->healthy_count() == 1; }));
  auto r = rig.user();
  ASSERT_EQ(r.error, ke::KeError::kOk) << r.message;
  EXPECT_EQ(r.ntp_server, "c.test");
  EXPECT_EQ(r.cookies.size(), 8u);
}

TEST(Pool, UsersGetTheRfcAnswersForBadRequestsAndNoOverlap) {
  TimeSource a(pki(), "a.test", {"tok-a"});
  PoolRig rig({backend("a.test", a.port())}, {"tok-a"});
  ASSERT_TRUE(test::eventually([&] { return rig.pool->healthy_count() == 1; }));
  auto r = rig.user({}, "127.0.0.1", {16});
  EXPECT_EQ(r.error, ke::KeError::kMalformed);
  EXPECT_EQ(r.message, "server supports none of our AEADs");
  test::RawStream s(pki().ca(), rig.server->port());
  auto reply = s.ask(ke::build_support_request("tok-a", true, true, true));
  auto e = ke::parse_response_records(reply, 4096);
  EXPECT_EQ(e.status, ke::Response::Status::kErrorRecord);
  EXPECT_EQ(e.error, 1);  // the pool is no time source
  test::RawStream u(pki().ca(), rig.server->port());
  std::vector<std::uint8_t> crit;
  ke::append_record(crit, true, 0x2222, {});
  const std::uint16_t aead = 15;
  auto req = ke::build_request({&aead, 1});
  req.insert(req.begin(), crit.begin(), crit.end());
  EXPECT_EQ(ke::parse_response_records(u.ask(req), 4096).error, 0);
  EXPECT_TRUE(rig.metric("ntsd_pool_user_responses_total{outcome=\"no_aead\"} 1"));
  EXPECT_TRUE(rig.metric("ntsd_pool_user_responses_total{outcome=\"bad_request\"} 1"));
  EXPECT_TRUE(rig.metric("ntsd_pool_user_responses_total{outcome=\"unknown_critical\"} 1"));
}

TEST(Pool, AddressFamiliesDecideWhichUsersASourceServes) {
  TimeSource a(pki(), "a.test", {"tok-a"});
  auto be = backend("a.test", a.port());
  be.ipv6 = false;
  PoolRig rig({be}, {"tok-a"});
  ASSERT_TRUE(test::eventually([&] { return rig.pool->healthy_count() == 1; }));
  EXPECT_EQ(rig.user({}, "127.0.0.1").error, ke::KeError::kOk);
  auto r = rig.user({}, "::1");
  EXPECT_EQ(r.error, ke::KeError::kErrorRecord);
  EXPECT_EQ(r.error_code, 2);
}

TEST(Pool, ACertificateForAnotherNameIsATlsFailure) {
  TimeSource a(pki(), "a.test", {"tok-a"});
  // Configured as b.test, but serving a.test's certificate.
  PoolRig rig({backend("b.test", a.port())}, {"tok-a"});
  ASSERT_TRUE(test::eventually([&] { return rig.logged("backend b.test down (certificate)"); }));
  EXPECT_EQ(a.server.stats().pool_support.load(), 0u);  // the token never went out
}
