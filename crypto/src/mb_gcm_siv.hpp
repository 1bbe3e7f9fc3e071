// The burst AES-128-GCM-SIV engines (RFC 8452, NTS AEAD 30), private to
// crypto/ (tests reach them through this header):
//   "gcmsiv-vaes-x16"  16 lanes, 4 per zmm register (VAES + VPCLMULQDQ);
//   "gcmsiv-aesni-x8"   8 lanes, 1 per xmm register (AES-NI + PCLMULQDQ).
// Both are GcmSivBurst over their kernel set (mb_gcm_siv_kernels.inc). A
// chunk of up to kLanes ops is one wave, op l in lane l for every pass:
//   keys:    the key-generating keys expanded (once, if every lane has the
//            same key object: the cookie master key);
//   derive:  AES(K, le32(i) || N), i = 0..3, of every lane: H and the message
//            key (§4), expanded later with the first rounds that use it;
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

// K: a kernel set: kLanes, kLanesPerVec, kMaxSteps, Lanes, Work and the
// static functions seal_lanes, open_lanes and wipe of mb_gcm_siv_kernels.inc.
template <class K>
class GcmSivBurst final : public SivEngine {
 public:
  static constexpr std::size_t kChunk = K::kLanes;

  GcmSivBurst(std::unique_ptr<SivEngine> fallback, const char* name) noexcept
      : fallback_(std::move(fallback)), name_(name) {}
  ~GcmSivBurst() override {
    work_.steps_used = K::kMaxSteps;
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

  // Whether the lanes take `op`, and if so its fields in lane `m` of `l`:
  // exactly the ops validate_gcm_siv_op passes (a GCM-SIV key, [AAD, nonce]
  // or [nonce] with a 12-byte nonce, sizes, no overlap of `out` with an
  // input) whose pass fits kMaxSteps blocks; every other op goes to the
  // fallback, whose status is the reference's. One pass over the op's
  // fields, each read once: the protocol core has just written them, and a
  // re-read through a computed index stalled on store forwarding.
  __attribute__((always_inline)) static bool admit(const SivOp& op, bool sealing,
                                                   typename K::Lanes& l, std::size_t m) noexcept {
    const SivKey* k = op.key;
    // aead() is 30 only for a 16-byte key (SivKey::wipe resets it to 15).
    if (k == nullptr || !aead_is_gcm_siv(k->aead())) return false;
    const std::uint8_t n = op.ad_count;
    if (n != 1 && n != 2) return false;
    const Bytes first = op.ad[0], second = op.ad[1];
    const Bytes nonce = n == 2 ? second : first;
    const Bytes aad = n == 2 ? first : Bytes{};
    const Bytes in = op.in;
    const MutBytes out = op.out;
    std::size_t msg;
    if (sealing) {
      if (out.size() != in.size() + kSivTagLen) return false;
      msg = in.size();
    } else {
      if (in.size() < kSivTagLen || out.size() != in.size() - kSivTagLen) return false;
      msg = out.size();
    }
    if (nonce.size() != kGcmSivNonceLen ||
        blocks(aad.size()) + blocks(msg) + 1 > K::kMaxSteps ||  // also bounds msg < kMaxSivMessage
        detail::overlaps(in, out) || detail::overlaps(nonce, out) || detail::overlaps(aad, out))
      return false;
    l.key[m] = k->bytes().data();
    l.nonce[m] = nonce.data();
    l.aad[m] = aad.data();
    l.aad_len[m] = aad.size();
    l.msg[m] = in.data();  // open: the tag follows the ciphertext
    l.msg_len[m] = msg;
    l.out[m] = out.data();
    return true;
  }

  // The common chunk in one pass: every op with op 0's shape (AD count, AAD,
  // input and output sizes), each op's fields read once and checked against
  // that shape with early exits (predicted not taken for the ops the
  // protocol core builds). Passing implies what admit() checks op by op
  // (detail::overlaps on the shape's sizes); on false the caller runs the
  // general loop, which rewrites every lane it takes. `shared`: every op
  // has op 0's key object.
  template <bool Sealing, std::uint8_t Ad>
  bool admit_fast(std::span<const SivOp> ops, bool& shared) noexcept;
  bool admit_fast(std::span<const SivOp> ops, bool sealing, bool& shared) noexcept {
    switch (ops[0].ad_count) {
      case 1:
        return sealing ? admit_fast<true, 1>(ops, shared) : admit_fast<false, 1>(ops, shared);
      case 2:
        return sealing ? admit_fast<true, 2>(ops, shared) : admit_fast<false, 2>(ops, shared);
      default:
        return false;
    }
  }
  void run_chunk(std::span<const SivOp> ops, std::span<SivStatus> status, bool sealing) noexcept;
  // Runs lanes [0, m) of lanes_ and writes lane l's status to op idx(l).
  template <class Idx>
  void run_lanes(std::size_t m, bool shared, bool sealing, std::span<SivStatus> status,
                 Idx idx) noexcept {
    used_ = true;
    if (sealing) {
      K::seal_lanes(lanes_, m, shared, work_);
      for (std::size_t l = 0; l < m; ++l) status[idx(l)] = SivStatus::kOk;
    } else {
      K::open_lanes(lanes_, m, shared, work_, ok_.data());
      for (std::size_t l = 0; l < m; ++l)
        status[idx(l)] = ok_[l] ? SivStatus::kOk : SivStatus::kAuthFail;
    }
  }
  void wipe_used() noexcept;

  std::unique_ptr<SivEngine> fallback_;
  const char* name_;
  typename K::Work work_{};
  typename K::Lanes lanes_{};
  std::array<std::uint8_t, kChunk> lane_idx_{};
  std::array<bool, kChunk> ok_{};
  bool used_ = false;
  std::array<SivOp, kChunk> fb_ops_{};
  std::array<SivStatus, kChunk> fb_status_{};
  std::array<std::uint8_t, kChunk> fb_index_{};
};

template <class K>
template <bool Sealing, std::uint8_t Ad>
bool GcmSivBurst<K>::admit_fast(std::span<const SivOp> ops, bool& shared) noexcept {
  const SivOp& f = ops[0];
  const std::size_t mlen = Sealing ? f.in.size() : f.out.size();
  const std::size_t alen = Ad == 2 ? f.ad[0].size() : 0;
  // Also bounds mlen far below kMaxSivMessage.
  if (blocks(alen) + blocks(mlen) + 1 > K::kMaxSteps) return false;
  const std::size_t in_len = Sealing ? mlen : mlen + kSivTagLen;
  const std::size_t out_len = Sealing ? mlen + kSivTagLen : mlen;
  // detail::overlaps: an empty range overlaps nothing (the nonce is never
  // empty here, the input never when opening).
  const bool chk_in = in_len != 0 && out_len != 0;
  const bool chk_aad = alen != 0 && out_len != 0;
  const bool chk_nonce = out_len != 0;
  const SivKey* const k0 = f.key;
  bool same = true;
  for (std::size_t l = 0; l < ops.size(); ++l) {
    const SivOp& op = ops[l];
    const SivKey* k = op.key;
    // aead() is 30 only for a 16-byte key (SivKey::wipe resets it to 15).
    if (k == nullptr || !aead_is_gcm_siv(k->aead()) || op.ad_count != Ad ||
        op.in.size() != in_len || op.out.size() != out_len)
      return false;
    const Bytes nonce = op.ad[Ad - 1];
    if (nonce.size() != kGcmSivNonceLen) return false;
    const std::uint8_t* const ip = op.in.data();
    std::uint8_t* const op_ = op.out.data();
    if (chk_in && ranges_overlap(ip, in_len, op_, out_len)) return false;
    if (chk_nonce && ranges_overlap(nonce.data(), kGcmSivNonceLen, op_, out_len)) return false;
    const std::uint8_t* a = nullptr;
    if (Ad == 2) {
      a = op.ad[0].data();
      if (op.ad[0].size() != alen) return false;
      if (chk_aad && ranges_overlap(a, alen, op_, out_len)) return false;
    }
    same &= k == k0;
    lanes_.key[l] = k->bytes().data();
    lanes_.nonce[l] = nonce.data();
    lanes_.aad[l] = a;
    lanes_.aad_len[l] = alen;
    lanes_.msg[l] = ip;  // open: the tag follows the ciphertext
    lanes_.msg_len[l] = mlen;
    lanes_.out[l] = op_;
  }
  shared = same;
  return true;
}

template <class K>
void GcmSivBurst<K>::run_chunk(std::span<const SivOp> ops, std::span<SivStatus> status,
                               bool sealing) noexcept {
  if (ops.empty()) return;
  if (bool shared = true; admit_fast(ops, sealing, shared))
    return run_lanes(ops.size(), shared, sealing, status, [](std::size_t l) { return l; });
  std::size_t m = 0, nfb = 0;
  bool uniform = true;
  const SivKey* key0 = nullptr;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const SivOp& op = ops[i];
    if (!admit(op, sealing, lanes_, m)) {
      fb_ops_[nfb] = op;
      fb_index_[nfb++] = static_cast<std::uint8_t>(i);
      continue;
    }
    if (m == 0) key0 = op.key;
    uniform = uniform && op.key == key0;
    lane_idx_[m++] = static_cast<std::uint8_t>(i);
  }
  if (nfb != 0) {
    run_ops(*fallback_, sealing, {fb_ops_.data(), nfb}, {fb_status_.data(), nfb});
    for (std::size_t k = 0; k < nfb; ++k) status[fb_index_[k]] = fb_status_[k];
  }
  if (m == 0) return;
  run_lanes(m, uniform, sealing, status, [this](std::size_t l) { return lane_idx_[l]; });
}

template <class K>
void GcmSivBurst<K>::wipe_used() noexcept {
  if (!used_) return;
  // Round keys, derived keys, tags and keystream are key material.
  K::wipe(work_, work_.steps_used);
  work_.steps_used = 0;
  used_ = false;
}

}  // namespace mb
}  // namespace ntsd::crypto
