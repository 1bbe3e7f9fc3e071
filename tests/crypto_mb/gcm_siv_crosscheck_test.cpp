// Cross-checks the burst AES-128-GCM-SIV engines (gcmsiv-vaes-x16,
// gcmsiv-aesni-x8) and make_best_engine()'s AEAD dispatch against the scalar
// reference, bit for bit: the RFC 8452 and Wycheproof vectors in bursts,
// every message length 0..512, every AAD length 0..300, every burst size
// 1..64 and a few larger, one shared key (a cookie phase) and many, ops past
// a lane's pass (handed to the reference), AES-SIV ops and malformed ops
// mixed in, tampered inputs, the counter wrap, and no allocation per call.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <string>

#include "alloc_counter.hpp"
#include "crosscheck.hpp"
#include "gcm_siv_burst.hpp"
#include "gcm_siv_runner.hpp"
#include "mb_gcm_siv.hpp"
#include "siv_burst.hpp"
#include "test_util.hpp"

namespace ntsd::test {
namespace {

std::uint64_t seed() { return test_seed(0x6763736976); }

std::unique_ptr<crypto::SivEngine> make(const std::string& name) {
  if (name == "gcmsiv-vaes-x16") return crypto::make_gcm_siv_vaes_engine();
  if (name == "gcmsiv-aesni-x8") return crypto::make_gcm_siv_aesni_engine();
  return crypto::make_best_engine();
}

class GcmSivCrossCheck : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ref_ = crypto::make_scalar_engine();
    eng_ = make(GetParam());
    // This machine has AES-NI and PCLMULQDQ; VAES/VPCLMULQDQ only on AVX-512 CPUs.
    if (!eng_ && GetParam() == "gcmsiv-vaes-x16") GTEST_SKIP() << "no VAES/VPCLMULQDQ on this CPU";
    ASSERT_TRUE(eng_) << GetParam();
  }

  // Seals with both engines and compares; then opens the reference's output
  // (about a quarter tampered) with both and compares again (crosscheck.hpp).
  // Malformed ops must be refused alike.
  void cross_check(GcmBurst& b, MtRng& rng, const std::string& what) {
    test::cross_check(*ref_, *eng_, b.ops, b.plain, rng, what, SealOk::kSameAsRef);
  }

  std::unique_ptr<crypto::SivEngine> ref_, eng_;
};

TEST_P(GcmSivCrossCheck, Vectors) {
  for (std::size_t burst : {1u, 7u, 16u, 32u, 64u}) {
    const GcmSivCounts n = run_gcm_siv_vectors(*eng_, burst);
    EXPECT_EQ(n.total(), kGcmSiv128Vectors) << burst;
  }
}

TEST_P(GcmSivCrossCheck, EveryMessageLength) {
  MtRng rng{std::mt19937_64(seed())};
  for (std::size_t len = 0; len <= 512; ++len) {
    GcmShape shape;
    shape.ops = 1 + rng.below(40);
    shape.min_len = shape.max_len = len;
    GcmBurst b = GcmBurst::make(rng, shape);
    cross_check(b, rng, "len " + std::to_string(len));
    if (HasFatalFailure()) return;
  }
}

TEST_P(GcmSivCrossCheck, EveryAadLength) {
  MtRng rng{std::mt19937_64(seed() + 1)};
  for (std::size_t aad = 0; aad <= 300; ++aad) {
    GcmShape shape;
    shape.ops = 1 + rng.below(20);
    shape.max_len = 100;
    shape.max_aad = aad;
    GcmBurst b = GcmBurst::make(rng, shape);
    for (auto& a : b.aad) a.resize(aad);  // exactly `aad` bytes (the random tail stays)
    for (std::size_t i = 0; i < b.ops.size(); ++i)
      if (b.ops[i].ad_count == 2) b.ops[i].ad[0] = b.aad[i];
    cross_check(b, rng, "aad " + std::to_string(aad));
    if (HasFatalFailure()) return;
  }
}

TEST_P(GcmSivCrossCheck, EveryBurstSize) {
  MtRng rng{std::mt19937_64(seed() + 2)};
  for (std::size_t n = 1; n <= 64; ++n) {
    for (bool one_key : {false, true}) {
      GcmShape shape;
      shape.ops = n;
      shape.one_key = one_key;
      GcmBurst b = GcmBurst::make(rng, shape);
      cross_check(b, rng, "burst " + std::to_string(n) + (one_key ? " one key" : ""));
      if (HasFatalFailure()) return;
    }
  }
  for (std::size_t n : {65u, 127u, 128u, 200u}) {
    GcmShape shape;
    shape.ops = n;
    shape.one_key = n % 2 == 0;
    GcmBurst b = GcmBurst::make(rng, shape);
    cross_check(b, rng, "burst " + std::to_string(n));
    if (HasFatalFailure()) return;
  }
}

// Ops past a lane's pass (1536 bytes with AAD and lengths) go to the reference.
TEST_P(GcmSivCrossCheck, LongOps) {
  MtRng rng{std::mt19937_64(seed() + 3)};
  for (int round = 0; round < 20; ++round) {
    GcmShape shape;
    shape.ops = 1 + rng.below(24);
    shape.min_len = 1200;
    shape.max_len = 2000;
    shape.max_aad = 600;
    GcmBurst b = GcmBurst::make(rng, shape);
    cross_check(b, rng, "round " + std::to_string(round));
    if (HasFatalFailure()) return;
  }
}

