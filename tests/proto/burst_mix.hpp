// Random mixed request sets for burst-vs-single checks (gtest and fuzzer):
// plain v3/v4, valid NTS with 0–3 placeholders, bad authenticators, unknown
// cookie keys, responses, truncations and garbage. With `aead30`, half of the
// NTS requests are AEAD 30 (AES-128-GCM-SIV sessions, 12-byte nonces), their
// cookies under the GCM-SIV or the AES-SIV master key of aead30_ring().
#pragma once

#include <vector>

#include "ntsd/proto/client.hpp"
#include "proto_fixtures.hpp"

namespace ntsd::proto::testing {

inline std::vector<std::vector<std::uint8_t>> mixed_requests(SeededRandom& gen, std::size_t n,
                                                             bool aead30 = false) {
  static const crypto::SivKey c2s15 = key_from_hex(kExampleC2s);
  static const std::vector<std::uint8_t> cookie15 = hex(kExampleCookie);
  static const crypto::SivKey c2s30 = key_from_hex(kAead30C2s);
  static const std::vector<std::uint8_t> cookie30_gcm = aead30_cookie(true);
  static const std::vector<std::uint8_t> cookie30_siv = aead30_cookie(false);
  static Client client(crypto::make_scalar_engine());  // its scratch is large: build once
  std::vector<std::vector<std::uint8_t>> out(n);
  for (auto& p : out) {
    const std::uint64_t r = gen.next();
    const NtpTime t1 = gen.next();
    const unsigned kind = static_cast<unsigned>(r % 10);
    PendingRequest pend;
    if (kind <= 1) {
      p.resize(kHeaderLen);
      build_plain_request(t1, p, pend, kind == 0 ? 4 : 3, static_cast<std::int8_t>(r >> 8));
      continue;
    }
    if (kind == 9) {  // garbage of a random length, sometimes mode 3
      p.resize(static_cast<std::size_t>(r >> 16) % 300);
      gen.fill(p);
      if (!p.empty() && (r & 0x100)) p[0] = static_cast<std::uint8_t>((p[0] & ~7) | 3);
      continue;
    }
    const bool is30 = aead30 && (r >> 40) % 2 == 1;
    const crypto::SivKey& c2s = is30 ? c2s30 : c2s15;
    const std::vector<std::uint8_t>& cookie =
        !is30 ? cookie15 : (r >> 41) % 2 == 1 ? cookie30_gcm : cookie30_siv;
    const auto ph = static_cast<std::uint8_t>((r >> 8) % 4);
    p.resize(nts_request_len(cookie.size(), ph, c2s.aead()));
    const NtsRequestSpec spec{&c2s, cookie, ph, t1, static_cast<std::int8_t>(r >> 20)};
    client.build_nts_request(spec, gen, p, pend);
    switch (kind) {
      case 6:
        p.back() ^= 1;
        break;  // bad authenticator → NAK
      case 7:
        p[kHeaderLen + 36 + 4] ^= 0x40;
        break;  // unknown key id → NAK
      case 8:
        p.resize(static_cast<std::size_t>(r >> 24) % p.size());
        break;  // truncated
      default:
        break;  // valid NTS
    }
    if (kind == 5 && (r & 0x10000))
      p[0] = static_cast<std::uint8_t>((p[0] & ~7) | 4);  // a response
  }
  return out;
}

}  // namespace ntsd::proto::testing
