// AES-CMAC (RFC 4493) on an OpenSSL AES-CBC context.
//
// Why not EVP_MAC "CMAC": S2V (RFC 5297 §2.4) MACs "P xorend D", i.e. the
// plaintext with its last 16 bytes changed. A streaming CMAC of our own lets
// the engine feed the unchanged prefix and the changed tail without copying
// the plaintext, and keeps the subkeys in reach for the multi-buffer engines'
// cross-checks.
//
// Why CBC and a "delta": CMAC is CBC-MAC with a tweaked last block. The EVP
// context keeps its own chaining value, which after one message is that
// message's tag, not the zero IV the next message needs. Instead of an
// EVP re-init per message (costly in OpenSSL 3), we XOR (wanted state ⊕ the
// context's chaining value) into the first block of each chunk we feed, so
// E(first ⊕ chain ⊕ delta) = E(first ⊕ state).
#include "ntsd/crypto/cmac.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

#include "aes_cipher.hpp"

namespace ntsd::crypto {
namespace {

constexpr std::size_t kChunk = 512;  // bytes per EVP call; bounded stack scratch

}  // namespace

void block_dbl(Block& b) noexcept {
  // The carry out of the top bit selects the reduction 0x87 without a branch.
  const std::uint8_t carry = static_cast<std::uint8_t>(b[0] >> 7);
  for (std::size_t i = 0; i + 1 < kAesBlock; ++i)
    b[i] = static_cast<std::uint8_t>((b[i] << 1) | (b[i + 1] >> 7));
  b[kAesBlock - 1] = static_cast<std::uint8_t>((b[kAesBlock - 1] << 1) ^ (0x87 & (0 - carry)));
}

void block_xor(Block& b, const std::uint8_t* x) noexcept {
  for (std::size_t i = 0; i < kAesBlock; ++i) b[i] ^= x[i];
}

Cmac::~Cmac() {
  EVP_CIPHER_CTX_free(ctx_);  // cleanses the key schedule
  OPENSSL_cleanse(k1_.data(), k1_.size());
  OPENSSL_cleanse(k2_.data(), k2_.size());
  OPENSSL_cleanse(buf_.data(), buf_.size());
}

bool Cmac::set_key(std::span<const std::uint8_t> key) noexcept {
  keyed_ = false;
  const EVP_CIPHER* cipher = aes_cipher(AesMode::kCbc, key.size());
  if (cipher == nullptr) return false;
  if (ctx_ == nullptr && (ctx_ = EVP_CIPHER_CTX_new()) == nullptr) return false;
  static constexpr Block kZero{};
  if (EVP_EncryptInit_ex2(ctx_, cipher, key.data(), kZero.data(), nullptr) != 1) return false;
  EVP_CIPHER_CTX_set_padding(ctx_, 0);
  // RFC 4493 §2.3: L = AES-K(0^128); K1 = dbl(L); K2 = dbl(K1).
  Block l{};
  int outl = 0;
  if (EVP_EncryptUpdate(ctx_, l.data(), &outl, kZero.data(), kAesBlock) != 1) return false;
  chain_ = l;
  k1_ = l;
  block_dbl(k1_);
  k2_ = k1_;
  block_dbl(k2_);
  OPENSSL_cleanse(l.data(), l.size());
  keyed_ = true;
  reset();
  return true;
}

void Cmac::reset() noexcept {
  state_.fill(0);
  buf_len_ = 0;
}

void Cmac::cbc_blocks(const std::uint8_t* p, std::size_t n) noexcept {
  alignas(16) std::uint8_t scratch[kChunk];
  while (n > 0) {
    const std::size_t k = std::min(n, kChunk);
    std::memcpy(scratch, p, k);
    for (std::size_t i = 0; i < kAesBlock; ++i) scratch[i] ^= state_[i] ^ chain_[i];
    int outl = 0;
    // In place is allowed for EVP when in == out exactly. k <= 512 fits int.
    EVP_EncryptUpdate(ctx_, scratch, &outl, scratch, static_cast<int>(k));
    std::memcpy(chain_.data(), scratch + k - kAesBlock, kAesBlock);
    state_ = chain_;
    p += k;
    n -= k;
  }
  // scratch now holds only CBC output (no input bytes), nothing to wipe.
}

void Cmac::update(std::span<const std::uint8_t> data) noexcept {
  if (!has_key() || data.empty()) return;
  std::size_t i = 0;
  if (buf_len_ > 0) {
    const std::size_t take = std::min(kAesBlock - buf_len_, data.size());
    std::memcpy(buf_.data() + buf_len_, data.data(), take);
    buf_len_ += take;
    i = take;
    if (i == data.size()) return;  // the full buffer may be the last block: hold it
    cbc_blocks(buf_.data(), kAesBlock);
    buf_len_ = 0;
  }
  // Keep 1..16 bytes back: the last block gets the K1/K2 tweak in final().
  const std::size_t rest = data.size() - i;
  const std::size_t bulk = (rest - 1) / kAesBlock * kAesBlock;
  if (bulk > 0) cbc_blocks(data.data() + i, bulk);
  i += bulk;
  std::memcpy(buf_.data(), data.data() + i, data.size() - i);
  buf_len_ = data.size() - i;
}

void Cmac::final(Block& tag) noexcept {
  if (!has_key()) {
    tag.fill(0);
    return;
  }
  // RFC 4493 §2.4 step 4: a complete last block is XORed with K1; a partial
  // (or empty) one is padded with 10* and XORed with K2.
  Block last{};
  std::memcpy(last.data(), buf_.data(), buf_len_);
  if (buf_len_ == kAesBlock) {
    block_xor(last, k1_.data());
  } else {
    last[buf_len_] = 0x80;
    block_xor(last, k2_.data());
  }
  cbc_blocks(last.data(), kAesBlock);
  tag = state_;
  // buf_ held plaintext bytes (cookie keys pass through here): wipe them.
  OPENSSL_cleanse(last.data(), last.size());
  OPENSSL_cleanse(buf_.data(), buf_.size());
  reset();
}

// The whole message, with its last block already tweaked, goes through CBC
// in one EVP call: per-call overhead (~50 ns in OpenSSL 3) dominates short
// NTS messages, and CBC-MAC is serial anyway.
void Cmac::one_shot(std::span<const std::uint8_t> msg, const Block* xorend, Block& tag) noexcept {
  reset();
  if (!has_key() || (xorend != nullptr && msg.size() < kAesBlock)) {
    tag.fill(0);
    return;
  }
  const std::size_t n = msg.size();
  if (n > kOneShotMax) {
    if (xorend == nullptr) {
      update(msg);
    } else {
      Block tail{};
      std::memcpy(tail.data(), msg.data() + n - kAesBlock, kAesBlock);
      block_xor(tail, xorend->data());
      update(msg.first(n - kAesBlock));
      update(tail);
      OPENSSL_cleanse(tail.data(), tail.size());
    }
    final(tag);
    return;
  }
  alignas(16) std::uint8_t scratch[kOneShotMax];
  const bool complete = n > 0 && n % kAesBlock == 0;
  const std::size_t total = complete ? n : (n / kAesBlock + 1) * kAesBlock;
  if (n > 0) std::memcpy(scratch, msg.data(), n);
  std::memset(scratch + n, 0, total - n);
  std::uint8_t* last = scratch + total - kAesBlock;
  if (xorend != nullptr)
    for (std::size_t i = 0; i < kAesBlock; ++i) scratch[n - kAesBlock + i] ^= (*xorend)[i];
  // RFC 4493 §2.4 step 4: complete last block ^ K1, else pad 10* and ^ K2.
  if (!complete) scratch[n] = 0x80;
  const Block& sub = complete ? k1_ : k2_;
  for (std::size_t i = 0; i < kAesBlock; ++i) last[i] ^= sub[i];
  // The message starts from state 0; cancel the context's chaining value.
  for (std::size_t i = 0; i < kAesBlock; ++i) scratch[i] ^= chain_[i];
  int outl = 0;
  EVP_EncryptUpdate(ctx_, scratch, &outl, scratch, static_cast<int>(total));
  std::memcpy(chain_.data(), last, kAesBlock);
  tag = chain_;
  // scratch holds only CBC output now, no message bytes.
}

void Cmac::compute(std::span<const std::uint8_t> msg, Block& tag) noexcept {
  one_shot(msg, nullptr, tag);
}

void Cmac::compute_xorend(std::span<const std::uint8_t> msg, const Block& x, Block& tag) noexcept {
  one_shot(msg, &x, tag);
}

}  // namespace ntsd::crypto
