// The scalar AES-SIV reference engine (RFC 5297), one op at a time.
//
// S2V (§2.4) runs on our CMAC (cmac.hpp) and the CTR step (§2.5) on OpenSSL's
// AES-ECB (see ctr_xcrypt). OpenSSL's own AES-SIV is deliberately not used:
// in 3.0 it returns a zero tag for an empty plaintext, which is every NTS
// request.
//
// Per-key work (AES key schedules, CMAC subkeys, D0 = CMAC(K1, 0^128)) is
// cached in a few slots, so a burst that alternates between a master key and
// session keys does not redo it per op. The engine allocates nothing per op.
//
// It is the reference for AES-128-GCM-SIV (AEAD 30) too: ops with a GCM-SIV
// key go to gcmsiv::Reference (gcm_siv_ref.hpp).
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

#include "aes_cipher.hpp"
#include "gcm_siv_ref.hpp"
#include "ntsd/crypto/cmac.hpp"
#include "ntsd/crypto/siv.hpp"

namespace ntsd::crypto {
namespace {

// Per-key state. `key` is a copy used only to recognise the key again.
struct KeySlot {
  std::array<std::uint8_t, kMaxSivKeyLen> key{};
  std::size_t len = 0;
  Cmac mac;
  EVP_CIPHER_CTX* ecb = nullptr;  // K2, for the CTR keystream
  Block d0{};                     // CMAC(K1, <zero>): the first S2V step depends on the key only

