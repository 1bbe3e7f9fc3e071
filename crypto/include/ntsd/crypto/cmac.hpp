// AES-CMAC (RFC 4493, NIST SP 800-38B) and the block helpers S2V needs
// (RFC 5297 §2.3). Used by the scalar AES-SIV engine and exposed so that other
// engines and tests can cross-check their own CMAC/S2V against it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

struct evp_cipher_ctx_st;  // OpenSSL's EVP_CIPHER_CTX, kept out of this header

namespace ntsd::crypto {

inline constexpr std::size_t kAesBlock = 16;
using Block = std::array<std::uint8_t, kAesBlock>;

// RFC 5297 §2.3 dbl(): multiply by x in GF(2^128) (shift left one bit and
// reduce with 0x87). Branch-free so that it leaks nothing about the key.
void block_dbl(Block& b) noexcept;
// b ^= x (16 bytes).
void block_xor(Block& b, const std::uint8_t* x) noexcept;

// Streaming AES-CMAC with a fixed key. The CBC chain runs on one cached EVP
// AES-CBC context, so a message costs one EVP call per 512-byte chunk plus one
// for the final block, and nothing is allocated after set_key.
// One object belongs to one thread.
class Cmac {
 public:
  Cmac() noexcept = default;
  ~Cmac();
  Cmac(const Cmac&) = delete;
  Cmac& operator=(const Cmac&) = delete;

  // AES-128/192/256 key (16/24/32 bytes). False on any other length or if
  // OpenSSL fails; the object then has no key and final() yields zeros.
  bool set_key(std::span<const std::uint8_t> key) noexcept;
  bool has_key() const noexcept { return ctx_ != nullptr && keyed_; }

  // Starts a new message (final() also does this).
  void reset() noexcept;
  void update(std::span<const std::uint8_t> data) noexcept;
  // Writes the 16-byte tag and starts a new message.
  void final(Block& tag) noexcept;
  // One-shot: CMAC(msg). Messages up to kOneShotMax bytes take a single EVP
  // call; longer ones stream. Discards any message in progress.
  void compute(std::span<const std::uint8_t> msg, Block& tag) noexcept;
  // One-shot CMAC(msg xorend x) (RFC 5297 §2.1): x XORed into the last 16
  // bytes. msg must be at least 16 bytes, else the tag is all zero.
  void compute_xorend(std::span<const std::uint8_t> msg, const Block& x, Block& tag) noexcept;

  static constexpr std::size_t kOneShotMax = 1024;

 private:
  void cbc_blocks(const std::uint8_t* p, std::size_t n) noexcept;
  void one_shot(std::span<const std::uint8_t> msg, const Block* xorend, Block& tag) noexcept;

  evp_cipher_ctx_st* ctx_ = nullptr;
  bool keyed_ = false;
  Block k1_{};     // RFC 4493 §2.3 subkey for a complete last block
  Block k2_{};     // subkey for a padded last block
  Block state_{};  // the CBC-MAC state of the current message
  Block chain_{};  // the chaining value the EVP context holds internally
  Block buf_{};    // the held-back last (possibly partial) block
  std::size_t buf_len_ = 0;
};

}  // namespace ntsd::crypto
