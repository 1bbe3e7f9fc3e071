// Cross-checks the multi-buffer AES-SIV engine against the scalar reference
// (issue 2): every plaintext length 0..512, every burst size 1..64 (and a few
// larger ones that the engine splits into chunks), mixed and shared keys,
// seal and open, tampered inputs, malformed ops and aliasing buffers.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "alloc_counter.hpp"
#include "crosscheck.hpp"
#include "mb_aesni_siv.hpp"
#include "mb_block.hpp"
#include "mb_vaes_siv.hpp"
#include "siv_burst.hpp"
#include "test_util.hpp"
#if __has_include("wycheproof_runner.hpp")
#include "wycheproof_runner.hpp"
#endif

namespace ntsd::test {
namespace {

using crypto::kSivTagLen;

std::uint64_t seed() { return test_seed(0x6e747364); }

class MbCrossCheck : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    scalar_ = crypto::make_scalar_engine();
    ASSERT_TRUE(scalar_);
    if (GetParam() == "vaes-x16") {
      // Only on CPUs with VAES and AVX-512 (this one has them); elsewhere the
      // AES-NI engine, tested below, is what runs.
      mb_ = crypto::make_vaes_engine();
      if (!mb_) GTEST_SKIP() << "no VAES/AVX-512 on this CPU";
    } else {
      mb_ = GetParam() == "ipsec-mb" ? crypto::make_mb_engine() : crypto::make_aesni_engine();
    }
    // This machine has AES-NI: both of those burst engines must be available here.
    ASSERT_TRUE(mb_) << GetParam() << " engine unavailable";
    ASSERT_EQ(mb_->name(), GetParam());
  }

  // Seals the burst with both engines, compares, then opens the result with
  // both engines (some ops tampered) and compares again (crosscheck.hpp).
  void cross_check(Burst& b, MtRng& rng, const std::string& what) {
    test::cross_check(*scalar_, *mb_, b.ops, b.plain, rng, what, SealOk::kAll);
  }

  std::unique_ptr<crypto::SivEngine> scalar_, mb_;
};

TEST_P(MbCrossCheck, EveryPlaintextLength) {
  MtRng rng{std::mt19937_64(seed())};
  for (std::size_t len = 0; len <= 512; ++len) {
    BurstShape shape;
    shape.ops = 1 + rng.below(64);
    shape.min_len = shape.max_len = len;
    shape.max_ad_count = 1 + rng.below(2);
    Burst b = Burst::make(rng, shape);
    cross_check(b, rng, "len " + std::to_string(len));
    if (HasFatalFailure()) return;
  }
}

TEST_P(MbCrossCheck, EveryBurstSize) {
  MtRng rng{std::mt19937_64(seed() + 1)};
  for (std::size_t n = 1; n <= 64; ++n) {
    BurstShape shape;
    shape.ops = n;
    Burst b = Burst::make(rng, shape);
    cross_check(b, rng, "burst " + std::to_string(n));
    if (HasFatalFailure()) return;
  }
  // Larger bursts are processed in chunks.
  for (std::size_t n : {65u, 127u, 128u, 200u}) {
    BurstShape shape;
    shape.ops = n;
    Burst b = Burst::make(rng, shape);
    cross_check(b, rng, "burst " + std::to_string(n));
    if (HasFatalFailure()) return;
  }
}

TEST_P(MbCrossCheck, AdComponentCountsAndAes192) {
  // 0..kMaxAdComponents components; 48-byte keys go through the fallback.
  MtRng rng{std::mt19937_64(seed() + 2)};
  for (int round = 0; round < 40; ++round) {
    BurstShape shape;
    shape.ops = 1 + rng.below(64);
    shape.max_ad_count = crypto::kMaxAdComponents;
    shape.allow_aes192 = true;
    Burst b = Burst::make(rng, shape);
    cross_check(b, rng, "round " + std::to_string(round));
    if (HasFatalFailure()) return;
  }
}