// AES-SIV ops in the burst (handed on, or routed by the dispatch), bad nonce
// lengths and AD counts: the same status and bytes as the reference.
TEST_P(GcmSivCrossCheck, MixedAndMalformed) {
  MtRng rng{std::mt19937_64(seed() + 4)};
  for (int round = 0; round < 60; ++round) {
    GcmShape shape;
    shape.ops = 1 + rng.below(64);
    shape.mix_siv = true;
    shape.malformed = true;
    GcmBurst b = GcmBurst::make(rng, shape);
    cross_check(b, rng, "round " + std::to_string(round));
    if (HasFatalFailure()) return;
  }
}

TEST_P(GcmSivCrossCheck, OverlapIsRefused) {
  const auto key = *crypto::SivKey::from_bytes(std::vector<std::uint8_t>(16, 1));
  std::vector<std::uint8_t> buf(64, 0), nonce(12, 2);
  // out overlapping in, and out overlapping the AAD.
  const auto a = crypto::make_aead_op(key, {}, nonce, crypto::Bytes(buf.data(), 20),
                                      crypto::MutBytes(buf.data() + 10, 36));
  const auto b = crypto::make_aead_op(key, crypto::Bytes(buf.data(), 8), nonce, {},
                                      crypto::MutBytes(buf.data(), 16));
  EXPECT_EQ(eng_->seal_one(a), crypto::SivStatus::kBadInput);
  EXPECT_EQ(eng_->seal_one(b), crypto::SivStatus::kBadInput);
}

TEST_P(GcmSivCrossCheck, NoAllocationPerCall) {
  MtRng rng{std::mt19937_64(seed() + 5)};
  GcmShape shape;
  shape.ops = 48;
  GcmBurst b = GcmBurst::make(rng, shape);
  auto out = Outputs::for_ops(b.ops, true);
  eng_->seal(out.ops, out.status);  // warm up
  const auto ops = open_ops(b.ops, out);
  auto opened = Outputs::for_ops(ops, false);
  const std::size_t before = operator_new_calls();
  for (int i = 0; i < 10; ++i) eng_->seal(out.ops, out.status);
  for (int i = 0; i < 10; ++i) eng_->open(opened.ops, opened.status);
  EXPECT_EQ(operator_new_calls(), before);
  for (auto st : opened.status) EXPECT_EQ(st, crypto::SivStatus::kOk);
}

INSTANTIATE_TEST_SUITE_P(Engines, GcmSivCrossCheck,
                         ::testing::Values("gcmsiv-vaes-x16", "gcmsiv-aesni-x8", "best"),
                         [](const auto& p) {
                           std::string n = p.param;
                           for (auto& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

// RFC 8452 §4 and Appendix C.3: the counter is the first 32 bits, little
// endian, and wraps modulo 2^32 without carrying into the rest of the block.
// No AES-128 vector reaches the wrap, so the kernels' keystream is compared
// with AES-128-ECB of the expected counter blocks.
TEST(GcmSivKernels, CounterWraps) {
  const std::vector<std::uint8_t> key = from_hex("000102030405060708090a0b0c0d0e0f");
  std::vector<std::uint8_t> tag = from_hex("fdffffff00112233445566778899aa3b");
  std::vector<std::uint8_t> want(6 * 16);
  for (std::size_t s = 0; s < 6; ++s) {
    std::uint8_t* b = want.data() + 16 * s;
    std::memcpy(b, tag.data(), 16);
    b[15] |= 0x80;
    std::uint32_t c = 0xfffffffdu + static_cast<std::uint32_t>(s);
    std::memcpy(b, &c, 4);
  }
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int outl = 0;
  ASSERT_EQ(EVP_EncryptInit_ex2(ctx, EVP_aes_128_ecb(), key.data(), nullptr, nullptr), 1);
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  ASSERT_EQ(EVP_EncryptUpdate(ctx, want.data(), &outl, want.data(), 96), 1);
  EVP_CIPHER_CTX_free(ctx);
  std::vector<std::uint8_t> got(96);
  const bool have_vaes = crypto::make_gcm_siv_vaes_engine() != nullptr;
  ASSERT_EQ(crypto::gcm_siv_vaes_keystream(key.data(), tag.data(), got.data(), 6), have_vaes);
  if (have_vaes) {
    EXPECT_EQ(to_hex(got), to_hex(want)) << "vaes";
  }
  std::fill(got.begin(), got.end(), 0);
  ASSERT_TRUE(crypto::gcm_siv_aesni_keystream(key.data(), tag.data(), got.data(), 6));
  EXPECT_EQ(to_hex(got), to_hex(want)) << "aesni";
}

TEST(GcmSivBest, NamesAndRouting) {
  auto best = crypto::make_best_engine();
  const std::string name = best->name();
  // AES-SIV engine + GCM-SIV engine; on this VAES CPU both are the VAES ones.
  EXPECT_NE(name.find('+'), std::string::npos) << name;
  if (crypto::make_gcm_siv_vaes_engine()) {
    EXPECT_EQ(name, "vaes-x16+gcmsiv-vaes-x16");
  }
}

}  // namespace
}  // namespace ntsd::test
