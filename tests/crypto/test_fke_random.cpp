// crypto::FkeRandom (fast-key-erasure AES-128 generator) against a model
// built on OpenSSL's AES-128-ECB one block at a time: every call's output is
// E(K, 1) || E(K, 2) || ... (counter block i = 128-bit big-endian i), the
// next key is E(K, 0), and a reseed XORs the entropy into K first. Both
// backends (VAES where the CPU has it, OpenSSL) must match the model and each
// other bit for bit.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <array>
#include <cstring>
#include <random>
#include <set>
#include <vector>

#include "ntsd/crypto/fke_random.hpp"

namespace ntsd::crypto {
namespace {

using Key = std::array<std::uint8_t, 16>;
using Backend = FkeRandom::Backend;

Key aes_block(const Key& key, std::uint64_t counter) {
  Key in{}, out{};
  for (int b = 0; b < 8; ++b) in[15 - b] = static_cast<std::uint8_t>(counter >> (8 * b));
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  EXPECT_EQ(EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), nullptr, key.data(), nullptr), 1);
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  EXPECT_EQ(EVP_EncryptUpdate(ctx, out.data(), &len, in.data(), 16), 1);
  EXPECT_EQ(len, 16);
  EVP_CIPHER_CTX_free(ctx);
  return out;
}

// The model: what one fill(n) gives under `key`, and the key after it.
struct Model {
  Key key;
  std::vector<std::uint8_t> fill(std::size_t n) {
    std::vector<std::uint8_t> out(n);
    for (std::size_t j = 0; 16 * j < n; ++j) {
      const Key b = aes_block(key, j + 1);
      std::memcpy(out.data() + 16 * j, b.data(), std::min<std::size_t>(16, n - 16 * j));
    }
    key = aes_block(key, 0);
    return out;
  }
};

constexpr Key kSeed = {0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
                       0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c};

std::vector<Backend> backends() {
  std::vector<Backend> b = {Backend::kOpenSsl};
  if (FkeRandom::cpu_has_vaes()) b.push_back(Backend::kVaes);
  return b;
}

Key key_of(const FkeRandom& g) {
  Key k{};
  g.key_for_test(k);
  return k;
}

std::vector<std::uint8_t> draw(FkeRandom& g, std::size_t n) {
  // Guard bytes on both sides: fill() writes exactly n bytes.
  std::vector<std::uint8_t> buf(n + 128, 0xa5);
  g.fill(std::span(buf.data() + 64, n));
  for (std::size_t i = 0; i < 64; ++i) {
    EXPECT_EQ(buf[i], 0xa5) << "wrote before out, n=" << n;
    EXPECT_EQ(buf[64 + n + i], 0xa5) << "wrote past out, n=" << n;
  }
  return {buf.begin() + 64, buf.begin() + 64 + static_cast<std::ptrdiff_t>(n)};
}

// The model's cipher pinned to a known answer: E(kSeed, block 0) is AES-128
// of the zero block under the RFC 4493 §4 key, the L of that section.
TEST(FkeRandom, ModelKnownAnswer) {
  const Key zero_ct = aes_block(kSeed, 0);
  const Key want = {0x7d, 0xf7, 0x6b, 0x0c, 0x1a, 0xb8, 0x99, 0xb3,
                    0x3e, 0x42, 0xf0, 0x47, 0xb9, 0x1b, 0x54, 0x6f};
  EXPECT_EQ(zero_ct, want);
}

TEST(FkeRandom, EveryLengthMatchesTheModel) {
  const std::size_t lengths[] = {0,   1,   2,   15,  16,  17,   31,   32,   33,    47,    48,
                                 63,  64,  65,  127, 128, 129,  191,  192,  255,   256,   257,
                                 300, 511, 512, 513, 767, 1000, 1023, 1024, 1025,  2048,  2049,
                                 4095, 4096, 4097, 16384, 16385, 65536 + 16 * 4096 + 7};
  for (const Backend b : backends()) {
    FkeRandom g(FkeRandom::ForTestsOnly{}, kSeed, b);
    Model m{kSeed};
    for (const std::size_t n : lengths) {
      ASSERT_EQ(key_of(g), m.key) << "n=" << n;
      const auto want = m.fill(n);
      ASSERT_EQ(draw(g, n), want) << "n=" << n << " backend=" << static_cast<int>(b);
    }
    EXPECT_EQ(key_of(g), m.key);
  }
}

