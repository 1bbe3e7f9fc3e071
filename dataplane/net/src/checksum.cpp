#include "bytes.hpp"
#include "ntsd/net/packet.hpp"

namespace ntsd::net {

std::uint32_t csum_add(std::uint32_t sum, Bytes data) noexcept {
  // RFC 1071: 16-bit one's complement sum; a 32-bit accumulator cannot
  // overflow for frames below 128 KiB.
  std::size_t i = 0;
  for (; i + 1 < data.size(); i += 2) sum += static_cast<std::uint32_t>(data[i] << 8 | data[i + 1]);
  if (i < data.size()) sum += static_cast<std::uint32_t>(data[i] << 8);
  return sum;
}

std::uint16_t csum_fold(std::uint32_t sum) noexcept {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

std::uint32_t pseudo_sum(Bytes frame, const Classified& c, std::uint8_t proto, std::uint32_t l4_len) noexcept {
  std::uint32_t sum = 0;
  if (c.ip6) {
    // RFC 8200 §8.1: src, dst, upper-layer length (32), next header.
    if (c.l3 + kIp6Len > frame.size()) return 0;
    sum = csum_add(sum, frame.subspan(c.l3 + 8, 32));
    sum += l4_len >> 16;
    sum += l4_len & 0xffff;
  } else {
    // RFC 768: src, dst, zero, protocol, UDP length.
    if (c.l3 + kIp4Len > frame.size()) return 0;
    sum = csum_add(sum, frame.subspan(c.l3 + 12, 8));
    sum += l4_len;
  }
  return sum + proto;
}

}  // namespace ntsd::net
