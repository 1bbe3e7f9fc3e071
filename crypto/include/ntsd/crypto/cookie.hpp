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
// Burst use: the protocol core calls prepare_* for every cookie of a burst,
// runs all the SivOps through one engine call, then calls finish_open.
#pragma once

#include <cstdint>
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
