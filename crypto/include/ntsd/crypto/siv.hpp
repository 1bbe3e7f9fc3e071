// AES-SIV (RFC 5297) as the AEAD of NTS (RFC 8915 §5.1, RFC 5116 §5.2/§5.3).
//
// Four engines implement one interface:
//  - ScalarSiv: the reference. It does S2V and CTR itself on OpenSSL's AES-CBC
//    (for CMAC, see cmac.hpp) and AES-ECB primitives, because OpenSSL 3.0's
//    EVP AES-SIV produces a zero tag for an empty plaintext (fixed only in
//    3.5) and NTS requests have one. See docs/crypto.md.
//  - MbSiv: the burst engine on Intel IPsec-MB CMAC/CTR jobs. It keeps the
//    lanes full by collecting the CMAC jobs of a whole burst.
//  - AesniSiv ("aesni-x8"): the same burst passes, with the CMACs run as 8
//    interleaved AES-NI lanes; IPsec-MB's per-job cost (~100 ns) is what it
//    avoids. make_best_engine() picks it where AES-NI and AVX exist but
//    VAES/AVX-512 do not, and the VAES engine hands it single ops.
//  - VaesSiv ("vaes-x16", crypto/src/mb_vaes_siv.hpp): 16 lanes, 4 per zmm
//    register with VAES, one op per lane through every SIV pass; what
//    make_best_engine() picks on CPUs with VAES and AVX-512 (docs/crypto.md).
// All must agree bit for bit; tests/crypto_mb cross-checks the burst engines
// against the scalar one.
//
// AES-128-GCM-SIV (RFC 8452, NTS AEAD 30) runs behind the same interface: a
// 16-byte SivKey is a GCM-SIV key, and every engine gives the same result for
// its ops. The scalar engine does it itself (gcm_siv_ref.hpp, its own
// POLYVAL on OpenSSL's AES-ECB); the AES-SIV burst engines hand such ops to
// their fallback; make_gcm_siv_engine() returns the burst GCM-SIV engines
// (mb_gcm_siv.hpp), and make_best_engine() routes each op to the burst engine
// of its AEAD, so the protocol core never asks which AEAD a packet uses.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
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
  kAesGcmSiv128 = 30,  // 16-byte key: AES-128-GCM-SIV (RFC 8452), 12-byte nonce
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
    case AeadId::kAesGcmSiv128:
      return 16;
  }
  return 0;
}

constexpr bool aead_is_gcm_siv(AeadId id) noexcept {
  return id == AeadId::kAesGcmSiv128;
}

// RFC 8452 §4: AES-GCM-SIV takes exactly 12 nonce bytes.
inline constexpr std::size_t kGcmSivNonceLen = 12;
// The nonce ntsd sends with an AEAD (NTS authenticators, cookies): 12 bytes
// for GCM-SIV (its only length), 16 for AES-SIV (RFC 8915 §5.6's N_REQ; any
// length works, and chrony sends and expects 16).
constexpr std::size_t aead_nonce_len(AeadId id) noexcept {
  return aead_is_gcm_siv(id) ? kGcmSivNonceLen : 16;
}

// The AEAD implied by a key length (16/32/48/64), as chrony does for cookie
// keys. RFC 5297 §6.1-6.3: a SIV key is two AES keys of equal size, so it is
// never 16 bytes, which leaves 16 to AES-128-GCM-SIV (RFC 8452). Inline: the
// cookie path asks per packet, and an out-of-line std::optional return went
// through the stack as two narrow stores and one wide load (a store-forwarding
// stall that cost more than the switch).
constexpr std::optional<AeadId> aead_for_key_len(std::size_t len) noexcept {
  switch (len) {
    case 16:
      return AeadId::kAesGcmSiv128;
    case 32:
      return AeadId::kSivCmac256;
    case 48:
      return AeadId::kSivCmac384;
    case 64:
      return AeadId::kSivCmac512;
    default:
      return std::nullopt;
  }
}

// Whether ntsd negotiates this id in NTS-KE (15, 17 and 30).
bool aead_supported(std::uint16_t id) noexcept;

