// The long-lived key mark (SivKey::long_lived, set by KeyRing for cookie
// master keys) and the VAES engine's cache of such a key's schedule across
// calls (mb_vaes_siv.hpp): results stay bit-identical to the scalar
// reference across calls, when the key's bytes change under the same SivKey
// object, and for keys without the mark (which the cache never holds); the
// other engines ignore the mark.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "crosscheck.hpp"
#include "mb_vaes_siv.hpp"
#include "ntsd/crypto/keyring.hpp"
#include "test_util.hpp"

namespace ntsd::test {
namespace {

using crypto::kSivTagLen;
using crypto::SivEngine;
using crypto::SivKey;
using crypto::SivOp;
using crypto::SivStatus;

SivKey random_key(MtRng& rng, std::size_t len) {
  std::vector<std::uint8_t> b(len);
  rng.fill(b.data(), b.size());
  return *SivKey::from_bytes(b);
}

// Seals n cookie-shaped ops (AD [nonce] or ["", nonce] in the GCM-SIV
// layout, plaintext len) under `key` with `eng` and the reference, compares
// every byte and status, then opens the engine's output with both (op 1
// tampered) and compares again.
void check_burst(SivEngine& ref, SivEngine& eng, const SivKey& key, MtRng& rng, std::size_t n,
                 std::size_t len, std::size_t ad_count, const std::string& what) {
  SCOPED_TRACE(what + " n=" + std::to_string(n) + " len=" + std::to_string(len));
  const std::size_t nonce_len = key.size() == 16 ? crypto::kGcmSivNonceLen : 16;
  std::vector<std::vector<std::uint8_t>> plain(n, std::vector<std::uint8_t>(len)),
      nonce(n, std::vector<std::uint8_t>(nonce_len)), out_ref(n), out_eng(n);
  std::vector<SivOp> ops(n);
  const std::vector<std::uint8_t> empty;
  for (std::size_t i = 0; i < n; ++i) {
    rng.fill(plain[i].data(), len);
    rng.fill(nonce[i].data(), nonce_len);
    out_ref[i].assign(len + kSivTagLen, 0);
    out_eng[i].assign(len + kSivTagLen, 0);
    ops[i].key = &key;
    ops[i].ad_count = static_cast<std::uint8_t>(ad_count);
    if (ad_count == 2) ops[i].ad[0] = empty;
    ops[i].ad[ad_count - 1] = nonce[i];
    ops[i].in = plain[i];
  }
  std::vector<SivStatus> st_ref(n), st_eng(n);
  auto seal = [&](SivEngine& e, std::vector<std::vector<std::uint8_t>>& out,
                  std::vector<SivStatus>& st) {
    for (std::size_t i = 0; i < n; ++i) ops[i].out = out[i];
    e.seal(ops, st);
  };
  seal(ref, out_ref, st_ref);
  seal(eng, out_eng, st_eng);
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_EQ(st_ref[i], SivStatus::kOk) << i;
    ASSERT_EQ(st_eng[i], st_ref[i]) << i;
    ASSERT_EQ(to_hex(out_eng[i]), to_hex(out_ref[i])) << i;
  }
  if (n > 1) out_eng[1][len / 2] ^= 0x40;  // one op fails to open
  std::vector<std::vector<std::uint8_t>> back_ref(n, std::vector<std::uint8_t>(len)),
      back_eng(n, std::vector<std::uint8_t>(len));
  auto open = [&](SivEngine& e, std::vector<std::vector<std::uint8_t>>& back,
                  std::vector<SivStatus>& st) {
    for (std::size_t i = 0; i < n; ++i) {
      ops[i].in = out_eng[i];
      ops[i].out = back[i];
    }
    e.open(ops, st);
  };
  open(ref, back_ref, st_ref);
  open(eng, back_eng, st_eng);
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_EQ(st_eng[i], st_ref[i]) << i;
    ASSERT_EQ(st_ref[i], i == 1 ? SivStatus::kAuthFail : SivStatus::kOk) << i;
    ASSERT_EQ(to_hex(back_eng[i]), to_hex(back_ref[i])) << i;
  }
}

