// The AES-NI burst AES-SIV engine (private to crypto/; tests reach it through
// this header). Same burst shape as the IPsec-MB engine (mb_siv.hpp): per-key
// setup, then every CMAC of the burst in one interleaved pass, the CPU-side
// S2V combination, the CMAC(T) pass and CTR; but the CMACs run in the 8-lane
// loop of mb_aesni.hpp instead of as IPsec-MB jobs.
//
// Not thread safe: one engine per worker.
#pragma once

#include <array>
#include <memory>
#include <span>

#include "mb_aesni.hpp"
#include "mb_block.hpp"
#include "ntsd/crypto/siv.hpp"

namespace ntsd::crypto {

// The AES-NI engine, or null if the CPU lacks AES-NI/AVX.
std::unique_ptr<SivEngine> make_aesni_engine();

namespace mb {

class AesniSiv final : public SivEngine {
 public:
  static constexpr std::size_t kChunk = 64;

  explicit AesniSiv(std::unique_ptr<SivEngine> fallback) noexcept;
  ~AesniSiv() override;
  AesniSiv(const AesniSiv&) = delete;
  AesniSiv& operator=(const AesniSiv&) = delete;

  void seal(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept override;
  void open(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept override;
  const char* name() const noexcept override { return "aesni-x8"; }

 private:
  struct KeyState {
    aesni::Schedule mac;  // K1
    aesni::Schedule ctr;  // K2
    Block sk1, sk2;       // CMAC subkeys of K1 (RFC 4493 §2.3)
    Block d0;             // CMAC(K1, 0^128), RFC 5297 §2.4
  };
  struct OpState {
    std::array<Block, kMaxAdComponents> adm;  // CMAC(K1, S_i)
    Block d;                                  // S2V accumulator before T
    Block t;                                  // T when |P| < 16
    Block v;                                  // computed SIV (open)
    std::uint8_t key = 0;
    bool active = false;
  };

  void seal_chunk(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept;
  void open_chunk(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept;
  void admit(std::span<const SivOp> ops, std::span<SivStatus> status, bool sealing) noexcept;
  std::uint8_t key_index(const SivKey* key) noexcept;
  void derive_subkeys() noexcept;
  void run_ad_pass(std::span<const SivOp> ops) noexcept;
  // Builds T for op i (RFC 5297 §2.4) over `p` and queues CMAC(K1, T) into `v`.
  void queue_final(std::size_t i, std::size_t ad_count, std::uint8_t* p, std::size_t n,
                   std::uint8_t* v) noexcept;
  void add_task(const KeyState& ks, const std::uint8_t* src, std::size_t len,
                std::uint8_t* out) noexcept;
  void finish_keys() noexcept;

  std::unique_ptr<SivEngine> fallback_;
  std::array<KeyState, kChunk> keys_;
  std::array<const SivKey*, kChunk> key_ptrs_{};
  std::size_t nkeys_ = 0;
  std::array<OpState, kChunk> ops_;
  std::array<aesni::CmacTask, kChunk*(kMaxAdComponents + 1)> tasks_;
  std::size_t ntasks_ = 0;
  std::array<aesni::CtrTask, kChunk> ctr_tasks_;
  // AES-128 keys (K1, K2 of each new 32-byte SIV key) awaiting expansion.
  std::array<const std::uint8_t*, 2 * kChunk> exp_src_{};
  std::array<aesni::Schedule*, 2 * kChunk> exp_dst_{};
  std::size_t nexp_ = 0;
  Block zero_{};  // 0^128: the message of D0 and L, and the subkey that makes CMAC plain AES
};

}  // namespace mb
}  // namespace ntsd::crypto
