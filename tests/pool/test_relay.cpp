// What a pool user receives for its time source's answer (ctrl/pool/relay.hpp).
#include <gtest/gtest.h>

#include "ntsd/pool/relay.hpp"

using namespace ntsd;
using namespace ntsd::pool;

namespace {

ke::Response answer(std::size_t cookies, std::size_t cookie_len, std::string server = "", int port = -1,
                    bool keep = true) {
  std::vector<std::vector<std::uint8_t>> c(cookies, std::vector<std::uint8_t>(cookie_len, 0x5a));
  ke::ResponseParams p;
  p.aead = 15;
  p.cookies = c;
  p.server = server;
  p.port = port < 0 ? 0 : static_cast<std::uint16_t>(port);
  p.keep_alive = keep;
  auto r = ke::parse_response_records(ke::build_response(p), 65536);
  EXPECT_EQ(r.status, ke::Response::Status::kOk);
  return r;
}

}  // namespace

TEST(PoolRelay, InsertsTheServerRecordAndStripsKeepAlive) {
  auto rel = relay_response(answer(8, 100), 0, 15, "a.pool.test");
  ASSERT_TRUE(rel.ok) << rel.why;
  auto r = ke::parse_response(rel.out);
  ASSERT_EQ(r.status, ke::Response::Status::kOk);
  EXPECT_EQ(r.server, "a.pool.test");
  EXPECT_FALSE(r.keep_alive);
  EXPECT_FALSE(r.port);
  EXPECT_EQ(r.cookies.size(), 8u);
  // The source's own Server and Port records are relayed as they are.
  rel = relay_response(answer(8, 100, "ntp1.a.test", 1123), 0, 15, "a.pool.test");
  r = ke::parse_response(rel.out);
  EXPECT_EQ(r.server, "ntp1.a.test");
  EXPECT_EQ(*r.port, 1123);
}

TEST(PoolRelay, EchoesRecord1024OnlyForACompliantAead30User) {
  auto r30 = answer(8, 64);
  r30.aead = 30;
  auto rel = relay_response(r30, 0, 30, "a", true);
  ASSERT_TRUE(rel.ok) << rel.why;
  EXPECT_TRUE(ke::parse_response(rel.out).compliant_gcm_siv);
  rel = relay_response(r30, 0, 30, "a", false);
  ASSERT_TRUE(rel.ok) << rel.why;
  EXPECT_FALSE(ke::parse_response(rel.out).compliant_gcm_siv);
  // Never with another AEAD (chrony's prepare_response).
  rel = relay_response(answer(8, 100), 0, 15, "a", true);
  ASSERT_TRUE(rel.ok) << rel.why;
  EXPECT_FALSE(ke::parse_response(rel.out).compliant_gcm_siv);
}

TEST(PoolRelay, StaysWithin4096BytesByDroppingCookies) {
  auto rel = relay_response(answer(8, 600), 0, 15, "a.pool.test");
  ASSERT_TRUE(rel.ok) << rel.why;
  EXPECT_LE(rel.out.size(), kMaxMessage);
  EXPECT_EQ(rel.cookies_dropped, 2u);
  EXPECT_EQ(ke::parse_response(rel.out).cookies.size(), 6u);
  EXPECT_FALSE(relay_response(answer(1, 4090), 0, 15, "a").ok);
}

TEST(PoolRelay, RefusesAnswersThatDoNotMatchTheRequest) {
  EXPECT_FALSE(relay_response(answer(8, 100), 0, 17, "a").ok);   // another AEAD
  EXPECT_FALSE(relay_response(answer(8, 100), 1, 15, "a").ok);   // another protocol
  EXPECT_FALSE(relay_response(answer(0, 100), 0, 15, "a").ok);   // no cookies
  auto no_aead = ke::parse_response_records(ke::build_no_aead_response(), 4096);
  EXPECT_FALSE(relay_response(no_aead, 0, 15, "a").ok);
}

TEST(PoolRelay, NoAeadAnswerForAnyProtocol) {
  auto out = no_aead_response(0);
  EXPECT_EQ(out, ke::build_no_aead_response());
  auto r = ke::parse_response_records(no_aead_response(0x8001), 4096);
  ASSERT_EQ(r.status, ke::Response::Status::kOk);
  EXPECT_EQ(*r.next_protocol, 0x8001);
  EXPECT_TRUE(r.aead_empty);
}
