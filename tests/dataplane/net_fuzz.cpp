// libFuzzer: any byte string as a frame. classify must never read out of
// bounds, and whatever it accepts must build a reply of the promised shape.
#include <cstdint>
#include <cstring>
#include <vector>

#include "frames.hpp"

using namespace ntsd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::array<net::Ip4, 1> v4 = {test::kOur4};
  static const std::array<net::Ip6, 1> v6 = {test::kOur6};
  const net::LocalAddrs local{test::kOurMac, v4, v6, 123};
  std::vector<std::uint8_t> buf(data, data + size);
  const auto c = net::classify(net::Bytes(buf), local, {});
  buf.resize(size + 128);
  std::size_t n = 0;
  switch (c.kind) {
    case net::Kind::kNtp: {
      if (c.payload + c.payload_len > size) __builtin_trap();
      std::vector<std::uint8_t> resp(buf.begin() + c.payload, buf.begin() + c.payload + c.payload_len);
      n = net::build_ntp_reply(buf, c, resp);
      if (n != c.payload + resp.size()) __builtin_trap();
      break;
    }
    case net::Kind::kArpRequest: n = net::build_arp_reply(buf, size, c, local.mac); break;
    case net::Kind::kEchoRequest: n = net::build_echo_reply(buf, size, c); break;
    case net::Kind::kNeighborSolicit: n = net::build_neighbor_advert(buf, c, local.mac); break;
    case net::Kind::kDrop:
      if (c.drop == net::Drop::kNone) __builtin_trap();
      return 0;
  }
  if (n == 0 || n > buf.size()) __builtin_trap();
  // A reply we built must itself classify as something we would not answer
  // again in a loop (it is addressed to the peer, not to us).
  const auto again = net::classify(net::Bytes(buf.data(), n), local, {});
  if (again.kind != net::Kind::kDrop) __builtin_trap();
  return 0;
}
