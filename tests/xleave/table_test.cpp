// The interleaved-mode table: hits, every miss reason, eviction, tickets.
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "ntsd/xleave/table.hpp"

namespace ntsd::xleave {
namespace {

constexpr NtpTime kSec = NtpTime{1} << 32;

Address ip4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  const std::array<std::uint8_t, 4> x{a, b, c, d};
  return Address::from_ip4(x);
}

limit::Secret secret() {
  limit::Secret s;
  s.k0 = 0x0123456789abcdefull;
  s.k1 = 0xfedcba9876543210ull;
  return s;
}

TEST(XleaveTable, SaveSetTxTakeOnce) {
  Table t(1024, secret());
  const auto tag = t.tag(ip4(192, 0, 2, 1));
  const NtpTime rx = 1000 * kSec + 1;
  const Ticket k = t.save(tag, 40000, rx);
  ASSERT_NE(k, kNoTicket);
  ASSERT_TRUE(t.set_tx(k, rx + 5000));
  // The client may come back from another port (chrony opens a new socket per request).
  const auto got = t.take(tag, 40001, rx);
  EXPECT_EQ(got.miss, Miss::kNone);
  EXPECT_EQ(got.tx, rx + 5000);
  // Used: a replay of the same request gets no TX time.
  EXPECT_EQ(t.take(tag, 40001, rx).miss, Miss::kUnknown);
  EXPECT_EQ(t.counters().saves, 1u);
  EXPECT_EQ(t.counters().tx_set, 1u);
}

TEST(XleaveTable, AnotherAddressNeverMatches) {
  Table t(1024, secret());
  const auto a = t.tag(ip4(192, 0, 2, 1)), b = t.tag(ip4(192, 0, 2, 2));
  ASSERT_NE(a, b);
  const NtpTime rx = 77 * kSec + 1;
  t.set_tx(t.save(a, 123, rx), rx + 10);
  EXPECT_EQ(t.take(b, 123, rx).miss, Miss::kUnknown);  // spoofed: b echoes a's receive timestamp
  EXPECT_EQ(t.take(a, 123, rx).miss, Miss::kNone);     // a's entry is untouched by the attempt
}

TEST(XleaveTable, Ipv6AndMappedIpv4) {
  Table t(64, secret());
  std::array<std::uint8_t, 16> v6{0x20, 0x01, 0x0d, 0xb8};
  v6[15] = 1;
  std::array<std::uint8_t, 16> mapped{};
  mapped[10] = mapped[11] = 0xff;
  mapped[12] = 192, mapped[13] = 0, mapped[14] = 2, mapped[15] = 1;
  EXPECT_EQ(t.tag(Address::from_ip6(mapped)), t.tag(ip4(192, 0, 2, 1)));
  EXPECT_NE(t.tag(Address::from_ip6(v6)), t.tag(ip4(192, 0, 2, 1)));
}

TEST(XleaveTable, NoTxTimestamp) {
  Table t(64, secret());
  const auto tag = t.tag(ip4(198, 18, 0, 1));
  t.save(tag, 1, 5 * kSec + 1);
  EXPECT_EQ(t.take(tag, 1, 5 * kSec + 1).miss, Miss::kNoTx);
  EXPECT_EQ(t.take(tag, 1, 5 * kSec + 1).miss, Miss::kUnknown);  // taken all the same
}

TEST(XleaveTable, SharedReceiveTimestampToldApartByPort) {
  Table t(64, secret());
  const auto tag = t.tag(ip4(198, 18, 0, 1));
  const NtpTime rx = 9 * kSec + 1;  // one burst, one software T2, two clients behind one address
  const Ticket a = t.save(tag, 1000, rx), b = t.save(tag, 2000, rx);
  t.set_tx(a, rx + 100);
  t.set_tx(b, rx + 200);
  EXPECT_EQ(t.take(tag, 3000, rx).miss, Miss::kAmbiguous);  // a third port cannot say which
  const auto gb = t.take(tag, 2000, rx);
  EXPECT_EQ(gb.miss, Miss::kNone);
  EXPECT_EQ(gb.tx, rx + 200);
  const auto ga = t.take(tag, 1000, rx);
  EXPECT_EQ(ga.miss, Miss::kNone);
  EXPECT_EQ(ga.tx, rx + 100);
}

// A whole burst from one address (many clients behind a NAT, or a load
// generator's clients on one address) shares one software T2: every client
// still finds its own entry from its own port.
TEST(XleaveTable, ABurstOfTwinsFromOneAddress) {
  Table t(4096, secret());
  const auto tag = t.tag(ip4(198, 18, 0, 1));
  const NtpTime rx = 9 * kSec + 1;
  for (std::uint16_t p = 0; p < 32; ++p) ASSERT_TRUE(t.set_tx(t.save(tag, 20000 + p, rx), rx + 100 + p)) << p;
  for (std::uint16_t p = 0; p < 32; ++p) {
    const auto got = t.take(tag, 20000 + p, rx);
    EXPECT_EQ(got.miss, Miss::kNone) << p;
    EXPECT_EQ(got.tx, rx + 100 + p) << p;
  }
  EXPECT_EQ(t.counters().evictions, 0u);
}

TEST(XleaveTable, SameAddressPortAndReceiveTimestampIsDead) {
  Table t(64, secret());
  const auto tag = t.tag(ip4(198, 18, 0, 1));
  const NtpTime rx = 9 * kSec + 1;
  t.set_tx(t.save(tag, 1000, rx), rx + 100);
  t.set_tx(t.save(tag, 1000, rx), rx + 200);  // which response did the client keep? Nobody knows.
  EXPECT_EQ(t.take(tag, 1000, rx).miss, Miss::kAmbiguous);
  EXPECT_EQ(t.take(tag, 1000, rx).miss, Miss::kAmbiguous);
}

TEST(XleaveTable, EvictsTheOldestReceiveTimestamp) {
  Table t(Table::kWays, secret());  // one bucket
  const auto tag = t.tag(ip4(203, 0, 113, 5));
  std::vector<Ticket> k;
  for (NtpTime i = 0; i < 5; ++i) {
    k.push_back(t.save(tag, static_cast<std::uint16_t>(i), (100 + i) * kSec + 1));
    t.set_tx(k.back(), (100 + i) * kSec + 3);
  }
  EXPECT_EQ(t.counters().evictions, 1u);
  EXPECT_FALSE(t.set_tx(k[0], 100 * kSec + 5));  // its entry now belongs to another response
  EXPECT_EQ(t.counters().tx_rejected, 1u);
  EXPECT_EQ(t.take(tag, 0, 100 * kSec + 1).miss, Miss::kUnknown);  // evicted
  for (NtpTime i = 1; i < 5; ++i) EXPECT_EQ(t.take(tag, 0, (100 + i) * kSec + 1).miss, Miss::kNone) << i;
}

TEST(XleaveTable, ImplausibleTxTimestampsAreRejected) {
  Table t(64, secret());
  const auto tag = t.tag(ip4(198, 18, 0, 9));
  const NtpTime rx = 50 * kSec + 1;
  const Ticket k = t.save(tag, 7, rx);
  EXPECT_FALSE(t.set_tx(k, rx - kSec));      // a second before it was received
  EXPECT_FALSE(t.set_tx(k, rx + 2 * kSec));  // two seconds after
  EXPECT_FALSE(t.set_tx(kNoTicket, rx));
  EXPECT_FALSE(t.set_tx(k ^ (Ticket{1} << 32), rx + 1));  // wrong serial
  EXPECT_TRUE(t.set_tx(k, rx - 100));  // a hair before: timestamp jitter across sources
  EXPECT_EQ(t.counters().tx_rejected, 3u);  // no ticket is not a rejection
}

// A TX time the worker does not trust (DPDK: tx_burst took too long) is
// dropped by the caller: counted as rejected, and the entry answers kNoTx.
TEST(XleaveTable, RejectedByTheCallerLeavesNoTxTime) {
  Table t(64, secret());
  const auto tag = t.tag(ip4(198, 18, 0, 10));
  const NtpTime rx = 60 * kSec + 1;
  ASSERT_NE(t.save(tag, 8, rx), kNoTicket);
  t.reject_tx();
  EXPECT_EQ(t.counters().tx_rejected, 1u);
  EXPECT_EQ(t.counters().tx_set, 0u);
  EXPECT_EQ(t.take(tag, 8, rx).miss, Miss::kNoTx);
}

// Buckets of 4 ways are a cache: at 1/16 of the entries in use (Poisson
// 0.25 per bucket) a save finds its bucket full about once in 10^4; at 1/4
// (docs/configuration.md says size the table from this) about 2 % of the time.
TEST(XleaveTable, ManyClientsAllFoundWhenTheTableHoldsThem) {
  Table t(16384, secret());
  std::vector<std::uint64_t> tags;
  std::vector<NtpTime> rx;
  for (std::uint32_t i = 0; i < 1024; ++i) {
    tags.push_back(t.tag(ip4(10, 0, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i))));
    rx.push_back((1000 + i) * kSec + 1);
  }
  for (int round = 0; round < 20; ++round) {
    std::size_t hits = 0;
    for (std::size_t i = 0; i < tags.size(); ++i) {
      if (round > 0) hits += t.take(tags[i], 1, rx[i]).miss == Miss::kNone;
      rx[i] += kSec;
      t.set_tx(t.save(tags[i], 1, rx[i]), rx[i] + 1000);
    }
    if (round > 0) {
      EXPECT_GE(hits, 1021u) << round;
    }
  }
}

