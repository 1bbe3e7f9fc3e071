// --verify-every N: one response in each group of N requests is fully
// verified (AEAD open, cookies into the jar), the others are matched to
// their request and cheaply checked; a garbled response is invalid on
// either path, and a failed full verification is invalid too.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "codec.hpp"
#include "codec_rig.hpp"
#include "fake_nts_server.hpp"
#include "nts_check.hpp"
#include "nts_codec.hpp"
#include "nts_fixture.hpp"
#include "output.hpp"

namespace ntsgen {
namespace {

namespace p = ntsd::proto;

std::size_t inv(const Counters& c, Invalid r) { return c.invalid[static_cast<std::size_t>(r)]; }

class VerifyEvery : public test::NtsCodecTest {
 protected:
  void make(std::uint32_t n, std::uint8_t placeholders = 0) {
    sessions_ = test::vector_sessions(3);
    NtsCodecOptions o;
    o.placeholders = placeholders;
    o.verify_every = n;
    codec_ = make_nts_codec(sessions_, o, tr_.capacity());
    ASSERT_NE(codec_, nullptr);
    tr_.begin_step(0);
  }
  // Builds n requests; returns their bytes.
  std::vector<std::vector<std::uint8_t>> send(std::size_t n) {
    const test::Built built = test::build(*codec_, tr_, c_, n);
    c_.sent += n;
    std::vector<std::vector<std::uint8_t>> out;
    for (const auto& b : built.bufs) {
      EXPECT_GT(b.len, 0u);
      out.emplace_back(b.data, b.data + b.len);
    }
    return out;
  }
  std::vector<std::uint8_t> answer(const std::vector<std::uint8_t>& req, const test::Faults& f = {}) {
    auto r = test::fake_nts_response(*eng_, keys_.s2c, req, f);
    EXPECT_FALSE(r.empty());
    return r;
  }
};

// Exactly one full verification per group of N requests, whatever order the
// answers come in; every answer is valid and its latency recorded.
TEST_F(VerifyEvery, OneFullVerificationPerGroup) {
  make(4);
  for (int g = 0; g < 50; ++g) {
    const auto reqs = send(4);
    const std::uint64_t before = c_.verified;
    for (std::size_t i = reqs.size(); i-- > 0;) feed(answer(reqs[i]));
    EXPECT_EQ(c_.verified, before + 1) << "group " << g;
  }
  EXPECT_EQ(c_.valid, 200u);
  EXPECT_EQ(c_.verified, 50u);
  EXPECT_EQ(c_.invalid_total(), 0u);
  EXPECT_EQ(h_.count(), 200u);
  EXPECT_EQ(tr_.live(), 0u);
}

// The request picked in a group is random, not always the same position.
TEST_F(VerifyEvery, PickedPositionVaries) {
  make(8);
  std::array<int, 8> hits{};
  for (int g = 0; g < 200; ++g) {
    const auto reqs = send(8);
    for (std::size_t i = 0; i < 8; ++i) {
      const std::uint64_t before = c_.verified;
      feed(answer(reqs[i]));
      if (c_.verified != before) ++hits[i];
    }
  }
  int positions = 0;
  for (int h : hits) positions += h > 0;
  EXPECT_GE(positions, 6);  // 200 uniform draws over 8 positions miss two with p < 1e-20
  EXPECT_EQ(c_.verified, 200u);
}

// --verify-every 1 is the full path for every response.
TEST_F(VerifyEvery, OneIsAllVerified) {
  make(1);
  for (const auto& r : send(40)) feed(answer(r));
  EXPECT_EQ(c_.valid, 40u);
  EXPECT_EQ(c_.verified, 40u);
}

// Only fully verified answers refill the jars: with 1 cookie per request
// back from one in N, the jars run dry and cookies are reused (counted).
TEST_F(VerifyEvery, CheckedOnlyAnswersLeaveTheJarsAlone) {
  make(16);
  for (int round = 0; round < 4; ++round)
    for (const auto& r : send(48)) feed(answer(r));
  std::uint64_t reuses = 0;
  for (const auto& s : sessions_) reuses += s.jar.reuses();
  EXPECT_GT(reuses, 0u);
  EXPECT_EQ(c_.valid, 192u);
  EXPECT_EQ(c_.verified, 12u);
}

// A server sealing under the wrong key fails every full verification (counted
// invalid: auth); the checked-only answers cannot see it.
TEST_F(VerifyEvery, FailedFullVerificationIsInvalid) {
  make(4);
  const auto wrong = keys_.c2s;
  for (int g = 0; g < 25; ++g) {
    for (const auto& r : send(4)) {
      auto resp = test::fake_nts_response(*eng_, wrong, r);
      ASSERT_FALSE(resp.empty());
      feed(resp);
    }
  }
  EXPECT_EQ(inv(c_, Invalid::kAuthFail), 25u);
  EXPECT_EQ(c_.verified, 0u);
  EXPECT_EQ(c_.valid, 75u);
  EXPECT_EQ(c_.valid + c_.invalid_total(), 100u);
}

// Garbled answers are invalid on the checked-only path too. With N = 2^20
// only one request of the first 2^20 is fully verified; every fault below
// is caught by either path with the same reason.
TEST_F(VerifyEvery, GarbledAnswersAreInvalid) {
  make(1u << 20, 1);
  test::Faults f;
  f.wrong_uid = true;
  for (const auto& r : send(5)) feed(answer(r, f));
  f = {};
  f.no_auth = true;
  for (const auto& r : send(5)) feed(answer(r, f));
  f = {};
  f.nak = true;
  for (const auto& r : send(5)) feed(answer(r, f));
  // A client-mode packet, a truncated Authenticator, and an EF length that
  // is not a multiple of 4: malformed.
  for (const auto& r : send(3)) {
    auto resp = answer(r);
    resp[0] = 0x23;
    feed(resp);
  }
  for (const auto& r : send(3)) {
    auto resp = answer(r);
    resp.resize(resp.size() - 20);
    resp[resp.size() - 1] ^= 1;
    feed(resp);
  }
  for (const auto& r : send(3)) {
    auto resp = answer(r);
    resp[48 + 3] = 37;  // UID EF length 37
    feed(resp);
  }
  // The answer to one request with the origin of another: it matches that
  // request, whose UID it does not carry; the request it answered stays lost.
  {
    const auto reqs = send(2);
    auto resp = answer(reqs[0]);
    std::memcpy(resp.data() + kOriginOff, reqs[1].data() + kTransmitOff, 8);
    feed(resp);
  }
  c_.lost += tr_.expire_all();
  EXPECT_EQ(c_.valid, 0u);
  EXPECT_EQ(inv(c_, Invalid::kUidMismatch), 6u);
  EXPECT_EQ(inv(c_, Invalid::kNoAuth), 5u);
  EXPECT_EQ(c_.nak, 5u);
  EXPECT_EQ(inv(c_, Invalid::kMalformed), 9u);
  // A client-mode packet matches no request before the checks (as in the full
  // path): its request is lost too. So is the one whose answer named another.
  EXPECT_EQ(c_.lost, 4u);
  EXPECT_EQ(c_.valid + c_.invalid_total() + c_.nak + c_.kod + c_.lost, c_.sent + 3);
}

// quick_check_nts itself, one fault at a time, on an answer from the fake server.
TEST(QuickCheck, EachFault) {
  auto keys = test::vector_keys();
  auto eng = ntsd::crypto::make_scalar_engine();
  p::Client client(ntsd::crypto::make_scalar_engine());
  struct FixedRandom final : p::Random {
    void fill(p::MutBytes out) noexcept override {
      for (auto& b : out) b = static_cast<std::uint8_t>(n++);
    }
    unsigned n = 1;
  } rng;
  p::NtsRequestSpec spec;
  spec.c2s = &keys.c2s;
  spec.cookie = keys.cookie;
  spec.t1 = 0x1122334455667788ull;
  std::array<std::uint8_t, 1280> buf{};
  p::PendingRequest pending;
  const std::size_t len = client.build_nts_request(spec, rng, buf, pending);
  ASSERT_GT(len, 0u);
  const std::span<const std::uint8_t> req(buf.data(), len);
  const auto check = [&](const std::vector<std::uint8_t>& r) {
    return quick_check_nts(r, classify_header(r), pending, 16);
  };
  const auto good = test::fake_nts_response(*eng, keys.s2c, req);
  EXPECT_EQ(check(good), QuickCheck::kOk);
  test::Faults f;
  f.wrong_uid = true;
  EXPECT_EQ(check(test::fake_nts_response(*eng, keys.s2c, req, f)), QuickCheck::kUid);
  f = {};
  f.no_auth = true;
  EXPECT_EQ(check(test::fake_nts_response(*eng, keys.s2c, req, f)), QuickCheck::kNoAuth);
  f = {};
  f.nak = true;
  EXPECT_EQ(check(test::fake_nts_response(*eng, keys.s2c, req, f)), QuickCheck::kNak);
  f.wrong_uid = true;
  EXPECT_EQ(check(test::fake_nts_response(*eng, keys.s2c, req, f)), QuickCheck::kUid);
  f = {};
  f.wrong_origin = true;
  EXPECT_EQ(check(test::fake_nts_response(*eng, keys.s2c, req, f)), QuickCheck::kOrigin);
  auto kod = good;
  kod[1] = 0;
  std::memcpy(kod.data() + 12, "RATE", 4);
  EXPECT_EQ(check(kod), QuickCheck::kKod);
  auto two_uids = good;  // the UID EF written twice, in place of the Authenticator
  two_uids.resize(48 + 36 + 36);
  std::memcpy(two_uids.data() + 48 + 36, two_uids.data() + 48, 36);
  EXPECT_EQ(check(two_uids), QuickCheck::kMalformed);
  auto short_ef = good;
  short_ef[48 + 3] = 12;  // below RFC 7822's 16
  EXPECT_EQ(check(short_ef), QuickCheck::kMalformed);
  auto past_end = good;
  past_end[48 + 2] = 0x40;  // 16 KiB: past the end of the packet
  EXPECT_EQ(check(past_end), QuickCheck::kMalformed);
  auto bad_auth = good;  // ciphertext length larger than the EF
  bad_auth[48 + 36 + 6] = 0x7f;
  EXPECT_EQ(check(bad_auth), QuickCheck::kMalformed);
  auto no_nonce = good;  // an empty nonce (RFC 8915 §5.6: at least N_REQ bytes with padding)
  no_nonce[48 + 36 + 5] = 0;
  EXPECT_EQ(check(no_nonce), QuickCheck::kMalformed);
  // Interleaved: the request's receive field is an origin as good as T1.
  auto xl = good;
  pending.receive = 0x0102030405060708ull;
  store_be64(xl.data() + kOriginOff, pending.receive);
  EXPECT_EQ(check(xl), QuickCheck::kOk);
  store_be64(xl.data() + kOriginOff, pending.receive + 1);
  EXPECT_EQ(check(xl), QuickCheck::kOrigin);
}

std::optional<Options> parse(std::vector<std::string> args, std::string& err) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  bool help = false;
  return parse_cli(static_cast<int>(argv.size()), argv.data(), err, help);
}

TEST(VerifyEveryCli, Parses) {
  std::string err;
  auto o = parse({"--server", "h", "--mode", "nts"}, err);
  ASSERT_TRUE(o) << err;
  EXPECT_EQ(o->verify_every, 1u);
  o = parse({"--server", "h", "--mode", "nts", "--verify-every", "16"}, err);
  ASSERT_TRUE(o) << err;
  EXPECT_EQ(o->verify_every, 16u);
  for (const char* bad : {"0", "-1", "x", "", "2000000"}) {
    EXPECT_FALSE(parse({"--server", "h", "--verify-every", bad}, err)) << bad;
    EXPECT_NE(err.find("--verify-every"), std::string::npos);
  }
  EXPECT_FALSE(parse({"--server", "h", "--verify-every"}, err));
}

TEST(VerifyEveryOutput, JsonAndTable) {
  RunResult r;
  StepResult s;
  s.duration_s = 1;
  s.c.sent = 32;
  s.c.valid = 32;
  s.c.verified = 2;
  r.steps.push_back(s);
  RunInfo info{"nts", "test", 4, 0, 1.0};
  info.verify_every = 16;
  const auto j = nlohmann::json::parse(to_json(info, r));
  EXPECT_EQ(j["verify_every"], 16);
  EXPECT_EQ(j["steps"][0]["verified"], 2);
  EXPECT_EQ(j["steps"][0]["valid"], 32);
  const auto table = [&](const RunInfo& i) {
    char* buf = nullptr;
    std::size_t len = 0;
    std::FILE* f = open_memstream(&buf, &len);
    print_table(f, i, r);
    std::fclose(f);
    std::string out(buf, len);
    std::free(buf);
    return out;
  };
  EXPECT_NE(table(info).find("fully verified 2 of 32 valid (one request in 16 picked"), std::string::npos);
  info.verify_every = 1;  // the default prints what it always printed
  EXPECT_EQ(table(info).find("fully verified"), std::string::npos);
}

}  // namespace
}  // namespace ntsgen
