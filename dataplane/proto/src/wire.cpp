#include "ntsd/proto/wire.hpp"

#include <cstring>

#include "reader.hpp"

namespace ntsd::proto {

using detail::pad4;
using detail::Reader;

bool parse_header(Bytes pkt, NtpHeader& h) noexcept {
  if (pkt.size() < kHeaderLen) return false;
  Reader r(pkt);
  const std::uint8_t b0 = r.u8();
  h.leap = b0 >> 6;
  h.version = (b0 >> 3) & 7;
  h.mode = static_cast<Mode>(b0 & 7);
  h.stratum = r.u8();
  h.poll = static_cast<std::int8_t>(r.u8());
  h.precision = static_cast<std::int8_t>(r.u8());
  h.root_delay = r.u32();
  h.root_dispersion = r.u32();
  h.refid = r.u32();
  h.reference = r.u64();
  h.origin = r.u64();
  h.receive = r.u64();
  h.transmit = r.u64();
  return r.ok();
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

EfStatus parse_efs(Bytes pkt, std::size_t from, EfList& efs, bool allow_mac) noexcept {
  efs.count = 0;
  efs.mac_len = 0;
  if (from > pkt.size()) return EfStatus::kTruncated;
  std::size_t pos = from;
  while (pos < pkt.size()) {
    const std::size_t rest = pkt.size() - pos;
    // RFC 7822 §7.5: a MAC (20 or 24 bytes) or a crypto-NAK (4 bytes) may end
    // the packet; since every EF that ends a packet without a MAC is ≥ 28
    // bytes, these lengths are never an EF.
    if (allow_mac && (rest == 4 || rest == 20 || rest == 24)) {
      efs.mac_len = static_cast<std::uint16_t>(rest);
      return EfStatus::kOk;
    }
    if (rest < kEfHeaderLen) return EfStatus::kTruncated;
    const std::uint16_t type = detail::get16(pkt.data() + pos);
    const std::uint16_t len = detail::get16(pkt.data() + pos + 2);
    if (len < kMinEfLen || len % 4 != 0) return EfStatus::kBadLength;
    if (len > rest) return EfStatus::kTruncated;
    if (efs.count == kMaxEfs) return EfStatus::kTooMany;
    Ef& e = efs.ef[efs.count++];
    e.type = type;
    e.offset = static_cast<std::uint16_t>(pos);
    e.len = len;
    e.body = pkt.subspan(pos + kEfHeaderLen, len - kEfHeaderLen);
    pos += len;
  }
  return EfStatus::kOk;
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

bool parse_auth_body(Bytes body, AuthBody& out) noexcept {
  Reader r(body);
  const std::size_t nonce_len = r.u16();
  const std::size_t ct_len = r.u16();
  if (!r.ok() || nonce_len == 0) return false;
  out.nonce = r.bytes(nonce_len);
  r.bytes(pad4(nonce_len) - nonce_len);
  out.ciphertext = r.bytes(ct_len);
  r.bytes(pad4(ct_len) - ct_len);
  if (!r.ok()) return false;
  // RFC 8915 §5.6: a nonce shorter than N_REQ = 16 needs at least 16 − N_LEN
  // bytes of additional padding.
  if (nonce_len < kNonceLen && r.left() < kNonceLen - nonce_len) return false;
  return true;
}

}  // namespace ntsd::proto
