// The burst AES-128-GCM-SIV engines (RFC 8452, NTS AEAD 30), private to
// crypto/ (tests reach them through this header):
//   "gcmsiv-vaes-x16"  16 lanes, 4 per zmm register (VAES + VPCLMULQDQ);
//   "gcmsiv-aesni-x8"   8 lanes, 1 per xmm register (AES-NI + PCLMULQDQ).
// Both are GcmSivBurst over their kernel set (mb_gcm_siv_kernels.inc). A
// chunk of up to kLanes ops is one wave, op l in lane l for every pass:
//   keys:    the key-generating keys expanded (once, if every lane has the
//            same key object: the cookie master key);
//   derive:  AES(K, le32(i) || N), i = 0..3, of every lane: H and the message
//            key, which is expanded in the same kernel (§4);
//   POLYVAL: one pass over pad(AAD) || pad(P) || lengths, each lane's blocks
//            right-aligned in a step x lane table so that the zero blocks
//            before them leave S at 0 and the loop has no per-lane branch;
//            the tag AES(key, S xor N, bit 127 clear) in the same kernel;
//   CTR:     one keystream pass from the tag with bit 127 set, XORed in.
// Open runs CTR first (from the received tag, §5), then POLYVAL over the
// plaintext, and compares tags in constant time; a failure zeroes `out`.
// Ops it does not take (AES-SIV keys, passes longer than kMaxSteps blocks,
// malformed ops) go in one batch to the fallback (the scalar engine, whose
// status they get). Key tables, derived keys, tags and keystream are wiped
// after every call. Not thread safe: one engine per worker.
#pragma once

#include <array>
#include <cstring>
#include <memory>
#include <span>

#include "mb_block.hpp"
#include "ntsd/crypto/siv.hpp"

namespace ntsd::crypto {

// The two burst engines, or null if the CPU lacks what they need.
std::unique_ptr<SivEngine> make_gcm_siv_vaes_engine();
std::unique_ptr<SivEngine> make_gcm_siv_aesni_engine();

// For the tests of the counter wrap (RFC 8452 Appendix C.3), which no AES-128
// vector reaches: the first n (<= 16) keystream blocks the kernels' CTR pass
// makes for an AES-128 key from the counter block tag | bit 127. False if the
// CPU lacks the kernels.
bool gcm_siv_vaes_keystream(const std::uint8_t* key, const std::uint8_t* tag, std::uint8_t* out,
                            std::size_t n) noexcept;
bool gcm_siv_aesni_keystream(const std::uint8_t* key, const std::uint8_t* tag, std::uint8_t* out,
                             std::size_t n) noexcept;

namespace mb {

// K: a kernel set: kLanes, kLanesPerVec, kMaxSteps, LaneKeys, LaneBlocks and
// the static functions expand, expand_uniform, derive, polyval_tag, ctr,
// put_padded, put_zero, xor_keystream of mb_gcm_siv_kernels.inc.
template <class K>
class GcmSivBurst final : public SivEngine {
 public:
  static constexpr std::size_t kChunk = K::kLanes;

  GcmSivBurst(std::unique_ptr<SivEngine> fallback, const char* name) noexcept
      : fallback_(std::move(fallback)), name_(name) {}
  ~GcmSivBurst() override {
    used_steps_ = K::kMaxSteps;
    used_ = true;
    wipe_used();
  }
  GcmSivBurst(const GcmSivBurst&) = delete;
  GcmSivBurst& operator=(const GcmSivBurst&) = delete;

