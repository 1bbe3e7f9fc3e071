// AES-GCM-SIV (RFC 8452), the scalar reference: POLYVAL in portable,
// constant-time C++ and AES from OpenSSL's AES-ECB (OpenSSL 3.0 has no
// GCM-SIV). Private to crypto/; the scalar engine runs AEAD 30 ops through
// it and the tests reach it here (RFC 8452 Appendix A/C vectors, Wycheproof,
// the burst engines' cross-check). It takes AES-128 and AES-256 keys, so all
// of the RFC's and Wycheproof's vectors run; NTS negotiates only AES-128
// (AEAD 30).
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <cstdint>

#include "ntsd/crypto/siv.hpp"

namespace ntsd::crypto::gcmsiv {

inline constexpr std::size_t kTagLen = 16;
inline constexpr std::size_t kBlock = 16;

// A POLYVAL field element (RFC 8452 §3): the 16 bytes as a little-endian
// 128-bit integer, bit i the coefficient of x^i.
struct Fe {
  std::uint64_t lo = 0, hi = 0;
};

Fe fe_load(const std::uint8_t* p) noexcept;
void fe_store(const Fe& a, std::uint8_t* p) noexcept;

// dot(a, b) = a * b * x^-128 mod x^128 + x^127 + x^126 + x^121 + 1 (§3).
// Constant time: no table lookups, no data-dependent branches.
Fe dot(const Fe& a, const Fe& b) noexcept;

// POLYVAL(H, X_1..X_n) (§3) over n whole blocks, continuing from `acc`
// (S_0 = 0 for a fresh hash): acc = dot(acc + X_j, H) for each block.
void polyval_blocks(const Fe& h, Fe& acc, const std::uint8_t* blocks, std::size_t n) noexcept;
// The same over a byte string zero-padded to a whole number of blocks.
void polyval_padded(const Fe& h, Fe& acc, Bytes data) noexcept;

// One AES-GCM-SIV instance: seal and open with 16- or 32-byte keys. Keeps
// the AES-ECB context of the last few key-generating keys (a burst
// alternates between a cookie master key and session keys) and one for the
// per-nonce encryption key. Not thread safe; allocates nothing per op.
class Reference {
 public:
  Reference() = default;
  ~Reference();
  Reference(const Reference&) = delete;
  Reference& operator=(const Reference&) = delete;

  // out = ciphertext || tag, |out| = |pt| + 16 (§4). kBadInput on a key that
  // is not 16/32 bytes or a nonce that is not 12 bytes, or an OpenSSL failure;
  // kBadLength on a wrong |out|.
  SivStatus seal(Bytes key, Bytes nonce, Bytes aad, Bytes pt, MutBytes out) noexcept;
  // in = ciphertext || tag; |pt| = |in| - 16 (§5). kAuthFail (pt zeroed) if
  // the tag does not verify; the comparison is constant time.
  SivStatus open(Bytes key, Bytes nonce, Bytes aad, Bytes in, MutBytes pt) noexcept;

  // The SivOp forms (siv.hpp's AEAD-30 convention): validate_gcm_siv_op, then
  // AAD = ad[0] of [AAD, nonce] (empty for [nonce]), the nonce last.
  SivStatus seal_op(const SivOp& op) noexcept;
  SivStatus open_op(const SivOp& op) noexcept;

  // §4's derived keys of (key, nonce), for the tests of Appendix C's
  // intermediate values: auth (16 bytes) and enc (16 or 32 bytes, enc_len).
  bool derive_keys(Bytes key, Bytes nonce, std::uint8_t* auth, std::uint8_t* enc,
                   std::size_t& enc_len) noexcept;

 private:
  static constexpr std::size_t kSlots = 4;
  struct Slot {
    std::array<std::uint8_t, 32> key{};
    std::size_t len = 0;
    EVP_CIPHER_CTX* ecb = nullptr;
  };
  // The derived keys of one nonce (§4): H and the AES key of the message.
  struct Derived {
    Fe h;
    std::array<std::uint8_t, 32> enc{};
    std::size_t enc_len = 0;
  };

  EVP_CIPHER_CTX* kgk_ctx(Bytes key) noexcept;
  bool derive(Bytes key, Bytes nonce, Derived& d) noexcept;
  bool tag_of(const Derived& d, Bytes nonce, Bytes aad, Bytes pt, std::uint8_t* tag) noexcept;
  bool ctr(const std::uint8_t* tag, Bytes in, std::uint8_t* out) noexcept;

  std::array<Slot, kSlots> slots_{};
  std::size_t next_victim_ = 0;
  EVP_CIPHER_CTX* enc_ = nullptr;  // keyed per message with the derived key
};

}  // namespace ntsd::crypto::gcmsiv
