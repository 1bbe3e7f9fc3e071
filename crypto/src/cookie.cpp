// NTS cookies (RFC 8915 §6) in chrony's layout; see cookie.hpp for the diagram.
#include "ntsd/crypto/cookie.hpp"

#include <openssl/crypto.h>

#include <cstring>

namespace ntsd::crypto {
namespace {

// The associated data of a cookie's AES-SIV: [nonce], or ["", nonce] as
// chrony seals them; the master key says which (keyring.hpp, CookieAd).
void set_cookie_ad(SivOp& op, Bytes nonce, CookieAd shape) noexcept {
  if (shape == CookieAd::kEmptyThenNonce) {
    op.ad[0] = Bytes{};
    op.ad[1] = nonce;
    op.ad_count = 2;
  } else {
    op.ad[0] = nonce;
    op.ad_count = 1;
  }
}

std::uint32_t read_be32(const std::uint8_t* p) noexcept {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | static_cast<std::uint32_t>(p[3]);
}

void write_be32(std::uint8_t* p, std::uint32_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

}  // namespace

CookieWork::~CookieWork() {
  OPENSSL_cleanse(plain.data(), plain.size());
}

CookieStatus prepare_open(const KeyRing& ring, Bytes cookie, CookieWork& work) noexcept {
  work.op = SivOp{};
  if (cookie.size() < kCookieHeaderLen + kSivTagLen) return CookieStatus::kMalformed;
  // The plaintext is C2S || S2C, two keys of one AEAD: its length names the AEAD.
  const std::size_t plain_len = cookie.size() - kCookieHeaderLen - kSivTagLen;
  if (plain_len % 2 != 0 || !aead_for_key_len(plain_len / 2)) return CookieStatus::kMalformed;
  const MasterKey* mk = ring.find(read_be32(cookie.data()));
  if (mk == nullptr) return CookieStatus::kUnknownKeyId;
  work.op.key = &mk->key;
  set_cookie_ad(work.op, cookie.subspan(kCookieKeyIdLen, kCookieNonceLen), mk->ad);
  work.op.in = cookie.subspan(kCookieHeaderLen);
  work.op.out = MutBytes(work.plain.data(), plain_len);
  return CookieStatus::kOk;
}

CookieStatus finish_open(SivStatus st, CookieWork& work, CookieKeys& keys) noexcept {
  CookieStatus result = CookieStatus::kOk;
  const std::size_t half = work.op.out.size() / 2;
  if (st == SivStatus::kAuthFail) {
    result = CookieStatus::kAuthFail;
  } else if (st != SivStatus::kOk || half == 0) {
    result = CookieStatus::kMalformed;  // prepare_open failed or was not called
  } else if (aead_for_key_len(half)) {
    // Both halves have one length, so both assignments succeed: written in
    // place, no SivKey temporaries to copy and wipe per cookie.
    keys.c2s.assign(Bytes(work.plain.data(), half));
    keys.s2c.assign(Bytes(work.plain.data() + half, half));
  } else {
    result = CookieStatus::kMalformed;
  }
  // Session keys must not linger in scratch that the next burst reuses.
  OPENSSL_cleanse(work.plain.data(), work.plain.size());
  work.op = SivOp{};
  return result;
}

bool prepare_seal(const MasterKey& mk, const CookieKeys& keys, Bytes nonce, MutBytes out,
                  CookieWork& work) noexcept {
  work.op = SivOp{};
  const std::size_t klen = keys.c2s.size();
  if (mk.key.empty() || klen == 0 || keys.s2c.size() != klen || nonce.size() != kCookieNonceLen ||
      out.size() != cookie_len(keys.c2s.aead()))
    return false;
  write_be32(out.data(), mk.id);
  std::memcpy(out.data() + kCookieKeyIdLen, nonce.data(), kCookieNonceLen);
  std::memcpy(work.plain.data(), keys.c2s.bytes().data(), klen);
  std::memcpy(work.plain.data() + klen, keys.s2c.bytes().data(), klen);
  work.op.key = &mk.key;
  // The AD is the nonce copy inside the cookie, which lives as long as `out`.
  set_cookie_ad(work.op, Bytes(out.data() + kCookieKeyIdLen, kCookieNonceLen), mk.ad);
  work.op.in = Bytes(work.plain.data(), 2 * klen);
  work.op.out = out.subspan(kCookieHeaderLen);
  return true;
}

CookieStatus open_cookie(SivEngine& eng, const KeyRing& ring, Bytes cookie,
                         CookieKeys& keys) noexcept {
  CookieWork work;
  const CookieStatus st = prepare_open(ring, cookie, work);
  if (st != CookieStatus::kOk) return st;
  return finish_open(eng.open_one(work.op), work, keys);
}

bool seal_cookie(SivEngine& eng, const MasterKey& mk, const CookieKeys& keys, Bytes nonce,
                 MutBytes out) noexcept {
  CookieWork work;
  if (!prepare_seal(mk, keys, nonce, out, work)) return false;
  return eng.seal_one(work.op) == SivStatus::kOk;
}

}  // namespace ntsd::crypto
