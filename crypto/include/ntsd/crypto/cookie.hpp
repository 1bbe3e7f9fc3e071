// NTS cookies in the layout chrony uses (RFC 8915 §6 leaves the format to the
// server; sharing chrony's lets an operator run ntsd and chrony with one key file):
//
//    0                   1                   2                   3
//   +-------------------------------------------------------------------+
//   |                       key id (4, big endian)                      |
//   +-------------------------------------------------------------------+
//   |                          nonce (16)                               |
//   +-------------------------------------------------------------------+
//   |  AES-SIV(master key, AD = [nonce]) of C2S || S2C : 16 + 2*keylen  |
//   +-------------------------------------------------------------------+
//
// 100 bytes for AEAD 15. The AEAD of C2S/S2C is implied by their length.
//
// Burst use: prepare_* for every cookie of a burst, all the SivOps through one
// engine call, then finish_open. The protocol core uses the in-place forms
// below (set_open_op, keys_from_plain, set_seal_op), which keep the opened
// plaintext C2S || S2C in the caller's scratch as the plaintext of the new
// cookies, so the session keys are copied and wiped once per request.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>

#include "ntsd/crypto/keyring.hpp"
#include "ntsd/crypto/siv.hpp"

namespace ntsd::crypto {

inline constexpr std::size_t kCookieKeyIdLen = 4;
inline constexpr std::size_t kCookieNonceLen = 16;
inline constexpr std::size_t kCookieHeaderLen = kCookieKeyIdLen + kCookieNonceLen;
inline constexpr std::size_t kMaxCookiePlainLen = 2 * kMaxSivKeyLen;
inline constexpr std::size_t kMaxCookieLen = kCookieHeaderLen + kSivTagLen + kMaxCookiePlainLen;

// Cookie length for C2S/S2C keys of this AEAD (100 for id 15, 164 for id 17).
constexpr std::size_t cookie_len(AeadId aead) noexcept {
  return kCookieHeaderLen + kSivTagLen + 2 * aead_key_len(aead);
}

// The session keys a cookie carries (RFC 8915 §6).
struct CookieKeys {
  SivKey c2s;
  SivKey s2c;
};

enum class CookieStatus : std::uint8_t {
  kOk,
  kMalformed,     // too short, or a plaintext length no AEAD has
  kUnknownKeyId,  // no master key with that id in the ring (expired or forged)
  kAuthFail,      // the master key did not authenticate it (forged or corrupted)
};

// Scratch for one cookie in flight through a burst.
struct CookieWork {
  SivOp op;
  std::array<std::uint8_t, kMaxCookiePlainLen> plain{};
  ~CookieWork();  // wipes `plain`
};

namespace detail {
inline std::uint32_t load_be32(const std::uint8_t* p) noexcept {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | static_cast<std::uint32_t>(p[3]);
}

// The associated data of a cookie's AES-SIV: [nonce], or ["", nonce] as
// chrony seals them; the master key says which (keyring.hpp, CookieAd).
inline void set_cookie_ad(SivOp& op, Bytes nonce, CookieAd shape) noexcept {
  if (shape == CookieAd::kEmptyThenNonce) {
    op.ad[0] = Bytes{};
    op.ad[1] = nonce;
    op.ad_count = 2;
  } else {
    op.ad[0] = nonce;
    op.ad_count = 1;
  }
}
}  // namespace detail

// ---- In-place forms (inline: once or twice per NTS request) ----------------
// They write the op's fields where the engine will read them, with no SivOp
// temporary: copying one made the compiler store it in 8-byte pieces and load
// it in 16-byte ones, a store-forwarding stall (see set_aead_op).

// Sets `op` to open `cookie` into `plain` (kMaxCookiePlainLen bytes) with the
// master key its key id names. `op` is written only on kOk; op.out.size() is
// then the length of C2S || S2C.
inline CookieStatus set_open_op(const KeyRing& ring, Bytes cookie, std::uint8_t* plain,
                                SivOp& op) noexcept {
  if (cookie.size() < kCookieHeaderLen + kSivTagLen) return CookieStatus::kMalformed;
  // The plaintext is C2S || S2C, two keys of one AEAD: its length names the AEAD.
  const std::size_t plain_len = cookie.size() - kCookieHeaderLen - kSivTagLen;
  if (plain_len % 2 != 0 || !aead_for_key_len(plain_len / 2)) return CookieStatus::kMalformed;
  const MasterKey* mk = ring.find(detail::load_be32(cookie.data()));
  if (mk == nullptr) return CookieStatus::kUnknownKeyId;
  op.key = &mk->key;
  detail::set_cookie_ad(op, cookie.subspan(kCookieKeyIdLen, kCookieNonceLen), mk->ad);
  op.in = cookie.subspan(kCookieHeaderLen);
  op.out = MutBytes(plain, plain_len);
  return CookieStatus::kOk;
}

// The session keys out of an opened plaintext C2S || S2C. False (keys
// untouched) unless its halves have a SIV key length.
inline bool keys_from_plain(Bytes plain, CookieKeys& keys) noexcept {
  const std::size_t half = plain.size() / 2;
  if (plain.size() % 2 != 0 || !aead_for_key_len(half)) return false;
  // Both halves have one length, so both assignments succeed: written in
  // place, no SivKey temporaries to copy and wipe per cookie.
  keys.c2s.assign(plain.first(half));
  keys.s2c.assign(plain.subspan(half));
  return true;
}

// Sets `op` to seal `plain` (C2S || S2C, e.g. as a cookie opened to) under
// master key `mk` into `out`, which must be kCookieHeaderLen + kSivTagLen +
// |plain| bytes; writes the key id and `nonce` (16 fresh random bytes) into
// `out` first. False (op untouched) on an empty master key or a bad size.
// `plain` must stay intact until the engine has run the op.
inline bool set_seal_op(const MasterKey& mk, Bytes plain, Bytes nonce, MutBytes out,
                        SivOp& op) noexcept {
  if (mk.key.empty() || plain.empty() || nonce.size() != kCookieNonceLen ||
      out.size() != kCookieHeaderLen + kSivTagLen + plain.size())
    return false;
  std::uint8_t* o = out.data();
  o[0] = static_cast<std::uint8_t>(mk.id >> 24);
  o[1] = static_cast<std::uint8_t>(mk.id >> 16);
  o[2] = static_cast<std::uint8_t>(mk.id >> 8);
  o[3] = static_cast<std::uint8_t>(mk.id);
  std::memcpy(o + kCookieKeyIdLen, nonce.data(), kCookieNonceLen);
  op.key = &mk.key;
  // The AD is the nonce copy inside the cookie, which lives as long as `out`.
  detail::set_cookie_ad(op, Bytes(o + kCookieKeyIdLen, kCookieNonceLen), mk.ad);
  op.in = plain;
  op.out = out.subspan(kCookieHeaderLen);
  return true;
}

// ---- Work-based forms ------------------------------------------------------

// Sets up work.op to open `cookie` with the master key its key id names.
CookieStatus prepare_open(const KeyRing& ring, Bytes cookie, CookieWork& work) noexcept;
// After the engine ran work.op with status `st`, extracts the keys.
CookieStatus finish_open(SivStatus st, CookieWork& work, CookieKeys& keys) noexcept;

// Sets up work.op to seal keys under master key `mk` into `out`, which must be
// cookie_len(keys.c2s.aead()) bytes. `nonce` is 16 fresh random bytes.
bool prepare_seal(const MasterKey& mk, const CookieKeys& keys, Bytes nonce, MutBytes out,
                  CookieWork& work) noexcept;

// Single-cookie conveniences on top of the above.
CookieStatus open_cookie(SivEngine& eng, const KeyRing& ring, Bytes cookie,
                         CookieKeys& keys) noexcept;
bool seal_cookie(SivEngine& eng, const MasterKey& mk, const CookieKeys& keys, Bytes nonce,
                 MutBytes out) noexcept;

}  // namespace ntsd::crypto
