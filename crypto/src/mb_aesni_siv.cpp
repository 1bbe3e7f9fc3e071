// AES-NI burst AES-SIV (RFC 5297) for NTS (RFC 8915 §5.1). See mb_aesni_siv.hpp.
#include "mb_aesni_siv.hpp"

#include <cstring>
#include <new>

namespace ntsd::crypto {
namespace mb {

AesniSiv::AesniSiv(std::unique_ptr<SivEngine> fallback) noexcept : fallback_(std::move(fallback)) {}

AesniSiv::~AesniSiv() {
  explicit_bzero(keys_.data(), sizeof(keys_));
  explicit_bzero(ops_.data(), sizeof(ops_));
}

void AesniSiv::seal(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept {
  mb::for_each_chunk<kChunk>(ops, status, [this](auto o, auto s) { seal_chunk(o, s); });
}

void AesniSiv::open(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept {
  mb::for_each_chunk<kChunk>(ops, status, [this](auto o, auto s) { open_chunk(o, s); });
}

void AesniSiv::add_task(const KeyState& ks, const std::uint8_t* src, std::size_t len,
                        std::uint8_t* out) noexcept {
  tasks_[ntasks_++] = {&ks.mac, &ks.sk1, &ks.sk2, len != 0 ? src : zero_.b, len, out};
}

std::uint8_t AesniSiv::key_index(const SivKey* key) noexcept {
  // One shared key (cookies) or one key per op (sessions): newest first.
  for (std::size_t i = nkeys_; i-- > 0;)
    if (key_ptrs_[i] == key) return static_cast<std::uint8_t>(i);
  const std::size_t i = nkeys_++;
  key_ptrs_[i] = key;
  KeyState& ks = keys_[i];
  if (key->mac_key().size() == 16) {
    // AES-128 halves are expanded together in expand_new_keys().
    exp_src_[nexp_] = key->mac_key().data();
    exp_dst_[nexp_++] = &ks.mac;
    exp_src_[nexp_] = key->ctr_key().data();
    exp_dst_[nexp_++] = &ks.ctr;
  } else {
    aesni::expand_key_pair(key->mac_key().data(), key->ctr_key().data(), key->mac_key().size(),
                           ks.mac, ks.ctr);
  }
  // L = E(K1, 0^128) (RFC 4493 §2.3) as a one-block CMAC with a zero subkey,
  // so that the L of every new key in the burst shares one lane pass.
  tasks_[ntasks_++] = {&ks.mac, &zero_, &zero_, zero_.b, 16, ks.sk1.b};
  return static_cast<std::uint8_t>(i);
}

void AesniSiv::admit(std::span<const SivOp> ops, std::span<SivStatus> status,
                     bool sealing) noexcept {
  nkeys_ = 0;
  ntasks_ = 0;
  nexp_ = 0;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    OpState& st = ops_[i];
    st.active = burst_eligible(ops[i], sealing);
    if (!st.active) {
      run_ops(*fallback_, sealing, ops.subspan(i, 1), status.subspan(i, 1));
      continue;
    }
    st.key = key_index(ops[i].key);
  }
  // One interleaved pass over every new AES-128 key of the chunk: with one
  // key per request (C2S/S2C), serial schedules would be latency bound.
  aesni::expand128_keys(exp_src_.data(), exp_dst_.data(), nexp_);
  nexp_ = 0;
}

void AesniSiv::derive_subkeys() noexcept {
  aesni::cmac(tasks_.data(), ntasks_);  // the L of every new key
  ntasks_ = 0;
  for (std::size_t k = 0; k < nkeys_; ++k) {
    KeyState& ks = keys_[k];
    ks.sk1 = dbl(ks.sk1);  // K1 = dbl(L)
    ks.sk2 = dbl(ks.sk1);  // K2 = dbl(K1)
  }
}

// D0 of every key and CMAC(S_i) of every AD component, in one lane pass.
void AesniSiv::run_ad_pass(std::span<const SivOp> ops) noexcept {
  for (std::size_t k = 0; k < nkeys_; ++k) add_task(keys_[k], zero_.b, 16, keys_[k].d0.b);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (!ops_[i].active) continue;
    for (std::size_t j = 0; j < ops[i].ad_count; ++j)
      add_task(keys_[ops_[i].key], ops[i].ad[j].data(), ops[i].ad[j].size(), ops_[i].adm[j].b);
  }
  aesni::cmac(tasks_.data(), ntasks_);
  ntasks_ = 0;
}

void AesniSiv::queue_final(std::size_t i, std::size_t ad_count, std::uint8_t* p, std::size_t n,
                           std::uint8_t* v) noexcept {
  OpState& st = ops_[i];
  // RFC 5297 §2.4: D = CMAC(0); D = dbl(D) xor CMAC(S_i) for each AD component.
  Block d = keys_[st.key].d0;
  for (const Block& a : std::span(st.adm).first(ad_count)) d = xor_blocks(dbl(d), a);
  st.d = d;
  if (n >= 16) {
    xor_into(p + n - 16, st.d.b, 16);  // T = P xorend D, in place
    add_task(keys_[st.key], p, n, v);
  } else {
    st.t = dbl_xor_pad(st.d, p, n);  // T = dbl(D) xor pad(P)
    add_task(keys_[st.key], st.t.b, 16, v);
  }
}

void AesniSiv::finish_keys() noexcept {
  // Key schedules are key material: do not leave them in the scratch.
  explicit_bzero(keys_.data(), nkeys_ * sizeof(KeyState));
  nkeys_ = 0;
}

void AesniSiv::seal_chunk(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept {
  admit(ops, status, true);
  derive_subkeys();
  run_ad_pass(ops);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (!ops_[i].active) continue;
    const SivOp& op = ops[i];
    // P goes where its ciphertext will be (validation guarantees `in` and
    // `out` do not overlap); T is built there in place.
    std::uint8_t* body = op.out.data() + kSivTagLen;
    if (!op.in.empty()) std::memcpy(body, op.in.data(), op.in.size());
    queue_final(i, op.ad_count, body, op.in.size(), op.out.data());
  }
  aesni::cmac(tasks_.data(), ntasks_);  // V = CMAC(K1, T) straight into out[0..16)
  ntasks_ = 0;
  std::size_t nctr = 0;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (!ops_[i].active) continue;
    const SivOp& op = ops[i];
    const std::size_t n = op.in.size();
    std::uint8_t* body = op.out.data() + kSivTagLen;
    if (n >= 16) xor_into(body + n - 16, ops_[i].d.b, 16);  // undo xorend: P again
    if (n != 0)
      ctr_tasks_[nctr++] = {&keys_[ops_[i].key].ctr, ctr_iv(op.out.data()), body, body, n};
    status[i] = SivStatus::kOk;
  }
  aesni::ctr(ctr_tasks_.data(), nctr);
  finish_keys();
}

void AesniSiv::open_chunk(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept {
  admit(ops, status, false);
  derive_subkeys();
  // RFC 5297 §2.7: decrypt with Q from the received SIV, then S2V over the result.
  std::size_t nctr = 0;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const SivOp& op = ops[i];
    if (ops_[i].active && !op.out.empty())
      ctr_tasks_[nctr++] = {&keys_[ops_[i].key].ctr, ctr_iv(op.in.data()),
                            op.in.data() + kSivTagLen, op.out.data(), op.out.size()};
  }
  aesni::ctr(ctr_tasks_.data(), nctr);
  run_ad_pass(ops);
  for (std::size_t i = 0; i < ops.size(); ++i)
    if (ops_[i].active)
      queue_final(i, ops[i].ad_count, ops[i].out.data(), ops[i].out.size(), ops_[i].v.b);
  aesni::cmac(tasks_.data(), ntasks_);
  ntasks_ = 0;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    OpState& st = ops_[i];
    if (!st.active) continue;
    const SivOp& op = ops[i];
    const std::size_t n = op.out.size();
    if (n >= 16) xor_into(op.out.data() + n - 16, st.d.b, 16);
    const bool ok = tags_equal(st.v.b, op.in.data());
    if (!ok && n != 0) std::memset(op.out.data(), 0, n);  // release nothing on failure
    status[i] = ok ? SivStatus::kOk : SivStatus::kAuthFail;
  }
  finish_keys();
}

}  // namespace mb

std::unique_ptr<SivEngine> make_aesni_engine() {
  if (!mb::aesni::cpu_supported()) return nullptr;
  return std::unique_ptr<SivEngine>(new (std::nothrow) mb::AesniSiv(make_scalar_engine()));
}

}  // namespace ntsd::crypto