class VaesLongLived : public ::testing::Test {
 protected:
  void SetUp() override {
    ref_ = crypto::make_scalar_engine();
    eng_ = crypto::make_vaes_engine();
    if (!eng_) GTEST_SKIP() << "no VAES/AVX-512 on this CPU";
  }
  bool cached() const {
    return crypto::mb::VaesSivTestAccess::cache_valid(static_cast<crypto::mb::VaesSiv&>(*eng_));
  }
  std::unique_ptr<SivEngine> ref_, eng_;
};

TEST_F(VaesLongLived, SameKeyAcrossCallsMatchesReference) {
  MtRng rng{std::mt19937_64(test_seed(0x4c4c01))};
  SivKey master = random_key(rng, 32);
  master.set_long_lived(true);
  // Session keys (not marked) between the master key's calls: the working
  // tables they use must not disturb the cache, nor the cache them.
  std::vector<SivKey> session;
  for (int i = 0; i < 4; ++i) session.push_back(random_key(rng, 32));
  for (int round = 0; round < 6; ++round) {
    for (std::size_t n : {2u, 5u, 16u, 32u, 33u}) {
      check_burst(*ref_, *eng_, master, rng, n, 64, 1 + (round & 1), "master");
      if (HasFatalFailure()) return;
      EXPECT_TRUE(cached());
      check_burst(*ref_, *eng_, session[round % session.size()], rng, n, 104, 2, "session");
      if (HasFatalFailure()) return;
    }
  }
  // Empty plaintexts under the master key too (no CTR pass).
  check_burst(*ref_, *eng_, master, rng, 16, 0, 1, "master empty");
}

TEST_F(VaesLongLived, NewBytesAtTheSameAddressNeverUseTheStaleSchedule) {
  MtRng rng{std::mt19937_64(test_seed(0x4c4c02))};
  SivKey key = random_key(rng, 32);
  key.set_long_lived(true);
  check_burst(*ref_, *eng_, key, rng, 16, 64, 1, "first key");
  ASSERT_TRUE(cached());
  // Each step changes the bytes of the same object between calls.
  for (int step = 0; step < 6; ++step) {
    std::vector<std::uint8_t> b(key.bytes().begin(), key.bytes().end());
    switch (step) {
      case 0:  // K1 changes, K2 stays: the K1 check alone must catch it
        rng.fill(b.data(), 16);
        ASSERT_TRUE(key.assign(b));
        break;
      case 1:  // K2 changes, K1 stays
        rng.fill(b.data() + 16, 16);
        ASSERT_TRUE(key.assign(b));
        break;
      case 2: {  // a copy of another long-lived key assigned over it
        SivKey other = random_key(rng, 32);
        other.set_long_lived(true);
        key = other;
        EXPECT_TRUE(key.long_lived());
        break;
      }
      case 3:  // wiped and re-initialised
        key.wipe();
        EXPECT_FALSE(key.long_lived());
        rng.fill(b.data(), b.size());
        ASSERT_TRUE(key.assign(b));
        break;
      case 4:  // a single bit of K1's last byte
        b[15] ^= 1;
        ASSERT_TRUE(key.assign(b));
        break;
      case 5:  // K2's last byte only
        rng.fill(b.data() + 31, 1);
        ASSERT_TRUE(key.assign(b));
        break;
    }
    EXPECT_FALSE(step != 2 && key.long_lived()) << "assign() clears the mark";
    key.set_long_lived(true);
    check_burst(*ref_, *eng_, key, rng, 16, 64, 1 + (step & 1), "step " + std::to_string(step));
    if (HasFatalFailure()) return;
    check_burst(*ref_, *eng_, key, rng, 32, 64, 2, "step again " + std::to_string(step));
    if (HasFatalFailure()) return;
  }
}

