// NTS cookies in the layout chrony uses (RFC 8915 §6 leaves the format to the
// server; sharing chrony's lets an operator run ntsd and chrony with one key file):
//
//    0                   1                   2                   3
//   +-------------------------------------------------------------------+
//   |                       key id (4, big endian)                      |
//   +-------------------------------------------------------------------+
//   |       nonce (16 under an AES-SIV master key, 12 under GCM-SIV)    |
//   +-------------------------------------------------------------------+
//   |  AEAD(master key, AD = ["", nonce]) of C2S || S2C : 16 + 2*keylen |
//   +-------------------------------------------------------------------+
//
// The master key's algorithm (its key length: 32 bytes AES-SIV-CMAC-256,
// 16 bytes AES-128-GCM-SIV, as chrony's ntskeys names them) decides the nonce
// length and the AEAD; the session's AEAD is implied by the plaintext length
// (64 bytes of keys for AEAD 15, 32 for AEAD 30), as chrony does. Cookie
// sizes: 100 (AEAD 15 under AES-SIV), 68 (30 under AES-SIV), 96 (15 under
// GCM-SIV), 64 (30 under GCM-SIV). Under AES-SIV the 16 bytes are SIV ||
// ciphertext, under GCM-SIV ciphertext || tag (the engines' convention).
//
// Burst use: prepare_* for every cookie of a burst, all the SivOps through one
// engine call, then finish_open. The protocol core uses the in-place forms
// below (set_open_op, keys_from_plain, set_seal_op), which keep the opened
// plaintext C2S || S2C in the caller's scratch as the plaintext of the new
// cookies, so the session keys are copied and wiped once per request.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>

#include "ntsd/crypto/keyring.hpp"
#include "ntsd/crypto/siv.hpp"

