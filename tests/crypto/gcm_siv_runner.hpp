// AES-GCM-SIV vectors (RFC 8452 Appendix C, Wycheproof aes_gcm_siv_test.json)
// through any SivEngine, one op at a time or in bursts, so the scalar
// reference and every burst engine are held to the same vectors:
//
//   auto n = ntsd::test::run_gcm_siv_vectors(*eng, /*burst=*/32);
//   EXPECT_EQ(n.total(), ntsd::test::kGcmSiv128Vectors);
//
// Engines take AES-128 keys only (AEAD 30, a 16-byte SivKey); the AES-256
// vectors run through gcmsiv::Reference directly (tests/crypto/test_gcm_siv.cpp).
// Wire order: "ct" || "tag" (RFC 8452 §4), the AD list [aad, iv].
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ntsd/crypto/siv.hpp"
#include "test_util.hpp"

namespace ntsd::test {

// AES-128 vectors: Wycheproof's 128-bit group (99) + RFC 8452 C.1 (24).
inline constexpr std::size_t kWycheproofGcmSiv128 = 99;
inline constexpr std::size_t kRfc8452Aes128 = 24;
inline constexpr std::size_t kGcmSiv128Vectors = kWycheproofGcmSiv128 + kRfc8452Aes128;

struct GcmSivVector {
  std::string where;
  std::vector<std::uint8_t> key, nonce, aad, msg;
  std::vector<std::uint8_t> sealed;  // ciphertext || tag
  bool valid = true;
};

// Both sources; key_len 0 = every key size.
inline std::vector<GcmSivVector> load_gcm_siv_vectors(std::size_t key_len = 0) {
  std::vector<GcmSivVector> out;
  const auto wp =
      nlohmann::json::parse(read_file(vectors_dir() + "/wycheproof/aes_gcm_siv_test.json"));
  for (const auto& group : wp.at("testGroups")) {
    for (const auto& t : group.at("tests")) {
      GcmSivVector v;
      v.where = "aes_gcm_siv_test.json tcId " + std::to_string(t.at("tcId").get<int>());
      v.key = from_hex(t.at("key").get<std::string>());
      v.nonce = from_hex(t.at("iv").get<std::string>());
      v.aad = from_hex(t.at("aad").get<std::string>());
      v.msg = from_hex(t.at("msg").get<std::string>());
      v.sealed = from_hex(t.at("ct").get<std::string>() + t.at("tag").get<std::string>());
      v.valid = t.at("result").get<std::string>() == "valid";
      if (key_len == 0 || v.key.size() == key_len) out.push_back(std::move(v));
    }
  }
  const auto rfc = nlohmann::json::parse(read_file(vectors_dir() + "/rfc8452/appendix_c.json"));
  for (const auto& t : rfc.at("vectors")) {
    GcmSivVector v;
    v.where = "RFC 8452 " + t.at("section").get<std::string>() + " #" +
              std::to_string(t.at("n").get<int>());
    v.key = from_hex(t.at("key").get<std::string>());
    v.nonce = from_hex(t.at("nonce").get<std::string>());
    v.aad = from_hex(t.at("aad").get<std::string>());
    v.msg = from_hex(t.at("plaintext").get<std::string>());
    v.sealed = from_hex(t.at("result").get<std::string>());
    if (key_len == 0 || v.key.size() == key_len) out.push_back(std::move(v));
  }
  return out;
}

struct GcmSivCounts {
  std::size_t valid = 0, invalid = 0;
  std::size_t total() const { return valid + invalid; }
};

// Every AES-128 vector through `eng` as AEAD-30 SivOps, `burst` ops per call.
// Valid vectors must seal to the expected bytes and open to the message;
// invalid ones must fail to open with the output zeroed.
inline GcmSivCounts run_gcm_siv_vectors(crypto::SivEngine& eng, std::size_t burst) {
  using crypto::SivStatus;
  const auto vectors = load_gcm_siv_vectors(16);
  GcmSivCounts counts;
  burst = std::max<std::size_t>(burst, 1);
  for (std::size_t base = 0; base < vectors.size(); base += burst) {
    const std::size_t n = std::min(burst, vectors.size() - base);
    std::vector<crypto::SivKey> keys(n);
    std::vector<std::vector<std::uint8_t>> sealed(n), opened(n);
    std::vector<crypto::SivOp> seal_ops(n), open_ops(n);
    for (std::size_t i = 0; i < n; ++i) {
      const GcmSivVector& v = vectors[base + i];
      auto k = crypto::SivKey::from_bytes(v.key);
      EXPECT_TRUE(k && k->aead() == crypto::AeadId::kAesGcmSiv128) << v.where;
      if (k) keys[i] = *k;
      sealed[i].assign(v.msg.size() + crypto::kSivTagLen, 0);
      opened[i].assign(v.sealed.size() - crypto::kSivTagLen, 0xAA);
      seal_ops[i] = crypto::make_aead_op(keys[i], v.aad, v.nonce, v.msg, sealed[i]);
      open_ops[i] = crypto::make_aead_op(keys[i], v.aad, v.nonce, v.sealed, opened[i]);
    }
    std::vector<SivStatus> seal_st(n, SivStatus::kBadInput), open_st(n, SivStatus::kBadInput);
    eng.seal(seal_ops, seal_st);
    eng.open(open_ops, open_st);
    for (std::size_t i = 0; i < n; ++i) {
      const GcmSivVector& v = vectors[base + i];
      EXPECT_EQ(seal_st[i], SivStatus::kOk) << v.where;
      if (v.valid) {
        ++counts.valid;
        EXPECT_EQ(to_hex(sealed[i]), to_hex(v.sealed)) << v.where << " seal";
        EXPECT_EQ(open_st[i], SivStatus::kOk) << v.where << " open";
        EXPECT_EQ(to_hex(opened[i]), to_hex(v.msg)) << v.where << " open";
      } else {
        ++counts.invalid;
        EXPECT_NE(to_hex(sealed[i]), to_hex(v.sealed)) << v.where << " sealed to an invalid tag";
        EXPECT_EQ(open_st[i], SivStatus::kAuthFail) << v.where << " open";
        EXPECT_TRUE(std::all_of(opened[i].begin(), opened[i].end(), [](auto b) { return b == 0; }))
            << v.where << ": plaintext released on a failed open";
      }
    }
  }
  return counts;
}

}  // namespace ntsd::test