TEST_F(VaesLongLived, ShortLivedSharedKeyIsNotCached) {
  MtRng rng{std::mt19937_64(test_seed(0x4c4c03))};
  SivKey session = random_key(rng, 32);  // a burst of replays under one cookie: one C2S key
  ASSERT_FALSE(session.long_lived());
  for (std::size_t n : {2u, 16u, 32u}) {
    check_burst(*ref_, *eng_, session, rng, n, 0, 2, "session verify");
    if (HasFatalFailure()) return;
    check_burst(*ref_, *eng_, session, rng, n, 104, 2, "session response");
    if (HasFatalFailure()) return;
    EXPECT_FALSE(cached());
  }
  // Marked, the same key is cached; destroying the engine wipes it (ASan
  // and the destructor's wipe are exercised by the fixture's teardown).
  session.set_long_lived(true);
  check_burst(*ref_, *eng_, session, rng, 16, 64, 1, "marked");
  EXPECT_TRUE(cached());
}

TEST(LongLivedMark, CopyCarriesWipeAndAssignClear) {
  MtRng rng{std::mt19937_64(test_seed(0x4c4c04))};
  SivKey k = random_key(rng, 32);
  EXPECT_FALSE(k.long_lived());
  k.set_long_lived(true);
  const SivKey copy = k;
  EXPECT_TRUE(copy.long_lived());
  SivKey assigned;
  assigned = k;
  EXPECT_TRUE(assigned.long_lived());
  std::vector<std::uint8_t> b(32, 7);
  ASSERT_TRUE(k.assign(b));
  EXPECT_FALSE(k.long_lived());
  assigned.wipe();
  EXPECT_FALSE(assigned.long_lived());
}

TEST(LongLivedMark, KeyRingMarksItsMasterKeys) {
  MtRng rng{std::mt19937_64(test_seed(0x4c4c05))};
  crypto::MasterKey cur{1, random_key(rng, 32)}, prev{2, random_key(rng, 16)},
      fut{3, random_key(rng, 64)};
  const std::array<crypto::MasterKey, 1> previous{prev};
  auto ring = crypto::KeyRing::make(cur, previous, fut);
  ASSERT_TRUE(ring);
  EXPECT_FALSE(cur.key.long_lived());  // the caller's keys are left as they were
  const crypto::KeyRing copy = *ring;  // what every worker holds
  for (std::uint32_t id : {1u, 2u, 3u}) {
    ASSERT_NE(copy.find(id), nullptr);
    EXPECT_TRUE(copy.find(id)->key.long_lived()) << id;
  }
  EXPECT_TRUE(copy.current().key.long_lived());
}

// The other engines take no notice of the mark: same results as the
// reference for marked AES-SIV keys (32 and 64 bytes) and GCM-SIV keys.
TEST(LongLivedMark, OtherEnginesIgnoreIt) {
  MtRng rng{std::mt19937_64(test_seed(0x4c4c06))};
  auto ref = crypto::make_scalar_engine();
  std::vector<std::unique_ptr<SivEngine>> engines;
  engines.push_back(crypto::make_aesni_engine());
  engines.push_back(crypto::make_mb_engine());
  engines.push_back(crypto::make_gcm_siv_engine());
  engines.push_back(crypto::make_best_engine());
  engines.push_back(crypto::make_scalar_engine());
  for (auto& e : engines) {
    ASSERT_TRUE(e);
    for (std::size_t klen : {16u, 32u, 64u}) {
      SivKey key = random_key(rng, klen);
      key.set_long_lived(true);
      for (int call = 0; call < 3; ++call) {
        check_burst(*ref, *e, key, rng, 16, 64, klen == 16 ? 1 : 1 + (call & 1),
                    std::string(e->name()) + " klen " + std::to_string(klen));
        if (HasFatalFailure()) return;
      }
    }
  }
}

}  // namespace
}  // namespace ntsd::test