  void seal(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept override {
    for_each_chunk<kChunk>(ops, status, [this](auto o, auto s) { run_chunk(o, s, true); });
    wipe_used();
  }
  void open(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept override {
    for_each_chunk<kChunk>(ops, status, [this](auto o, auto s) { run_chunk(o, s, false); });
    wipe_used();
  }
  const char* name() const noexcept override { return name_; }

 private:
  static constexpr std::size_t blocks(std::size_t n) noexcept { return (n + 15) / 16; }
  static Bytes aad_of(const SivOp& op) noexcept { return op.ad_count == 2 ? op.ad[0] : Bytes{}; }
  static Bytes nonce_of(const SivOp& op) noexcept { return op.ad[op.ad_count - 1]; }
  static std::size_t msg_len(const SivOp& op, bool sealing) noexcept {
    return sealing ? op.in.size() : op.out.size();
  }

  // Well formed (the shared validation), a GCM-SIV key, and every pass
  // within a lane's kMaxSteps blocks.
  static bool eligible(const SivOp& op, bool sealing) noexcept {
    if (op.key == nullptr || !aead_is_gcm_siv(op.key->aead()) ||
        validate_gcm_siv_op(op, sealing) != SivStatus::kOk)
      return false;
    return blocks(aad_of(op).size()) + blocks(msg_len(op, sealing)) + 1 <= K::kMaxSteps;
  }

  void run_chunk(std::span<const SivOp> ops, std::span<SivStatus> status, bool sealing) noexcept;
  void setup_keys(std::size_t m, std::size_t vecs) noexcept;
  void seal_lanes(std::span<SivStatus> status, std::size_t m, std::size_t vecs) noexcept;
  void open_lanes(std::span<SivStatus> status, std::size_t m, std::size_t vecs) noexcept;
  // Lays out pad(AAD) || pad(msg) || lengths of every lane, right-aligned;
  // returns the steps.
  std::size_t layout_polyval(std::size_t m, bool sealing) noexcept;
  void wipe_used() noexcept;

  std::unique_ptr<SivEngine> fallback_;
  const char* name_;
  typename K::LaneKeys kgk_{}, enc_{};
  typename K::LaneBlocks blocks_{};
  alignas(64) Block h_[kChunk]{}, nb_[kChunk]{}, tag_[kChunk]{}, want_[kChunk]{};
  std::array<const SivOp*, kChunk> lane_op_{};
  std::array<std::uint8_t, kChunk> lane_idx_{};
  // What kgk_ holds within this call: the key object of each lane.
  std::array<const SivKey*, kChunk> setup_keys_{};
  std::size_t setup_vecs_ = 0;
  std::size_t used_steps_ = 0;
  bool used_ = false;
  std::array<SivOp, kChunk> fb_ops_{};
  std::array<SivStatus, kChunk> fb_status_{};
  std::array<std::uint8_t, kChunk> fb_index_{};
  std::uint8_t zero_key_[16] = {};  // the key of idle lanes
};

template <class K>
void GcmSivBurst<K>::run_chunk(std::span<const SivOp> ops, std::span<SivStatus> status,
                               bool sealing) noexcept {
  std::size_t m = 0, nfb = 0;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (eligible(ops[i], sealing)) {
      lane_op_[m] = &ops[i];
      lane_idx_[m++] = static_cast<std::uint8_t>(i);
    } else {
      fb_ops_[nfb] = ops[i];
      fb_index_[nfb++] = static_cast<std::uint8_t>(i);
    }
  }
  if (nfb != 0) {
    run_ops(*fallback_, sealing, {fb_ops_.data(), nfb}, {fb_status_.data(), nfb});
    for (std::size_t k = 0; k < nfb; ++k) status[fb_index_[k]] = fb_status_[k];
  }
  if (m == 0) return;
  const std::size_t vecs = (m + K::kLanesPerVec - 1) / K::kLanesPerVec;
  used_ = true;
  setup_keys(m, vecs);
  for (std::size_t l = 0; l < m; ++l) {
    // §4: the derivation blocks are le32(i) || N; the kernel ORs i in.
    std::memset(nb_[l].b, 0, 4);
    std::memcpy(nb_[l].b + 4, nonce_of(*lane_op_[l]).data(), kGcmSivNonceLen);
  }
  K::derive(kgk_, nb_, vecs, h_, enc_);
  if (sealing) {
    seal_lanes(status, m, vecs);
  } else {
    open_lanes(status, m, vecs);
  }
}

template <class K>
void GcmSivBurst<K>::setup_keys(std::size_t m, std::size_t vecs) noexcept {
  const SivKey* k0 = lane_op_[0]->key;
  bool uniform = true, same = setup_vecs_ >= vecs;
  for (std::size_t l = 0; l < m; ++l) {
    uniform = uniform && lane_op_[l]->key == k0;
    same = same && setup_keys_[l] == lane_op_[l]->key;
  }
  // The next chunk of the same call with the same key objects in the same
  // lanes (a long burst under one master key) reuses the tables.
  if (same) return;
  if (uniform) {
    K::expand_uniform(k0->bytes().data(), vecs, kgk_);
    setup_keys_.fill(k0);
  } else {
    const std::uint8_t* ptrs[kChunk];
    for (std::size_t l = 0; l < kChunk; ++l) {
      ptrs[l] = l < m ? lane_op_[l]->key->bytes().data() : zero_key_;
      setup_keys_[l] = l < m ? lane_op_[l]->key : nullptr;
    }
    K::expand(ptrs, vecs, kgk_);
  }
  setup_vecs_ = vecs;
}

template <class K>
std::size_t GcmSivBurst<K>::layout_polyval(std::size_t m, bool sealing) noexcept {
  std::size_t steps = 0;
  for (std::size_t l = 0; l < m; ++l) {
    const SivOp& op = *lane_op_[l];
    const std::size_t n = blocks(aad_of(op).size()) + blocks(msg_len(op, sealing)) + 1;
    steps = n > steps ? n : steps;
  }
  for (std::size_t l = 0; l < m; ++l) {
    const SivOp& op = *lane_op_[l];
    const Bytes aad = aad_of(op);
    // Open hashes the plaintext it has just written to `out`.
    const Bytes msg = sealing ? op.in : Bytes(op.out.data(), op.out.size());
    const std::size_t start = steps - (blocks(aad.size()) + blocks(msg.size()) + 1);
    K::put_zero(blocks_, l, 0, start);
    std::size_t s = K::put_padded(blocks_, l, start, aad.data(), aad.size());
    s = K::put_padded(blocks_, l, s, msg.data(), msg.size());
    // §4: le64(bit length of AAD) || le64(bit length of the plaintext).
    std::uint8_t len[16];
    const std::uint64_t abits = std::uint64_t{aad.size()} * 8, mbits = std::uint64_t{msg.size()} * 8;
    std::memcpy(len, &abits, 8);
    std::memcpy(len + 8, &mbits, 8);
    K::put_padded(blocks_, l, s, len, 16);
  }
  used_steps_ = steps > used_steps_ ? steps : used_steps_;
  return steps;
}

template <class K>
void GcmSivBurst<K>::seal_lanes(std::span<SivStatus> status, std::size_t m,
                                std::size_t vecs) noexcept {
  const std::size_t steps = layout_polyval(m, true);
  K::polyval_tag(enc_, h_, nb_, blocks_, steps, vecs, tag_);
  std::size_t ctr_steps = 0;
  for (std::size_t l = 0; l < m; ++l) {
    const SivOp& op = *lane_op_[l];
    std::memcpy(op.out.data() + op.in.size(), tag_[l].b, kSivTagLen);  // RFC 8452: ct || tag
    const std::size_t n = blocks(op.in.size());
    ctr_steps = n > ctr_steps ? n : ctr_steps;
  }
  if (ctr_steps != 0) {
    K::ctr(enc_, tag_, vecs, blocks_, ctr_steps);
    for (std::size_t l = 0; l < m; ++l) {
      const SivOp& op = *lane_op_[l];
      K::xor_keystream(blocks_, l, op.in.data(), op.out.data(), op.in.size());
    }
  }
  for (std::size_t l = 0; l < m; ++l) status[lane_idx_[l]] = SivStatus::kOk;
}

template <class K>
void GcmSivBurst<K>::open_lanes(std::span<SivStatus> status, std::size_t m,
                                std::size_t vecs) noexcept {
  std::size_t ctr_steps = 0;
  for (std::size_t l = 0; l < m; ++l) {
    const SivOp& op = *lane_op_[l];
    std::memcpy(want_[l].b, op.in.data() + op.out.size(), kSivTagLen);  // the received tag
    const std::size_t n = blocks(op.out.size());
    ctr_steps = n > ctr_steps ? n : ctr_steps;
  }
  if (ctr_steps != 0) {
    K::ctr(enc_, want_, vecs, blocks_, ctr_steps);
    for (std::size_t l = 0; l < m; ++l) {
      const SivOp& op = *lane_op_[l];
      K::xor_keystream(blocks_, l, op.in.data(), op.out.data(), op.out.size());
    }
    used_steps_ = ctr_steps > used_steps_ ? ctr_steps : used_steps_;
  }
  const std::size_t steps = layout_polyval(m, false);
  K::polyval_tag(enc_, h_, nb_, blocks_, steps, vecs, tag_);
  for (std::size_t l = 0; l < m; ++l) {
    const SivOp& op = *lane_op_[l];
    // §5: release the plaintext only if the recomputed tag matches.
    if (tags_equal(tag_[l].b, want_[l].b)) {
      status[lane_idx_[l]] = SivStatus::kOk;
    } else {
      secure_wipe(op.out.data(), op.out.size());
      status[lane_idx_[l]] = SivStatus::kAuthFail;
    }
  }
}

template <class K>
void GcmSivBurst<K>::wipe_used() noexcept {
  if (!used_) return;
  // Round keys, derived keys, tags and keystream are key material.
  secure_wipe(&kgk_, sizeof kgk_);
  secure_wipe(&enc_, sizeof enc_);
  secure_wipe(blocks_.blk, used_steps_ * sizeof(blocks_.blk[0]));
  secure_wipe(h_, sizeof h_);
  secure_wipe(tag_, sizeof tag_);
  secure_wipe(want_, sizeof want_);
  setup_keys_.fill(nullptr);
  setup_vecs_ = 0;
  used_steps_ = 0;
  used_ = false;
}

}  // namespace mb
}  // namespace ntsd::crypto
