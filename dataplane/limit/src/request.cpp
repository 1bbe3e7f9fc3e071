// Which over-limit requests may get a RATE kiss (see limiter.hpp).
#include <cstdint>
#include <span>

#include "ntsd/limit/limiter.hpp"

namespace ntsd::limit {
namespace {

constexpr std::size_t kHeaderLen = 48;  // RFC 5905 §7.3
constexpr std::size_t kMinEf = 16;      // RFC 7822 §3

// RFC 8915 §5.3-§5.6 extension field types.
constexpr bool nts_type(std::uint16_t t) noexcept {
  return t == 0x0104 || t == 0x0204 || t == 0x0304 || t == 0x0404;
}

std::uint16_t be16(std::span<const std::uint8_t> b, std::size_t off) noexcept {
  return static_cast<std::uint16_t>(b[off] << 8 | b[off + 1]);
}

}  // namespace

bool is_plain_request(std::span<const std::uint8_t> ntp) noexcept {
  if (ntp.size() < kHeaderLen) return false;
  std::size_t off = kHeaderLen;
  while (off < ntp.size()) {
    if (ntp.size() - off < 4) return false;
    const std::uint16_t type = be16(ntp, off);
    const std::size_t len = be16(ntp, off + 2);
    if (len < kMinEf || len % 4 != 0 || len > ntp.size() - off) return false;
    if (nts_type(type)) return false;
    off += len;
  }
  return true;
}

}  // namespace ntsd::limit
