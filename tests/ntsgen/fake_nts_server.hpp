// A deliberately tiny NTS responder for the ntsgen tests. It answers a request
// by hand (not through ntsd's protocol core, so that a bug shared by the core
// and the generator cannot hide): echo the origin and the Unique Identifier,
// and seal 1 + placeholders cookie EFs under the S2C key it is given. Faults
// can be injected to prove the generator counts them as invalid.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "ntsd/crypto/siv.hpp"
#include "ntsd/proto/wire.hpp"

namespace ntsgen::test {

struct Faults {
  bool wrong_origin = false;
  bool wrong_uid = false;
  bool no_auth = false;
  int cookie_delta = 0;  // fresh cookies = requested + delta
  bool nak = false;      // answer with an NTS NAK (KoD NTSN) instead
};

// Returns the response to `req` (empty: drop it).
inline std::vector<std::uint8_t> fake_nts_response(ntsd::crypto::SivEngine& eng,
                                                   const ntsd::crypto::SivKey& s2c,
                                                   std::span<const std::uint8_t> req,
                                                   const Faults& f = {}) {
  namespace p = ntsd::proto;
  p::EfList efs;
  if (req.size() < p::kHeaderLen || p::parse_efs(req, p::kHeaderLen, efs) != p::EfStatus::kOk) return {};
  std::span<const std::uint8_t> uid;
  std::size_t cookies = 0, cookie_len = 0;
  for (std::size_t i = 0; i < efs.count; ++i) {
    const auto& e = efs.ef[i];
    if (e.type == p::kEfUniqueId) uid = e.body;
    if (e.type == p::kEfCookie || e.type == p::kEfPlaceholder) {
      ++cookies;
      cookie_len = e.body.size();
    }
  }
  if (uid.empty()) return {};
  std::vector<std::uint8_t> out(1280, 0);
  std::memset(out.data(), 0, p::kHeaderLen);
  out[0] = 0x24;  // LI 0, VN 4, mode 4
  out[1] = f.nak ? 0 : 1;
  if (f.nak) std::memcpy(out.data() + 12, "NTSN", 4);
  std::memcpy(out.data() + 24, req.data() + 40, 8);  // origin = client's transmit
  // Flip a high bit: an origin no request in flight carries. (Flipping a low
  // bit would name a neighbouring request, which then fails the UID check.)
  if (f.wrong_origin) out[28] ^= 0x80;
  out[32] = out[40] = 0xe0;  // some receive/transmit time
  std::vector<std::uint8_t> uid_copy(uid.begin(), uid.end());
  if (f.wrong_uid) uid_copy[0] ^= 0x80;
  std::size_t len = p::kHeaderLen;
  len += p::write_ef(p::kEfUniqueId, uid_copy, std::span(out).subspan(len));
  if (f.nak || f.no_auth) {
    out.resize(len);
    return out;
  }
  // Plaintext of the Authenticator: the fresh cookies (RFC 8915 §5.7).
  std::vector<std::uint8_t> plain(2048);
  std::size_t plen = 0;
  const auto n = static_cast<std::size_t>(static_cast<int>(cookies) + f.cookie_delta);
  std::vector<std::uint8_t> cookie(cookie_len, 0x5a);
  for (std::size_t i = 0; i < n; ++i) {
    cookie[0] = static_cast<std::uint8_t>(i);
    plen += p::write_ef(p::kEfCookie, cookie, std::span(plain).subspan(plen));
  }
  const std::size_t ct_len = plen + ntsd::crypto::kSivTagLen;
  const std::size_t ef_len = p::auth_ef_len(p::kNonceLen, ct_len);
  std::uint8_t* a = out.data() + len;
  a[0] = 0x04; a[1] = 0x04;  // Authenticator and Encrypted EF (RFC 8915 §5.6)
  a[2] = static_cast<std::uint8_t>(ef_len >> 8); a[3] = static_cast<std::uint8_t>(ef_len);
  a[4] = 0; a[5] = p::kNonceLen;
  a[6] = static_cast<std::uint8_t>(ct_len >> 8); a[7] = static_cast<std::uint8_t>(ct_len);
  std::uint8_t* nonce = a + 8;
  for (std::size_t i = 0; i < p::kNonceLen; ++i) nonce[i] = static_cast<std::uint8_t>(0xa0 + i + req[47]);
  const auto op = ntsd::crypto::make_aead_op(s2c, std::span<const std::uint8_t>(out.data(), len),
                                             std::span<const std::uint8_t>(nonce, p::kNonceLen),
                                             std::span<const std::uint8_t>(plain.data(), plen),
                                             std::span<std::uint8_t>(nonce + p::kNonceLen, ct_len));
  if (eng.seal_one(op) != ntsd::crypto::SivStatus::kOk) return {};
  out.resize(len + ef_len);
  return out;
}

}  // namespace ntsgen::test