TEST_P(MbCrossCheck, MoreJobsThanTheIpsecMbRing) {
  // 64 ops with 4 AD components and 64 distinct keys put 320 CMAC jobs in one
  // pass, more than IPsec-MB's job ring holds (IMB_MAX_JOBS = 256): the
  // engine must consume the jobs the manager hands back early.
  MtRng rng{std::mt19937_64(seed() + 6)};
  BurstShape shape;
  shape.ops = 64;
  shape.max_ad_count = crypto::kMaxAdComponents;
  Burst b = Burst::make(rng, shape);
  std::vector<SivKey> own;
  own.reserve(b.ops.size());
  for (auto& op : b.ops) {
    op.ad_count = crypto::kMaxAdComponents;
    for (std::size_t j = 0; j < crypto::kMaxAdComponents; ++j) {
      auto& a = b.ad[(&op - b.ops.data()) * crypto::kMaxAdComponents + j];
      a.resize(1 + rng.below(300));
      rng.fill(a.data(), a.size());
      op.ad[j] = a;
    }
    own.push_back(*op.key);
    op.key = &own.back();
  }
  cross_check(b, rng, "320 jobs");
}

TEST_P(MbCrossCheck, LongMessages) {
  // Beyond NTS sizes: multi-KiB plaintexts and AD (many CBC-MAC steps per
  // lane, long CTR runs, lanes finishing at very different times).
  MtRng rng{std::mt19937_64(seed() + 7)};
  for (int round = 0; round < 4; ++round) {
    BurstShape shape;
    shape.ops = 1 + rng.below(20);
    shape.min_len = 513;
    shape.max_len = 20000;
    shape.max_ad = 3000;
    Burst b = Burst::make(rng, shape);
    cross_check(b, rng, "long, round " + std::to_string(round));
    if (HasFatalFailure()) return;
  }
}

TEST_P(MbCrossCheck, LaneLengthBoundary) {
  // The VAES engine takes an op only if each of its passes fits one lane
  // (mb_vaes.hpp kMaxSteps = 96 blocks, 1536 bytes) and hands longer ones to
  // the AES-NI engine. Ops right at and past that limit, for the plaintext
  // and for the AD (one component, or split so that only the per-component
  // padding crosses it), mixed with NTS-sized ops in the same burst.
  MtRng rng{std::mt19937_64(seed() + 9)};
  struct Shape {
    std::size_t plain;
    std::vector<std::size_t> ad;
  };
  const Shape shapes[] = {
      {1535, {16}},        {1536, {16}},      {1537, {16}},       {0, {1536}},
      {0, {1537}},         {104, {1520, 16}}, {104, {1521, 16}},  {64, {1504, 0, 16}},
      {64, {1505, 0, 16}}, {0, {188, 16}},    {104, {84, 16}},    {1552, {}},
      {16, {1536, 1}},     {15, {1535}},      {17, {0, 0, 0, 0}}, {0, {}},
  };
  for (int round = 0; round < 3; ++round) {
    BurstShape shape;
    shape.ops = 2 * std::size(shapes);
    Burst b = Burst::make(rng, shape);
    for (std::size_t i = 0; i < b.ops.size(); ++i) {
      const Shape& sh = shapes[(i + static_cast<std::size_t>(round)) % std::size(shapes)];
      SivOp& op = b.ops[i];
      op.ad_count = static_cast<std::uint8_t>(sh.ad.size());
      for (std::size_t j = 0; j < sh.ad.size(); ++j) {
        auto& a = b.ad[i * crypto::kMaxAdComponents + j];
        a.resize(sh.ad[j]);
        rng.fill(a.data(), a.size());
        op.ad[j] = a;
      }
      b.plain[i].resize(sh.plain);
      rng.fill(b.plain[i].data(), b.plain[i].size());
      op.in = b.plain[i];
    }
    cross_check(b, rng, "round " + std::to_string(round));
    if (HasFatalFailure()) return;
  }
}