// Zeroes key material so that the compiler cannot drop the stores as dead:
// the empty asm claims to read the memory, as glibc's explicit_bzero does.
// Inline rather than OPENSSL_cleanse: the per-packet paths wipe a few fixed
// 64-byte buffers, which this turns into a handful of vector stores instead
// of a call and a byte loop each.
inline void secure_wipe(void* p, std::size_t n) noexcept {
  std::memset(p, 0, n);
  __asm__ __volatile__("" : : "r"(p) : "memory");
}

// An AES-SIV key, or an AES-128-GCM-SIV key (16 bytes; aead() says which).
// Owns its bytes and wipes them (secure_wipe) when it dies or is overwritten,
// so key material never lingers in freed memory.
class SivKey {
 public:
  SivKey() noexcept = default;
  // Fails unless key.size() is 16, 32, 48 or 64.
  static std::optional<SivKey> from_bytes(Bytes key) noexcept;
  // Replaces this key with `key` in place, as `*this = *from_bytes(key)`
  // would, but without the temporaries (and their wipes) on the per-packet
  // cookie path. Returns false, leaving this key unchanged, unless
  // key.size() is 16, 32, 48 or 64.
  bool assign(Bytes key) noexcept;
  SivKey(const SivKey& other) noexcept;
  SivKey& operator=(const SivKey& other) noexcept;
  ~SivKey() { wipe(); }

  AeadId aead() const noexcept { return aead_; }
  std::size_t size() const noexcept { return len_; }
  bool empty() const noexcept { return len_ == 0; }
  Bytes bytes() const noexcept { return {bytes_.data(), len_}; }
  // RFC 5297 §2.2: K1 is the left half (S2V/CMAC), K2 the right half (CTR).
  // Meaningless for a GCM-SIV key, whose 16 bytes are one AES-128 key.
  Bytes mac_key() const noexcept { return {bytes_.data(), half()}; }
  Bytes ctr_key() const noexcept { return {bytes_.data() + half(), half()}; }
  // Wipes the key now (secure_wipe) and leaves it empty. The destructor
  // and assignment do the same; this is for holders that release a key early.
  void wipe() noexcept {
    secure_wipe(bytes_.data(), bytes_.size());
    len_ = 0;
    aead_ = AeadId::kSivCmac256;
    long_lived_ = false;
  }

  // A long-lived key (a cookie master key, set by KeyRing::make) lives for
  // its whole rotation window, and an engine may keep its expanded schedule
  // across calls (VaesSiv does, keyed on the key's bytes, never on its
  // address alone). Every other key, above all the per-request C2S/S2C
  // session keys, is short-lived: its schedule is wiped at the end of each
  // engine call. Default false. A copy carries the mark (it holds the same
  // long-lived key: KeyRing is copied to every worker); wipe() and assign()
  // clear it (new bytes: their holder decides again).
  bool long_lived() const noexcept { return long_lived_; }
  void set_long_lived(bool on) noexcept { long_lived_ = on; }

 private:
  std::size_t half() const noexcept { return std::size_t{len_} / 2; }

  alignas(16) std::array<std::uint8_t, kMaxSivKeyLen> bytes_{};
  std::uint8_t len_ = 0;
  AeadId aead_ = AeadId::kSivCmac256;
  bool long_lived_ = false;
};

