// IPsec-MB multi-buffer AES-SIV (RFC 5297) for NTS (RFC 8915 §5.1).
// See mb_siv.hpp for the shape of a burst.
#include "mb_siv.hpp"

#include <algorithm>
#include <cstring>
#include <new>

namespace ntsd::crypto::mb {
namespace {

std::size_t aes_len(const SivKey& k) noexcept {
  return k.size() / 2;
}

void wipe(void* p, std::size_t n) noexcept {
  explicit_bzero(p, n);
}

}  // namespace

MbSiv::MbSiv(IMB_MGR* mgr, std::unique_ptr<SivEngine> fallback) noexcept
    : mgr_(mgr), fallback_(std::move(fallback)) {}

MbSiv::~MbSiv() {
  wipe(keys_.data(), sizeof(keys_));
  wipe(ops_.data(), sizeof(ops_));
  wipe(dec_sink_, sizeof(dec_sink_));
  free_mb_mgr(mgr_);
}

void MbSiv::seal(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept {
  mb::for_each_chunk<kChunk>(ops, status, [this](auto o, auto s) { seal_chunk(o, s); });
}

void MbSiv::open(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept {
  mb::for_each_chunk<kChunk>(ops, status, [this](auto o, auto s) { open_chunk(o, s); });
}

std::uint8_t MbSiv::key_index(const SivKey* key) noexcept {
  // Bursts are either one shared key (cookies under the master key) or one
  // key per op (per-session keys); scanning newest first makes both cheap.
  for (std::size_t i = nkeys_; i-- > 0;)
    if (key_ptrs_[i] == key) return static_cast<std::uint8_t>(i);
  const std::size_t i = nkeys_++;
  key_ptrs_[i] = key;
  KeyState& ks = keys_[i];
  ks.key_len = aes_len(*key);
  const std::uint8_t* k1 = key->mac_key().data();
  const std::uint8_t* k2 = key->ctr_key().data();
  if (ks.key_len == 16) {
    IMB_AES_KEYEXP_128(mgr_, k1, ks.mac_enc, dec_sink_);
    IMB_AES_KEYEXP_128(mgr_, k2, ks.ctr_enc, dec_sink_);
    IMB_AES_CMAC_SUBKEY_GEN_128(mgr_, ks.mac_enc, ks.sk1.b, ks.sk2.b);
  } else {
    IMB_AES_KEYEXP_256(mgr_, k1, ks.mac_enc, dec_sink_);
    IMB_AES_KEYEXP_256(mgr_, k2, ks.ctr_enc, dec_sink_);
    IMB_AES_CMAC_SUBKEY_GEN_256(mgr_, ks.mac_enc, ks.sk1.b, ks.sk2.b);
  }
  // D0 = CMAC(K1, 0^128) rides in the same multi-buffer pass as the AD CMACs
  // (RFC 5297 §2.4 starts S2V from it). op index kChunk marks a key job.
  submit_cmac(kChunk, zero_, 16, ks.d0.b, ks);
  return static_cast<std::uint8_t>(i);
}

void MbSiv::check(const IMB_JOB* job) noexcept {
  if (job == nullptr || job->status == IMB_STATUS_COMPLETED) return;
  const auto op = reinterpret_cast<std::uintptr_t>(job->user_data);
  if (op < kChunk)
    ops_[op].failed = true;
  else
    key_failed_ = true;  // a D0 job: no op of the chunk is trusted
}

void MbSiv::submit_cmac(std::size_t op, const std::uint8_t* src, std::size_t len, std::uint8_t* out,
                        const KeyState& ks) noexcept {
  IMB_JOB* job = IMB_GET_NEXT_JOB(mgr_);
  job->cipher_mode = IMB_CIPHER_NULL;
  job->cipher_direction = IMB_DIR_ENCRYPT;
  job->chain_order = IMB_ORDER_HASH_CIPHER;
  job->hash_alg = ks.key_len == 16 ? IMB_AUTH_AES_CMAC : IMB_AUTH_AES_CMAC_256;
  job->src = len != 0 ? src : zero_;  // a non-null src even for the empty string
  job->hash_start_src_offset_in_bytes = 0;
  job->msg_len_to_hash_in_bytes = len;
  job->auth_tag_output = out;
  job->auth_tag_output_len_in_bytes = 16;
  job->u.CMAC._key_expanded = ks.mac_enc;
  job->u.CMAC._skey1 = ks.sk1.b;
  job->u.CMAC._skey2 = ks.sk2.b;
  job->user_data = reinterpret_cast<void*>(op);
  check(IMB_SUBMIT_JOB(mgr_));
}

void MbSiv::submit_ctr(std::size_t op, const std::uint8_t* src, std::uint8_t* dst, std::size_t len,
                       const Block& iv, const KeyState& ks) noexcept {
  if (len == 0) return;  // nothing to encrypt; IPsec-MB rejects empty CTR jobs
  IMB_JOB* job = IMB_GET_NEXT_JOB(mgr_);
  job->cipher_mode = IMB_CIPHER_CNTR;
  job->cipher_direction = IMB_DIR_ENCRYPT;
  job->chain_order = IMB_ORDER_CIPHER_HASH;
  job->hash_alg = IMB_AUTH_NULL;
  job->enc_keys = ks.ctr_enc;
  job->dec_keys = ks.ctr_enc;
  job->key_len_in_bytes = ks.key_len;
  job->src = src;
  job->dst = dst;
  job->cipher_start_src_offset_in_bytes = 0;
  job->msg_len_to_cipher_in_bytes = len;
  job->iv = iv.b;
  job->iv_len_in_bytes = 16;  // the full counter block Q of RFC 5297 §2.6
  job->user_data = reinterpret_cast<void*>(op);
  check(IMB_SUBMIT_JOB(mgr_));
}

void MbSiv::flush() noexcept {
  while (const IMB_JOB* job = IMB_FLUSH_JOB(mgr_)) check(job);
}

void MbSiv::admit(std::span<const SivOp> ops, std::span<SivStatus> status, bool sealing) noexcept {
  nkeys_ = 0;
  key_failed_ = false;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    OpState& st = ops_[i];
    st.failed = false;
    // AES-192 (IPsec-MB 1.3 has no CMAC for it) and malformed ops go to
    // the scalar reference.
    st.active = burst_eligible(ops[i], sealing);
    if (!st.active) {
      run_ops(*fallback_, sealing, ops.subspan(i, 1), status.subspan(i, 1));
      continue;
    }
    st.key = key_index(ops[i].key);
  }
}

// RFC 5297 §2.4: D = CMAC(0); for each S_i before the last: D = dbl(D) xor CMAC(S_i).
Block MbSiv::combine(const OpState& st, const SivOp& op) const noexcept {
  Block d = keys_[st.key].d0;
  for (std::size_t j = 0; j < op.ad_count; ++j) d = xor_blocks(dbl(d), st.adm[j]);
  return d;
}

void MbSiv::finish_keys() noexcept {
  // Key schedules are key material: do not leave them in the scratch.
  wipe(keys_.data(), nkeys_ * sizeof(KeyState));
  wipe(dec_sink_, sizeof(dec_sink_));
  nkeys_ = 0;
}

void MbSiv::seal_chunk(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept {
  admit(ops, status, true);
  // Pass 1: CMAC of every AD component of every op (plus the D0 of new keys).
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (!ops_[i].active) continue;
    for (std::size_t j = 0; j < ops[i].ad_count; ++j)
      submit_cmac(i, ops[i].ad[j].data(), ops[i].ad[j].size(), ops_[i].adm[j].b,
                  keys_[ops_[i].key]);
  }
  flush();
  // Pass 2: V = CMAC(K1, T). For |P| >= 16, T = P xorend D is built in the
  // ciphertext area of `out` (which CTR overwrites afterwards), so no per-op
  // buffer of message size is needed.
  for (std::size_t i = 0; i < ops.size(); ++i) {
    OpState& st = ops_[i];
    if (!st.active) continue;
    const SivOp& op = ops[i];
    st.d = combine(st, op);
    const std::size_t n = op.in.size();
    std::uint8_t* body = op.out.data() + kSivTagLen;
    // P is copied to where its ciphertext goes (validation guarantees `in`
    // and `out` do not overlap) and becomes T there.
    if (n != 0) std::memcpy(body, op.in.data(), n);
    if (n >= 16) {
      xor_into(body + n - 16, st.d.b, 16);
      submit_cmac(i, body, n, op.out.data(), keys_[st.key]);
    } else {
      st.t = dbl_xor_pad(st.d, body, n);
      submit_cmac(i, st.t.b, 16, op.out.data(), keys_[st.key]);
    }
  }
  flush();
  // Pass 3: C = CTR(K2, Q, P), in place over the copy of P.
  for (std::size_t i = 0; i < ops.size(); ++i) {
    OpState& st = ops_[i];
    if (!st.active) continue;
    const SivOp& op = ops[i];
    const std::size_t n = op.in.size();
    std::uint8_t* body = op.out.data() + kSivTagLen;
    if (n >= 16) xor_into(body + n - 16, st.d.b, 16);  // undo xorend: body is P again
    st.iv = ctr_iv(op.out.data());
    submit_ctr(i, body, body, n, st.iv, keys_[st.key]);
  }
  flush();
  for (std::size_t i = 0; i < ops.size(); ++i) {
    OpState& st = ops_[i];
    if (!st.active) continue;
    status[i] = SivStatus::kOk;
    if (st.failed || key_failed_) {
      std::fill(ops[i].out.begin(), ops[i].out.end(), std::uint8_t{0});
      status[i] = SivStatus::kBadInput;
    }
  }
  finish_keys();
}

void MbSiv::open_chunk(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept {
  admit(ops, status, false);
  // Pass 1: CTR-decrypt with Q from the received SIV (RFC 5297 §2.7), and the
  // AD CMACs, which do not depend on the plaintext.
  for (std::size_t i = 0; i < ops.size(); ++i) {
    OpState& st = ops_[i];
    if (!st.active) continue;
    const SivOp& op = ops[i];
    std::memcpy(st.tag.b, op.in.data(), 16);
    st.iv = ctr_iv(st.tag.b);
    submit_ctr(i, op.in.data() + kSivTagLen, op.out.data(), op.out.size(), st.iv, keys_[st.key]);
    for (std::size_t j = 0; j < op.ad_count; ++j)
      submit_cmac(i, op.ad[j].data(), op.ad[j].size(), st.adm[j].b, keys_[st.key]);
  }
  flush();
  // Pass 2: V' = S2V over the recovered plaintext, xorend done in place in `out`.
  for (std::size_t i = 0; i < ops.size(); ++i) {
    OpState& st = ops_[i];
    if (!st.active) continue;
    const SivOp& op = ops[i];
    st.d = combine(st, op);
    const std::size_t n = op.out.size();
    if (n >= 16) {
      xor_into(op.out.data() + n - 16, st.d.b, 16);
      submit_cmac(i, op.out.data(), n, st.v.b, keys_[st.key]);
    } else {
      st.t = dbl_xor_pad(st.d, op.out.data(), n);
      submit_cmac(i, st.t.b, 16, st.v.b, keys_[st.key]);
    }
  }
  flush();
  for (std::size_t i = 0; i < ops.size(); ++i) {
    OpState& st = ops_[i];
    if (!st.active) continue;
    const SivOp& op = ops[i];
    const std::size_t n = op.out.size();
    if (n >= 16) xor_into(op.out.data() + n - 16, st.d.b, 16);
    const bool failed = st.failed || key_failed_;
    const bool ok = tags_equal(st.v.b, st.tag.b) && !failed;
    if (!ok && n != 0) std::memset(op.out.data(), 0, n);  // release nothing on failure
    status[i] = ok ? SivStatus::kOk : (failed ? SivStatus::kBadInput : SivStatus::kAuthFail);
  }
  finish_keys();
}

}  // namespace ntsd::crypto::mb

namespace ntsd::crypto {

std::unique_ptr<SivEngine> make_mb_engine() {
  IMB_MGR* mgr = alloc_mb_mgr(0);
  if (mgr == nullptr) return nullptr;
  IMB_ARCH arch = IMB_ARCH_NONE;
  init_mb_mgr_auto(mgr, &arch);
  // Without AES-NI IPsec-MB falls back to a slow software AES: no gain.
  if (imb_get_errno(mgr) != 0 || arch == IMB_ARCH_NONE || arch == IMB_ARCH_NOAESNI) {
    free_mb_mgr(mgr);
    return nullptr;
  }
  auto eng = std::unique_ptr<SivEngine>(new (std::nothrow) mb::MbSiv(mgr, make_scalar_engine()));
  if (!eng) free_mb_mgr(mgr);
  return eng;
}

}  // namespace ntsd::crypto