TEST_P(MbCrossCheck, SharedKeyAcrossChunks) {
  // One key for a whole multi-chunk burst (cookies): an engine may keep the
  // key's set-up from one chunk for the next. Covers a later chunk needing
  // the CTR key when the first did not (empty plaintexts first), a shorter
  // last chunk, and a key change in one lane only.
  MtRng rng{std::mt19937_64(seed() + 10)};
  for (std::size_t n : {32u, 48u, 40u, 33u}) {
    BurstShape shape;
    shape.ops = n;
    Burst b = Burst::make(rng, shape);
    for (std::size_t i = 0; i < n; ++i) {
      b.ops[i].key = &b.keys[0];
      if (i < 16) {
        b.plain[i].clear();
        b.ops[i].in = b.plain[i];
      }
    }
    if (n == 40) b.ops[37].key = &b.keys.back();  // one lane differs in the last chunk
    cross_check(b, rng, "shared key, burst " + std::to_string(n));
    if (HasFatalFailure()) return;
  }
}

TEST_P(MbCrossCheck, NoAllocationPerBurst) {
  // The hot path allocates nothing (DEVELOPERS.md): seal and open 130 ops
  // (three chunks), every key size the engine handles itself.
  MtRng rng{std::mt19937_64(seed() + 8)};
  BurstShape shape;
  shape.ops = 130;
  Burst b = Burst::make(rng, shape);
  auto sealed = Outputs::for_ops(b.ops, true);
  const auto ops = open_ops(b.ops, sealed);
  auto opened = Outputs::for_ops(ops, false);
  mb_->seal(sealed.ops, sealed.status);  // warm-up: lazily initialised state
  mb_->open(opened.ops, opened.status);
  const std::size_t before = operator_new_calls();
  mb_->seal(sealed.ops, sealed.status);
  mb_->open(opened.ops, opened.status);
  EXPECT_EQ(operator_new_calls(), before);
  for (auto st : opened.status) ASSERT_EQ(st, SivStatus::kOk);
  auto probe = std::make_unique<int>(1);  // the counter does count
  EXPECT_GT(operator_new_calls(), before);
}

TEST_P(MbCrossCheck, NtsShapes) {
  // The shapes NTS uses: 188-byte AD + 16-byte nonce, plaintext 0/64/104,
  // one key shared by the whole burst (cookies) and one key per op (requests).
  MtRng rng{std::mt19937_64(seed() + 3)};
  for (std::size_t len : {0u, 64u, 104u}) {
    BurstShape shape;
    shape.ops = 32;
    shape.min_len = shape.max_len = len;
    Burst b = Burst::make(rng, shape);
    for (std::size_t i = 0; i < b.ops.size(); ++i) {
      auto& ad = b.ad[i * crypto::kMaxAdComponents];
      auto& nonce = b.ad[i * crypto::kMaxAdComponents + 1];
      ad.resize(188);
      nonce.resize(16);
      rng.fill(ad.data(), ad.size());
      rng.fill(nonce.data(), nonce.size());
      b.ops[i].ad_count = 2;
      b.ops[i].ad[0] = ad;
      b.ops[i].ad[1] = nonce;
      if (len == 64) b.ops[i].key = &b.keys[0];  // one shared key
    }
    cross_check(b, rng, "nts len " + std::to_string(len));
    if (HasFatalFailure()) return;
  }
}

// Bursts whose ops all have one shape (the same AD component count and
// lengths, the same plaintext length): the VAES engine's uniform-chunk path
// (issue 17), which reads the lanes' bytes straight into registers. Every
// plaintext and AD length up to 3 blocks and a few more, burst sizes that
// leave idle lanes in a register (2, 5, 18, 31) and full chunks (16, 32).
TEST_P(MbCrossCheck, UniformShapes) {
  MtRng rng{std::mt19937_64(seed() + 7)};
  const std::size_t sizes[] = {2, 5, 16, 18, 31, 32};
  std::size_t round = 0;
  for (std::size_t len = 0; len <= 64; ++len) {
    for (std::size_t ad_count = 0; ad_count <= 3; ++ad_count) {
      BurstShape shape;
      shape.ops = sizes[round++ % std::size(sizes)];
      shape.min_len = shape.max_len = len;
      Burst b = Burst::make(rng, shape);
      std::size_t ad_len[crypto::kMaxAdComponents] = {};
      for (std::size_t j = 0; j < ad_count; ++j)
        ad_len[j] = (len * 7 + j * 13 + rng.below(50)) % 70;
      if (ad_count == 2 && len % 3 == 0) ad_len[0] = 188, ad_len[1] = 16;  // an NTS request
      for (std::size_t i = 0; i < b.ops.size(); ++i) {
        b.ops[i].ad_count = static_cast<std::uint8_t>(ad_count);
        for (std::size_t j = 0; j < ad_count; ++j) {
          auto& a = b.ad[i * crypto::kMaxAdComponents + j];
          a.resize(ad_len[j]);
          rng.fill(a.data(), a.size());
          b.ops[i].ad[j] = a;
        }
      }
      cross_check(b, rng,
                  "uniform len " + std::to_string(len) + " ad_count " + std::to_string(ad_count));
      if (HasFatalFailure()) return;
    }
  }
  for (std::size_t len : {100u, 104u, 255u, 256u, 1000u}) {
    BurstShape shape;
    shape.ops = 17;
    shape.min_len = shape.max_len = len;
    shape.max_ad_count = 0;
    Burst b = Burst::make(rng, shape);
    cross_check(b, rng, "uniform len " + std::to_string(len));
    if (HasFatalFailure()) return;
  }
}

