// Cross-checks the scalar engine against an independent AES-SIV built in this
// test from OpenSSL's EVP_MAC "CMAC" and EVP AES-CTR (not our Cmac, not our
// counter code), for the shapes the vectors do not reach: messages longer
// than the engine's 1 KiB one-shot CMAC and 64-block CTR batches, and every
// AD count from 0 to kMaxAdComponents.
#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <random>

#include "ntsd/crypto/cmac.hpp"
#include "ntsd/crypto/siv.hpp"

namespace ntsd::crypto {
namespace {

using Vec = std::vector<std::uint8_t>;

Block evp_cmac(Bytes key, Bytes msg) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "CMAC", nullptr);
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  const char* cipher = key.size() == 16   ? "AES-128-CBC"
                       : key.size() == 24 ? "AES-192-CBC"
                                          : "AES-256-CBC";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, const_cast<char*>(cipher), 0),
      OSSL_PARAM_construct_end()};
  Block tag{};
  std::size_t len = 0;
  EXPECT_EQ(EVP_MAC_init(ctx, key.data(), key.size(), params), 1);
  EXPECT_EQ(EVP_MAC_update(ctx, msg.data(), msg.size()), 1);
  EXPECT_EQ(EVP_MAC_final(ctx, tag.data(), &len, tag.size()), 1);
  EXPECT_EQ(len, 16u);
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
  return tag;
}

// RFC 5297 §2.4 written out plainly, on evp_cmac.
Block reference_s2v(Bytes k1, const std::vector<Vec>& ad, const Vec& p) {
  Block d = evp_cmac(k1, Block{});
  for (const auto& s : ad) {
    block_dbl(d);
    block_xor(d, evp_cmac(k1, s).data());
  }
  Vec t = p;
  if (p.size() >= 16) {
    for (std::size_t i = 0; i < 16; ++i) t[p.size() - 16 + i] ^= d[i];
  } else {
    block_dbl(d);
    t.push_back(0x80);
    t.resize(16, 0);
    for (std::size_t i = 0; i < 16; ++i) t[i] ^= d[i];
  }
  return evp_cmac(k1, t);
}

Vec reference_ctr(Bytes k2, Block q, const Vec& p) {
  q[8] &= 0x7f;
  q[12] &= 0x7f;
  const char* name = k2.size() == 16   ? "AES-128-CTR"
                     : k2.size() == 24 ? "AES-192-CTR"
                                       : "AES-256-CTR";
  EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, name, nullptr);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  Vec out(p.size());
  int outl = 0;
  EXPECT_EQ(EVP_EncryptInit_ex2(ctx, c, k2.data(), q.data(), nullptr), 1);
  if (!p.empty()) {
    EXPECT_EQ(EVP_EncryptUpdate(ctx, out.data(), &outl, p.data(), static_cast<int>(p.size())), 1);
  }
  EVP_CIPHER_CTX_free(ctx);
  EVP_CIPHER_free(c);
  return out;
}

Vec random_bytes(std::mt19937& rng, std::size_t n) {
  Vec v(n);
  for (auto& b : v) b = static_cast<std::uint8_t>(rng());
  return v;
}

TEST(SivCrossCheck, MatchesIndependentEvpSivOnLongAndOddShapes) {
  auto eng = make_scalar_engine();
  std::mt19937 rng(4493);
  std::size_t checked = 0;
  for (std::size_t klen : {32u, 48u, 64u}) {
    const SivKey key = *SivKey::from_bytes(random_bytes(rng, klen));
    for (std::size_t n : {0u, 1u, 15u, 16u, 17u, 1008u, 1023u, 1024u, 1025u, 1040u, 2047u, 3000u}) {
      for (std::size_t nad = 0; nad <= kMaxAdComponents; ++nad) {
        std::vector<Vec> ad;
        for (std::size_t i = 0; i < nad; ++i)
          ad.push_back(random_bytes(rng, (n * (i + 1) + 7 * i) % 1500));
        const Vec p = random_bytes(rng, n);
        SivOp op;
        op.key = &key;
        op.ad_count = static_cast<std::uint8_t>(nad);
        for (std::size_t i = 0; i < nad; ++i) op.ad[i] = ad[i];
        Vec sealed(n + kSivTagLen);
        op.in = p;
        op.out = sealed;
        ASSERT_EQ(eng->seal_one(op), SivStatus::kOk);
        const Block v = reference_s2v(key.mac_key(), ad, p);
        ASSERT_EQ(Vec(sealed.begin(), sealed.begin() + 16), Vec(v.begin(), v.end()))
            << klen << " " << n << " " << nad;
        ASSERT_EQ(Vec(sealed.begin() + 16, sealed.end()), reference_ctr(key.ctr_key(), v, p))
            << klen << " " << n << " " << nad;
        Vec opened(n);
        op.in = sealed;
        op.out = opened;
        ASSERT_EQ(eng->open_one(op), SivStatus::kOk);
        ASSERT_EQ(opened, p);
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 3u * 12 * (kMaxAdComponents + 1));
}

TEST(SivCrossCheck, CmacOneShotStreamAndXorendAgree) {
  std::mt19937 rng(38);
  for (std::size_t klen : {16u, 24u, 32u}) {
    const Vec key = random_bytes(rng, klen);
    Cmac mac;
    ASSERT_TRUE(mac.set_key(key));
    for (std::size_t n = 0; n <= 2100; n += (n < 70 ? 1 : 37)) {
      const Vec m = random_bytes(rng, n);
      const Block ref = evp_cmac(key, m);
      Block one{}, streamed{};
      mac.compute(m, one);
      EXPECT_EQ(one, ref) << klen << " " << n;
      mac.reset();
      for (std::size_t off = 0; off < n;) {
        const std::size_t step = std::min<std::size_t>(1 + rng() % 600, n - off);
        mac.update(Bytes(m).subspan(off, step));
        off += step;
      }
      mac.final(streamed);
      EXPECT_EQ(streamed, ref) << klen << " " << n;
      if (n >= 16) {
        const Vec xv = random_bytes(rng, 16);
        Block x{};
        std::copy(xv.begin(), xv.end(), x.begin());
        Vec t = m;
        for (std::size_t i = 0; i < 16; ++i) t[n - 16 + i] ^= x[i];
        Block xe{};
        mac.compute_xorend(m, x, xe);
        EXPECT_EQ(xe, evp_cmac(key, t)) << klen << " " << n;
      }
    }
  }
  Cmac unkeyed;
  EXPECT_FALSE(unkeyed.set_key(Vec(20)));
  Block z{1};
  unkeyed.compute(Vec(5), z);
  EXPECT_EQ(z, Block{});
}

}  // namespace
}  // namespace ntsd::crypto
