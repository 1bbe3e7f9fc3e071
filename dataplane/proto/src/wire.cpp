#include "ntsd/proto/wire.hpp"

#include <cstring>

#include "reader.hpp"

namespace ntsd::proto {

using detail::pad4;

bool parse_header(Bytes pkt, NtpHeader& h) noexcept {
  if (pkt.size() < kHeaderLen) return false;  // the one bounds check: all reads below are < 48
  const std::uint8_t* p = pkt.data();
  h.leap = p[0] >> 6;
  h.version = (p[0] >> 3) & 7;
  h.mode = static_cast<Mode>(p[0] & 7);
  h.stratum = p[1];
  h.poll = static_cast<std::int8_t>(p[2]);
  h.precision = static_cast<std::int8_t>(p[3]);
  h.root_delay = detail::get32(p + 4);
  h.root_dispersion = detail::get32(p + 8);
  h.refid = detail::get32(p + 12);
  h.reference = detail::get64(p + 16);
  h.origin = detail::get64(p + 24);
  h.receive = detail::get64(p + 32);
  h.transmit = detail::get64(p + 40);
  return true;
}

bool write_header(const NtpHeader& h, MutBytes out) noexcept {
  if (out.size() < kHeaderLen) return false;
  std::uint8_t* p = out.data();
  p[0] = static_cast<std::uint8_t>((h.leap & 3) << 6 | (h.version & 7) << 3 |
                                   (static_cast<std::uint8_t>(h.mode) & 7));
  p[1] = h.stratum;
  p[2] = static_cast<std::uint8_t>(h.poll);
  p[3] = static_cast<std::uint8_t>(h.precision);
  detail::put32(p + 4, h.root_delay);
  detail::put32(p + 8, h.root_dispersion);
  detail::put32(p + 12, h.refid);
  detail::put64(p + 16, h.reference);
  detail::put64(p + 24, h.origin);
  detail::put64(p + 32, h.receive);
  detail::put64(p + 40, h.transmit);
  return true;
}

EfStep ef_step(Bytes pkt, std::size_t& pos, bool allow_mac, Ef& e) noexcept {
  return detail::next_ef(pkt, pos, allow_mac, e);
}

EfStatus parse_efs(Bytes pkt, std::size_t from, EfList& efs, bool allow_mac) noexcept {
  efs.count = 0;
  efs.mac_len = 0;
  if (from > pkt.size()) return EfStatus::kTruncated;
  std::size_t pos = from;
  for (;;) {
    Ef e;
    switch (detail::next_ef(pkt, pos, allow_mac, e)) {
      case detail::EfStep::kEnd:
        return EfStatus::kOk;
      case detail::EfStep::kMac:
        efs.mac_len = static_cast<std::uint16_t>(pkt.size() - pos);
        return EfStatus::kOk;
      case detail::EfStep::kBadLength:
        return EfStatus::kBadLength;
      case detail::EfStep::kTruncated:
        return EfStatus::kTruncated;
      case detail::EfStep::kEf:
        break;
    }
    if (efs.count == kMaxEfs) return EfStatus::kTooMany;
    efs.ef[efs.count++] = e;
  }
}

std::size_t write_ef(std::uint16_t type, Bytes body, MutBytes out, std::size_t min_len) noexcept {
  std::size_t len = pad4(kEfHeaderLen + body.size());
  if (len < min_len) len = pad4(min_len);
  if (len > 0xfffc || len > out.size()) return 0;
  std::uint8_t* p = out.data();
  detail::put16(p, type);
  detail::put16(p + 2, static_cast<std::uint16_t>(len));
  if (!body.empty()) std::memcpy(p + kEfHeaderLen, body.data(), body.size());
  std::memset(p + kEfHeaderLen + body.size(), 0, len - kEfHeaderLen - body.size());
  return len;
}

bool parse_auth_body(Bytes body, AuthBody& out, std::size_t n_req) noexcept {
  return detail::parse_auth_body(body, out, n_req);
}

}  // namespace ntsd::proto