TEST_P(MbCrossCheck, WrongKeyAndWrongAdFail) {
  MtRng rng{std::mt19937_64(seed() + 4)};
  BurstShape shape;
  shape.ops = 16;
  shape.max_ad_count = 2;
  Burst b = Burst::make(rng, shape);
  auto sealed = Outputs::for_ops(b.ops, true);
  mb_->seal(sealed.ops, sealed.status);
  auto ops = open_ops(b.ops, sealed);
  std::uint8_t other_raw[32];
  rng.fill(other_raw, sizeof other_raw);
  const auto other = *SivKey::from_bytes(other_raw);
  std::vector<std::uint8_t> extra{1, 2, 3};
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (i % 2 == 0) {
      ops[i].key = &other;
    } else {
      ops[i].ad[ops[i].ad_count] = extra;  // one more AD component
      ops[i].ad_count = static_cast<std::uint8_t>(ops[i].ad_count + 1);
    }
  }
  auto ref = Outputs::for_ops(ops, false);
  auto got = Outputs::for_ops(ops, false);
  scalar_->open(ref.ops, ref.status);
  mb_->open(got.ops, got.status);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    EXPECT_EQ(got.status[i], SivStatus::kAuthFail) << i;
    EXPECT_EQ(ref.status[i], got.status[i]) << i;
    for (auto c : got.buf[i]) ASSERT_EQ(c, 0) << i;
  }
}

TEST_P(MbCrossCheck, MalformedOpsMatchReference) {
  std::uint8_t raw[32] = {1};
  const auto key = *SivKey::from_bytes(raw);
  std::vector<std::uint8_t> in(40, 7), out(80, 0xA5), ref_out(80, 0xA5);
  auto make = [&](std::vector<std::uint8_t>& o, std::size_t in_len, std::size_t out_len,
                  const SivKey* k, std::uint8_t ad_count) {
    SivOp op;
    op.key = k;
    op.ad_count = ad_count;
    op.in = std::span<const std::uint8_t>(in).first(in_len);
    op.out = std::span<std::uint8_t>(o).first(out_len);
    return op;
  };
  struct Case {
    std::size_t in_len, out_len;
    bool key;
    std::uint8_t ad_count;
  };
  const Case cases[] = {
      {10, 26, false, 1},                            // no key
      {10, 26, true, crypto::kMaxAdComponents + 1},  // too many components
      {10, 25, true, 1},                             // out too short (seal)
      {10, 27, true, 1},                             // out too long (seal)
      {15, 0, true, 1},                              // open: shorter than the tag
      {32, 17, true, 1},                             // open: out of the wrong size
  };
  for (const auto& c : cases) {
    for (bool sealing : {true, false}) {
      SivOp op = make(out, c.in_len, c.out_len, c.key ? &key : nullptr, c.ad_count);
      SivOp rop = make(ref_out, c.in_len, c.out_len, c.key ? &key : nullptr, c.ad_count);
      // Put the malformed op in the middle of a valid burst.
      std::vector<std::uint8_t> vin(20, 3), vout(36), rvout(36);
      SivOp good = make(vout, 0, 0, &key, 1);
      good.in = vin;
      // A well-formed op: seals 20 bytes, or fails to authenticate 20 bytes.
      good.out = sealing ? std::span<std::uint8_t>(vout) : std::span<std::uint8_t>(vout).first(4);
      SivOp rgood = good;
      rgood.out = std::span<std::uint8_t>(rvout).first(good.out.size());
      SivOp ops[3] = {good, op, good};
      std::vector<std::uint8_t> vout2(36), rvout2(36);
      ops[2].out = std::span<std::uint8_t>(vout2).first(good.out.size());
      SivOp rops[3] = {rgood, rop, rgood};
      rops[2].out = std::span<std::uint8_t>(rvout2).first(good.out.size());
      SivStatus st[3], rst[3];
      crypto::mb::run_ops(*mb_, sealing, ops, st);
      crypto::mb::run_ops(*scalar_, sealing, rops, rst);
      for (int i = 0; i < 3; ++i) EXPECT_EQ(st[i], rst[i]) << i << " sealing " << sealing;
      EXPECT_NE(st[1], SivStatus::kOk);
      EXPECT_EQ(to_hex(out), to_hex(ref_out));
      EXPECT_EQ(to_hex(vout), to_hex(rvout));
    }
  }
}

