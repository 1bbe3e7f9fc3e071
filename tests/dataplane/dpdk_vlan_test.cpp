// [dataplane] vlan = 100 on a port without VLAN offloads (net_memif): tagged
// requests are answered with the tag (inserted in software), untagged frames
// and other VLANs are dropped and counted as "vlan".
#include <gtest/gtest.h>

#include "dpdk_rig.hpp"

using namespace ntsd;
using namespace ntsd::test;

namespace {

Frame tagged(Frame f, std::uint16_t vid) {
  const std::uint8_t tag[4] = {0x81, 0x00, static_cast<std::uint8_t>(vid >> 8), static_cast<std::uint8_t>(vid)};
  f.insert(f.begin() + 12, tag, tag + 4);
  return f;
}

Frame untagged(const Frame& f) {
  Frame u(f.begin(), f.begin() + 12);
  u.insert(u.end(), f.begin() + 16, f.end());
  return u;
}

}  // namespace

TEST(DpdkVlan, TaggedInTaggedOutOthersDropped) {
  Rig rig;
  rig.cfg.dataplane.vlan = 100;
  std::string err;
  ASSERT_TRUE(rig.start(err)) << err;

  const Frame arp = rig.send_raw(tagged(arp_request(), 100));
  ASSERT_EQ(arp.size(), 46u);
  EXPECT_EQ(get16(arp, 12), 0x8100);
  EXPECT_EQ(get16(arp, 14) & 0x0fff, 100);
  EXPECT_EQ(get16(arp, 16), 0x0806);
  EXPECT_EQ(get16(arp, 24), 2);  // ARP reply

  std::vector<std::uint8_t> req(48);
  proto::PendingRequest pending;
  ASSERT_EQ(proto::build_plain_request(now(), req, pending), 48u);
  Frame f = udp_frame(false, req);
  std::copy(rig.ntsd_mac.begin(), rig.ntsd_mac.end(), f.begin());
  const Frame r = rig.send_raw(tagged(f, 100));
  ASSERT_EQ(r.size(), 4u + 42u + 48u);
  EXPECT_EQ(get16(r, 14) & 0x0fff, 100);
  const Frame u = untagged(r);
  EXPECT_EQ(ref_csum(u.data() + 14, 20), 0);
  EXPECT_EQ(ref_csum(u.data() + 34, u.size() - 34, ref_pseudo(u, false, 17, u.size() - 34)), 0);
  EXPECT_EQ(proto::verify_plain_response(proto::Bytes(u.data() + 42, 48), pending, now()).status, proto::ClientStatus::kOk);

  EXPECT_TRUE(rig.send_raw(arp_request()).empty());               // untagged
  EXPECT_TRUE(rig.send_raw(tagged(arp_request(), 200)).empty());  // another VLAN
  const auto& w = rig.metrics.worker(0);
  EXPECT_EQ(w.net_drops[static_cast<std::size_t>(net::Drop::kVlan)].load(), 2u);
  EXPECT_EQ(w.arp_replies.load(), 1u);
  EXPECT_EQ(rig.metrics.total_reason(proto::Reason::kOkPlain), 1u);
}
