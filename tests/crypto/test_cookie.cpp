// NTS cookies (RFC 8915 §6) and the request authenticator of the shared NTS
// vector (tests/vectors/nts/request_example.json).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "ntsd/crypto/cookie.hpp"
#include "test_util.hpp"

namespace ntsd::crypto {
namespace {

using test::from_hex;
using test::to_hex;
using Vec = std::vector<std::uint8_t>;

nlohmann::json nts_vector() {
  return nlohmann::json::parse(test::read_file(test::vectors_dir() + "/nts/request_example.json"));
}

Vec hex_at(const nlohmann::json& j, const char* a, const char* b = nullptr) {
  return from_hex((b ? j.at(a).at(b) : j.at(a)).get<std::string>());
}

MasterKey master(std::uint32_t id, const Vec& bytes) {
  MasterKey mk;
  mk.id = id;
  mk.key = *SivKey::from_bytes(bytes);
  return mk;
}

KeyRing vector_ring(const nlohmann::json& j) {
  const Vec id = hex_at(j, "cookie", "key_id");
  const std::uint32_t key_id =
      std::uint32_t{id[0]} << 24 | std::uint32_t{id[1]} << 16 | std::uint32_t{id[2]} << 8 | id[3];
  // The vector seals its cookie with AD = [nonce] (keyring.hpp, CookieAd).
  MasterKey mk = master(key_id, hex_at(j, "cookie", "master_key"));
  mk.ad = CookieAd::kNonceOnly;
  return *KeyRing::make(mk, {}, std::nullopt);
}

TEST(NtsVector, RequestAuthenticatorVerifiesWithC2S) {
  const auto j = nts_vector();
  ASSERT_EQ(j.at("aead_id").get<int>(), 15);
  const Vec ad = hex_at(j, "request_without_authenticator");
  const Vec nonce = hex_at(j, "authenticator", "nonce");
  const Vec ct = hex_at(j, "authenticator", "ciphertext");
  // The request is AD || Authenticator EF (type 0x0404, length 0x0028) with
  // nonce length, ciphertext length, nonce, ciphertext (RFC 8915 §5.6).
  Vec request = ad;
  for (auto b : Vec{0x04, 0x04, 0x00, 0x28, 0x00, 0x10, 0x00, 0x10}) request.push_back(b);
  request.insert(request.end(), nonce.begin(), nonce.end());
  request.insert(request.end(), ct.begin(), ct.end());
  ASSERT_EQ(to_hex(request), j.at("request").get<std::string>());

  const SivKey c2s = *SivKey::from_bytes(hex_at(j, "c2s_key"));
  auto eng = make_scalar_engine();
  MutBytes no_plaintext;
  EXPECT_EQ(eng->open_one(make_aead_op(c2s, ad, nonce, ct, no_plaintext)), SivStatus::kOk);
  // And sealing the empty plaintext reproduces the authenticator exactly.
  Vec tag(16);
  ASSERT_EQ(eng->seal_one(make_aead_op(c2s, ad, nonce, {}, tag)), SivStatus::kOk);
  EXPECT_EQ(tag, ct);
  // The S2C key must not verify it.
  const SivKey s2c = *SivKey::from_bytes(hex_at(j, "s2c_key"));
  EXPECT_EQ(eng->open_one(make_aead_op(s2c, ad, nonce, ct, no_plaintext)), SivStatus::kAuthFail);
}

TEST(NtsVector, CookieOpensToItsKeys) {
  const auto j = nts_vector();
  const Vec cookie = hex_at(j, "cookie", "bytes");
  ASSERT_EQ(cookie.size(), cookie_len(AeadId::kSivCmac256));
  ASSERT_EQ(cookie.size(), 100u);
  const KeyRing ring = vector_ring(j);
  auto eng = make_scalar_engine();
  CookieKeys keys;
  ASSERT_EQ(open_cookie(*eng, ring, cookie, keys), CookieStatus::kOk);
  EXPECT_EQ(to_hex(keys.c2s.bytes()), j.at("c2s_key").get<std::string>());
  EXPECT_EQ(to_hex(keys.s2c.bytes()), j.at("s2c_key").get<std::string>());
  EXPECT_EQ(keys.c2s.aead(), AeadId::kSivCmac256);
}

TEST(NtsVector, CookieAdIsTheNonceAlone) {
  // Pins the vector's convention (CookieAd::kNonceOnly): AD = [nonce] opens
  // it, chrony-style AD = ["", nonce] (the default) does not.
  const auto j = nts_vector();
  const Vec cookie = hex_at(j, "cookie", "bytes");
  const SivKey mk = *SivKey::from_bytes(hex_at(j, "cookie", "master_key"));
  const Bytes nonce = Bytes(cookie).subspan(4, 16);
  const Bytes sealed = Bytes(cookie).subspan(20);
  auto eng = make_scalar_engine();
  Vec plain(64);
  SivOp op;
  op.key = &mk;
  op.in = sealed;
  op.out = plain;
  op.ad[0] = nonce;
  op.ad_count = 1;
  EXPECT_EQ(eng->open_one(op), SivStatus::kOk);
  EXPECT_EQ(to_hex(plain), j.at("cookie").at("plaintext").get<std::string>());
  op.ad[0] = Bytes{};
  op.ad[1] = nonce;
  op.ad_count = 2;
  EXPECT_EQ(eng->open_one(op), SivStatus::kAuthFail);
}

TEST(Cookie, DefaultShapeIsChronys) {
  // A master key from a key file seals as chrony 4.3 does: S2V over
  // ["", nonce], so chrony and ntsd open each other's cookies.
  std::mt19937 rng(15);
  Vec key(32), c2s(32), s2c(32), nonce(16);
  for (auto* v : {&key, &c2s, &s2c, &nonce})
    for (auto& b : *v) b = static_cast<std::uint8_t>(rng());
  const MasterKey mk = master(0x0a0b0c0d, key);
  ASSERT_EQ(mk.ad, CookieAd::kEmptyThenNonce);
  CookieKeys keys{*SivKey::from_bytes(c2s), *SivKey::from_bytes(s2c)};
  auto eng = make_scalar_engine();
  Vec cookie(100);
  ASSERT_TRUE(seal_cookie(*eng, mk, keys, nonce, cookie));
  Vec plain(64);
  SivOp op;
  op.key = &mk.key;
  op.in = Bytes(cookie).subspan(20);
  op.out = plain;
  op.ad[0] = Bytes{};
  op.ad[1] = nonce;
  op.ad_count = 2;
  ASSERT_EQ(eng->open_one(op), SivStatus::kOk);
  EXPECT_EQ(to_hex(Bytes(plain).first(32)), to_hex(c2s));
  EXPECT_EQ(to_hex(Bytes(plain).subspan(32)), to_hex(s2c));
}

TEST(NtsVector, SealingTheVectorKeysReproducesTheCookie) {
  // AES-SIV is deterministic, so the same master key, nonce and keys give the
  // same bytes: this checks the seal layout, not just the round trip.
  const auto j = nts_vector();
  const Vec cookie = hex_at(j, "cookie", "bytes");
  const KeyRing ring = vector_ring(j);
  CookieKeys keys{*SivKey::from_bytes(hex_at(j, "c2s_key")),
                  *SivKey::from_bytes(hex_at(j, "s2c_key"))};
  auto eng = make_scalar_engine();
  Vec out(100);
  ASSERT_TRUE(seal_cookie(*eng, ring.current(), keys, Bytes(cookie).subspan(4, 16), out));
  EXPECT_EQ(to_hex(out), to_hex(cookie));
}

Vec random_bytes(std::mt19937& rng, std::size_t n) {
  Vec v(n);
  for (auto& b : v) b = static_cast<std::uint8_t>(rng());
  return v;
}

TEST(Cookie, RoundTripAllKeySizes) {
  std::mt19937 rng(6);
  auto eng = make_scalar_engine();
  for (std::size_t mlen : {32u, 64u}) {
    for (std::size_t klen : {32u, 48u, 64u}) {
      const MasterKey mk = master(0x01020304, random_bytes(rng, mlen));
      const KeyRing ring = *KeyRing::make(mk, {}, std::nullopt);
      CookieKeys keys{*SivKey::from_bytes(random_bytes(rng, klen)),
                      *SivKey::from_bytes(random_bytes(rng, klen))};
      Vec out(cookie_len(keys.c2s.aead()));
      EXPECT_EQ(out.size(), 36 + 2 * klen);
      const Vec nonce = random_bytes(rng, 16);
      ASSERT_TRUE(seal_cookie(*eng, ring.current(), keys, nonce, out));
      EXPECT_EQ(Vec(out.begin(), out.begin() + 4), (Vec{1, 2, 3, 4}));  // big-endian key id
      EXPECT_EQ(Vec(out.begin() + 4, out.begin() + 20), nonce);
      CookieKeys back;
      ASSERT_EQ(open_cookie(*eng, ring, out, back), CookieStatus::kOk);
      EXPECT_EQ(to_hex(back.c2s.bytes()), to_hex(keys.c2s.bytes()));
      EXPECT_EQ(to_hex(back.s2c.bytes()), to_hex(keys.s2c.bytes()));
      EXPECT_EQ(back.s2c.aead(), keys.s2c.aead());
    }
  }
}

TEST(Cookie, TamperedCookieFailsAuth) {
  const auto j = nts_vector();
  const Vec cookie = hex_at(j, "cookie", "bytes");
  const KeyRing ring = vector_ring(j);
  auto eng = make_scalar_engine();
  for (std::size_t i = 4; i < cookie.size(); ++i) {  // nonce, SIV and ciphertext
    Vec bad = cookie;
    bad[i] ^= 0x01;
    CookieKeys keys;
    EXPECT_EQ(open_cookie(*eng, ring, bad, keys), CookieStatus::kAuthFail) << i;
    EXPECT_TRUE(keys.c2s.empty()) << "keys released from a forged cookie";
  }
}

TEST(Cookie, UnknownKeyId) {
  const auto j = nts_vector();
  Vec cookie = hex_at(j, "cookie", "bytes");
  const KeyRing ring = vector_ring(j);
  auto eng = make_scalar_engine();
  CookieKeys keys;
  cookie[3] ^= 0x10;
  EXPECT_EQ(open_cookie(*eng, ring, cookie, keys), CookieStatus::kUnknownKeyId);
  EXPECT_EQ(open_cookie(*eng, KeyRing{}, hex_at(j, "cookie", "bytes"), keys),
            CookieStatus::kUnknownKeyId);
}

TEST(Cookie, MalformedLengths) {
  const auto j = nts_vector();
  const Vec cookie = hex_at(j, "cookie", "bytes");
  const KeyRing ring = vector_ring(j);
  auto eng = make_scalar_engine();
  for (std::size_t len : {0u, 3u, 4u, 20u, 35u, 36u, 37u, 67u, 99u}) {
    CookieKeys keys;
    EXPECT_EQ(open_cookie(*eng, ring, Bytes(cookie).first(len), keys), CookieStatus::kMalformed)
        << len;
  }
  // A plaintext length no AEAD has (longer than the cookie with junk appended).
  for (std::size_t extra : {1u, 2u, 31u}) {
    Vec longer = cookie;
    longer.insert(longer.end(), extra, std::uint8_t{0});
    CookieKeys keys;
    EXPECT_EQ(open_cookie(*eng, ring, longer, keys), CookieStatus::kMalformed) << extra;
  }
  // 36 + 96: the AEAD 16 shape is well formed; it fails only authentication.
  // So does 36 + 32, AEAD 30's keys under this AES-SIV master key.
  for (std::size_t plain : {96u, 32u}) {
    Vec shaped(36 + plain);
    std::copy(cookie.begin(), cookie.begin() + 4, shaped.begin());
    CookieKeys keys;
    EXPECT_EQ(open_cookie(*eng, ring, shaped, keys), CookieStatus::kAuthFail) << plain;
  }
}

// Master keys carry their algorithm (keyring.hpp): a 16-byte master key is
// AES-128-GCM-SIV and seals with a 12-byte nonce, as chrony >= 4.4 does;
// both session AEADs round-trip, the sizes are chrony's, and every tampered
// byte fails. One ring holds keys of both algorithms (a rotation from
// AES-SIV to GCM-SIV master keys keeps the old cookies openable).
TEST(Cookie, GcmSivMasterKeys) {
  std::mt19937 rng(30);
  auto eng = make_best_engine();
  auto ref = make_scalar_engine();
  const MasterKey gcm = master(0x11223344, random_bytes(rng, 16));
  const MasterKey siv = master(0x55667788, random_bytes(rng, 32));
  ASSERT_EQ(gcm.aead(), AeadId::kAesGcmSiv128);
  ASSERT_EQ(siv.aead(), AeadId::kSivCmac256);
  const KeyRing ring = *KeyRing::make(gcm, std::vector<MasterKey>{siv}, std::nullopt);
  EXPECT_EQ(cookie_len(AeadId::kAesGcmSiv128, AeadId::kAesGcmSiv128), 64u);
  EXPECT_EQ(cookie_len(AeadId::kSivCmac256, AeadId::kAesGcmSiv128), 96u);
  EXPECT_EQ(cookie_len(AeadId::kAesGcmSiv128, AeadId::kSivCmac256), 68u);
  EXPECT_EQ(cookie_len(AeadId::kSivCmac256, AeadId::kSivCmac256), 100u);
  for (const MasterKey* mk : {&gcm, &siv}) {
    for (const std::size_t klen : {16u, 32u}) {
      SCOPED_TRACE(std::to_string(mk->id) + " " + std::to_string(klen));
      const CookieKeys keys{*SivKey::from_bytes(random_bytes(rng, klen)),
                            *SivKey::from_bytes(random_bytes(rng, klen))};
      const Vec nonce = random_bytes(rng, kCookieNonceLen);
      Vec cookie(cookie_len(keys.c2s.aead(), mk->aead()));
      ASSERT_TRUE(seal_cookie(*eng, *mk, keys, nonce, cookie));
      Vec again(cookie.size());
      ASSERT_TRUE(seal_cookie(*ref, *mk, keys, nonce, again));
      EXPECT_EQ(to_hex(again), to_hex(cookie));  // burst engine = reference
      // key id || nonce: 12 bytes of the 16 drawn under GCM-SIV.
      const std::size_t nlen = mk == &gcm ? 12 : 16;
      EXPECT_EQ(to_hex(Bytes(cookie).subspan(4, nlen)), to_hex(Bytes(nonce).first(nlen)));
      CookieKeys got;
      ASSERT_EQ(open_cookie(*eng, ring, cookie, got), CookieStatus::kOk);
      EXPECT_EQ(to_hex(got.c2s.bytes()), to_hex(keys.c2s.bytes()));
      EXPECT_EQ(to_hex(got.s2c.bytes()), to_hex(keys.s2c.bytes()));
      EXPECT_EQ(got.c2s.aead(), keys.c2s.aead());
      for (std::size_t i = 4; i < cookie.size(); ++i) {
        Vec t = cookie;
        t[i] ^= 0x01;
        CookieKeys k;
        EXPECT_EQ(open_cookie(*eng, ring, t, k), CookieStatus::kAuthFail) << i;
      }
      // One byte short or long of a key length is malformed, not a forgery.
      Vec shorter(cookie.begin(), cookie.end() - 1);
      CookieKeys k;
      EXPECT_EQ(open_cookie(*eng, ring, shorter, k), CookieStatus::kMalformed);
    }
  }
  // The GCM-SIV master key's cookie: the AAD is empty, so both CookieAd
  // shapes give the same bytes (chrony's NKS_GenerateCookie: assoc "").
  MasterKey other = gcm;
  other.ad = CookieAd::kNonceOnly;
  const CookieKeys keys{*SivKey::from_bytes(random_bytes(rng, 16)),
                        *SivKey::from_bytes(random_bytes(rng, 16))};
  const Vec nonce = random_bytes(rng, kCookieNonceLen);
  Vec a(64), b(64);
  ASSERT_TRUE(seal_cookie(*eng, gcm, keys, nonce, a));
  ASSERT_TRUE(seal_cookie(*eng, other, keys, nonce, b));
  EXPECT_EQ(a, b);
}

TEST(Cookie, BurstPrepareFinish) {
  std::mt19937 rng(32);
  auto eng = make_scalar_engine();
  const MasterKey cur = master(7, random_bytes(rng, 32));
  const MasterKey prev = master(6, random_bytes(rng, 32));
  const KeyRing ring = *KeyRing::make(cur, std::span(&prev, 1), std::nullopt);
  constexpr std::size_t kN = 32;
  std::vector<CookieKeys> in(kN);
  std::vector<Vec> cookies(kN, Vec(100));
  std::vector<CookieWork> work(kN);
  std::vector<SivOp> ops;
  for (std::size_t i = 0; i < kN; ++i) {
    in[i] = {*SivKey::from_bytes(random_bytes(rng, 32)),
             *SivKey::from_bytes(random_bytes(rng, 32))};
    const Vec nonce = random_bytes(rng, 16);
    ASSERT_TRUE(prepare_seal(i % 3 ? cur : prev, in[i], nonce, cookies[i], work[i]));
    ops.push_back(work[i].op);
  }
  std::vector<SivStatus> st(kN, SivStatus::kBadInput);
  eng->seal(ops, st);
  for (auto s : st) ASSERT_EQ(s, SivStatus::kOk);
  cookies[5][50] ^= 1;  // one forged cookie in the burst
  ops.clear();
  for (std::size_t i = 0; i < kN; ++i) {
    ASSERT_EQ(prepare_open(ring, cookies[i], work[i]), CookieStatus::kOk);
    ops.push_back(work[i].op);
  }
  eng->open(ops, st);
  for (std::size_t i = 0; i < kN; ++i) {
    CookieKeys out;
    const CookieStatus cs = finish_open(st[i], work[i], out);
    if (i == 5) {
      EXPECT_EQ(cs, CookieStatus::kAuthFail);
      continue;
    }
    ASSERT_EQ(cs, CookieStatus::kOk) << i;
    EXPECT_EQ(to_hex(out.c2s.bytes()), to_hex(in[i].c2s.bytes()));
    EXPECT_TRUE(std::all_of(work[i].plain.begin(), work[i].plain.end(), [](auto b) {
      return b == 0;
    })) << "scratch not wiped";
  }
}

TEST(Cookie, PrepareSealRejectsBadArguments) {
  std::mt19937 rng(1);
  const MasterKey mk = master(1, random_bytes(rng, 32));
  CookieKeys keys{*SivKey::from_bytes(random_bytes(rng, 32)),
                  *SivKey::from_bytes(random_bytes(rng, 32))};
  const Vec nonce(16);
  Vec out(100), short_out(99);
  CookieWork w;
  EXPECT_TRUE(prepare_seal(mk, keys, nonce, out, w));
  EXPECT_FALSE(prepare_seal(mk, keys, nonce, short_out, w));
  EXPECT_FALSE(prepare_seal(mk, keys, Vec(15), out, w));
  EXPECT_FALSE(prepare_seal(MasterKey{}, keys, nonce, out, w));
  CookieKeys mixed{keys.c2s, *SivKey::from_bytes(random_bytes(rng, 64))};
  EXPECT_FALSE(prepare_seal(mk, mixed, nonce, out, w));
  CookieKeys none;
  EXPECT_FALSE(prepare_seal(mk, none, nonce, out, w));
  // finish_open on work that prepare_open never set up is not a success.
  CookieWork idle;
  CookieKeys k;
  EXPECT_EQ(finish_open(SivStatus::kOk, idle, k), CookieStatus::kMalformed);
}

// The in-place forms the protocol core uses (set_open_op, keys_from_plain,
// set_seal_op) give the bytes and keys of the work-based forms, and resealing
// the opened plaintext as it is gives a cookie that opens to the same keys.
TEST(Cookie, InPlaceFormsMatchWorkForms) {
  std::mt19937 rng(9);
  auto eng = make_scalar_engine();
  for (const std::size_t klen : {32u, 64u}) {
    SCOPED_TRACE(klen);
    MasterKey mk = master(0x0a0b0c0d, random_bytes(rng, 32));
    mk.ad = klen == 32 ? CookieAd::kEmptyThenNonce : CookieAd::kNonceOnly;
    const KeyRing ring = *KeyRing::make(mk, {}, std::nullopt);
    const CookieKeys keys{*SivKey::from_bytes(random_bytes(rng, klen)),
                          *SivKey::from_bytes(random_bytes(rng, klen))};
    const Vec nonce = random_bytes(rng, 16);
    Vec want(cookie_len(keys.c2s.aead()));
    ASSERT_TRUE(seal_cookie(*eng, mk, keys, nonce, want));

    // Open in place: the op reads the cookie and writes C2S || S2C to `plain`.
    std::array<std::uint8_t, kMaxCookiePlainLen> plain{};
    SivOp op;
    ASSERT_EQ(set_open_op(ring, want, plain.data(), op), CookieStatus::kOk);
    ASSERT_EQ(op.out.size(), 2 * klen);
    ASSERT_EQ(eng->open_one(op), SivStatus::kOk);
    CookieKeys got;
    ASSERT_TRUE(keys_from_plain(Bytes(plain.data(), op.out.size()), got));
    EXPECT_EQ(to_hex(got.c2s.bytes()), to_hex(keys.c2s.bytes()));
    EXPECT_EQ(to_hex(got.s2c.bytes()), to_hex(keys.s2c.bytes()));

    // Seal the opened plaintext again with the same nonce: the same cookie.
    Vec again(want.size(), 0xee);
    SivOp seal;
    ASSERT_TRUE(set_seal_op(mk, Bytes(plain.data(), 2 * klen), nonce, again, seal));
    ASSERT_EQ(eng->seal_one(seal), SivStatus::kOk);
    EXPECT_EQ(to_hex(again), to_hex(want));
  }
}

TEST(Cookie, InPlaceFormsRejectBadArguments) {
  std::mt19937 rng(10);
  const MasterKey mk = master(3, random_bytes(rng, 32));
  const KeyRing ring = *KeyRing::make(mk, {}, std::nullopt);
  std::array<std::uint8_t, kMaxCookiePlainLen> plain{};
  const Vec keys = random_bytes(rng, 64);
  Vec cookie(100);
  SivOp op;
  ASSERT_TRUE(set_seal_op(mk, keys, Vec(16), cookie, op));
  // Failures leave the op as it was.
  SivOp untouched;
  EXPECT_EQ(set_open_op(ring, Bytes(cookie).first(35), plain.data(), untouched),
            CookieStatus::kMalformed);
  EXPECT_EQ(set_open_op(ring, Bytes(cookie).first(99), plain.data(), untouched),
            CookieStatus::kMalformed);  // odd plaintext length
  EXPECT_EQ(set_open_op(ring, Bytes(cookie).first(76), plain.data(), untouched),
            CookieStatus::kMalformed);  // 40-byte plaintext: 20-byte keys are no SIV key
  Vec other = cookie;
  other[0] ^= 0x80;
  EXPECT_EQ(set_open_op(ring, other, plain.data(), untouched), CookieStatus::kUnknownKeyId);
  EXPECT_EQ(untouched.key, nullptr);
  EXPECT_EQ(untouched.ad_count, 0);
  EXPECT_TRUE(untouched.out.empty());

  Vec short_out(99);
  EXPECT_FALSE(set_seal_op(mk, keys, Vec(16), short_out, untouched));
  EXPECT_FALSE(set_seal_op(mk, keys, Vec(15), cookie, untouched));
  EXPECT_FALSE(set_seal_op(MasterKey{}, keys, Vec(16), cookie, untouched));
  Vec header_only(36);
  EXPECT_FALSE(set_seal_op(mk, Bytes{}, Vec(16), header_only, untouched));
  EXPECT_EQ(untouched.key, nullptr);

  CookieKeys k;
  EXPECT_FALSE(keys_from_plain(Bytes(keys).first(40), k));
  EXPECT_FALSE(keys_from_plain(Bytes(keys).first(63), k));
  EXPECT_FALSE(keys_from_plain(Bytes{}, k));
  EXPECT_TRUE(k.c2s.empty());
}

}  // namespace
}  // namespace ntsd::crypto
