// VAES burst AES-SIV (RFC 5297) for NTS (RFC 8915 §5.1). See mb_vaes_siv.hpp.
#include "mb_vaes_siv.hpp"

#include <algorithm>
#include <cstring>
#include <new>

#include "mb_aesni_siv.hpp"

namespace ntsd::crypto {
namespace mb {
namespace {

// Blocks of a CMAC over n bytes (RFC 4493 §2.4: the empty message is one
// padded block).
constexpr std::size_t cmac_blocks(std::size_t n) noexcept {
  return n == 0 ? 1 : (n + 15) / 16;
}

std::size_t msg_len(const SivOp& op, bool sealing) noexcept {
  return sealing ? op.in.size() : op.out.size();
}

// Ops the lanes take: well formed (the shared validation, so a bad op gets
// the fallback's status, which is the reference's), AES-128 halves, and
// every pass within a lane's kMaxSteps blocks.
bool lane_eligible(const SivOp& op, bool sealing) noexcept {
  if (!valid_op(op, sealing) || op.key->size() != 32) return false;
  std::size_t ad = 0;
  for (std::size_t j = 0; j < op.ad_count; ++j) ad += cmac_blocks(op.ad[j].size());
  return ad <= vaes::kMaxSteps && cmac_blocks(msg_len(op, sealing)) <= vaes::kMaxSteps;
}

}  // namespace

VaesSiv::VaesSiv(std::unique_ptr<SivEngine> fallback) noexcept : fallback_(std::move(fallback)) {}

VaesSiv::~VaesSiv() {
  used_steps_ = vaes::kMaxSteps;
  wipe_groups_ = kChunk / vaes::kLanesPerGroup;
  ctr_keys_used_ = true;
  lanes_used_ = true;
  wipe_used();
  vaes::wipe_keys(lk_mac_, 1);
  vaes::wipe_keys(lk_ctr_, 1);
  vaes::wipe_blocks(lk_sk1_, vaes::kLanesPerGroup);
  vaes::wipe_blocks(lk_sk2_, vaes::kLanesPerGroup);
  vaes::wipe_blocks(lk_d0_, vaes::kLanesPerGroup);
  lk_valid_ = false;
}

// A single op is latency bound in either engine, and the AES-NI one runs its
// AD components in parallel lanes where a VAES lane runs them one after the
// other (and sets up 4 lanes for 1): measured ~10% faster for one NTS op.
void VaesSiv::seal(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept {
  if (ops.size() == 1) return fallback_->seal(ops, status);
  mb::for_each_chunk<kChunk>(ops, status, [this](auto o, auto s) { seal_chunk(o, s); });
  wipe_used();
}

void VaesSiv::open(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept {
  if (ops.size() == 1) return fallback_->open(ops, status);
  mb::for_each_chunk<kChunk>(ops, status, [this](auto o, auto s) { open_chunk(o, s); });
  wipe_used();
}

void VaesSiv::wipe_used() noexcept {
  // Key schedules, subkeys, chaining values and keystream are key material:
  // wipe what this call used, once per call rather than per chunk, and only
  // the lane groups that were set up (a short burst or a shared key uses 1 of 4).
  vaes::wipe_blocks(&blocks_.blk[0][0], used_steps_ * kChunk);
  used_steps_ = 0;
  const std::size_t groups = wipe_groups_;
  if (groups != 0) {
    vaes::wipe_keys(mac_keys_, groups);
    if (ctr_keys_used_) vaes::wipe_keys(ctr_keys_, groups);
    const std::size_t lanes = groups * vaes::kLanesPerGroup;
    vaes::wipe_blocks(sk1_, lanes);
    vaes::wipe_blocks(sk2_, lanes);
    vaes::wipe_blocks(d0_, lanes);
  }
  ctr_keys_used_ = false;
  if (lanes_used_) secure_wipe(lanes_.data(), sizeof(lanes_));
  lanes_used_ = false;
  wipe_groups_ = 0;
  setup_groups_ = 0;  // nothing set up any more (setup_keys_ holds pointers only)
  setup_compact_ = false;
}

bool VaesSiv::admit(std::span<const SivOp> ops, std::span<SivStatus> status,
                    bool sealing) noexcept {
  std::array<const SivKey*, kChunk> keys{};
  std::size_t nfb = 0, hi = 0;
  bool ctr = false;
  for (std::size_t l = 0; l < kChunk; ++l) {
    lanes_[l].active = false;
    if (l >= ops.size()) continue;
    const SivOp& op = ops[l];
    if (!lane_eligible(op, sealing)) {
      fb_ops_[nfb] = op;
      fb_index_[nfb++] = static_cast<std::uint8_t>(l);
      continue;
    }
    lanes_[l].active = true;
    hi = l + 1;
    keys[l] = op.key;
    ctr |= msg_len(op, sealing) != 0;  // K2 is only needed with a plaintext: NTS requests have none
  }
  if (nfb != 0) {
    const std::span<const SivOp> fo(fb_ops_.data(), nfb);
    const std::span<SivStatus> fs(fb_status_.data(), nfb);
    run_ops(*fallback_, sealing, fo, fs);
    for (std::size_t k = 0; k < nfb; ++k) status[fb_index_[k]] = fb_status_[k];
  }
  if (hi == 0) return false;
  groups_ = (hi + vaes::kLanesPerGroup - 1) / vaes::kLanesPerGroup;
  uniform_ = uniform(ops, sealing);
  // One key in every lane of a uniform chunk (cookies under the master key):
  // the uniform kernels read lane group 0 only, so only it is set up.
  bool shared = uniform_;
  for (std::size_t l = 1; shared && l < groups_ * vaes::kLanesPerGroup; ++l)
    shared = keys[l] == keys[0];
  setup_keys(keys, ctr, shared);
  return true;
}

template <bool Sealing, std::size_t Ad>
bool VaesSiv::admit_fast(std::span<const SivOp> ops) noexcept {
  // The shape comes from op 0 and every op is compared with it, so that
  // passing here implies what lane_eligible() checks op by op:
  // validate_*_op (a key, at most kMaxAdComponents components, sizes, no
  // overlap of out with an input) and a 32-byte key whose passes fit.
  const SivOp& f = ops[0];
  const std::size_t mlen = Sealing ? f.in.size() : f.out.size();
  std::size_t alen[Ad];
  std::size_t ad_steps = 0;
  for (std::size_t j = 0; j < Ad; ++j) {
    alen[j] = f.ad[j].size();
    ad_steps += cmac_blocks(alen[j]);
  }
  // Also bounds mlen far below kMaxSivMessage.
  if (ad_steps > vaes::kMaxSteps || cmac_blocks(mlen) > vaes::kMaxSteps) return false;
  const std::size_t in_len = Sealing ? mlen : mlen + kSivTagLen;
  const std::size_t out_len = Sealing ? mlen + kSivTagLen : mlen;
  const bool has_msg = mlen != 0;
  // detail::overlaps of out with an input, on the shape's sizes (every op
  // is checked to have them first); an empty range overlaps nothing.
  const bool chk_in = in_len != 0 && out_len != 0;
  bool chk_ad[Ad];
  for (std::size_t j = 0; j < Ad; ++j) chk_ad[j] = alen[j] != 0 && out_len != 0;
  const SivKey* const k0 = f.key;
  std::array<const SivKey*, kChunk> keys;
  bool shared = true;
  const std::size_t n = ops.size();
  // Early exits, not accumulated flags: every branch is predicted not taken
  // for the ops the protocol core builds, and a chain of setcc/or per check
  // cost more than the checks.
  for (std::size_t l = 0; l < n; ++l) {
    const SivOp& op = ops[l];
    const SivKey* k = op.key;
    const std::uint8_t* const ip = op.in.data();
    std::uint8_t* const op_ = op.out.data();
    // size() == 32 also means not empty and not a GCM-SIV key.
    if (k == nullptr || k->size() != 32 || op.ad_count != Ad || op.in.size() != in_len ||
        op.out.size() != out_len)
      return false;
    if (chk_in && ranges_overlap(ip, in_len, op_, out_len)) return false;
    for (std::size_t j = 0; j < Ad; ++j) {
      const std::uint8_t* const a = op.ad[j].data();
      if (op.ad[j].size() != alen[j]) return false;
      if (chk_ad[j] && ranges_overlap(a, alen[j], op_, out_len)) return false;
      uni_.ad[j][l] = alen[j] != 0 ? a : vaes::kZeros;
    }
    shared &= k == k0;
    keys[l] = k;
    if (Sealing) {
      uni_.in[l] = uni_.msg[l] = has_msg ? ip : vaes::kZeros;
      uni_.tag_out[l] = op_;
      uni_.out[l] = has_msg ? op_ + kSivTagLen : nullptr;
    } else {
      uni_.tag_in[l] = ip;
      uni_.in[l] = has_msg ? ip + kSivTagLen : vaes::kZeros;
      uni_.out[l] = has_msg ? op_ : nullptr;
      uni_.msg[l] = has_msg ? op_ : vaes::kZeros;
    }
  }
  groups_ = (n + vaes::kLanesPerGroup - 1) / vaes::kLanesPerGroup;
  for (std::size_t l = n; l < groups_ * vaes::kLanesPerGroup; ++l) {
    for (auto& a : uni_.ad) a[l] = vaes::kZeros;
    uni_.in[l] = uni_.msg[l] = uni_.tag_in[l] = vaes::kZeros;
    uni_.out[l] = uni_.tag_out[l] = nullptr;
  }
  for (std::size_t l = n; l < kChunk; ++l) keys[l] = nullptr;
  uni_.ad_count = Ad;
  for (std::size_t j = 0; j < Ad; ++j) uni_.ad_len[j] = alen[j];
  uni_.msg_len = mlen;
  uniform_ = true;
  setup_keys(keys, has_msg, shared);
  return true;
}

bool VaesSiv::admit_fast(std::span<const SivOp> ops, bool sealing) noexcept {
  // NTS uses one component (cookies: [nonce]) and two ([packet, nonce]).
  switch (ops[0].ad_count) {
    case 1:
      return sealing ? admit_fast<true, 1>(ops) : admit_fast<false, 1>(ops);
    case 2:
      return sealing ? admit_fast<true, 2>(ops) : admit_fast<false, 2>(ops);
    default:
      return false;
  }
}

void VaesSiv::use_long_lived(const SivKey& key) noexcept {
  // AES-128 round key 0 is the key itself (FIPS 197 §5.2), so the cache was
  // built from these bytes iff its round keys 0 equal K1 and K2: a plain
  // comparison with our own copy of the key (two 16-byte compares, no more
  // branching on key bytes than a memcmp).
  const std::uint8_t* k = key.bytes().data();
  if (!lk_valid_ || std::memcmp(lk_mac_.rk[0][0].b, k, 16) != 0 ||
      std::memcmp(lk_ctr_.rk[0][0].b, k + 16, 16) != 0) {
    // Both halves always (cookie open and seal both have a plaintext); all
    // four lanes of group 0, which the shared kernels read. Overwrites the
    // previous long-lived key's schedule entirely.
    const std::uint8_t* k1[kChunk];
    const std::uint8_t* k2[kChunk];
    for (std::size_t l = 0; l < vaes::kLanesPerGroup; ++l) {
      k1[l] = k;
      k2[l] = k + 16;
    }
    vaes::setup(k1, k2, 1, lk_mac_, &lk_ctr_, lk_sk1_, lk_sk2_, lk_d0_);
    lk_valid_ = true;
  }
  cur_mac_ = &lk_mac_;
  cur_ctr_ = &lk_ctr_;
  cur_sk1_ = &lk_sk1_;
  cur_sk2_ = &lk_sk2_;
  cur_d0_ = &lk_d0_;
  shared_ = true;
}

void VaesSiv::setup_keys(const std::array<const SivKey*, kChunk>& keys, bool ctr,
                         bool compact) noexcept {
  // A compact chunk under a long-lived key (cookies under a master key) is
  // served by the cache that survives calls; the working tables, and what
  // they hold, are left alone.
  if (compact && keys[0] != nullptr && keys[0]->long_lived()) return use_long_lived(*keys[0]);
  use_working_tables();
  // The next chunk of a burst under one key (cookies) finds its lanes set
  // up already: same key objects in the same lanes (siv.hpp allows reuse for
  // equal key pointers within a burst; the cache dies with wipe_used()). A
  // compact set-up (group 0 only) serves only a compact need.
  // A compact set-up is group 0's four lanes (the shared kernels read all
  // four), so only those are compared; otherwise every lane is. Pointer by
  // pointer, exiting at the first difference (per-request keys differ in
  // lane 0): std::array's == was a memcmp call per chunk.
  if ((setup_ctr_ || !ctr) && setup_groups_ != 0 &&
      (compact || (!setup_compact_ && setup_groups_ >= groups_))) {
    const std::size_t lanes = compact ? vaes::kLanesPerGroup : kChunk;
    std::size_t l = 0;
    while (l < lanes && keys[l] == setup_keys_[l]) ++l;
    if (l == lanes) {
      shared_ = compact;
      return;
    }
  }
  // Every lane's key has AES-128 halves (32 bytes: admit() sends the
  // others to the fallback), so K2 is 16 bytes after K1 (RFC 5297 §2.2),
  // as in zero_key_; the kernels read the first `groups` lane groups only.
  const std::size_t groups = compact ? 1 : groups_;
  const std::uint8_t* k1[kChunk];
  const std::uint8_t* k2[kChunk];
  for (std::size_t l = 0; l < groups * vaes::kLanesPerGroup; ++l) {
    k1[l] = keys[l] != nullptr ? keys[l]->bytes().data() : zero_key_;
    k2[l] = k1[l] + 16;
  }
  vaes::setup(k1, k2, groups, mac_keys_, ctr ? &ctr_keys_ : nullptr, sk1_, sk2_, d0_);
  ctr_keys_used_ |= ctr;
  wipe_groups_ = std::max(wipe_groups_, groups);
  setup_keys_ = keys;
  setup_groups_ = groups;
  setup_ctr_ = ctr;
  setup_compact_ = compact;
  shared_ = compact;
}

void VaesSiv::run_cmac(std::size_t steps) noexcept {
  if (steps == 0) return;
  vaes::cbc_mac(mac_keys_, groups_, blocks_, steps);
  std::memset(blocks_.reset, 0, steps * sizeof(blocks_.reset[0]));  // ready for the next pass
  used_steps_ = std::max(used_steps_, steps);
}

// RFC 5297 §2.4: D = CMAC(0^128); D = dbl(D) xor CMAC(S_i) for each component.
void VaesSiv::ad_pass(std::span<const SivOp> ops) noexcept {
  std::size_t steps = 0;
  for (std::size_t l = 0; l < ops.size(); ++l) {
    if (!lanes_[l].active) continue;
    const SivOp& op = ops[l];
    steps = std::max(steps, vaes::emit_ad(blocks_, l, op.ad.data(), op.ad_count, sk1_[l], sk2_[l],
                                          lanes_[l].ad_end.data()));
  }
  run_cmac(steps);
  for (std::size_t l = 0; l < ops.size(); ++l) {
    LaneState& ln = lanes_[l];
    if (!ln.active) continue;
    Block d = d0_[l];
    for (std::size_t j = 0; j < ops[l].ad_count; ++j)
      d = xor_blocks(dbl(d), blocks_.blk[ln.ad_end[j]][l]);
    ln.d = d;
  }
  lanes_used_ = true;
}

void VaesSiv::t_pass(std::span<const Bytes> msg) noexcept {
  std::size_t steps = 0;
  for (std::size_t l = 0; l < msg.size(); ++l) {
    LaneState& ln = lanes_[l];
    if (!ln.active) continue;
    const std::size_t end =
        vaes::emit_t(blocks_, l, msg[l].data(), msg[l].size(), ln.d, sk1_[l], sk2_[l]);
    ln.t_end = static_cast<std::uint8_t>(end - 1);
    steps = std::max(steps, end);
  }
  run_cmac(steps);
}

void VaesSiv::ctr_pass(std::span<const Bytes> src, std::span<std::uint8_t* const> dst) noexcept {
  std::size_t steps = 0;
  for (std::size_t l = 0; l < src.size(); ++l)
    if (lanes_[l].active) steps = std::max(steps, (src[l].size() + 15) / 16);
  if (steps == 0) return;
  vaes::ctr_keystream(ctr_keys_, groups_, q_, blocks_, steps);
  used_steps_ = std::max(used_steps_, steps);
  for (std::size_t l = 0; l < src.size(); ++l)
    if (lanes_[l].active) vaes::xor_keystream(blocks_, l, src[l].data(), dst[l], src[l].size());
}

bool VaesSiv::uniform(std::span<const SivOp> ops, bool sealing) noexcept {
  const SivOp* first = nullptr;
  const std::size_t lanes = groups_ * vaes::kLanesPerGroup;
  for (std::size_t l = 0; l < lanes; ++l) {
    if (!lanes_[l].active) {
      for (auto& a : uni_.ad) a[l] = vaes::kZeros;
      uni_.in[l] = uni_.msg[l] = uni_.tag_in[l] = vaes::kZeros;
      uni_.out[l] = uni_.tag_out[l] = nullptr;
      continue;
    }
    const SivOp& op = ops[l];
    if (first == nullptr) {
      first = &op;
      uni_.ad_count = op.ad_count;
      for (std::size_t j = 0; j < op.ad_count; ++j) uni_.ad_len[j] = op.ad[j].size();
      uni_.msg_len = msg_len(op, sealing);
    } else {
      if (op.ad_count != uni_.ad_count || msg_len(op, sealing) != uni_.msg_len) return false;
      for (std::size_t j = 0; j < op.ad_count; ++j)
        if (op.ad[j].size() != uni_.ad_len[j]) return false;
    }
    for (std::size_t j = 0; j < op.ad_count; ++j) uni_.ad[j][l] = op.ad[j].data();
    if (sealing) {
      uni_.in[l] = uni_.msg[l] = op.in.data();
      uni_.tag_out[l] = op.out.data();
      uni_.out[l] = op.out.data() + kSivTagLen;
    } else {
      uni_.tag_in[l] = op.in.data();
      uni_.in[l] = op.in.data() + kSivTagLen;
      uni_.out[l] = op.out.data();
      uni_.msg[l] = op.out.data();
    }
  }
  // An empty message has no bytes to point at: any readable pointer will do.
  if (uni_.msg_len == 0)
    for (std::size_t l = 0; l < lanes; ++l) {
      uni_.msg[l] = uni_.in[l] = vaes::kZeros;
      uni_.out[l] = nullptr;
    }
  for (std::size_t j = 0; j < uni_.ad_count; ++j)
    if (uni_.ad_len[j] == 0)
      for (std::size_t l = 0; l < lanes; ++l) uni_.ad[j][l] = vaes::kZeros;
  return first != nullptr;
}

void VaesSiv::seal_chunk(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept {
  // admit_fast takes every op (lanes_ is not written); admit() may leave
  // some to the fallback, and its active lanes are the ones to report.
  const bool all = admit_fast(ops, true);
  if (!all && !admit(ops, status, true)) return;
  if (all || uniform_) {
    vaes::seal_uniform(*cur_mac_, uni_.msg_len != 0 ? cur_ctr_ : nullptr, groups_, shared_,
                       *cur_sk1_, *cur_sk2_, *cur_d0_, uni_);
    for (std::size_t l = 0; l < ops.size(); ++l)
      if (all || lanes_[l].active) status[l] = SivStatus::kOk;
    return;
  }
  ad_pass(ops);
  std::array<Bytes, kChunk> msg{};
  std::array<std::uint8_t*, kChunk> body{};
  for (std::size_t l = 0; l < ops.size(); ++l)
    if (lanes_[l].active) msg[l] = ops[l].in;
  t_pass(msg);
  for (std::size_t l = 0; l < ops.size(); ++l) {
    if (!lanes_[l].active) continue;
    std::memcpy(ops[l].out.data(), v(l).b, kSivTagLen);  // the SIV (RFC 5297 §2.6)
    q_[l] = ctr_iv(v(l).b);
    body[l] = ops[l].out.data() + kSivTagLen;
    status[l] = SivStatus::kOk;
  }
  ctr_pass(msg, body);
}

void VaesSiv::open_chunk(std::span<const SivOp> ops, std::span<SivStatus> status) noexcept {
  const bool all = admit_fast(ops, false);  // as in seal_chunk
  if (!all && !admit(ops, status, false)) return;
  if (all || uniform_) {
    const std::uint32_t ok = vaes::open_uniform(*cur_mac_, uni_.msg_len != 0 ? cur_ctr_ : nullptr,
                                                groups_, shared_, *cur_sk1_, *cur_sk2_, *cur_d0_, uni_);
    for (std::size_t l = 0; l < ops.size(); ++l) {
      if (!all && !lanes_[l].active) continue;
      const bool good = (ok >> l) & 1u;
      // RFC 5297 §2.7: no plaintext on failure.
      if (!good && !ops[l].out.empty()) std::memset(ops[l].out.data(), 0, ops[l].out.size());
      status[l] = good ? SivStatus::kOk : SivStatus::kAuthFail;
    }
    return;
  }
  // RFC 5297 §2.7: decrypt with Q from the received SIV, then S2V over the result.
  std::array<Bytes, kChunk> msg{};
  std::array<std::uint8_t*, kChunk> out{};
  for (std::size_t l = 0; l < ops.size(); ++l) {
    if (!lanes_[l].active) continue;
    q_[l] = ctr_iv(ops[l].in.data());
    msg[l] = ops[l].in.subspan(kSivTagLen);
    out[l] = ops[l].out.data();
  }
  ctr_pass(msg, out);
  ad_pass(ops);
  for (std::size_t l = 0; l < ops.size(); ++l)
    if (lanes_[l].active) msg[l] = ops[l].out;
  t_pass(msg);
  for (std::size_t l = 0; l < ops.size(); ++l) {
    if (!lanes_[l].active) continue;
    const bool ok = tags_equal(v(l).b, ops[l].in.data());
    if (!ok && !ops[l].out.empty()) std::memset(ops[l].out.data(), 0, ops[l].out.size());
    status[l] = ok ? SivStatus::kOk : SivStatus::kAuthFail;
  }
}

}  // namespace mb

std::unique_ptr<SivEngine> make_vaes_engine() {
  if (!mb::vaes::cpu_supported()) return nullptr;
  auto fallback = make_aesni_engine();  // VAES implies AES-NI and AVX
  if (!fallback) fallback = make_scalar_engine();
  return std::unique_ptr<SivEngine>(new (std::nothrow) mb::VaesSiv(std::move(fallback)));
}

}  // namespace ntsd::crypto
