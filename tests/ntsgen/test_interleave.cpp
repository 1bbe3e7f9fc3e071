// ntsgen --interleaved / --offsets (bench/ntsgen/interleave.hpp): the signed
// histogram, the per-client fields, warm-up and the share, and the plain
// codec against the real protocol core with an interleaved table: answers
// after warm-up are interleaved, their T4 - T3 comes from the previous
// answer's TX time, and an interleaved answer whose T3 cannot be that is
// counted invalid.
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "cli.hpp"
#include "codec.hpp"
#include "interleave.hpp"
#include "ntsd/proto/server.hpp"

namespace ntsgen {
namespace {

namespace proto = ntsd::proto;

constexpr std::uint64_t kNtpUnix = 2208988800ull;
constexpr std::int64_t kT0Unix = 1'800'000'000;  // Unix seconds, 2027

std::uint64_t ntp_of(std::int64_t unix_ns) {
  const auto s = static_cast<std::uint64_t>(unix_ns / 1'000'000'000) + kNtpUnix;
  const auto f = static_cast<std::uint64_t>(unix_ns % 1'000'000'000);
  return s << 32 | ((f << 32) / 1'000'000'000);
}

TEST(SignedHistogram, QuantilesAcrossZero) {
  SignedHistogram h;
  for (int i = -50; i < 50; ++i) h.record(i * 10);
  EXPECT_EQ(h.count(), 100u);
  EXPECT_EQ(h.min(), -500);
  EXPECT_EQ(h.max(), 490);
  EXPECT_NEAR(static_cast<double>(h.quantile(0.5)), 0.0, 20.0);
  EXPECT_NEAR(static_cast<double>(h.quantile(0.1)), -400.0, 20.0);
  EXPECT_NEAR(static_cast<double>(h.quantile(0.99)), 480.0, 20.0);
  SignedHistogram only_neg;
  only_neg.record(-100);
  only_neg.record(-300);
  EXPECT_EQ(only_neg.max(), -100);
  EXPECT_LT(only_neg.quantile(0.99), 0);
  EXPECT_EQ(SignedHistogram{}.quantile(0.5), 0);
}

TEST(Interleaver, FieldsWarmUpAndShare) {
  Interleaver x(4, true);
  std::uint64_t o = 1, r = 1;
  x.fields(2, 0x55, o, r);
  EXPECT_EQ(o, 0u);  // nothing heard yet
  EXPECT_EQ(r, ~std::uint64_t{0x55});
  const std::int64_t t = kT0Unix * 1'000'000'000;
  // Two basic answers are the warm-up; the third is interleaved.
  EXPECT_TRUE(x.answered(2, 0, false, ntp_of(t) | 1, ntp_of(t + 1000), static_cast<std::uint64_t>(t + 5000)));
  x.fields(2, 0x56, o, r);
  EXPECT_EQ(o, ntp_of(t) | 1);
  EXPECT_TRUE(x.answered(2, o, false, ntp_of(t + 100'000) | 1, ntp_of(t + 101'000), static_cast<std::uint64_t>(t + 105'000)));
  x.fields(2, 0x57, o, r);
  // The interleaved T3 = the previous answer's TX, 2 us before it arrived.
  EXPECT_TRUE(x.answered(2, o, true, ntp_of(t + 200'000) | 1, ntp_of(t + 103'000), static_cast<std::uint64_t>(t + 205'000)));
  EXPECT_EQ(x.step().warmup, 2u);
  EXPECT_EQ(x.step().interleaved, 1u);
  EXPECT_EQ(x.step().basic, 0u);
  EXPECT_DOUBLE_EQ(x.step().share_pct(), 100.0);
  EXPECT_NEAR(static_cast<double>(x.step().t3_interleaved.quantile(0.5)), 2000.0, 70.0);
  EXPECT_NEAR(static_cast<double>(x.step().t3_basic.quantile(0.99)), 4000.0, 130.0);
  // A T3 before the previous answer's T2 cannot be its TX time.
  x.fields(2, 0x58, o, r);
  EXPECT_FALSE(x.answered(2, o, true, ntp_of(t + 300'000) | 1, ntp_of(t + 150'000), static_cast<std::uint64_t>(t + 305'000)));
  x.begin_step();
  EXPECT_EQ(x.step().interleaved, 0u);
}

// The plain codec through the real core with a table, 8 clients.
TEST(Interleaver, PlainCodecAgainstTheCore) {
  auto codec = make_ntp_codec();
  Interleaver x(8, true);
  codec->set_interleaver(&x);
  Tracker tr(1024, 7);
  tr.begin_step(0);
  x.begin_step();
  Counters c;
  Histogram lat;
  proto::Server server(ntsd::crypto::make_scalar_engine());
  ntsd::xleave::Table table(1024, ntsd::limit::Secret{3, 4, 5});
  proto::ServerState st;
  st.leap = 0;
  st.stratum = 1;
  struct Clock final : proto::TxClock {
    std::uint64_t t = 0;
    proto::NtpTime now() noexcept override { return t; }
  } clk;
  struct Rng final : proto::Random {
    void fill(proto::MutBytes out) noexcept override { std::fill(out.begin(), out.end(), 7); }
  } rng;
  std::int64_t now = kT0Unix * 1'000'000'000;
  std::array<std::array<std::uint8_t, 1280>, 8> mem{};
  std::array<TxBuf, 8> bufs{};
  for (int round = 0; round < 6; ++round) {
    for (std::uint32_t i = 0; i < 8; ++i) bufs[i] = TxBuf{mem[i].data(), 0, i};
    codec->build(bufs, 0, tr, c);
    for (std::uint32_t i = 0; i < 8; ++i) {
      now += 1'000'000;
      std::array<std::uint8_t, 48> resp{};
      proto::Request q{proto::Bytes(bufs[i].data, bufs[i].len), ntp_of(now), resp};
      q.client = ntsd::limit::Address::from_ip4(std::array<std::uint8_t, 4>{198, 18, 0, static_cast<std::uint8_t>(i)});
      q.port = 123;
      clk.t = ntp_of(now + 10'000);  // the pre-seal T3: 10 us after T2
      const proto::Outcome o = server.handle_request(q, st, nullptr, clk, rng, &table);
      ASSERT_EQ(o.verdict, proto::Verdict::kRespond);
      if (o.tx_ticket) table.set_tx(o.tx_ticket, ntp_of(now + 30'000));  // left 30 us after T2
      const RxPkt p{resp.data(), 48, 0, static_cast<std::uint64_t>(now + 32'000)};  // arrived 2 us later
      codec->verify(std::span(&p, 1), tr, c, lat);
    }
  }
  EXPECT_EQ(c.valid, 48u);
  EXPECT_EQ(c.invalid_total(), 0u);
  EXPECT_EQ(x.step().warmup, 16u);
  EXPECT_EQ(x.step().interleaved, 32u);
  EXPECT_EQ(x.step().basic, 0u);
  // Basic: T4 - T3 = 22 us (T3 stamped before the send); interleaved: 2 us.
  EXPECT_NEAR(static_cast<double>(x.step().t3_basic.quantile(0.5)), 22'000.0, 800.0);
  EXPECT_NEAR(static_cast<double>(x.step().t3_interleaved.quantile(0.5)), 2'000.0, 70.0);
}

TEST(Interleaver, CliFlags) {
  std::string err;
  bool help = false;
  {
    const char* a[] = {"--server", "192.0.2.1", "--interleaved"};
    auto o = parse_cli(3, const_cast<char**>(a), err, help);
    ASSERT_TRUE(o) << err;
    EXPECT_TRUE(o->interleaved);
    EXPECT_TRUE(o->offsets);
    EXPECT_TRUE(o->sock.rx_timestamps);
    EXPECT_TRUE(o->sock.spread);
  }
  {
    const char* a[] = {"--server", "192.0.2.1", "--offsets"};
    auto o = parse_cli(3, const_cast<char**>(a), err, help);
    ASSERT_TRUE(o) << err;
    EXPECT_FALSE(o->interleaved);
    EXPECT_TRUE(o->offsets);
    EXPECT_FALSE(o->sock.spread);
  }
}

}  // namespace
}  // namespace ntsgen
