// Verification counting: every response lands in exactly one bucket, and
// nothing that fails a check is counted valid.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <vector>

#include "codec.hpp"
#include "codec_rig.hpp"
#include "fake_nts_server.hpp"
#include "nts_codec.hpp"
#include "nts_fixture.hpp"

namespace ntsgen {
namespace {

using test::build;
using test::Built;
using test::feed;

std::vector<std::uint8_t> plain_reply(const TxBuf& req) {
  std::vector<std::uint8_t> r(48, 0);
  r[0] = 0x24;
  r[1] = 2;
  std::memcpy(r.data() + 24, req.data + 40, 8);
  r[40] = 0xe0;
  return r;
}

TEST(VerifyPlain, EveryOutcomeCounted) {
  auto codec = make_ntp_codec();
  Tracker tr(1024, 42);
  tr.begin_step(0);
  Counters c;
  Histogram h;
  auto b = build(*codec, tr, c, 10);
  c.sent = 10;
  for (int i = 0; i < 4; ++i) feed(*codec, tr, c, h, plain_reply(b.bufs[i]));  // 4 valid
  feed(*codec, tr, c, h, plain_reply(b.bufs[0]));                              // duplicate
  auto kod = plain_reply(b.bufs[4]);
  kod[1] = 0;
  std::memcpy(kod.data() + 12, "RATE", 4);
  feed(*codec, tr, c, h, kod);  // KoD
  auto wrong = plain_reply(b.bufs[5]);
  wrong[31] ^= 0x40;  // origin no longer one we sent
  feed(*codec, tr, c, h, wrong);
  auto mode3 = plain_reply(b.bufs[6]);
  mode3[0] = 0x23;  // a client packet, not a response
  feed(*codec, tr, c, h, mode3);
  auto shorty = plain_reply(b.bufs[7]);
  shorty.resize(47);
  feed(*codec, tr, c, h, shorty);
  auto no_xmt = plain_reply(b.bufs[8]);
  no_xmt[40] = 0;  // zero transmit timestamp: bogus (RFC 5905 §8)
  feed(*codec, tr, c, h, no_xmt);
  c.lost += tr.expire_all();

  EXPECT_EQ(c.valid, 4u);
  EXPECT_EQ(h.count(), 4u);
  EXPECT_EQ(h.max(), 4000u);  // rx 5000 - tx 1000
  EXPECT_EQ(c.kod, 1u);
  EXPECT_EQ(c.invalid[static_cast<int>(Invalid::kDuplicate)], 1u);
  EXPECT_EQ(c.invalid[static_cast<int>(Invalid::kUnmatched)], 1u);
  EXPECT_EQ(c.invalid[static_cast<int>(Invalid::kMalformed)], 3u);
  // 5, 6, 7 and 9 got no matching answer; 8's answer matched but was bogus.
  EXPECT_EQ(c.lost, 4u);
  EXPECT_EQ(c.valid + c.kod + c.lost + 1 /* 8: malformed */, 10u);
}

class VerifyNts : public test::NtsCodecTest {
 protected:
  void SetUp() override {
    sessions_ = test::vector_sessions(3);
    codec_ = make_nts_codec(sessions_, NtsCodecOptions{2}, tr_.capacity());
    ASSERT_NE(codec_, nullptr);
    tr_.begin_step(0);
  }
  // Sends n requests and answers each through the fake server.
  void round(std::size_t n, const ntsd::crypto::SivKey& s2c, const test::Faults& f) {
    auto b = build(*codec_, tr_, c_, n);
    c_.sent += n;
    for (auto& t : b.bufs) {
      ASSERT_GT(t.len, 0u);
      auto resp = test::fake_nts_response(*eng_, s2c, std::span(t.data, t.len), f);
      ASSERT_FALSE(resp.empty());
      feed(resp);
    }
    c_.lost += tr_.expire_all();
  }
};

TEST_F(VerifyNts, CorrectServerIsAllValidAndRefillsTheJar) {
  round(30, keys_.s2c, {});
  EXPECT_EQ(c_.valid, 30u);
  EXPECT_EQ(c_.invalid_total(), 0u);
  EXPECT_EQ(c_.lost, 0u);
  // Each request took 1 cookie and brought 3 (1 + 2 placeholders) back.
  for (auto& s : sessions_) EXPECT_EQ(s.jar.size(), CookieJar::kMax);
}

TEST_F(VerifyNts, WrongS2CIsNeverValid) {
  auto wrong = keys_.c2s;  // a valid key, but not the S2C key
  round(30, wrong, {});
  EXPECT_EQ(c_.valid, 0u);
  EXPECT_EQ(c_.invalid[static_cast<int>(Invalid::kAuthFail)], 30u);
  EXPECT_EQ(h_.count(), 0u);
}

TEST_F(VerifyNts, EachFaultHasItsReason) {
  test::Faults f;
  f.wrong_uid = true;
  round(5, keys_.s2c, f);
  f = {};
  f.no_auth = true;
  round(5, keys_.s2c, f);
  f = {};
  f.cookie_delta = -1;
  round(5, keys_.s2c, f);
  f = {};
  f.wrong_origin = true;
  round(5, keys_.s2c, f);
  f = {};
  f.nak = true;
  round(5, keys_.s2c, f);
  EXPECT_EQ(c_.valid, 0u);
  EXPECT_EQ(c_.invalid[static_cast<int>(Invalid::kUidMismatch)], 5u);
  EXPECT_EQ(c_.invalid[static_cast<int>(Invalid::kNoAuth)], 5u);
  EXPECT_EQ(c_.invalid[static_cast<int>(Invalid::kCookieCount)], 5u);
  EXPECT_EQ(c_.invalid[static_cast<int>(Invalid::kUnmatched)], 5u);
  EXPECT_EQ(c_.lost, 5u);  // the wrong-origin ones matched no request
  EXPECT_EQ(c_.nak, 5u);
}

TEST_F(VerifyNts, DuplicateInOneBurstCountsOnce) {
  Built b = build(*codec_, tr_, c_, 1);
  const auto resp = test::fake_nts_response(*eng_, keys_.s2c, std::span(b.bufs[0].data, b.bufs[0].len));
  const std::array<RxPkt, 2> rx{RxPkt{resp.data(), static_cast<std::uint16_t>(resp.size()), 5000},
                                RxPkt{resp.data(), static_cast<std::uint16_t>(resp.size()), 5000}};
  codec_->verify(rx, tr_, c_, h_);
  EXPECT_EQ(c_.valid, 1u);
  EXPECT_EQ(c_.invalid[static_cast<int>(Invalid::kDuplicate)], 1u);
  EXPECT_EQ(tr_.live(), 0u);
}

TEST_F(VerifyNts, RequestsAreDistinctAndAuthenticated) {
  Built b = build(*codec_, tr_, c_, 8);
  // The request carries the cookie of the vector and a UID EF; two requests
  // never share a UID or a transmit timestamp.
  for (std::size_t i = 0; i < b.bufs.size(); ++i) {
    for (std::size_t k = i + 1; k < b.bufs.size(); ++k) {
      EXPECT_NE(std::memcmp(b.bufs[i].data + 40, b.bufs[k].data + 40, 8), 0);
      EXPECT_NE(std::memcmp(b.bufs[i].data + 52, b.bufs[k].data + 52, 32), 0);
    }
  }
  // 48 + 36 + 3 * 104 + 40
  ASSERT_EQ(b.bufs[0].len, 48u + 36u + 3u * 104u + 40u);
  // The authenticator opens under C2S (RFC 8915 §5.6: AD = everything before
  // the Authenticator EF, then the nonce; empty plaintext).
  for (auto& t : b.bufs) {
    const std::size_t auth = t.len - 40u;
    ASSERT_EQ(t.data[auth], 0x04);
    ASSERT_EQ(t.data[auth + 1], 0x04);
    std::array<std::uint8_t, 1> none{};
    const auto op = ntsd::crypto::make_aead_op(keys_.c2s, std::span<const std::uint8_t>(t.data, auth),
                                               std::span<const std::uint8_t>(t.data + auth + 8, 16),
                                               std::span<const std::uint8_t>(t.data + auth + 24, 16),
                                               std::span<std::uint8_t>(none.data(), 0));
    EXPECT_EQ(eng_->open_one(op), ntsd::crypto::SivStatus::kOk);
    t.data[20] ^= 1;  // any change to the AD breaks it
    EXPECT_EQ(eng_->open_one(op), ntsd::crypto::SivStatus::kAuthFail);
  }
}

}  // namespace
}  // namespace ntsgen
