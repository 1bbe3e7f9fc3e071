// Wycheproof vectors for the scalar engine's AES-SIV and its AES-CMAC.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "ntsd/crypto/cmac.hpp"
#include "ntsd/crypto/siv.hpp"
#include "test_util.hpp"
#include "wycheproof_runner.hpp"

namespace ntsd::test {
namespace {

TEST(Wycheproof, FilesHoldTheExpectedVectors) {
  std::size_t daead = 0, aead = 0;
  const auto v = load_wycheproof_siv(&daead, &aead);
  EXPECT_EQ(daead, kWycheproofDaeadVectors);
  EXPECT_EQ(aead, kWycheproofAeadVectors);
  // All three key sizes (AEAD 15, 16, 17) are present and exercised.
  for (std::size_t len : {32u, 48u, 64u})
    EXPECT_GT(std::count_if(v.begin(), v.end(), [&](const auto& x) { return x.key.size() == len; }),
              100)
        << len;
}

class ScalarWycheproof : public ::testing::TestWithParam<std::size_t> {};

TEST_P(ScalarWycheproof, AllSivVectors) {
  auto eng = crypto::make_scalar_engine();
  const SivRunCounts n = run_wycheproof_siv(*eng, GetParam());
  EXPECT_EQ(n.total(), kWycheproofSivVectors);
  EXPECT_EQ(n.valid, 40u + 39 + 39 + 84 * 3);  // counted from the files
  EXPECT_EQ(n.invalid, 108u * 3 + 216 * 3);
}

INSTANTIATE_TEST_SUITE_P(Bursts, ScalarWycheproof, ::testing::Values(1, 7, 32, 64));

TEST(Wycheproof, AesCmac) {
  const auto doc =
      nlohmann::json::parse(read_file(vectors_dir() + "/wycheproof/aes_cmac_test.json"));
  std::size_t ran = 0, valid = 0, bad_key = 0;
  crypto::Cmac mac;
  for (const auto& group : doc.at("testGroups")) {
    ASSERT_EQ(group.at("tagSize").get<int>(), 128);  // we only produce full tags
    for (const auto& t : group.at("tests")) {
      ++ran;
      const std::string where = "tcId " + std::to_string(t.at("tcId").get<int>());
      const auto key = from_hex(t.at("key").get<std::string>());
      const auto msg = from_hex(t.at("msg").get<std::string>());
      const auto tag = from_hex(t.at("tag").get<std::string>());
      const bool is_valid = t.at("result").get<std::string>() == "valid";
      const bool aes_key = key.size() == 16 || key.size() == 24 || key.size() == 32;
      ASSERT_EQ(mac.set_key(key), aes_key) << where;
      if (!aes_key) {
        EXPECT_FALSE(is_valid) << where;  // the InvalidKeySize cases
        ++bad_key;
        continue;
      }
      crypto::Block out{};
      mac.compute(msg, out);
      EXPECT_EQ(to_hex(out) == to_hex(tag), is_valid) << where;
      if (is_valid) {
        ++valid;
        // Streaming in uneven pieces must give the same tag.
        for (std::size_t step : {1u, 3u, 15u, 16u, 17u}) {
          mac.reset();
          for (std::size_t off = 0; off < msg.size(); off += step)
            mac.update(std::span(msg).subspan(off, std::min(step, msg.size() - off)));
          crypto::Block out2{};
          mac.final(out2);
          EXPECT_EQ(to_hex(out2), to_hex(tag)) << where << " step " << step;
        }
      }
    }
  }
  EXPECT_EQ(ran, 311u);
  EXPECT_EQ(valid, 63u);
  EXPECT_EQ(bad_key, 5u);
}

}  // namespace
}  // namespace ntsd::test
