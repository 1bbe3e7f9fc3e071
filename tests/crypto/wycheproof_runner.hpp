// Runs the Wycheproof AES-SIV vectors through any SivEngine, one op at a time
// or in bursts, so that every engine (scalar, multi-buffer, ...) is held to
// the same vectors. Usage from another engine's test:
//
//   auto eng = ntsd::crypto::make_mb_engine();
//   auto n = ntsd::test::run_wycheproof_siv(*eng, /*burst=*/32);
//   EXPECT_EQ(n.total(), ntsd::test::kWycheproofSivVectors);
//
// Vector files (tests/vectors/wycheproof/):
//  - aes_siv_cmac_test.json: deterministic AEAD (RFC 5297 §3), AD = [aad];
//    "ct" is SIV || ciphertext, our wire order.
//  - aead_aes_siv_cmac_test.json: nonce-based AEAD (RFC 5297 §3 with the nonce
//    as the last AD component, as RFC 8915 uses it), AD = [aad, iv]; "ct" and
//    "tag" are separate, "tag" is the SIV, so the wire form is tag || ct.
// Valid vectors must seal to exactly the expected bytes and open to the
// message; invalid ones (all are modified tags) must open to kAuthFail with
// the output zeroed.
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

inline constexpr std::size_t kWycheproofDaeadVectors = 442;
inline constexpr std::size_t kWycheproofAeadVectors = 900;
inline constexpr std::size_t kWycheproofSivVectors =
    kWycheproofDaeadVectors + kWycheproofAeadVectors;

struct SivVector {
  std::string where;  // file and tcId, for failure messages
  std::vector<std::uint8_t> key;
  std::vector<std::vector<std::uint8_t>> ad;  // S2V components before the plaintext
  std::vector<std::uint8_t> msg;
  std::vector<std::uint8_t> sealed;  // SIV || ciphertext
  bool valid = false;
};

using SivRunCounts = VectorCounts;

// Loads both files; *daead / *aead receive how many vectors each contributed.
inline std::vector<SivVector> load_wycheproof_siv(std::size_t* daead = nullptr,
                                                  std::size_t* aead = nullptr) {
  std::vector<SivVector> out;
  for (const bool with_iv : {false, true}) {
    const std::string name = with_iv ? "aead_aes_siv_cmac_test.json" : "aes_siv_cmac_test.json";
    const auto doc = nlohmann::json::parse(read_file(vectors_dir() + "/wycheproof/" + name));
    std::size_t n = 0;
    for (const auto& group : doc.at("testGroups")) {
      for (const auto& t : group.at("tests")) {
        SivVector v;
        v.where = name + " tcId " + std::to_string(t.at("tcId").get<int>());
        v.key = from_hex(t.at("key").get<std::string>());
        v.ad.push_back(from_hex(t.at("aad").get<std::string>()));
        if (with_iv) v.ad.push_back(from_hex(t.at("iv").get<std::string>()));
        v.msg = from_hex(t.at("msg").get<std::string>());
        if (with_iv) {
          v.sealed = from_hex(t.at("tag").get<std::string>());
          const auto ct = from_hex(t.at("ct").get<std::string>());
          v.sealed.insert(v.sealed.end(), ct.begin(), ct.end());
        } else {
          v.sealed = from_hex(t.at("ct").get<std::string>());
        }
        v.valid = t.at("result").get<std::string>() == "valid";
        out.push_back(std::move(v));
        ++n;
      }
    }
    EXPECT_EQ(n, doc.at("numberOfTests").get<std::size_t>()) << name;
    if (with_iv && aead) *aead = n;
    if (!with_iv && daead) *daead = n;
  }
  return out;
}

// Runs every vector through `eng` in bursts of `burst` ops (1 = single ops).
inline SivRunCounts run_wycheproof_siv(crypto::SivEngine& eng, std::size_t burst) {
  return run_vectors(eng, load_wycheproof_siv(), burst,
                     [](const SivVector& v, const crypto::SivKey& key, crypto::MutBytes sealed,
                        crypto::MutBytes opened, crypto::SivOp& seal, crypto::SivOp& open) {
                       for (auto* op : {&seal, &open}) {
                         op->key = &key;
                         op->ad_count = static_cast<std::uint8_t>(v.ad.size());
                         for (std::size_t j = 0; j < v.ad.size(); ++j) op->ad[j] = v.ad[j];
                       }
                       seal.in = v.msg;
                       seal.out = sealed;
                       open.in = v.sealed;
                       open.out = opened;
                     });
}

}  // namespace ntsd::test
