// The DPDK backend in one process: ntsd's port is a net_memif server, the
// test drives a second net_memif port (the client end) in the same EAL and
// checks the worker's answers frame by frame: ARP, plain NTP over IPv4 with
// a verified response and UDP checksum, and a broken checksum that is
// dropped and counted.
#include <gtest/gtest.h>

#include "dpdk_rig.hpp"

using namespace ntsd;
using namespace ntsd::test;

TEST(DpdkBackend, AnswersArpNtpAndDropsBadChecksums) {
  Rig rig;
  std::string err;
  ASSERT_TRUE(rig.start(err)) << err;

  // ARP: broadcast request for 192.0.2.1, reply from ntsd's MAC.
  const Frame arp = rig.send_raw(arp_request());
  ASSERT_EQ(arp.size(), 42u);
  EXPECT_EQ(get16(arp, 20), 2);
  EXPECT_TRUE(std::equal(rig.ntsd_mac.begin(), rig.ntsd_mac.end(), arp.begin() + 22));

  // Plain NTP over IPv4: a verified response, valid IPv4 and UDP checksums.
  for (int i = 0; i < 20; ++i) {
    std::vector<std::uint8_t> req(48);
    proto::PendingRequest pending;
    ASSERT_EQ(proto::build_plain_request(now(), req, pending), 48u);
    Frame f = udp_frame(false, req);
    std::copy(rig.ntsd_mac.begin(), rig.ntsd_mac.end(), f.begin());
    const Frame r = rig.send_raw(f);
    ASSERT_EQ(r.size(), 42u + 48u) << "request " << i;
    EXPECT_EQ(ref_csum(r.data() + 14, 20), 0);
    EXPECT_EQ(ref_csum(r.data() + 34, r.size() - 34, ref_pseudo(r, false, 17, r.size() - 34)), 0);
    const auto resp = proto::verify_plain_response(proto::Bytes(r.data() + 42, 48), pending, now());
    EXPECT_EQ(resp.status, proto::ClientStatus::kOk);
    EXPECT_LE(std::abs(resp.offset_s()), resp.delay_s() / 2 + 20e-6);
  }

  // A broken UDP checksum: no answer, counted by reason.
  Frame bad = udp_frame(false, ntp_request());
  std::copy(rig.ntsd_mac.begin(), rig.ntsd_mac.end(), bad.begin());
  bad.back() ^= 0x40;
  EXPECT_TRUE(rig.send_raw(bad).empty());
  const auto& w = rig.metrics.worker(0);
  EXPECT_EQ(w.net_drops[static_cast<std::size_t>(net::Drop::kUdpChecksum)].load(), 1u);
  EXPECT_EQ(w.arp_replies.load(), 1u);
  EXPECT_EQ(rig.metrics.total_reason(proto::Reason::kOkPlain), 20u);
  EXPECT_EQ(w.tx_failed.load(), 0u);
}

TEST(DpdkBackend, PoolCoversEveryRingAndCache) {
  ntsd::config::DataplaneConfig d;
  d.ports = {"net_null0"};
  EXPECT_EQ(ntsd::dpdk::pool_size(d, 1), 8191u);  // the default rings fit the minimum
  d.rx_desc = d.tx_desc = 16384;                  // e.g. net_memif rsize=14
  d.ports = {"a", "b"};
  const unsigned n = ntsd::dpdk::pool_size(d, 2);
  EXPECT_GE(n, 2u * 2u * (2u * 16384u + ntsd::dpdk::kPoolCache + 64u));
  EXPECT_EQ((n + 1) & n, 0u);  // 2^k - 1
  d.mbufs = 1000;
  EXPECT_EQ(ntsd::dpdk::pool_size(d, 2), 1000u);  // the operator's choice wins
}