// Key erasure: after a call the key is E(K, 0), and neither K nor any of its
// round keys is left in the object (VAES keeps the schedule in the object;
// OpenSSL keeps it in its context, which re-keying overwrites).
TEST(FkeRandom, KeyErasure) {
  for (const Backend b : backends()) {
    FkeRandom g(FkeRandom::ForTestsOnly{}, kSeed, b);
    std::array<std::uint8_t, sizeof(FkeRandom)> before{}, after{};
    std::memcpy(before.data(), static_cast<const void*>(&g), sizeof g);
    // Where K sits in the object: its schedule follows (VAES).
    std::size_t at = sizeof g;
    for (std::size_t i = 0; i + 16 <= sizeof g; ++i)
      if (std::memcmp(before.data() + i, kSeed.data(), 16) == 0) at = i;
    ASSERT_LT(at, sizeof g);
    draw(g, 40);
    EXPECT_EQ(key_of(g), aes_block(kSeed, 0));
    std::memcpy(after.data(), static_cast<const void*>(&g), sizeof g);
    const std::size_t rounds = b == Backend::kVaes ? 11 : 1;
    for (std::size_t r = 0; r < rounds && at + 16 * (r + 1) <= sizeof g; ++r) {
      const std::uint8_t* old = before.data() + at + 16 * r;
      for (std::size_t i = 0; i + 16 <= sizeof g; ++i)
        EXPECT_NE(std::memcmp(after.data() + i, old, 16), 0)
            << "round key " << r << " of the old key still at offset " << i;
    }
  }
}

// Calls of odd sizes in sequence: each one matches the model, and the VAES
// and OpenSSL generators from one seed agree bit for bit.
TEST(FkeRandom, OddSplitsAndBackendsAgree) {
  std::mt19937 lens(17);
  std::vector<std::vector<std::uint8_t>> per_backend;
  for (const Backend b : backends()) {
    lens.seed(17);
    FkeRandom g(FkeRandom::ForTestsOnly{}, kSeed, b);
    Model m{kSeed};
    std::vector<std::uint8_t> all;
    for (int call = 0; call < 300; ++call) {
      const std::size_t n = lens() % 700;
      const auto got = draw(g, n);
      ASSERT_EQ(got, m.fill(n)) << "call " << call << " n=" << n;
      all.insert(all.end(), got.begin(), got.end());
    }
    per_backend.push_back(all);
  }
  if (!FkeRandom::cpu_has_vaes()) GTEST_SKIP() << "no VAES on this CPU: one backend only";
  ASSERT_EQ(per_backend.size(), 2u);
  EXPECT_EQ(per_backend[0], per_backend[1]);
}

// No 16-byte block repeats within or across calls (it would take a 2^-100
// accident), for the production generator on this CPU.
TEST(FkeRandom, NoBlockRepeats) {
  FkeRandom g;
  EXPECT_EQ(g.uses_vaes(), FkeRandom::cpu_has_vaes());
  std::set<Key> seen;
  for (int call = 0; call < 2000; ++call) {
    const auto out = draw(g, 16 * (1 + call % 37));
    for (std::size_t i = 0; i < out.size(); i += 16) {
      Key k{};
      std::memcpy(k.data(), out.data() + i, 16);
      EXPECT_TRUE(seen.insert(k).second) << "call " << call;
    }
  }
  // Two production generators start from different RAND_bytes keys.
  FkeRandom h;
  EXPECT_NE(draw(g, 32), draw(h, 32));
  Key a{}, c{};
  g.key_for_test(a);
  h.key_for_test(c);
  EXPECT_NE(a, c);
}

// A deterministic entropy source: a running byte counter. Reseed k (from 0)
// gets bytes 16k+1 .. 16k+16 (mod 256).
std::uint8_t g_entropy_counter = 0;
bool counting_entropy(std::uint8_t* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = ++g_entropy_counter;
  return true;
}
bool failing_entropy(std::uint8_t*, std::size_t) { return false; }

void model_reseed(Model& m, int k) {
  for (int i = 0; i < 16; ++i) m.key[i] ^= static_cast<std::uint8_t>(16 * k + i + 1);
}

// Every third call, the key is K ^ (16 fresh bytes) before the call runs;
// and a call after kReseedBytes bytes reseeds whatever the call count.
TEST(FkeRandom, ReseedXorsFreshBytesIntoTheKey) {
  for (const Backend b : backends()) {
    g_entropy_counter = 0;
    FkeRandom g(FkeRandom::ForTestsOnly{}, kSeed, b, 3, counting_entropy);
    Model m{kSeed};
    int reseeds = 0;
    for (int call = 1; call <= 10; ++call) {
      if (call % 3 == 0) model_reseed(m, reseeds++);
      ASSERT_EQ(draw(g, 33), m.fill(33)) << "call " << call;
    }
    EXPECT_EQ(reseeds, 3);
    EXPECT_EQ(g_entropy_counter, 16 * 3);

    g_entropy_counter = 0;
    FkeRandom big(FkeRandom::ForTestsOnly{}, kSeed, b, 1000, counting_entropy);
    Model mb{kSeed};
    ASSERT_EQ(draw(big, FkeRandom::kReseedBytes), mb.fill(FkeRandom::kReseedBytes));
    EXPECT_EQ(g_entropy_counter, 0);  // not before the next call
    model_reseed(mb, 0);
    ASSERT_EQ(draw(big, 20), mb.fill(20));
    EXPECT_EQ(g_entropy_counter, 16);
  }
}

TEST(FkeRandomDeathTest, FailedReseedAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  FkeRandom g(FkeRandom::ForTestsOnly{}, kSeed, Backend::kOpenSsl, 2, failing_entropy);
  std::uint8_t out[16];
  g.fill(out);
  EXPECT_DEATH(g.fill(out), "RAND_bytes failed");
}

}  // namespace
}  // namespace ntsd::crypto
