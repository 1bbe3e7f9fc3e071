// AES-GCM-SIV reference (RFC 8452). See gcm_siv_ref.hpp.
#include "gcm_siv_ref.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>

#include "aes_cipher.hpp"

namespace ntsd::crypto::gcmsiv {
namespace {

// Carry-less product of x and y, low 64 bits, with integer multiplies only
// (constant time, unlike a table). Each operand is split into four sparse
// words holding every fourth bit; an integer product of two sparse words puts
// the parity of each carry-less sum at the positions it belongs to, and the
// sums stay below 16 (at most 15 terms meet below bit 60, and a sum of 16
// above bit 59 carries only past bit 63), so no carry reaches a bit we keep.
std::uint64_t clmul_lo(std::uint64_t x, std::uint64_t y) noexcept {
  constexpr std::uint64_t m0 = 0x1111111111111111ull, m1 = m0 << 1, m2 = m0 << 2, m3 = m0 << 3;
  const std::uint64_t x0 = x & m0, x1 = x & m1, x2 = x & m2, x3 = x & m3;
  const std::uint64_t y0 = y & m0, y1 = y & m1, y2 = y & m2, y3 = y & m3;
  const std::uint64_t z0 = (x0 * y0) ^ (x1 * y3) ^ (x2 * y2) ^ (x3 * y1);
  const std::uint64_t z1 = (x0 * y1) ^ (x1 * y0) ^ (x2 * y3) ^ (x3 * y2);
  const std::uint64_t z2 = (x0 * y2) ^ (x1 * y1) ^ (x2 * y0) ^ (x3 * y3);
  const std::uint64_t z3 = (x0 * y3) ^ (x1 * y2) ^ (x2 * y1) ^ (x3 * y0);
  return (z0 & m0) | (z1 & m1) | (z2 & m2) | (z3 & m3);
}

std::uint64_t rev64(std::uint64_t x) noexcept {
  x = ((x >> 1) & 0x5555555555555555ull) | ((x & 0x5555555555555555ull) << 1);
  x = ((x >> 2) & 0x3333333333333333ull) | ((x & 0x3333333333333333ull) << 2);
  x = ((x >> 4) & 0x0f0f0f0f0f0f0f0full) | ((x & 0x0f0f0f0f0f0f0f0full) << 4);
  return __builtin_bswap64(x);
}

// The full 127-bit carry-less product: the high half from the bit-reversed
// operands, whose low product bits are the reversed high bits of x * y.
void clmul64(std::uint64_t x, std::uint64_t y, std::uint64_t& lo, std::uint64_t& hi) noexcept {
  lo = clmul_lo(x, y);
  hi = rev64(clmul_lo(rev64(x), rev64(y))) >> 1;
}

// d += 64-bit limb v times x^57 + x^62 + x^63 (0xc2 << 56), into [lo, hi]:
// the folding constant of the reduction below.
void fold(std::uint64_t v, std::uint64_t& lo, std::uint64_t& hi) noexcept {
  lo ^= (v << 57) ^ (v << 62) ^ (v << 63);
  hi ^= (v >> 7) ^ (v >> 2) ^ (v >> 1);
}

std::uint64_t load_le64(const std::uint8_t* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;  // x86-64 is little endian, as POLYVAL's byte order (§3)
}

void store_le64(std::uint64_t v, std::uint8_t* p) noexcept {
  std::memcpy(p, &v, 8);
}

// AES-ECB of whole blocks, in place.
bool ecb(EVP_CIPHER_CTX* ctx, std::uint8_t* blocks, std::size_t n) noexcept {
  int outl = 0;
  return EVP_EncryptUpdate(ctx, blocks, &outl, blocks, static_cast<int>(n * kBlock)) == 1;
}

bool ecb_init(EVP_CIPHER_CTX* ctx, const std::uint8_t* key, std::size_t len) noexcept {
  const EVP_CIPHER* c = aes_cipher(AesMode::kEcb, len);
  if (c == nullptr || EVP_EncryptInit_ex2(ctx, c, key, nullptr, nullptr) != 1) return false;
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  return true;
}

}  // namespace

Fe fe_load(const std::uint8_t* p) noexcept {
  return Fe{load_le64(p), load_le64(p + 8)};
}

void fe_store(const Fe& a, std::uint8_t* p) noexcept {
  store_le64(a.lo, p);
  store_le64(a.hi, p + 8);
}

// a * b is a 255-bit product d3:d2:d1:d0 (Karatsuba on the 64-bit halves).
// Multiplying by x^-128 is a Montgomery reduction: adding d0 * P clears limb
// 0 (P = 1 mod x^64, so the multiple is d0 itself) and adds d0 * (x^121 +
// x^126 + x^127) at limb 1 and d0 at limb 2; the same with the new limb 1
// leaves the result in limbs 3:2. Both steps are folds by 0xc2 << 56.
Fe dot(const Fe& a, const Fe& b) noexcept {
  std::uint64_t p0l, p0h, p2l, p2h, p1l, p1h;
  clmul64(a.lo, b.lo, p0l, p0h);
  clmul64(a.hi, b.hi, p2l, p2h);
  clmul64(a.lo ^ a.hi, b.lo ^ b.hi, p1l, p1h);
  p1l ^= p0l ^ p2l;
  p1h ^= p0h ^ p2h;
  std::uint64_t d0 = p0l, d1 = p0h ^ p1l, d2 = p2l ^ p1h, d3 = p2h;
  fold(d0, d1, d2);
  d2 ^= d0;
  fold(d1, d2, d3);
  d3 ^= d1;
  return Fe{d2, d3};
}

void polyval_blocks(const Fe& h, Fe& acc, const std::uint8_t* blocks, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    const Fe x = fe_load(blocks + i * kBlock);
    acc = dot(Fe{acc.lo ^ x.lo, acc.hi ^ x.hi}, h);
  }
}