TEST_P(MbCrossCheck, OverlappingBuffersRefusedLikeReference) {
  // siv.hpp: `out` overlapping `in` or an AD component is kBadInput, for
  // every engine; the op must not be processed at all.
  std::uint8_t raw[32] = {9};
  const auto key = *SivKey::from_bytes(raw);
  for (bool sealing : {true, false}) {
    for (int where = 0; where < 3; ++where) {
      std::vector<std::uint8_t> buf(96, 0x11), ref_buf(96, 0x11);
      auto make = [&](std::vector<std::uint8_t>& m) {
        SivOp op;
        op.key = &key;
        op.ad_count = 1;
        op.ad[0] = std::span<const std::uint8_t>(m).subspan(80, 16);
        const std::size_t in_len = sealing ? 20 : 36, out_len = sealing ? 36 : 20;
        op.out = std::span<std::uint8_t>(m).subspan(where == 2 ? 70 : 0, out_len);
        op.in = std::span<const std::uint8_t>(m).subspan(where == 0 ? 10 : 40, in_len);
        return op;
      };
      const SivOp op = make(buf), rop = make(ref_buf);
      SivStatus st = SivStatus::kOk, rst = SivStatus::kOk;
      crypto::mb::run_ops(*mb_, sealing, {&op, 1}, {&st, 1});
      crypto::mb::run_ops(*scalar_, sealing, {&rop, 1}, {&rst, 1});
      if (where != 1) {
        EXPECT_EQ(st, SivStatus::kBadInput) << where;
      } else {
        EXPECT_EQ(st, sealing ? SivStatus::kOk : SivStatus::kAuthFail) << where;
      }
      EXPECT_EQ(st, rst) << where << " sealing " << sealing;
      EXPECT_EQ(to_hex(buf), to_hex(ref_buf)) << where << " sealing " << sealing;
    }
  }
}

#if __has_include("wycheproof_runner.hpp")
TEST_P(MbCrossCheck, WycheproofVectors) {
  // The crypto-core runner: every Wycheproof AES-SIV vector (256/384/512-bit
  // keys, invalid tags included), single ops and bursts, through this engine.
  for (std::size_t burst : {1u, 7u, 32u, 64u, 100u}) {
    SCOPED_TRACE("burst " + std::to_string(burst));
    const auto n = run_wycheproof_siv(*mb_, burst);
    EXPECT_EQ(n.total(), kWycheproofSivVectors);
    EXPECT_GT(n.invalid, 0u);
  }
}
#endif

