// AES-SIV (RFC 5297) as the AEAD of NTS (RFC 8915 §5.1, RFC 5116 §5.2/§5.3).
//
// Three engines implement one interface:
//  - ScalarSiv: the reference. It does S2V and CTR itself on OpenSSL's AES-CBC
//    (for CMAC, see cmac.hpp) and AES-ECB primitives, because OpenSSL 3.0's
//    EVP AES-SIV produces a zero tag for an empty plaintext (fixed only in
//    3.5) and NTS requests have one. See docs/crypto.md.
//  - MbSiv: the burst engine on Intel IPsec-MB CMAC/CTR jobs. It keeps the
//    lanes full by collecting the CMAC jobs of a whole burst.
//  - AesniSiv ("aesni-x8"): the same burst passes, with the CMACs run as 8
//    interleaved AES-NI lanes; IPsec-MB's per-job cost (~100 ns) is what it
//    avoids. It is what make_best_engine() picks where AES-NI and AVX exist.
// All must agree bit for bit; tests/crypto_mb cross-checks the burst engines
// against the scalar one.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

namespace ntsd::crypto {

using Bytes = std::span<const std::uint8_t>;
using MutBytes = std::span<std::uint8_t>;

// NTS AEAD algorithm identifiers (IANA "AEAD Algorithms" registry).
enum class AeadId : std::uint16_t {
  kSivCmac256 = 15,  // 32-byte key: K1 (CMAC-AES-128) || K2 (CTR-AES-128)
  kSivCmac384 = 16,  // 48-byte key: AES-192 halves
  kSivCmac512 = 17,  // 64-byte key: AES-256 halves
};

inline constexpr std::size_t kSivTagLen = 16;  // the SIV, prepended to the ciphertext
inline constexpr std::size_t kMaxSivKeyLen = 64;
// S2V takes at most this many associated-data components (RFC 5297 §2.4 allows
// 126). NTS needs two: [packet before the authenticator, nonce].
inline constexpr std::size_t kMaxAdComponents = 4;
// Largest plaintext an engine accepts (far above any NTP packet; keeps every
// length in an int for the AES primitives).
inline constexpr std::size_t kMaxSivMessage = std::size_t{1} << 24;

// Key length in bytes for an AEAD id, or 0 if the id is not an AES-SIV-CMAC id.
constexpr std::size_t aead_key_len(AeadId id) noexcept {
  switch (id) {
    case AeadId::kSivCmac256:
      return 32;
    case AeadId::kSivCmac384:
      return 48;
    case AeadId::kSivCmac512:
      return 64;
  }
  return 0;
}

// The AEAD implied by a key length (32/48/64), as chrony does for cookie keys.
std::optional<AeadId> aead_for_key_len(std::size_t len) noexcept;

// Whether ntsd negotiates this id in NTS-KE (15 and 17).
bool aead_supported(std::uint16_t id) noexcept;

// An AES-SIV key. Owns its bytes and wipes them (OPENSSL_cleanse) when it dies
// or is overwritten, so key material never lingers in freed memory.
class SivKey {
 public:
  SivKey() noexcept = default;
  // Fails unless key.size() is 32, 48 or 64.
  static std::optional<SivKey> from_bytes(Bytes key) noexcept;
  // Replaces this key with `key` in place, as `*this = *from_bytes(key)`
  // would, but without the temporaries (and their wipes) on the per-packet
  // cookie path. Returns false, leaving this key unchanged, unless
  // key.size() is 32, 48 or 64.
  bool assign(Bytes key) noexcept;
  SivKey(const SivKey& other) noexcept;
  SivKey& operator=(const SivKey& other) noexcept;
  ~SivKey();

  AeadId aead() const noexcept { return aead_; }
  std::size_t size() const noexcept { return len_; }
  bool empty() const noexcept { return len_ == 0; }
  Bytes bytes() const noexcept { return {bytes_.data(), len_}; }
  // RFC 5297 §2.2: K1 is the left half (S2V/CMAC), K2 the right half (CTR).
  Bytes mac_key() const noexcept { return {bytes_.data(), half()}; }
  Bytes ctr_key() const noexcept { return {bytes_.data() + half(), half()}; }
  // Wipes the key now (OPENSSL_cleanse) and leaves it empty. The destructor
  // and assignment do the same; this is for holders that release a key early.
  void wipe() noexcept;