void polyval_padded(const Fe& h, Fe& acc, Bytes data) noexcept {
  const std::size_t whole = data.size() / kBlock;
  if (whole != 0) polyval_blocks(h, acc, data.data(), whole);
  const std::size_t rest = data.size() % kBlock;
  if (rest == 0) return;
  std::uint8_t last[kBlock] = {};
  std::memcpy(last, data.data() + whole * kBlock, rest);
  polyval_blocks(h, acc, last, 1);
  OPENSSL_cleanse(last, sizeof last);
}

Reference::~Reference() {
  for (Slot& s : slots_) {
    EVP_CIPHER_CTX_free(s.ecb);
    OPENSSL_cleanse(s.key.data(), s.key.size());
  }
  EVP_CIPHER_CTX_free(enc_);
}

EVP_CIPHER_CTX* Reference::kgk_ctx(Bytes key) noexcept {
  for (Slot& s : slots_)
    if (s.len == key.size() && CRYPTO_memcmp(s.key.data(), key.data(), key.size()) == 0)
      return s.ecb;
  Slot& s = slots_[next_victim_];
  next_victim_ = (next_victim_ + 1) % kSlots;
  s.len = 0;  // invalid until keyed
  if (s.ecb == nullptr && (s.ecb = EVP_CIPHER_CTX_new()) == nullptr) return nullptr;
  if (!ecb_init(s.ecb, key.data(), key.size())) return nullptr;
  std::memcpy(s.key.data(), key.data(), key.size());
  s.len = key.size();
  return s.ecb;
}

// §4: the message-authentication key is the first 8 bytes of
// AES(K, le32(0) || N) and of AES(K, le32(1) || N); the message-encryption
// key the first 8 bytes of the next two (four for a 256-bit key).
bool Reference::derive(Bytes key, Bytes nonce, Derived& d) noexcept {
  EVP_CIPHER_CTX* ctx = kgk_ctx(key);
  if (ctx == nullptr) return false;
  const std::size_t n = key.size() == 32 ? 6 : 4;
  std::uint8_t blk[6 * kBlock];
  for (std::size_t i = 0; i < n; ++i) {
    std::uint8_t* b = blk + i * kBlock;
    b[0] = static_cast<std::uint8_t>(i);
    b[1] = b[2] = b[3] = 0;
    std::memcpy(b + 4, nonce.data(), kGcmSivNonceLen);
  }
  const bool ok = ecb(ctx, blk, n);
  std::uint8_t hk[kBlock];
  std::memcpy(hk, blk, 8);
  std::memcpy(hk + 8, blk + kBlock, 8);
  d.h = fe_load(hk);
  d.enc_len = 8 * (n - 2);
  for (std::size_t i = 2; i < n; ++i) std::memcpy(d.enc.data() + 8 * (i - 2), blk + i * kBlock, 8);
  OPENSSL_cleanse(blk, sizeof blk);
  OPENSSL_cleanse(hk, sizeof hk);
  if (!ok) return false;
  if (enc_ == nullptr && (enc_ = EVP_CIPHER_CTX_new()) == nullptr) return false;
  return ecb_init(enc_, d.enc.data(), d.enc_len);
}

// §4: S_s = POLYVAL(H, pad(AAD) || pad(PT) || le64(8|AAD|) || le64(8|PT|)),
// XOR the nonce into its first 12 bytes, clear the top bit of byte 15, and
// encrypt with the message key.
bool Reference::tag_of(const Derived& d, Bytes nonce, Bytes aad, Bytes pt,
                       std::uint8_t* tag) noexcept {
  Fe acc;
  polyval_padded(d.h, acc, aad);
  polyval_padded(d.h, acc, pt);
  std::uint8_t len[kBlock];
  store_le64(static_cast<std::uint64_t>(aad.size()) * 8, len);
  store_le64(static_cast<std::uint64_t>(pt.size()) * 8, len + 8);
  polyval_blocks(d.h, acc, len, 1);
  fe_store(acc, tag);
  for (std::size_t i = 0; i < kGcmSivNonceLen; ++i) tag[i] ^= nonce[i];
  tag[15] &= 0x7f;
  acc = Fe{};
  return ecb(enc_, tag, 1);
}

