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

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ntsd/crypto/siv.hpp"
#include "test_util.hpp"
#include "vector_runner.hpp"

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

using GcmSivCounts = VectorCounts;

// Every AES-128 vector through `eng` as AEAD-30 SivOps, `burst` ops per call
// (vector_runner.hpp: what valid and invalid vectors must do).
inline GcmSivCounts run_gcm_siv_vectors(crypto::SivEngine& eng, std::size_t burst) {
  return run_vectors(eng, load_gcm_siv_vectors(16), burst,
                     [](const GcmSivVector& v, const crypto::SivKey& key, crypto::MutBytes sealed,
                        crypto::MutBytes opened, crypto::SivOp& seal, crypto::SivOp& open) {
                       EXPECT_EQ(key.aead(), crypto::AeadId::kAesGcmSiv128) << v.where;
                       seal = crypto::make_aead_op(key, v.aad, v.nonce, v.msg, sealed);
                       open = crypto::make_aead_op(key, v.aad, v.nonce, v.sealed, opened);
                     });
}

}  // namespace ntsd::test
