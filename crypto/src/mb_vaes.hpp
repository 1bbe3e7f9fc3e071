// VAES/AVX-512 kernels for the burst AES-SIV engine (private to crypto/).
//
// Why a second kernel set next to mb_aesni.hpp: with one key per request and
// NTS messages of 1-12 blocks, the AES-NI engine spent most of its time on
// lane bookkeeping (refilling a lane per short task, looking keys up,
// branching on last blocks), not on AES. Here one op owns one lane for the
// whole chunk, so the round keys of a lane never change between passes, and
// everything a lane absorbs is laid out up front (last blocks already padded
// and XORed with the CMAC subkey), so the inner loop has no per-lane branch.
// A zmm register holds 4 lanes (VAES encrypts each 128-bit lane with its own
// round key), 4 registers make 16 lanes: enough independent work to cover
// the aesenc latency.
//
// AES-128 only (AEAD 15, what NTS uses); the engine hands other keys on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "mb_block.hpp"

namespace ntsd::crypto::mb::vaes {

inline constexpr std::size_t kLanes = 16;
inline constexpr std::size_t kLanesPerGroup = 4;  // 128-bit lanes of a zmm
// Blocks one lane absorbs in one pass: 1536 bytes, a full Ethernet MTU of
// AD plus one block per component. Larger ops go to the AES-NI engine.
inline constexpr std::size_t kMaxSteps = 96;

// The AES-128 round keys of 16 lanes, interleaved: rk[r][4g..4g+3] is round
// key r of lane group g, one aligned 64-byte load.
struct alignas(64) LaneKeys {
  Block rk[11][kLanes];
};

// The blocks of one pass: lane l absorbs blk[s][l] at step s; the kernels
// overwrite it with the lane's state after that step (for CTR: the keystream
// block), so a CMAC is read from the step of its last block.
struct alignas(64) LaneBlocks {
  Block blk[kMaxSteps][kLanes];
  // Bits 2l and 2l+1 set: lane l starts a new chain at step s (two bits per
  // lane because the kernels mask 64-bit elements).
  std::uint32_t reset[kMaxSteps];
};

// True if this CPU runs these kernels (VAES, AVX-512 F/BW/VL/DQ).
bool cpu_supported() noexcept;

// `groups` (1..4) is how many 4-lane groups hold work: lanes at or past
// 4 * groups are neither read nor written.

// Expands K1 (16 bytes per lane) into mac and derives its CMAC material
// (RFC 4493 §2.3): L = E(K1, 0^128), sk1 = dbl(L), sk2 = dbl(sk1); and
// d0 = CMAC(K1, 0^128) = E(K1, sk1), where S2V starts (RFC 5297 §2.4). If
// ctr is not null, also expands K2 into it, interleaved with K1.
void setup(const std::uint8_t* const (&k1)[kLanes], const std::uint8_t* const (&k2)[kLanes],
           std::size_t groups, LaneKeys& mac, LaneKeys* ctr, Block (&sk1)[kLanes],
           Block (&sk2)[kLanes], Block (&d0)[kLanes]) noexcept;

// CBC-MAC of every lane over steps [0, steps): x = E(K, (reset ? 0 : x) ^ blk[s][l]),
// then blk[s][l] = x.
void cbc_mac(const LaneKeys& kt, std::size_t groups, LaneBlocks& b, std::size_t steps) noexcept;

// CTR keystream (RFC 5297 §2.5): blk[s][l] = E(K, Q_l + s), the addition on
// the low 32 bits of Q only (bit 31 of Q is clear and s < 2^31).
void ctr_keystream(const LaneKeys& kt, std::size_t groups, const Block (&q)[kLanes], LaneBlocks& b,
                   std::size_t steps) noexcept;

// ---- Fast-key-erasure generator (fke_random.cpp) ---------------------------
// rk: 11 AES-128 round keys of 16 bytes (rk[0] is the key K).
// Expands rk[0] into rk[1..10] (FIPS 197 §5.2).
void fke_schedule(std::uint8_t (&rk)[11][16]) noexcept;
// out[0..n) = the first n bytes of E(K, 1) || E(K, 2) || ..., counter block i
// being the 128-bit big-endian integer i (the AES-128-CTR keystream from
// IV 1), with K's round keys in registers, 16 blocks at a time; then rk = the
// schedule of E(K, 0), overwriting K's.
void fke_fill(std::uint8_t (&rk)[11][16], std::uint8_t* out, std::size_t n) noexcept;

// The layout side of a CBC-MAC pass. Every CMAC (RFC 4493 §2.4) is laid out
// as its blocks, the last one padded if short and XORed with sk1 (complete)
// or sk2 (padded), its first step marked in b.reset. Short blocks are built
// with masked loads: no byte loops, and no stack buffer written narrow and
// read wide (a store-forwarding stall per message).

// S2V's AD components (RFC 5297 §2.4) ad[0..count) of lane l, back to back
// from step 0; end[j] is the step of CMAC(S_j). Returns the steps used.
std::size_t emit_ad(LaneBlocks& b, std::size_t l, const std::span<const std::uint8_t>* ad,
                    std::size_t count, const Block& sk1, const Block& sk2,
                    std::uint8_t* end) noexcept;

// CMAC(T) of lane l from step 0, with T = P xorend D if |P| >= 16 (D over
// the last 16 bytes, RFC 5297 §2.1), else T = dbl(D) xor pad(P). Returns the
// steps used.
std::size_t emit_t(LaneBlocks& b, std::size_t l, const std::uint8_t* p, std::size_t n,
                   const Block& d, const Block& sk1, const Block& sk2) noexcept;

// dst[0..n) = src[0..n) xor the keystream of lane l (blk[0..][l]).
void xor_keystream(const LaneBlocks& b, std::size_t l, const std::uint8_t* src, std::uint8_t* dst,
                   std::size_t n) noexcept;

// Zeroes round keys 0..10 of lane groups [0, groups) of kt, and n blocks at
// p (64-byte aligned, n a multiple of 4), with aligned zmm stores: key
// material a call leaves behind. A libc explicit_bzero per table (11 rows of
// a few groups each) cost ~24 cycles per NTS request; the empty asm after the
// stores, as in secure_wipe, keeps them from being dropped as dead.
void wipe_keys(LaneKeys& kt, std::size_t groups) noexcept;
void wipe_blocks(Block* p, std::size_t n) noexcept;

// ---- Uniform chunks (issue 17) ---------------------------------------------
// A chunk whose lanes all have one shape (the same AD component count, the
// same length for each component and the same message length) is the NTS hot
// path: the requests of a burst, their responses and the cookies have one
// shape each. Such a chunk needs no LaneBlocks: the kernels below read each
// lane's bytes from its own buffers (4 lanes per zmm register, one insert per
// lane), pad and XOR the last blocks in registers, combine D with dbl in
// registers, and write the SIV and the CTR output straight to the lanes'
// buffers. One call does a whole seal or open, so V and D never leave the
// registers and the keystream is never stored.
struct UniformOps {
  std::size_t ad_count = 0;
  std::size_t ad_len[4] = {};  // kMaxAdComponents
  std::size_t msg_len = 0;     // plaintext bytes (seal: |in|, open: |out|)
  // Per lane; idle lanes read kZeros and have null out and (seal) siv.
  const std::uint8_t* ad[4][kLanes] = {};
  const std::uint8_t* in[kLanes] = {};   // seal: plaintext; open: ciphertext after the SIV
  std::uint8_t* out[kLanes] = {};        // seal: ciphertext after the SIV; open: plaintext
  const std::uint8_t* msg[kLanes] = {};  // what S2V reads as Sn: seal in, open out
  std::uint8_t* tag_out[kLanes] = {};       // seal: where V goes (null: idle lane)
  const std::uint8_t* tag_in[kLanes] = {};  // open: the received SIV
};

// Zero bytes for idle lanes to read: at least a lane's whole pass.
extern const std::uint8_t kZeros[kMaxSteps * 16];

// Seal (RFC 5297 §2.6): V = S2V(K1, AD..., P) to tag_out[l], then
// out[l] = in[l] xor CTR(K2, V with bits 63 and 31 cleared). ctr may be null
// if msg_len is 0.
// shared: every lane has the same key, so the kernel keeps one set of round
// keys in registers and reads only lane group 0 of the tables, subkeys and
// D0 (the engine then sets up group 0 only).
void seal_uniform(const LaneKeys& mac, const LaneKeys* ctr, std::size_t groups, bool shared,
                  const Block (&sk1)[kLanes], const Block (&sk2)[kLanes],
                  const Block (&d0)[kLanes], const UniformOps& u) noexcept;

// Open (RFC 5297 §2.7): out[l] = in[l] xor CTR(K2, tag_in[l] with the bits
// cleared), then V = S2V(K1, AD..., out[l]). Returns the lanes (bit l) whose
// V equals tag_in[l] (compared without a data-dependent branch); the caller
// zeroes the others' plaintext.
std::uint32_t open_uniform(const LaneKeys& mac, const LaneKeys* ctr, std::size_t groups,
                           bool shared, const Block (&sk1)[kLanes], const Block (&sk2)[kLanes],
                           const Block (&d0)[kLanes], const UniformOps& u) noexcept;

}  // namespace ntsd::crypto::mb::vaes