// Inline: two per NTS request (C2S and S2C out of the opened cookie).
inline bool SivKey::assign(Bytes key) noexcept {
  const auto aead = aead_for_key_len(key.size());
  if (!aead) return false;
  const std::size_t old_len = len_;
  // Every key length is a multiple of 16: copy in 16-byte pieces (vector
  // moves, no memmove call). Each piece is loaded before it is stored, so a
  // source inside bytes_ itself (always at or after bytes_.data()) is safe.
  for (std::size_t off = 0; off < key.size(); off += 16) {
    std::uint8_t piece[16];
    std::memcpy(piece, key.data() + off, 16);
    std::memcpy(bytes_.data() + off, piece, 16);
  }
  // Bytes past len_ are always zero; only a longer old key leaves some behind.
  if (old_len > key.size()) secure_wipe(bytes_.data() + key.size(), old_len - key.size());
  len_ = static_cast<std::uint8_t>(key.size());
  aead_ = *aead;
  long_lived_ = false;
  return true;
}

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
//
// With a GCM-SIV key (AEAD 30, RFC 8452 §4) the tag comes last, as the RFC
// outputs it, and the AD list is the RFC 5116 pair [AAD, nonce] (or [nonce]:
// empty AAD); the nonce must be kGcmSivNonceLen bytes (else kBadInput):
//   seal: in = plaintext,              out = ciphertext || tag (16)
//   open: in = ciphertext || tag (16), out = plaintext
// The sizes are the same as AES-SIV's, so a caller that only moves bytes
// around (the NTS core) does not care which AEAD it holds.
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
// Inline: every engine checks every op of a burst (four per NTS request),
// and the ops the protocol core builds are always well formed, so the checks
// should cost a few compares, not a call each.
namespace detail {
// Compares addresses as integers: relational operators on pointers into
// different objects are unspecified in C++.
inline bool overlaps(Bytes a, MutBytes b) noexcept {
  if (a.empty() || b.empty()) return false;
  const auto a0 = reinterpret_cast<std::uintptr_t>(a.data());
  const auto b0 = reinterpret_cast<std::uintptr_t>(b.data());
  return a0 < b0 + b.size() && b0 < a0 + a.size();
}

inline SivStatus validate_common(const SivOp& op) noexcept {
  if (op.key == nullptr || op.key->empty()) return SivStatus::kBadInput;
  if (op.ad_count > kMaxAdComponents) return SivStatus::kBadInput;
  // S2V reads the AD after open has written `out`, and CTR streams in to out:
  // an overlap would silently change the result, so it is refused.
  if (overlaps(op.in, op.out)) return SivStatus::kBadInput;
  for (std::size_t i = 0; i < op.ad_count; ++i)
    if (overlaps(op.ad[i], op.out)) return SivStatus::kBadInput;
  return SivStatus::kOk;
}
}  // namespace detail

inline SivStatus validate_seal_op(const SivOp& op) noexcept {
  if (const auto st = detail::validate_common(op); st != SivStatus::kOk) return st;
  if (op.in.size() > kMaxSivMessage || op.out.size() != op.in.size() + kSivTagLen)
    return SivStatus::kBadLength;
  return SivStatus::kOk;
}

inline SivStatus validate_open_op(const SivOp& op) noexcept {
  if (const auto st = detail::validate_common(op); st != SivStatus::kOk) return st;
  if (op.in.size() < kSivTagLen || op.in.size() - kSivTagLen > kMaxSivMessage ||
      op.out.size() != op.in.size() - kSivTagLen)
    return SivStatus::kBadLength;
  return SivStatus::kOk;
}

// The checks above plus GCM-SIV's own (RFC 8452 §4: one AAD string and a
// 12-byte nonce): kBadInput unless the key is a GCM-SIV key and the AD list is
// [nonce] or [AAD, nonce]. Every GCM-SIV engine calls it first.
inline SivStatus validate_gcm_siv_op(const SivOp& op, bool sealing) noexcept {
  const SivStatus st = sealing ? validate_seal_op(op) : validate_open_op(op);
  if (st != SivStatus::kOk) return st;
  if (!aead_is_gcm_siv(op.key->aead()) || op.ad_count < 1 || op.ad_count > 2 ||
      op.ad[op.ad_count - 1].size() != kGcmSivNonceLen)
    return SivStatus::kBadInput;
  return SivStatus::kOk;
}

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
// The fastest engine available on this machine for every AEAD: AES-SIV ops
// go to the best AES-SIV burst engine, GCM-SIV ops to the best GCM-SIV one.
std::unique_ptr<SivEngine> make_best_engine();
// The best burst AES-128-GCM-SIV engine ("gcmsiv-vaes-x16" with VAES and
// VPCLMULQDQ on AVX-512, else "gcmsiv-aesni-x8" with AES-NI and PCLMULQDQ),
// or null without either. Ops it does not take (AES-SIV keys, oversized or
// malformed ops) go to the scalar engine.
std::unique_ptr<SivEngine> make_gcm_siv_engine();
// The hand-interleaved AES-NI burst engine, or null without AES-NI and AVX.
std::unique_ptr<SivEngine> make_aesni_engine();

}  // namespace ntsd::crypto