namespace ntsd::crypto {

inline constexpr std::size_t kCookieKeyIdLen = 4;
// The longest cookie nonce (an AES-SIV master key's); callers draw this many
// random bytes per cookie whatever the master key, and a GCM-SIV master key
// uses the first 12.
inline constexpr std::size_t kCookieNonceLen = 16;
// Key id and nonce under an AES-SIV master key.
inline constexpr std::size_t kCookieHeaderLen = kCookieKeyIdLen + kCookieNonceLen;
inline constexpr std::size_t kMaxCookiePlainLen = 2 * kMaxSivKeyLen;
inline constexpr std::size_t kMaxCookieLen = kCookieHeaderLen + kSivTagLen + kMaxCookiePlainLen;
// The shortest cookie any master key makes, tag and nonce with no plaintext.
inline constexpr std::size_t kMinCookieLen = kCookieKeyIdLen + kGcmSivNonceLen + kSivTagLen;

// The nonce a master key seals cookies with: 16 bytes for AES-SIV, 12 for
// AES-128-GCM-SIV (chrony: MIN(max nonce length, 16)).
constexpr std::size_t cookie_nonce_len(AeadId master) noexcept {
  return aead_nonce_len(master);
}

// Cookie length for C2S/S2C keys of AEAD `session` under a master key of
// AEAD `master` (100 for 15 under 15, 164 for 17 under 15, 64 for 30 under 30).
constexpr std::size_t cookie_len(AeadId session, AeadId master = AeadId::kSivCmac256) noexcept {
  return kCookieKeyIdLen + cookie_nonce_len(master) + kSivTagLen + 2 * aead_key_len(session);
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
// then the length of C2S || S2C. The nonce length, hence where the sealed
// part starts, is the master key's: the key is looked up first.
inline CookieStatus set_open_op(const KeyRing& ring, Bytes cookie, std::uint8_t* plain,
                                SivOp& op) noexcept {
  if (cookie.size() < kMinCookieLen) return CookieStatus::kMalformed;
  const MasterKey* mk = ring.find(detail::load_be32(cookie.data()));
  if (mk == nullptr) return CookieStatus::kUnknownKeyId;
  const std::size_t head = kCookieKeyIdLen + cookie_nonce_len(mk->key.aead());
  if (cookie.size() < head + kSivTagLen) return CookieStatus::kMalformed;
  // The plaintext is C2S || S2C, two keys of one AEAD: its length names the AEAD.
  const std::size_t plain_len = cookie.size() - head - kSivTagLen;
  if (plain_len % 2 != 0 || !aead_for_key_len(plain_len / 2)) return CookieStatus::kMalformed;
  op.key = &mk->key;
  detail::set_cookie_ad(op, cookie.subspan(kCookieKeyIdLen, head - kCookieKeyIdLen), mk->ad);
  op.in = cookie.subspan(head);
  op.out = MutBytes(plain, plain_len);
  return CookieStatus::kOk;
}

// The session keys out of an opened plaintext C2S || S2C. False (keys
// untouched) unless its halves have a key length of an AEAD (16/32/48/64).
inline bool keys_from_plain(Bytes plain, CookieKeys& keys) noexcept {
  const std::size_t half = plain.size() / 2;
  if (plain.size() % 2 != 0 || !aead_for_key_len(half)) return false;
  // Both halves have one length, so both assignments succeed: written in
  // place, no SivKey temporaries to copy and wipe per cookie.
  keys.c2s.assign(plain.first(half));
  keys.s2c.assign(plain.subspan(half));
  return true;
}

// A master key's share of every cookie it seals (key id bytes, nonce
// length, AD shape), worked out and checked once per burst instead of once
// per cookie: a response with placeholders seals up to kMaxNewCookies.
class CookieSealer {
 public:
  explicit CookieSealer(const MasterKey& mk) noexcept
      : mk_(mk),
        nlen_(cookie_nonce_len(mk.key.aead())),
        id_{static_cast<std::uint8_t>(mk.id >> 24), static_cast<std::uint8_t>(mk.id >> 16),
            static_cast<std::uint8_t>(mk.id >> 8), static_cast<std::uint8_t>(mk.id)} {}
  // False for an empty master key (an empty ring's current()): no cookie.
  bool usable() const noexcept { return !mk_.key.empty(); }
  // The cookie's length for a plaintext C2S || S2C of `plain_len` bytes.
  std::size_t cookie_len(std::size_t plain_len) const noexcept {
    return kCookieKeyIdLen + nlen_ + kSivTagLen + plain_len;
  }
  // set_seal_op for a usable() key and a `nonce` of kCookieNonceLen bytes.
  bool set_op(Bytes plain, const std::uint8_t* nonce, MutBytes out, SivOp& op) const noexcept {
    if (plain.empty() || out.size() != cookie_len(plain.size())) return false;
    std::uint8_t* o = out.data();
    std::memcpy(o, id_.data(), kCookieKeyIdLen);
    // All kCookieNonceLen bytes in one 16-byte copy: a 12-byte (GCM-SIV)
    // nonce's 4 more land on the first ciphertext bytes, which the seal
    // overwrites (out holds at least key id + nonce + tag, checked above).
    std::memcpy(o + kCookieKeyIdLen, nonce, kCookieNonceLen);
    op.key = &mk_.key;
    // The AD is the nonce copy inside the cookie, which lives as long as `out`.
    detail::set_cookie_ad(op, Bytes(o + kCookieKeyIdLen, nlen_), mk_.ad);
    op.in = plain;
    op.out = out.subspan(kCookieKeyIdLen + nlen_);
    return true;
  }

 private:
  const MasterKey& mk_;
  std::size_t nlen_;
  std::array<std::uint8_t, kCookieKeyIdLen> id_;
};

// Sets `op` to seal `plain` (C2S || S2C, e.g. as a cookie opened to) under
// master key `mk` into `out`, which must be kCookieKeyIdLen +
// cookie_nonce_len(mk) + kSivTagLen + |plain| bytes; writes the key id and the
// first cookie_nonce_len(mk) bytes of `nonce` (kCookieNonceLen fresh random
// bytes) into `out` first. False (op untouched) on an empty master key or a
// bad size. `plain` must stay intact until the engine has run the op.
inline bool set_seal_op(const MasterKey& mk, Bytes plain, Bytes nonce, MutBytes out,
                        SivOp& op) noexcept {
  const CookieSealer sealer(mk);
  return sealer.usable() && nonce.size() == kCookieNonceLen &&
         sealer.set_op(plain, nonce.data(), out, op);
}

// ---- Work-based forms ------------------------------------------------------

// Sets up work.op to open `cookie` with the master key its key id names.
CookieStatus prepare_open(const KeyRing& ring, Bytes cookie, CookieWork& work) noexcept;
// After the engine ran work.op with status `st`, extracts the keys.
CookieStatus finish_open(SivStatus st, CookieWork& work, CookieKeys& keys) noexcept;

// Sets up work.op to seal keys under master key `mk` into `out`, which must be
// cookie_len(keys.c2s.aead(), mk.key.aead()) bytes. `nonce` is
// kCookieNonceLen fresh random bytes (a GCM-SIV master key uses 12).
bool prepare_seal(const MasterKey& mk, const CookieKeys& keys, Bytes nonce, MutBytes out,
                  CookieWork& work) noexcept;

// Single-cookie conveniences on top of the above.
CookieStatus open_cookie(SivEngine& eng, const KeyRing& ring, Bytes cookie,
                         CookieKeys& keys) noexcept;
bool seal_cookie(SivEngine& eng, const MasterKey& mk, const CookieKeys& keys, Bytes nonce,
                 MutBytes out) noexcept;

}  // namespace ntsd::crypto