  ~KeySlot() {
    EVP_CIPHER_CTX_free(ecb);
    OPENSSL_cleanse(key.data(), key.size());
    OPENSSL_cleanse(d0.data(), d0.size());
  }
};

class ScalarSiv final : public SivEngine {
 public:
  void seal(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept override {
    const std::size_t n = std::min(ops.size(), status.size());
    for (std::size_t i = 0; i < n; ++i) status[i] = seal_op(ops[i]);
  }
  void open(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept override {
    const std::size_t n = std::min(ops.size(), status.size());
    for (std::size_t i = 0; i < n; ++i) status[i] = open_op(ops[i]);
  }
  const char* name() const noexcept override { return "scalar"; }

 private:
  static constexpr std::size_t kSlots = 4;

  KeySlot* slot_for(const SivKey& key) noexcept;
  bool ctr_xcrypt(KeySlot& s, const Block& v, Bytes in, std::uint8_t* out) noexcept;
  Block s2v(KeySlot& s, const SivOp& op, Bytes plain) noexcept;
  SivStatus seal_op(const SivOp& op) noexcept;
  SivStatus open_op(const SivOp& op) noexcept;

  std::array<KeySlot, kSlots> slots_{};
  std::size_t next_victim_ = 0;
  gcmsiv::Reference gcm_;  // AEAD 30 ops
};

bool is_gcm_siv(const SivOp& op) noexcept {
  return op.key != nullptr && aead_is_gcm_siv(op.key->aead());
}

KeySlot* ScalarSiv::slot_for(const SivKey& key) noexcept {
  const Bytes k = key.bytes();
  for (auto& s : slots_)
    if (s.len == k.size() && CRYPTO_memcmp(s.key.data(), k.data(), k.size()) == 0) return &s;
  KeySlot& s = slots_[next_victim_];
  next_victim_ = (next_victim_ + 1) % kSlots;
  s.len = 0;  // invalid until fully keyed
  const Bytes k2 = key.ctr_key();
  if (!s.mac.set_key(key.mac_key())) return nullptr;
  if (s.ecb == nullptr && (s.ecb = EVP_CIPHER_CTX_new()) == nullptr) return nullptr;
  // CTR is built on ECB (counter blocks encrypted in one call, then XORed):
  // re-setting the IV of an EVP CTR context costs ~300 ns in OpenSSL 3, more
  // than the AES work of a whole NTS packet.
  if (EVP_EncryptInit_ex2(s.ecb, aes_cipher(AesMode::kEcb, k2.size()), k2.data(), nullptr,
                          nullptr) != 1)
    return nullptr;
  EVP_CIPHER_CTX_set_padding(s.ecb, 0);
  static constexpr Block kZero{};
  s.mac.compute(kZero, s.d0);  // RFC 5297 §2.4: D = AES-CMAC(K, <zero>)
  std::memcpy(s.key.data(), k.data(), k.size());
  s.len = k.size();
  return &s;
}

// RFC 5297 §2.6 step 2 / §2.7 step 3: Q = V & 1^64 0^1 1^31 0^1 1^31, i.e.
// bits 63 and 31 cleared so that implementations with 32- or 64-bit counters
// agree; then CTR from Q, the counter being Q as a 128-bit big-endian integer
// incremented per block (§2.5, modulo 2^128).
bool ScalarSiv::ctr_xcrypt(KeySlot& s, const Block& v, Bytes in, std::uint8_t* out) noexcept {
  std::uint64_t hi = 0, lo = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    hi = hi << 8 | v[i];
    lo = lo << 8 | v[8 + i];
  }
  // The two cleared bits are the top bits of bytes 8 and 12 of V.
  lo &= ~(std::uint64_t{1} << 63 | std::uint64_t{1} << 31);
  constexpr std::size_t kBatch = 64;  // blocks per EVP call
  alignas(16) std::uint8_t ks[kBatch * kAesBlock];
  bool ok = true;
  for (std::size_t off = 0; off < in.size() && ok;) {
    const std::size_t len = std::min(in.size() - off, sizeof ks);
    const std::size_t blocks = (len + kAesBlock - 1) / kAesBlock;
    for (std::size_t b = 0; b < blocks; ++b) {
      for (std::size_t i = 0; i < 8; ++i) {
        ks[b * kAesBlock + i] = static_cast<std::uint8_t>(hi >> (56 - 8 * i));
        ks[b * kAesBlock + 8 + i] = static_cast<std::uint8_t>(lo >> (56 - 8 * i));
      }
      if (++lo == 0) ++hi;
    }
    int outl = 0;
    ok = EVP_EncryptUpdate(s.ecb, ks, &outl, ks, static_cast<int>(blocks * kAesBlock)) == 1;
    for (std::size_t i = 0; i < len; ++i) out[off + i] = in[off + i] ^ ks[i];
    off += len;
  }
  // The keystream would decrypt this message: do not leave it on the stack.
  if (!in.empty()) OPENSSL_cleanse(ks, std::min(in.size(), sizeof ks));
  return ok;
}

// RFC 5297 §2.4 S2V over [ad..., plaintext].
Block ScalarSiv::s2v(KeySlot& s, const SivOp& op, Bytes plain) noexcept {
  Block d = s.d0;
  Block t{};
  for (std::size_t i = 0; i < op.ad_count; ++i) {
    block_dbl(d);
    s.mac.compute(op.ad[i], t);
    block_xor(d, t.data());
  }
  Block v{};
  const std::size_t n = plain.size();
  if (n >= kAesBlock) {
    s.mac.compute_xorend(plain, d, v);  // T = Sn xorend D
  } else {
    // T = dbl(D) xor pad(Sn), pad = Sn || 10*.
    Block pad{};
    if (n > 0) std::memcpy(pad.data(), plain.data(), n);  // an empty span may be null
    pad[n] = 0x80;
    block_dbl(d);
    block_xor(d, pad.data());
    s.mac.compute(d, v);
    OPENSSL_cleanse(pad.data(), pad.size());
  }
  OPENSSL_cleanse(d.data(), d.size());
  return v;
}

SivStatus ScalarSiv::seal_op(const SivOp& op) noexcept {
  if (is_gcm_siv(op)) return gcm_.seal_op(op);
  if (const auto st = validate_seal_op(op); st != SivStatus::kOk) return st;
  KeySlot* s = slot_for(*op.key);
  if (s == nullptr) return SivStatus::kBadInput;
  const Block v = s2v(*s, op, op.in);
  std::memcpy(op.out.data(), v.data(), kSivTagLen);  // §2.6: output V || C
  if (!ctr_xcrypt(*s, v, op.in, op.out.data() + kSivTagLen)) {
    OPENSSL_cleanse(op.out.data(), op.out.size());
    return SivStatus::kBadInput;
  }
  return SivStatus::kOk;
}

SivStatus ScalarSiv::open_op(const SivOp& op) noexcept {
  if (is_gcm_siv(op)) return gcm_.open_op(op);
  if (const auto st = validate_open_op(op); st != SivStatus::kOk) return st;
  KeySlot* s = slot_for(*op.key);
  if (s == nullptr) return SivStatus::kBadInput;
  Block v{};
  std::memcpy(v.data(), op.in.data(), kSivTagLen);
  bool ok = ctr_xcrypt(*s, v, op.in.subspan(kSivTagLen), op.out.data());
  if (ok) {
    // §2.7: recompute T = S2V(ad..., P) and release P only if T == V, compared
    // in constant time so the position of a mismatch does not leak.
    const Block t = s2v(*s, op, Bytes(op.out.data(), op.out.size()));
    ok = CRYPTO_memcmp(t.data(), v.data(), kSivTagLen) == 0;
  }
  if (!ok) {
    OPENSSL_cleanse(op.out.data(), op.out.size());
    return SivStatus::kAuthFail;
  }
  return SivStatus::kOk;
}

}  // namespace

std::unique_ptr<SivEngine> make_scalar_engine() {
  return std::make_unique<ScalarSiv>();
}

}  // namespace ntsd::crypto
