// Hand-interleaved AES-NI kernels for the burst AES-SIV engine (private to
// crypto/). Why not only IPsec-MB: its job API costs ~80-100 ns per job on
// this CPU (docs/benchmarks.md), and an NTS cookie is three short jobs. Here a
// CMAC is a lane in an 8-lane loop with no per-job bookkeeping: eight
// independent CBC-MAC chains (different keys allowed) advance one block per
// step, so AES latency is hidden behind the other lanes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mb_block.hpp"

namespace ntsd::crypto::mb::aesni {

// An expanded AES encryption key: 11 (AES-128) or 15 (AES-256) round keys.
struct alignas(16) Schedule {
  std::uint8_t rk[15][16];
  int rounds = 0;  // 10 or 14
};

// True if this CPU runs these kernels (AES-NI and AVX).
bool cpu_supported() noexcept;

// Expands two 16-byte or two 32-byte keys (an SIV key's K1 and K2).
void expand_key_pair(const std::uint8_t* k1, const std::uint8_t* k2, std::size_t len, Schedule& s1,
                     Schedule& s2) noexcept;

// Expands n AES-128 keys (16 bytes each) into out[i], interleaved across keys.
void expand128_keys(const std::uint8_t* const* keys, Schedule* const* out, std::size_t n) noexcept;

// One AES-CMAC (RFC 4493) to compute. With sk1 = 0^128 and a single full
// block, the CMAC degenerates to one AES encryption, which the engine uses
// for L = E(K, 0^128) of the subkey derivation.
struct CmacTask {
  const Schedule* ks;
  const Block* sk1;
  const Block* sk2;
  const std::uint8_t* src;
  std::size_t len;
  std::uint8_t* out;  // 16 bytes
};

// Computes every task; tasks may use different keys and key sizes.
void cmac(const CmacTask* tasks, std::size_t n) noexcept;

// One AES-CTR encryption. The 128-bit counter block never carries out of its
// low 32 bits (RFC 5297 §2.5 clears bit 31 of Q, and messages are shorter
// than 2^31 blocks), so only that word is incremented. src may equal dst.
struct CtrTask {
  const Schedule* ks;
  Block iv;
  const std::uint8_t* src;
  std::uint8_t* dst;
  std::size_t len;
};

// Runs every task; the blocks of all tasks share the lanes.
void ctr(const CtrTask* tasks, std::size_t n) noexcept;

}  // namespace ntsd::crypto::mb::aesni
