// The VAES burst AES-SIV engine "vaes-x16" (private to crypto/; tests reach
// it through this header). Each chunk of up to 16 ops is one wave of the
// 16-lane kernels of mb_vaes.hpp, op i in lane i:
//   keys:  K1 and K2 of every lane expanded together, with L, the CMAC
//          subkeys and D0 = CMAC(K1, 0^128) derived in the same pass (no
//          per-key lookup: shared keys are simply expanded once per lane);
//   AD:    one CBC-MAC pass in which each lane runs its op's AD components
//          back to back (RFC 5297 §2.4), then D is combined on the CPU;
//   T:     one CBC-MAC pass over T = P xorend D or dbl(D) xor pad(P);
//   CTR:   one keystream pass, XORed into the output (RFC 5297 §2.5).
// Open runs CTR first (Q from the received SIV, §2.7), then the same S2V.
// Ops it does not handle (AES-192/256 keys, ops longer than a lane's pass,
// malformed ops) go to the AES-NI engine in one batch, so their result is
// that engine's (itself cross-checked against the reference); so do calls
// with a single op, which that engine runs faster.
//
// Not thread safe: one engine per worker.
#pragma once

#include <array>
#include <memory>
#include <span>

#include "mb_block.hpp"
#include "mb_vaes.hpp"
#include "ntsd/crypto/siv.hpp"

namespace ntsd::crypto {

// The VAES engine, or null if the CPU lacks VAES/AVX-512.
std::unique_ptr<SivEngine> make_vaes_engine();

namespace mb {

class VaesSiv final : public SivEngine {
 public:
  static constexpr std::size_t kChunk = vaes::kLanes;

  explicit VaesSiv(std::unique_ptr<SivEngine> fallback) noexcept;
  ~VaesSiv() override;
  VaesSiv(const VaesSiv&) = delete;
  VaesSiv& operator=(const VaesSiv&) = delete;

  void seal(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept override;
  void open(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept override;
  const char* name() const noexcept override { return "vaes-x16"; }

 private:
  struct LaneState {
    std::array<std::uint8_t, kMaxAdComponents> ad_end;  // step of each CMAC(S_i)
    std::uint8_t t_end = 0;                             // step of CMAC(T)
    bool active = false;
    Block d;  // S2V accumulator before T
  };

  void seal_chunk(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept;
  void open_chunk(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept;
  // Sends the ops this engine does not take to the fallback and sets up the
  // keys of the others. False if no op is left for the lanes.
  bool admit(std::span<const SivOp> ops, std::span<SivStatus> status, bool sealing) noexcept;
  // The hot path's admission: true, with uni_, groups_ and the keys set up,
  // if every op of the chunk is one the lanes take (as admit() decides) and
  // all have one shape with `Ad` AD components (as uniform() decides), in
  // one pass that reads each op's fields once. False otherwise, having
  // changed nothing but uni_'s pointers: the chunk then goes through admit(),
  // so a bad op's status is exactly the fallback's.
  template <bool Sealing, std::size_t Ad>
  bool admit_fast(std::span<const SivOp> ops) noexcept;
  bool admit_fast(std::span<const SivOp> ops, bool sealing) noexcept;
  // Key tables, subkeys and D0 for the lanes' keys (null: idle lane), K2 if
  // ctr; compact: every lane has one key and only lane group 0 is needed.
  void setup_keys(const std::array<const SivKey*, kChunk>& keys, bool ctr, bool compact) noexcept;
  void run_cmac(std::size_t steps) noexcept;
  void ad_pass(std::span<const SivOp> ops) noexcept;
  // V = CMAC(K1, T) of every lane over its message msg[l]; read with v(l).
  void t_pass(std::span<const Bytes> msg) noexcept;
  const Block& v(std::size_t l) const noexcept { return blocks_.blk[lanes_[l].t_end][l]; }
  // dst = src xor CTR(K2, Q_l) of every lane (counters q_ set by the caller).
  void ctr_pass(std::span<const Bytes> src, std::span<std::uint8_t* const> dst) noexcept;
  void wipe_used() noexcept;
  // Fills uni_ if every active lane of the chunk has one shape (mb_vaes.hpp:
  // UniformOps); false otherwise (the chunk then goes through LaneBlocks).
  bool uniform(std::span<const SivOp> ops, bool sealing) noexcept;

  std::unique_ptr<SivEngine> fallback_;
  vaes::LaneKeys mac_keys_{}, ctr_keys_{};
  vaes::LaneBlocks blocks_{};
  alignas(64) Block sk1_[kChunk]{}, sk2_[kChunk]{}, d0_[kChunk]{}, q_[kChunk]{};
  std::array<LaneState, kChunk> lanes_{};
  std::size_t groups_ = 0;       // 4-lane groups holding active lanes
  std::size_t used_steps_ = 0;   // high-water mark of blocks_ since the last wipe
  std::size_t wipe_groups_ = 0;  // lane groups set up since the last wipe
  bool ctr_keys_used_ = false;
  bool lanes_used_ = false;  // lanes_[].d written (non-uniform passes) since the last wipe
  // What the key tables hold: the key of each lane, for how many groups,
  // and whether K2 too.
  std::array<const SivKey*, kChunk> setup_keys_{};
  std::size_t setup_groups_ = 0;
  bool setup_ctr_ = false;
  bool setup_compact_ = false;  // only lane group 0 set up (one key for all lanes)
  bool shared_ = false;         // this chunk: uniform, one key, group 0 set up
  bool uniform_ = false;        // this chunk: every active lane has one shape (uni_)
  std::array<SivOp, kChunk> fb_ops_{};
  std::array<SivStatus, kChunk> fb_status_{};
  std::array<std::uint8_t, kChunk> fb_index_{};
  std::uint8_t zero_key_[32] = {};  // the key (K1 || K2) of idle lanes
  vaes::UniformOps uni_{};          // pointers and lengths only: no key material
};

}  // namespace mb
}  // namespace ntsd::crypto
