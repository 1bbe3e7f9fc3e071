#include "ntsd/net/packet.hpp"

namespace ntsd::net {

const char* drop_name(Drop d) noexcept {
  switch (d) {
    case Drop::kNone: return "none";
    case Drop::kTruncated: return "truncated";
    case Drop::kNotOurMac: return "not_our_mac";
    case Drop::kVlan: return "vlan";
    case Drop::kEthertype: return "ethertype";
    case Drop::kArpMalformed: return "arp_malformed";
    case Drop::kArpNotRequest: return "arp_not_request";
    case Drop::kArpNotOurs: return "arp_not_ours";
    case Drop::kIp4Header: return "ip4_header";
    case Drop::kIp4Options: return "ip4_options";
    case Drop::kIp4Checksum: return "ip4_checksum";
    case Drop::kIp4Fragment: return "ip4_fragment";
    case Drop::kIp4BadSource: return "ip4_bad_source";
    case Drop::kIp6Header: return "ip6_header";
    case Drop::kIp6ExtHeader: return "ip6_ext_header";
    case Drop::kIp6BadSource: return "ip6_bad_source";
    case Drop::kNotOurAddress: return "not_our_address";
    case Drop::kUdpHeader: return "udp_header";
    case Drop::kUdpChecksum: return "udp_checksum";
    case Drop::kUdpPort: return "udp_port";
    case Drop::kIcmpChecksum: return "icmp_checksum";
    case Drop::kIcmpType: return "icmp_type";
    case Drop::kNdMalformed: return "nd_malformed";
    case Drop::kNdNotOurs: return "nd_not_ours";
    case Drop::kProtocol: return "protocol";
    case Drop::kCount: break;
  }
  return "unknown";
}

}  // namespace ntsd::net