TEST_P(MbCrossCheck, Rfc5297Examples) {
  // RFC 5297 Appendix A.1 (deterministic, one AD component) and A.2 (nonce-based,
  // two AD components and the nonce), independent of the reference engine.
  struct Vec {
    const char* key;
    std::vector<const char*> ad;
    const char* plain;
    const char* out;
  };
  const Vec vecs[] = {
      {"fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
       {"101112131415161718191a1b1c1d1e1f2021222324252627"},
       "112233445566778899aabbccddee",
       "85632d07c6e8f37f950acd320a2ecc9340c02b9690c4dc04daef7f6afe5c"},
      {"7f7e7d7c7b7a79787776757473727170404142434445464748494a4b4c4d4e4f",
       {"00112233445566778899aabbccddeeffdeaddadadeaddadaffeeddccbbaa99887766554433221100",
        "102030405060708090a0", "09f911029d74e35bd84156c5635688c0"},
       "7468697320697320736f6d6520706c61696e7465787420746f20656e6372797074207573696e67205349562d"
       "414553",
       "7bdb6e3b432667eb06f4d14bff2fbd0fcb900f2fddbe404326601965c889bf17dba77ceb094fa663b7a3f748"
       "ba8af829ea64ad544a272e9c485b62a3fd5c0d"},
  };
  for (const auto& v : vecs) {
    const auto key = *SivKey::from_bytes(from_hex(v.key));
    std::vector<std::vector<std::uint8_t>> ad;
    for (auto a : v.ad) ad.push_back(from_hex(a));
    const auto plain = from_hex(v.plain);
    std::vector<std::uint8_t> out(plain.size() + kSivTagLen), back(plain.size());
    SivOp op;
    op.key = &key;
    op.ad_count = static_cast<std::uint8_t>(ad.size());
    for (std::size_t j = 0; j < ad.size(); ++j) op.ad[j] = ad[j];
    op.in = plain;
    op.out = out;
    ASSERT_EQ(mb_->seal_one(op), SivStatus::kOk);
    EXPECT_EQ(to_hex(out), v.out);
    // Also inside a burst: an engine may take single ops another way (the
    // VAES engine hands them to the AES-NI one).
    std::vector<std::uint8_t> out2(out.size()), back2(back.size());
    SivOp pair[2] = {op, op};
    pair[1].out = out2;
    SivStatus st[2];
    mb_->seal(pair, st);
    EXPECT_EQ(st[0], SivStatus::kOk);
    EXPECT_EQ(st[1], SivStatus::kOk);
    EXPECT_EQ(to_hex(out), v.out);
    EXPECT_EQ(to_hex(out2), v.out);
    op.in = out;
    op.out = back;
    ASSERT_EQ(mb_->open_one(op), SivStatus::kOk);
    EXPECT_EQ(to_hex(back), v.plain);
    pair[0] = op;
    pair[1] = op;
    pair[1].out = back2;
    mb_->open(pair, st);
    EXPECT_EQ(st[0], SivStatus::kOk);
    EXPECT_EQ(st[1], SivStatus::kOk);
    EXPECT_EQ(to_hex(back2), v.plain);
  }
}