 private:
  std::size_t half() const noexcept { return std::size_t{len_} / 2; }

  alignas(16) std::array<std::uint8_t, kMaxSivKeyLen> bytes_{};
  std::uint8_t len_ = 0;
  AeadId aead_ = AeadId::kSivCmac256;
};

enum class SivStatus : std::uint8_t {
  kOk,
  kAuthFail,   // open: the SIV did not verify; `out` has been zeroed
  kBadLength,  // input shorter than the tag, or `out` of the wrong size
  kBadInput,   // no key, or too many AD components
};

// One seal or open. The AD components are S1..S(n-1) of RFC 5297 §2.4, in
// order; for the RFC 5116 AEAD form used by NTS the nonce is the last one.
//   seal: in = plaintext,              out = SIV (16) || ciphertext, |out| = |in| + 16
//   open: in = SIV (16) || ciphertext, out = plaintext,              |out| = |in| - 16
// `out` must not overlap `in` or any AD component (kBadInput if it does), nor
// any other op's `in`, AD or `out` in the same burst: burst engines interleave
// ops, so a cross-op overlap would make their result depend on the order.
// Messages longer than kMaxSivMessage give kBadLength.
// Ops in one burst may share a key object; an engine may reuse per-key
// precomputation for ops whose `key` pointers are equal.
struct SivOp {
  const SivKey* key = nullptr;
  std::array<Bytes, kMaxAdComponents> ad{};
  std::uint8_t ad_count = 0;
  Bytes in;
  MutBytes out;
};

// Fills `op` with the AD list [ad, nonce] of RFC 8915 §5.6 / RFC 5116. The
// per-packet paths fill ops in place: building a temporary and copying it made
// the compiler store it in 8-byte pieces and reload it in 16-byte ones, a
// store-forwarding stall that cost more than parsing the packet.
inline void set_aead_op(SivOp& op, const SivKey& key, Bytes ad, Bytes nonce, Bytes in,
                        MutBytes out) noexcept {
  op.key = &key;
  op.ad[0] = ad;
  op.ad[1] = nonce;
  op.ad_count = 2;
  op.in = in;
  op.out = out;
}

// The same, as a value (tests, one-off seals).
inline SivOp make_aead_op(const SivKey& key, Bytes ad, Bytes nonce, Bytes in, MutBytes out) {
  SivOp op;
  set_aead_op(op, key, ad, nonce, in, out);
  return op;
}

// The checks every engine makes before touching an op, so that all engines
// give the same status for the same malformed op: kOk if the op is well
// formed, else kBadInput (no key, too many AD components, `out` overlapping an
// input) or kBadLength (sizes as in the table above).
SivStatus validate_seal_op(const SivOp& op) noexcept;
SivStatus validate_open_op(const SivOp& op) noexcept;

class SivEngine {
 public:
  virtual ~SivEngine() = default;
  // Processes every op of the burst; status[i] is the outcome of ops[i].
  // status.size() must equal ops.size(). Open compares tags in constant time
  // and releases no plaintext on failure.
  virtual void seal(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept = 0;
  virtual void open(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept = 0;
  virtual const char* name() const noexcept = 0;

  // Single-op conveniences.
  SivStatus seal_one(const SivOp& op) noexcept;
  SivStatus open_one(const SivOp& op) noexcept;
};

// The scalar reference engine (OpenSSL primitives). Never returns null.
std::unique_ptr<SivEngine> make_scalar_engine();
// The IPsec-MB multi-buffer engine, or null if the CPU lacks what IPsec-MB needs.
std::unique_ptr<SivEngine> make_mb_engine();
// The fastest engine available on this machine.
std::unique_ptr<SivEngine> make_best_engine();
// The hand-interleaved AES-NI burst engine, or null without AES-NI and AVX.
std::unique_ptr<SivEngine> make_aesni_engine();

}  // namespace ntsd::crypto
