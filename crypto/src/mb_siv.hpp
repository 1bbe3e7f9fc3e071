// The IPsec-MB multi-buffer AES-SIV engine (private to crypto/).
//
// S2V (RFC 5297 §2.4) is a chain of CMACs, one per AD component, combined
// with dbl/xor. The CMACs of one message are independent of each other, so
// the engine submits the CMACs of every component of every op in the burst
// as IPsec-MB jobs (lanes fill across messages), combines them on the CPU,
// then submits the final CMAC(T) and the CTR jobs, again for the whole burst.
// Every pass ends with a flush: no packet ever waits for a later burst.
//
// Not thread safe: one engine per worker (it owns the IPsec-MB manager and
// the burst scratch).
#pragma once

#include <intel-ipsec-mb.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>

#include "mb_block.hpp"
#include "ntsd/crypto/siv.hpp"

namespace ntsd::crypto::mb {

// Ops are processed in chunks of this many; scratch is sized for one chunk so
// nothing is allocated per op.
inline constexpr std::size_t kChunk = 64;

// Per-key material, computed once per chunk per distinct key pointer.
struct alignas(64) KeyState {
  alignas(16) std::uint8_t mac_enc[16 * 15];  // K1 schedule (AES-128 or AES-256)
  alignas(16) std::uint8_t ctr_enc[16 * 15];  // K2 schedule
  Block sk1, sk2;                             // CMAC subkeys of K1 (RFC 4493 §2.3)
  Block d0;                                   // CMAC(K1, 0^128), RFC 5297 §2.4
  std::uint64_t key_len = 0;                  // AES key length: 16 or 32
};

// Per-op scratch for one chunk.
struct OpState {
  std::array<Block, kMaxAdComponents> adm;  // CMAC(K1, S_i)
  Block d;                                  // the S2V accumulator before T
  Block t;                                  // T when |P| < 16
  Block v;                                  // computed SIV
  Block iv;                                 // CTR counter block
  Block tag;                                // received SIV (open)
  std::uint8_t key = 0;                     // index into the chunk's KeyState
  bool active = false;                      // handled by the MB path
  bool failed = false;                      // an IPsec-MB job reported an error
};

class MbSiv final : public SivEngine {
 public:
  // Takes ownership of an initialised manager.
  MbSiv(IMB_MGR* mgr, std::unique_ptr<SivEngine> fallback) noexcept;
  ~MbSiv() override;
  MbSiv(const MbSiv&) = delete;
  MbSiv& operator=(const MbSiv&) = delete;

  void seal(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept override;
  void open(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept override;
  const char* name() const noexcept override { return name_; }

 private:
  void seal_chunk(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept;
  void open_chunk(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept;
  // Validates ops, sends what this engine does not handle to the fallback,
  // and sets up keys (D0 jobs are submitted but not flushed).
  void admit(std::span<const SivOp> ops, std::span<SivStatus> status, bool sealing) noexcept;
  std::uint8_t key_index(const SivKey* key) noexcept;
  void submit_cmac(std::size_t op, const std::uint8_t* src, std::size_t len, std::uint8_t* out,
                   const KeyState& ks) noexcept;
  void submit_ctr(std::size_t op, const std::uint8_t* src, std::uint8_t* dst, std::size_t len,
                  const Block& iv, const KeyState& ks) noexcept;
  void check(const IMB_JOB* job) noexcept;
  void flush() noexcept;
  void finish_keys() noexcept;
  Block combine(const OpState& st, const SivOp& op) const noexcept;

  IMB_MGR* mgr_;
  std::unique_ptr<SivEngine> fallback_;
  const char* name_ = "ipsec-mb";
  std::array<KeyState, kChunk> keys_;
  std::array<const SivKey*, kChunk> key_ptrs_{};
  std::size_t nkeys_ = 0;
  bool key_failed_ = false;  // a D0 job of this chunk failed
  std::array<OpState, kChunk> ops_;
  alignas(16) std::uint8_t dec_sink_[16 * 15];  // IPsec-MB's key expansion writes one
  alignas(16) std::uint8_t zero_[16] = {};      // 0^128, and the src of empty CMACs
};

}  // namespace ntsd::crypto::mb