// One bad op in an otherwise uniform, NTS-shaped burst of 32 (188-byte AD and
// a 16-byte nonce; plaintext 0 or 104 bytes; one key per op or one shared
// key): the VAES engine admits such chunks in one pass (issue 17), and an op
// that pass must refuse (no key, a wiped key, another key size, `out`
// overlapping an input, a wrong size, another AD count) must get exactly the
// reference's status and leave exactly the reference's bytes, as must its
// neighbours. The op sits at the start, middle and end of either chunk.
TEST_P(MbCrossCheck, UniformBurstWithOneBadOp) {
  MtRng rng{std::mt19937_64(seed() + 11)};
  constexpr std::size_t kOps = 32, kStride = 512, kAd = 0, kNonce = 188, kIn = 256, kOut = 384;
  std::vector<SivKey> own;
  for (std::size_t i = 0; i < kOps; ++i) {
    std::uint8_t raw[32];
    rng.fill(raw, sizeof raw);
    own.push_back(*SivKey::from_bytes(raw));
  }
  std::uint8_t raw64[64], raw16[16];
  rng.fill(raw64, sizeof raw64);
  rng.fill(raw16, sizeof raw16);
  const SivKey k64 = *SivKey::from_bytes(raw64), k16 = *SivKey::from_bytes(raw16), wiped;
  enum Bad { kNoKey, kWiped, kAes256, kGcmSiv, kOutOverIn, kOutOverAd, kOutOverNonce, kOutLen,
             kThreeAd, kCount };
  for (const bool sealing : {true, false}) {
    for (const std::size_t len : {0u, 104u}) {
      for (const bool shared : {false, true}) {
        // The arena: op i's AD, nonce, input and output at i * kStride.
        std::vector<std::uint8_t> base(kOps * kStride);
        rng.fill(base.data(), base.size());
        const auto make_ops = [&](std::vector<std::uint8_t>& m, bool seal) {
          std::vector<SivOp> ops(kOps);
          for (std::size_t i = 0; i < kOps; ++i) {
            std::uint8_t* p = m.data() + i * kStride;
            const std::size_t in_len = seal ? len : len + kSivTagLen;
            ops[i] = crypto::make_aead_op(shared ? own[0] : own[i], {p + kAd, 188},
                                          {p + kNonce, 16}, {p + kIn, in_len},
                                          {p + kOut, seal ? len + kSivTagLen : len});
          }
          return ops;
        };
        if (!sealing) {  // inputs that open: the reference's seal of each op
          std::vector<std::uint8_t> sealed = base;
          auto sops = make_ops(sealed, true);
          std::vector<SivStatus> st(kOps);
          scalar_->seal(sops, st);
          for (std::size_t i = 0; i < kOps; ++i)
            std::memcpy(base.data() + i * kStride + kIn, sealed.data() + i * kStride + kOut,
                        len + kSivTagLen);
        }
        for (int bad = 0; bad < kCount; ++bad) {
          for (const std::size_t pos : {0u, 7u, 15u, 16u, 31u}) {
            SCOPED_TRACE("sealing " + std::to_string(sealing) + " len " + std::to_string(len) +
                         " shared " + std::to_string(shared) + " bad " + std::to_string(bad) +
                         " pos " + std::to_string(pos));
            std::vector<std::uint8_t> got_m = base, ref_m = base;
            auto got = make_ops(got_m, sealing), ref = make_ops(ref_m, sealing);
            for (auto* v : {&got, &ref}) {
              SivOp& op = (*v)[pos];
              std::uint8_t* p = const_cast<std::uint8_t*>(op.ad[0].data());
              switch (bad) {
                case kNoKey: op.key = nullptr; break;
                case kWiped: op.key = &wiped; break;
                case kAes256: op.key = &k64; break;
                case kGcmSiv: op.key = &k16; break;
                case kOutOverIn: op.out = {p + kIn + 8, op.out.size()}; break;
                case kOutOverAd: op.out = {p + kAd + 100, op.out.size()}; break;
                case kOutOverNonce: op.out = {p + kNonce + 4, op.out.size()}; break;
                case kOutLen: op.out = op.out.first(op.out.size() - 1); break;
                case kThreeAd:
                  op.ad[2] = {p + kNonce, 16};
                  op.ad_count = 3;
                  break;
              }
            }
            std::vector<SivStatus> gst(kOps, SivStatus::kBadInput), rst(kOps, SivStatus::kOk);
            crypto::mb::run_ops(*mb_, sealing, got, gst);
            crypto::mb::run_ops(*scalar_, sealing, ref, rst);
            for (std::size_t i = 0; i < kOps; ++i) ASSERT_EQ(gst[i], rst[i]) << "op " << i;
            ASSERT_EQ(to_hex(got_m), to_hex(ref_m));
          }
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, MbCrossCheck,
                         ::testing::Values("ipsec-mb", "aesni-x8", "vaes-x16"), [](const auto& p) {
                           return p.param == "ipsec-mb"   ? "IpsecMb"
                                  : p.param == "aesni-x8" ? "AesniX8"
                                                          : "VaesX16";
                         });

TEST(MbEngineSelection, BestEngineIsTheFastestAvailable) {
  // VAES + AVX-512 (this CPU): the VAES engines; AES-NI only: the AES-NI ones.
  // make_best_engine() pairs the AES-SIV engine with the GCM-SIV one (AeadDispatch).
  auto best = crypto::make_best_engine();
  ASSERT_TRUE(best);
  EXPECT_STREQ(best->name(), crypto::make_vaes_engine() ? "vaes-x16+gcmsiv-vaes-x16"
                                                        : "aesni-x8+gcmsiv-aesni-x8");
}

}  // namespace
}  // namespace ntsd::test