TEST(XleaveTable, QuarterFullLosesAFewPercent) {
  Table t(4096, secret());
  std::vector<std::uint64_t> tags;
  std::vector<NtpTime> rx;
  for (std::uint32_t i = 0; i < 1024; ++i) {
    tags.push_back(t.tag(ip4(10, 1, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i))));
    rx.push_back((1000 + i) * kSec + 1);
  }
  std::size_t hits = 0, asked = 0;
  for (int round = 0; round < 50; ++round) {
    for (std::size_t i = 0; i < tags.size(); ++i) {
      if (round > 0) {
        hits += t.take(tags[i], 1, rx[i]).miss == Miss::kNone;
        ++asked;
      }
      rx[i] += kSec;
      t.set_tx(t.save(tags[i], 1, rx[i]), rx[i] + 1000);
    }
  }
  const double lost = 1.0 - static_cast<double>(hits) / static_cast<double>(asked);
  EXPECT_GT(lost, 0.005);
  EXPECT_LT(lost, 0.04);
  EXPECT_GE(t.counters().evictions, asked - hits);  // every miss here is an eviction (the last round evicts too)
}

TEST(XleaveTable, CheckEntries) {
  EXPECT_STREQ(check_entries(4), "");
  EXPECT_STREQ(check_entries(65536), "");
  EXPECT_STRNE(check_entries(0), "");
  EXPECT_STRNE(check_entries(3), "");
  EXPECT_STRNE(check_entries(6000), "");
  EXPECT_STRNE(check_entries(std::size_t{1} << 25), "");
  EXPECT_EQ(Table::bytes(65536), 2u << 20);  // the default: 2 MiB per worker
  EXPECT_STREQ(miss_name(Miss::kNoTx), "no_tx_timestamp");
}

}  // namespace
}  // namespace ntsd::xleave
