// AES-GCM-SIV (RFC 8452, NTS AEAD 30): the scalar reference against the
// RFC's Appendix A/C vectors (with their intermediate values) and Wycheproof,
// for AES-128 and AES-256; the SivOp convention of AEAD 30; and the scalar
// engine on the same vectors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "gcm_siv_ref.hpp"
#include "gcm_siv_runner.hpp"
#include "ntsd/crypto/siv.hpp"
#include "test_util.hpp"

namespace ntsd::test {
namespace {

using crypto::SivStatus;
namespace gs = crypto::gcmsiv;

nlohmann::json rfc8452() {
  return nlohmann::json::parse(read_file(vectors_dir() + "/rfc8452/appendix_c.json"));
}

std::vector<std::uint8_t> hex_field(const nlohmann::json& t, const char* k) {
  return from_hex(t.at(k).get<std::string>());
}

TEST(Polyval, AppendixA) {
  const auto doc = rfc8452();
  for (const auto& t : doc.at("polyval")) {
    const auto h = hex_field(t, "h");
    const auto x = hex_field(t, "x");
    gs::Fe acc;
    gs::polyval_blocks(gs::fe_load(h.data()), acc, x.data(), x.size() / 16);
    std::uint8_t out[16];
    gs::fe_store(acc, out);
    EXPECT_EQ(to_hex(std::vector<std::uint8_t>(out, out + 16)), t.at("result").get<std::string>());
  }
}

// dot is commutative, dot(a, 0) = 0, and dot(a, x^128 mod P) = a: the
// x^-128 of dot (§3) makes x^128 mod P its unit.
TEST(Polyval, DotAlgebra) {
  const gs::Fe a{0x0123456789abcdefull, 0xfedcba9876543210ull};
  const gs::Fe b{0x1111111122222222ull, 0x3333333344444444ull};
  const gs::Fe ab = gs::dot(a, b), ba = gs::dot(b, a);
  EXPECT_EQ(ab.lo, ba.lo);
  EXPECT_EQ(ab.hi, ba.hi);
  // x^128 mod P = x^127 + x^126 + x^121 + 1.
  const gs::Fe one{1, 0xc200000000000000ull};
  const gs::Fe a1 = gs::dot(a, one);
  EXPECT_EQ(a1.lo, a.lo);
  EXPECT_EQ(a1.hi, a.hi);
  const gs::Fe z = gs::dot(a, gs::Fe{});
  EXPECT_EQ(z.lo | z.hi, 0u);
}

TEST(GcmSivReference, AppendixCIntermediates) {
  gs::Reference ref;
  std::size_t checked = 0;
  const auto doc = rfc8452();
  for (const auto& t : doc.at("vectors")) {
    if (!t.contains("record_authentication_key")) continue;
    SCOPED_TRACE(t.at("section").get<std::string>() + " #" + std::to_string(t.at("n").get<int>()));
    const auto key = hex_field(t, "key"), nonce = hex_field(t, "nonce");
    std::uint8_t auth[16], enc[32];
    std::size_t enc_len = 0;
    ASSERT_TRUE(ref.derive_keys(key, nonce, auth, enc, enc_len));
    EXPECT_EQ(to_hex(std::vector<std::uint8_t>(auth, auth + 16)),
              t.at("record_authentication_key").get<std::string>());
    EXPECT_EQ(to_hex(std::vector<std::uint8_t>(enc, enc + enc_len)),
              t.at("record_encryption_key").get<std::string>());
    // POLYVAL(H, pad(AAD) || pad(PT) || lengths), before the nonce XOR.
    const auto aad = hex_field(t, "aad"), pt = hex_field(t, "plaintext");
    gs::Fe acc;
    const gs::Fe h = gs::fe_load(auth);
    gs::polyval_padded(h, acc, aad);
    gs::polyval_padded(h, acc, pt);
    std::uint8_t len[16];
    const std::uint64_t abits = aad.size() * 8, pbits = pt.size() * 8;
    std::memcpy(len, &abits, 8);
    std::memcpy(len + 8, &pbits, 8);
    gs::polyval_blocks(h, acc, len, 1);
    std::uint8_t s[16];
    gs::fe_store(acc, s);
    EXPECT_EQ(to_hex(std::vector<std::uint8_t>(s, s + 16)), t.at("polyval_result").get<std::string>());
    ++checked;
  }
  EXPECT_EQ(checked, 9u);
}

// Every vector of both files, AES-128 and AES-256, seal and open.
TEST(GcmSivReference, AllVectorsBothKeySizes) {
  gs::Reference ref;
  std::size_t valid = 0, invalid = 0, k256 = 0;
  for (const GcmSivVector& v : load_gcm_siv_vectors()) {
    SCOPED_TRACE(v.where);
    std::vector<std::uint8_t> sealed(v.msg.size() + 16), opened(v.sealed.size() - 16, 0xAA);
    ASSERT_EQ(ref.seal(v.key, v.nonce, v.aad, v.msg, sealed), SivStatus::kOk);
    const SivStatus st = ref.open(v.key, v.nonce, v.aad, v.sealed, opened);
    if (v.key.size() == 32) ++k256;
    if (v.valid) {
      ++valid;
      EXPECT_EQ(to_hex(sealed), to_hex(v.sealed));
      EXPECT_EQ(st, SivStatus::kOk);
      EXPECT_EQ(to_hex(opened), to_hex(v.msg));
    } else {
      ++invalid;
      EXPECT_EQ(st, SivStatus::kAuthFail);
      EXPECT_TRUE(std::all_of(opened.begin(), opened.end(), [](auto b) { return b == 0; }));
    }
  }
  // Wycheproof: 136 valid, 66 invalid; RFC 8452: 50 valid (24 + 24 + 2).
  EXPECT_EQ(valid, 136u + 50);
  EXPECT_EQ(invalid, 66u);
  EXPECT_EQ(k256, 103u + 26);
}

TEST(GcmSivReference, RejectsBadKeyAndNonceSizes) {
  gs::Reference ref;
  std::vector<std::uint8_t> key(16, 1), nonce(12, 2), out(16);
  EXPECT_EQ(ref.seal(std::vector<std::uint8_t>(24, 1), nonce, {}, {}, out), SivStatus::kBadInput);
  EXPECT_EQ(ref.seal(key, std::vector<std::uint8_t>(16, 2), {}, {}, out), SivStatus::kBadInput);
  std::vector<std::uint8_t> short_out(15);
  EXPECT_EQ(ref.seal(key, nonce, {}, {}, short_out), SivStatus::kBadLength);
  ASSERT_EQ(ref.seal(key, nonce, {}, {}, out), SivStatus::kOk);
  std::vector<std::uint8_t> none;
  EXPECT_EQ(ref.open(key, nonce, {}, std::vector<std::uint8_t>(15), none), SivStatus::kBadLength);
}

class ScalarGcmSiv : public ::testing::TestWithParam<std::size_t> {};

// The scalar engine runs AEAD-30 SivOps through the reference.
TEST_P(ScalarGcmSiv, AllAes128Vectors) {
  auto eng = crypto::make_scalar_engine();
  const GcmSivCounts n = run_gcm_siv_vectors(*eng, GetParam());
  EXPECT_EQ(n.total(), kGcmSiv128Vectors);
  EXPECT_EQ(n.invalid, 32u);  // Wycheproof's modified tags of the 128-bit group
}

INSTANTIATE_TEST_SUITE_P(Bursts, ScalarGcmSiv, ::testing::Values(1, 7, 32, 64));

// The AD list of an AEAD-30 op: [AAD, nonce] or [nonce]; anything else, or a
// nonce that is not 12 bytes, or an AES-SIV key, is kBadInput in every engine.
TEST(GcmSivOp, Convention) {
  auto eng = crypto::make_scalar_engine();
  const auto key = *crypto::SivKey::from_bytes(std::vector<std::uint8_t>(16, 7));
  EXPECT_EQ(key.aead(), crypto::AeadId::kAesGcmSiv128);
  const std::vector<std::uint8_t> nonce(12, 3), pt(20, 9);
  std::vector<std::uint8_t> a(36), b(36);
  // [nonce] is [AAD = "", nonce].
  crypto::SivOp one;
  one.key = &key;
  one.ad[0] = nonce;
  one.ad_count = 1;
  one.in = pt;
  one.out = a;
  ASSERT_EQ(eng->seal_one(one), SivStatus::kOk);
  ASSERT_EQ(eng->seal_one(crypto::make_aead_op(key, {}, nonce, pt, b)), SivStatus::kOk);
  EXPECT_EQ(a, b);
  // Tag last: the first |pt| bytes are the ciphertext, the tag follows.
  gs::Reference ref;
  std::vector<std::uint8_t> c(36);
  ASSERT_EQ(ref.seal(key.bytes(), nonce, {}, pt, c), SivStatus::kOk);
  EXPECT_EQ(a, c);

  crypto::SivOp bad = crypto::make_aead_op(key, {}, std::vector<std::uint8_t>(16, 3), pt, a);
  EXPECT_EQ(eng->seal_one(bad), SivStatus::kBadInput);
  bad = crypto::make_aead_op(key, {}, nonce, pt, a);
  bad.ad[2] = nonce;
  bad.ad_count = 3;
  EXPECT_EQ(eng->seal_one(bad), SivStatus::kBadInput);
  bad.ad_count = 0;
  EXPECT_EQ(eng->seal_one(bad), SivStatus::kBadInput);
  EXPECT_EQ(crypto::validate_gcm_siv_op(crypto::make_aead_op(key, {}, nonce, pt, a), true),
            SivStatus::kOk);
  const auto siv_key = *crypto::SivKey::from_bytes(std::vector<std::uint8_t>(32, 7));
  EXPECT_EQ(crypto::validate_gcm_siv_op(crypto::make_aead_op(siv_key, {}, nonce, pt, a), true),
            SivStatus::kBadInput);

  // Every single-byte change of ciphertext, tag, AAD or nonce fails to open.
  const std::vector<std::uint8_t> aad = {1, 2, 3, 4, 5};
  std::vector<std::uint8_t> sealed(36), opened(20);
  ASSERT_EQ(eng->seal_one(crypto::make_aead_op(key, aad, nonce, pt, sealed)), SivStatus::kOk);
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    auto t = sealed;
    t[i] ^= 0x20;
    EXPECT_EQ(eng->open_one(crypto::make_aead_op(key, aad, nonce, t, opened)), SivStatus::kAuthFail)
        << i;
  }
  auto n2 = nonce;
  n2[11] ^= 1;
  EXPECT_EQ(eng->open_one(crypto::make_aead_op(key, aad, n2, sealed, opened)), SivStatus::kAuthFail);
  auto aad2 = aad;
  aad2.push_back(0);  // a zero byte more: the padded blocks agree, the length block does not
  EXPECT_EQ(eng->open_one(crypto::make_aead_op(key, aad2, nonce, sealed, opened)),
            SivStatus::kAuthFail);
  EXPECT_EQ(eng->open_one(crypto::make_aead_op(key, aad, nonce, sealed, opened)), SivStatus::kOk);
  EXPECT_EQ(opened, pt);
}

TEST(GcmSivOp, AeadIds) {
  EXPECT_EQ(crypto::aead_for_key_len(16), crypto::AeadId::kAesGcmSiv128);
  EXPECT_EQ(crypto::aead_key_len(crypto::AeadId::kAesGcmSiv128), 16u);
  EXPECT_EQ(crypto::aead_nonce_len(crypto::AeadId::kAesGcmSiv128), 12u);
  EXPECT_EQ(crypto::aead_nonce_len(crypto::AeadId::kSivCmac256), 16u);
  EXPECT_TRUE(crypto::aead_supported(30));
}

}  // namespace
}  // namespace ntsd::test
