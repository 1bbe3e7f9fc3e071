// The scalar AES-SIV engine: RFC 5297 Appendix A, chrony's SIV vectors, and
// the defined outcome of every kind of bad op. SivKey and the AEAD helpers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <random>

#include "ntsd/crypto/siv.hpp"
#include "test_util.hpp"

namespace ntsd::crypto {
namespace {

using test::from_hex;
using test::to_hex;
using Vec = std::vector<std::uint8_t>;

SivKey key_of(const std::string& hex) {
  auto k = SivKey::from_bytes(from_hex(hex));
  EXPECT_TRUE(k.has_value());
  return k.value_or(SivKey{});
}

SivOp op_with(const SivKey& key, const std::vector<Vec>& ad, Bytes in, MutBytes out) {
  SivOp op;
  op.key = &key;
  op.ad_count = static_cast<std::uint8_t>(ad.size());
  for (std::size_t i = 0; i < ad.size(); ++i) op.ad[i] = ad[i];
  op.in = in;
  op.out = out;
  return op;
}

// Seals and checks the expected output, then opens it back.
void expect_siv(SivEngine& eng, const SivKey& key, const std::vector<Vec>& ad, const Vec& pt,
                const std::string& expected_hex) {
  Vec sealed(pt.size() + kSivTagLen);
  ASSERT_EQ(eng.seal_one(op_with(key, ad, pt, sealed)), SivStatus::kOk);
  EXPECT_EQ(to_hex(sealed), expected_hex);
  Vec opened(pt.size(), 0xAA);
  ASSERT_EQ(eng.open_one(op_with(key, ad, sealed, opened)), SivStatus::kOk);
  EXPECT_EQ(opened, pt);
}

TEST(Siv, Rfc5297A1Deterministic) {
  auto eng = make_scalar_engine();
  expect_siv(*eng, key_of("fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"),
             {from_hex("101112131415161718191a1b1c1d1e1f2021222324252627")},
             from_hex("112233445566778899aabbccddee"),
             "85632d07c6e8f37f950acd320a2ecc93"
             "40c02b9690c4dc04daef7f6afe5c");
}

TEST(Siv, Rfc5297A2NonceBased) {
  auto eng = make_scalar_engine();
  expect_siv(*eng, key_of("7f7e7d7c7b7a79787776757473727170404142434445464748494a4b4c4d4e4f"),
             {from_hex("00112233445566778899aabbccddeeffdeaddadadeaddadaffeeddccbbaa9988"
                       "7766554433221100"),
              from_hex("102030405060708090a0"), from_hex("09f911029d74e35bd84156c5635688c0")},
             from_hex("7468697320697320736f6d6520706c61696e7465787420746f20656e637279707420"
                      "7573696e67205349562d414553"),
             "7bdb6e3b432667eb06f4d14bff2fbd0f"
             "cb900f2fddbe404326601965c889bf17dba77ceb094fa663b7a3f748ba8af829ea64ad544a27"
             "2e9c485b62a3fd5c0d");
}

// chrony's test/unit/siv.c vectors for AEAD_AES_SIV_CMAC_256. chrony's
// SIV_Encrypt(nonce, assoc, plaintext) is nettle's siv_cmac, whose S2V takes
// [assoc, nonce] and MACs assoc even when it is empty. These vectors pin that
// convention: it matters for the cookie AD question (see cookie.cpp).
struct ChronyCase {
  const char* nonce;
  const char* assoc;
  const char* plain;
  const char* sealed;
};
const ChronyCase kChrony[] = {
    {"101112131415161718191a1b1c1d1e1f", "", "", "223eb594e0e0254b00258e219a1ca421"},
    {"101112131415161718191a1b1c1d1e1f", "4c9d4fcaed8ae2baad3f3ea6e93c8c8b", "",
     "d7201989c6dbc6d661fc62bc865eeeef"},
    {"101112131415161718191a1b1c1d1e1f", "", "4c9d4fcaed8ae2baad3f3ea6e93c8c8b",
     "b6c160e9c2fd2ae8dec5368b2a33ede114ffb397345ccbe44aa4deacd9369046"},
    {"101112131415161718191a1b1c1d1e", "4c9d4fcaed8ae2baad3f3ea6e93c8c",
     "ba997931237e3c53587ed49302abe4",
     "038c4151ba7a8f776e563199420bc703e76c67c9dab70d5b4406265ad0d23b"},
    {"101112131415161718191a1b1c1d1e1f", "4c9d4fcaed8ae2baad3f3ea6e93c8c8b",
     "ba997931237e3c53587ed49302abe4a7",
     "5c052365f4570aa0fb383ece9b7585eb688519360c7c481140cb9b579a0e6532"},
    {"101112131415161718191a1b1c1d1e1fd5", "4c9d4fcaed8ae2baad3f3ea6e93c8c8ba0",
     "ba997931237e3c53587ed49302abe4a708",
     "af584be7821e9619299125e0dd803b49a511cdb608f376a0b6fa1582f395e1ebbd"},
    {"b05a1bc756e7b62cb485e556a528c06c2f3b0b9d1a0cdf6947e0ccc087aa5c0998488d6a8e1e05d78b687483b51df"
     "12c",
     "e58bd26a30c5c561ccbd7c27bffef906005bd7fc110bcf1661efac05a7afec2741c85e9e0df92faf207917e517912"
     "a27"
     "341cbcafebef7f52e71e4c2acabd2bbe34d6fb69d33e495960b426c9b8ceba",
     "6ce7cf7eab7ba0e1a722cb88de5e42d2ec79e0a2cf5f0f6f6b8957cdae17d4c2f31ba2a81378232f83a8d40cc0d2f"
     "399"
     "ae81a1ca5b5f45a66f0c8af3d467408126e20186e85ad5f858809f56aa7696bf31",
     "9a0633e0ee006a9bc820d5e2c2edb575fa9e422a316bdacaaa7d318b847ab8d78a812564ed419ba97710bd050c4ec"
     "531"
     "0ca286ec8a94c824233c13eea551c9df48c955c52f40733f98bb8d69784664178d492f1462a47c2a573887cec672d"
     "35c"
     "a1"},
};
constexpr const char* kChronyKey =
    "0123456789abcdeff0123456789abcdeef0123456789abcddef0123456789abc";

TEST(Siv, ChronyVectorsUseAssocThenNonce) {
  auto eng = make_scalar_engine();
  const SivKey key = key_of(kChronyKey);
  for (const auto& c : kChrony) {
    SCOPED_TRACE(c.sealed);
    expect_siv(*eng, key, {from_hex(c.assoc), from_hex(c.nonce)}, from_hex(c.plain), c.sealed);
  }
}

TEST(Siv, EmptyAssocIsAComponentInChronysConvention) {
  // The first chrony case has assoc = "": dropping the empty component (AD =
  // [nonce]) gives a different SIV, so the two conventions are not
  // interchangeable.
  auto eng = make_scalar_engine();
  const SivKey key = key_of(kChronyKey);
  const Vec nonce = from_hex(kChrony[0].nonce);
  Vec sealed(kSivTagLen);
  ASSERT_EQ(eng->seal_one(op_with(key, {nonce}, {}, sealed)), SivStatus::kOk);
  EXPECT_NE(to_hex(sealed), kChrony[0].sealed);
}

Vec random_bytes(std::mt19937& rng, std::size_t n) {
  Vec v(n);
  for (auto& b : v) b = static_cast<std::uint8_t>(rng());
  return v;
}

TEST(Siv, RoundTripEveryLengthAndKeySize) {
  auto eng = make_scalar_engine();
  std::mt19937 rng(5297);
  for (std::size_t klen : {32u, 48u, 64u}) {
    const SivKey key = *SivKey::from_bytes(random_bytes(rng, klen));
    for (std::size_t n = 0; n <= 200; ++n) {
      const Vec ad = random_bytes(rng, n % 50), nonce = random_bytes(rng, 16),
                pt = random_bytes(rng, n);
      Vec sealed(n + kSivTagLen), opened(n);
      ASSERT_EQ(eng->seal_one(make_aead_op(key, ad, nonce, pt, sealed)), SivStatus::kOk);
      ASSERT_EQ(eng->open_one(make_aead_op(key, ad, nonce, sealed, opened)), SivStatus::kOk);
      ASSERT_EQ(opened, pt) << klen << " " << n;
      if (n >= 16) {
        EXPECT_NE(Vec(sealed.begin() + 16, sealed.end()), pt);  // it is encrypted
      }
    }
  }
}

TEST(Siv, AnyFlippedBitFailsAndReleasesNothing) {
  auto eng = make_scalar_engine();
  std::mt19937 rng(8915);
  const SivKey key = *SivKey::from_bytes(random_bytes(rng, 32));
  const Vec ad = random_bytes(rng, 48), nonce = random_bytes(rng, 16), pt = random_bytes(rng, 40);
  Vec sealed(pt.size() + kSivTagLen);
  ASSERT_EQ(eng->seal_one(make_aead_op(key, ad, nonce, pt, sealed)), SivStatus::kOk);
  for (std::size_t bit = 0; bit < sealed.size() * 8; ++bit) {
    Vec bad = sealed;
    bad[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    Vec opened(pt.size(), 0xAA);
    ASSERT_EQ(eng->open_one(make_aead_op(key, ad, nonce, bad, opened)), SivStatus::kAuthFail)
        << bit;
    ASSERT_TRUE(std::all_of(opened.begin(), opened.end(), [](auto b) { return b == 0; })) << bit;
  }
  // Changing the AD or the nonce fails as well.
  Vec ad2 = ad;
  ad2[0] ^= 1;
  Vec opened(pt.size());
  EXPECT_EQ(eng->open_one(make_aead_op(key, ad2, nonce, sealed, opened)), SivStatus::kAuthFail);
  Vec nonce2 = nonce;
  nonce2[15] ^= 0x80;
  EXPECT_EQ(eng->open_one(make_aead_op(key, ad, nonce2, sealed, opened)), SivStatus::kAuthFail);
}

TEST(Siv, BadOpsHaveDefinedOutcomes) {
  auto eng = make_scalar_engine();
  const SivKey key = key_of(kChronyKey);
  Vec pt(10), out(26), small(25);
  const SivKey empty;
  EXPECT_EQ(eng->seal_one(op_with(empty, {}, pt, out)), SivStatus::kBadInput);
  SivOp no_key = op_with(key, {}, pt, out);
  no_key.key = nullptr;
  EXPECT_EQ(eng->seal_one(no_key), SivStatus::kBadInput);
  SivOp too_many = op_with(key, {}, pt, out);
  too_many.ad_count = kMaxAdComponents + 1;
  EXPECT_EQ(eng->seal_one(too_many), SivStatus::kBadInput);
  EXPECT_EQ(eng->open_one(too_many), SivStatus::kBadInput);
  EXPECT_EQ(eng->seal_one(op_with(key, {}, pt, small)), SivStatus::kBadLength);
  Vec short_ct(15), none;
  EXPECT_EQ(eng->open_one(op_with(key, {}, short_ct, none)), SivStatus::kBadLength);
  Vec ct(26), wrong_out(11);
  EXPECT_EQ(eng->open_one(op_with(key, {}, ct, wrong_out)), SivStatus::kBadLength);
  // Overlapping buffers are refused rather than computed wrongly.
  Vec buf(64);
  EXPECT_EQ(eng->seal_one(op_with(key, {}, Bytes(buf.data(), 10), MutBytes(buf.data() + 5, 26))),
            SivStatus::kBadInput);
  SivOp ad_overlap = op_with(key, {}, Bytes(buf.data(), 26), MutBytes(buf.data() + 30, 10));
  ad_overlap.ad[0] = Bytes(buf.data() + 35, 4);
  ad_overlap.ad_count = 1;
  EXPECT_EQ(eng->open_one(ad_overlap), SivStatus::kBadInput);
  // A 16-byte input opens to an empty plaintext (and fails auth here).
  Vec tag_only(16);
  EXPECT_EQ(eng->open_one(op_with(key, {}, tag_only, none)), SivStatus::kAuthFail);
}

TEST(Siv, BurstMatchesSingleOpsAcrossManyKeys) {
  // More keys than the engine caches, interleaved, so its key slots churn.
  auto eng = make_scalar_engine();
  std::mt19937 rng(17);
  std::vector<SivKey> keys;
  for (int i = 0; i < 9; ++i)
    keys.push_back(*SivKey::from_bytes(random_bytes(rng, i % 2 ? 64 : 32)));
  constexpr std::size_t kN = 40;
  std::vector<Vec> ads, pts, burst_out(kN), single_out(kN);
  std::vector<SivOp> ops;
  for (std::size_t i = 0; i < kN; ++i) {
    ads.push_back(random_bytes(rng, i * 5));
    pts.push_back(random_bytes(rng, i * 3));
  }
  for (std::size_t i = 0; i < kN; ++i) {
    burst_out[i].resize(pts[i].size() + 16);
    single_out[i].resize(pts[i].size() + 16);
    ops.push_back(op_with(keys[(i * 7) % keys.size()], {}, pts[i], burst_out[i]));
    ops.back().ad[0] = ads[i];
    ops.back().ad_count = 1;
  }
  std::vector<SivStatus> st(kN, SivStatus::kBadInput);
  eng->seal(ops, st);
  auto fresh = make_scalar_engine();
  for (std::size_t i = 0; i < kN; ++i) {
    ASSERT_EQ(st[i], SivStatus::kOk);
    SivOp one = ops[i];
    one.out = single_out[i];
    ASSERT_EQ(fresh->seal_one(one), SivStatus::kOk);
    EXPECT_EQ(burst_out[i], single_out[i]) << i;
  }
}

TEST(SivKey, LengthsAndAeads) {
  EXPECT_EQ(aead_for_key_len(32), AeadId::kSivCmac256);
  EXPECT_EQ(aead_for_key_len(48), AeadId::kSivCmac384);
  EXPECT_EQ(aead_for_key_len(64), AeadId::kSivCmac512);
  EXPECT_EQ(aead_for_key_len(16), AeadId::kAesGcmSiv128);  // RFC 8452: one AES-128 key
  for (std::size_t n : {0u, 15u, 31u, 33u, 63u, 65u, 128u}) EXPECT_FALSE(aead_for_key_len(n)) << n;
  EXPECT_TRUE(aead_supported(15));
  EXPECT_TRUE(aead_supported(17));
  EXPECT_TRUE(aead_supported(30));
  for (std::uint16_t id : {0, 1, 16, 18, 31, 0xffff}) EXPECT_FALSE(aead_supported(id)) << id;
  const Vec k64(64, 7);
  const auto k = SivKey::from_bytes(k64);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->aead(), AeadId::kSivCmac512);
  EXPECT_EQ(k->mac_key().size(), 32u);
  EXPECT_EQ(k->ctr_key().data(), k->bytes().data() + 32);
  EXPECT_FALSE(SivKey::from_bytes(Vec(40)));
}

// The object representation of a SivKey starts with its key bytes (it is
// standard layout), so these tests can look at the memory a key occupied.
bool raw_key_bytes_zero(const void* obj) {
  std::uint8_t raw[kMaxSivKeyLen];
  std::memcpy(raw, obj, sizeof raw);
  return std::all_of(std::begin(raw), std::end(raw), [](auto b) { return b == 0; });
}

TEST(SivKey, WipedOnDestructionOverwriteAndWipe) {
  static_assert(std::is_standard_layout_v<SivKey>);
  const Vec bytes(64, 0x5c);
  alignas(SivKey) unsigned char storage[sizeof(SivKey)];
  auto* k = new (storage) SivKey(*SivKey::from_bytes(bytes));
  ASSERT_FALSE(raw_key_bytes_zero(storage));
  k->~SivKey();
  EXPECT_TRUE(raw_key_bytes_zero(storage)) << "destructor left key bytes behind";

  SivKey a = *SivKey::from_bytes(bytes);
  a = *SivKey::from_bytes(Vec(32, 0x11));  // shorter key: the old tail must be gone
  std::uint8_t raw[kMaxSivKeyLen];
  std::memcpy(raw, static_cast<const void*>(&a), sizeof raw);
  EXPECT_TRUE(std::all_of(raw + 32, raw + 64, [](auto b) { return b == 0; }));
  EXPECT_EQ(a.size(), 32u);
  a.wipe();
  EXPECT_TRUE(a.empty());
  EXPECT_TRUE(raw_key_bytes_zero(&a));
}

// assign() (two per NTS request, inline) replaces a key in place: a shorter
// key leaves no byte of the longer one behind, a bad length changes nothing,
// and a source inside the key itself is copied correctly.
TEST(SivKey, AssignInPlace) {
  Vec k64(64);
  for (std::size_t i = 0; i < k64.size(); ++i) k64[i] = static_cast<std::uint8_t>(0x80 + i);
  SivKey k = *SivKey::from_bytes(k64);
  const Vec k32(32, 0x11);
  ASSERT_TRUE(k.assign(k32));
  EXPECT_EQ(k.size(), 32u);
  EXPECT_EQ(k.aead(), AeadId::kSivCmac256);
  EXPECT_TRUE(std::equal(k32.begin(), k32.end(), k.bytes().begin()));
  std::uint8_t raw[kMaxSivKeyLen];
  std::memcpy(raw, static_cast<const void*>(&k), sizeof raw);
  EXPECT_TRUE(std::all_of(raw + 32, raw + 64, [](auto b) { return b == 0; }));

  EXPECT_FALSE(k.assign(Vec(40, 0x22)));
  EXPECT_EQ(k.size(), 32u);
  EXPECT_TRUE(std::equal(k32.begin(), k32.end(), k.bytes().begin()));

  ASSERT_TRUE(k.assign(k64));
  ASSERT_TRUE(k.assign(k.bytes().subspan(16, 48)));  // overlapping source, after the start
  EXPECT_EQ(k.aead(), AeadId::kSivCmac384);
  EXPECT_TRUE(std::equal(k64.begin() + 16, k64.end(), k.bytes().begin()));
  std::memcpy(raw, static_cast<const void*>(&k), sizeof raw);
  EXPECT_TRUE(std::all_of(raw + 48, raw + 64, [](auto b) { return b == 0; }));
}

// secure_wipe zeroes exactly the bytes it is given.
TEST(SivKey, SecureWipe) {
  Vec buf(80, 0xab);
  secure_wipe(buf.data() + 8, 64);
  EXPECT_TRUE(std::all_of(buf.begin() + 8, buf.begin() + 72, [](auto b) { return b == 0; }));
  EXPECT_EQ(buf[7], 0xab);
  EXPECT_EQ(buf[72], 0xab);
}

}  // namespace
}  // namespace ntsd::crypto