// §4: the counter block is the tag with the top bit of byte 15 set; its first
// 32 bits are a little-endian counter that wraps modulo 2^32 (Appendix C.3).
bool Reference::ctr(const std::uint8_t* tag, Bytes in, std::uint8_t* out) noexcept {
  constexpr std::size_t kBatch = 32;
  std::uint8_t ks[kBatch * kBlock];
  std::uint8_t cb[kBlock];
  std::memcpy(cb, tag, kBlock);
  cb[15] |= 0x80;
  std::uint32_t counter;
  std::memcpy(&counter, cb, 4);
  bool ok = true;
  for (std::size_t off = 0; off < in.size() && ok;) {
    const std::size_t len = std::min(in.size() - off, sizeof ks);
    const std::size_t blocks = (len + kBlock - 1) / kBlock;
    for (std::size_t b = 0; b < blocks; ++b) {
      std::memcpy(ks + b * kBlock, cb, kBlock);
      std::memcpy(ks + b * kBlock, &counter, 4);
      ++counter;  // mod 2^32
    }
    ok = ecb(enc_, ks, blocks);
    for (std::size_t i = 0; i < len; ++i) out[off + i] = in[off + i] ^ ks[i];
    off += len;
  }
  if (!in.empty()) OPENSSL_cleanse(ks, std::min(in.size(), sizeof ks));
  return ok;
}

SivStatus Reference::seal(Bytes key, Bytes nonce, Bytes aad, Bytes pt, MutBytes out) noexcept {
  if ((key.size() != 16 && key.size() != 32) || nonce.size() != kGcmSivNonceLen)
    return SivStatus::kBadInput;
  if (pt.size() > kMaxSivMessage || out.size() != pt.size() + kTagLen)
    return SivStatus::kBadLength;
  Derived d;
  std::uint8_t tag[kBlock];
  bool ok = derive(key, nonce, d) && tag_of(d, nonce, aad, pt, tag);
  ok = ok && ctr(tag, pt, out.data());
  if (ok) std::memcpy(out.data() + pt.size(), tag, kTagLen);
  OPENSSL_cleanse(&d, sizeof d);
  if (!ok) {
    OPENSSL_cleanse(out.data(), out.size());
    return SivStatus::kBadInput;
  }
  return SivStatus::kOk;
}

SivStatus Reference::open(Bytes key, Bytes nonce, Bytes aad, Bytes in, MutBytes pt) noexcept {
  if ((key.size() != 16 && key.size() != 32) || nonce.size() != kGcmSivNonceLen)
    return SivStatus::kBadInput;
  if (in.size() < kTagLen || in.size() - kTagLen > kMaxSivMessage ||
      pt.size() != in.size() - kTagLen)
    return SivStatus::kBadLength;
  Derived d;
  const std::uint8_t* tag = in.data() + pt.size();
  std::uint8_t want[kBlock];
  // §5: decrypt with the received tag as the counter, then recompute the tag
  // over the plaintext; release the plaintext only if the two agree.
  bool ok = derive(key, nonce, d) && ctr(tag, in.first(pt.size()), pt.data()) &&
            tag_of(d, nonce, aad, Bytes(pt.data(), pt.size()), want);
  const bool auth = ok && CRYPTO_memcmp(want, tag, kTagLen) == 0;
  OPENSSL_cleanse(&d, sizeof d);
  OPENSSL_cleanse(want, sizeof want);
  if (!auth) {
    OPENSSL_cleanse(pt.data(), pt.size());
    return ok ? SivStatus::kAuthFail : SivStatus::kBadInput;
  }
  return SivStatus::kOk;
}

bool Reference::derive_keys(Bytes key, Bytes nonce, std::uint8_t* auth, std::uint8_t* enc,
                            std::size_t& enc_len) noexcept {
  if ((key.size() != 16 && key.size() != 32) || nonce.size() != kGcmSivNonceLen) return false;
  Derived d;
  const bool ok = derive(key, nonce, d);
  if (ok) {
    fe_store(d.h, auth);
    std::memcpy(enc, d.enc.data(), d.enc_len);
    enc_len = d.enc_len;
  }
  OPENSSL_cleanse(&d, sizeof d);
  return ok;
}

SivStatus Reference::seal_op(const SivOp& op) noexcept {
  if (const SivStatus st = validate_gcm_siv_op(op, true); st != SivStatus::kOk) return st;
  const Bytes aad = op.ad_count == 2 ? op.ad[0] : Bytes{};
  return seal(op.key->bytes(), op.ad[op.ad_count - 1], aad, op.in, op.out);
}

SivStatus Reference::open_op(const SivOp& op) noexcept {
  if (const SivStatus st = validate_gcm_siv_op(op, false); st != SivStatus::kOk) return st;
  const Bytes aad = op.ad_count == 2 ? op.ad[0] : Bytes{};
  return open(op.key->bytes(), op.ad[op.ad_count - 1], aad, op.in, op.out);
}

}  // namespace ntsd::crypto::gcmsiv
