// What the burst-engine cross-check tests share (mb_crosscheck_test.cpp for
// AES-SIV, gcm_siv_crosscheck_test.cpp for AES-128-GCM-SIV): a seeded Rng for
// siv_burst.hpp / gcm_siv_burst.hpp, and the seal / tamper / open round that
// compares an engine with the scalar reference bit for bit.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "siv_burst.hpp"
#include "test_util.hpp"

namespace ntsd::test {

struct MtRng {
  std::mt19937_64 g;
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : g() % n; }
  void fill(std::uint8_t* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<std::uint8_t>(g());
  }
};

// NTSD_TEST_SEED if set, else the test's own fixed seed (so that failures
// reproduce).
inline std::uint64_t test_seed(std::uint64_t fixed) {
  if (const char* s = std::getenv("NTSD_TEST_SEED")) return std::strtoull(s, nullptr, 0);
  return fixed;
}

// kAll: every op of the burst is well formed and must seal (AES-SIV bursts);
// kSameAsRef: an op may be refused, as long as `eng` refuses it as the
// reference does (GCM-SIV bursts with malformed ops mixed in).
enum class SealOk { kAll, kSameAsRef };

// Seals `seal_ops` with `ref` and `eng` and compares; then opens the
// reference's output (about a quarter of the sealed ops tampered, tag or
// body) with both and compares again: a tampered op fails with its output
// zeroed, an untouched one opens to `plain[i]`.
inline void cross_check(crypto::SivEngine& ref, crypto::SivEngine& eng,
                        std::span<const crypto::SivOp> seal_ops,
                        std::span<const std::vector<std::uint8_t>> plain, MtRng& rng,
                        const std::string& what, SealOk seal_ok) {
  using crypto::SivStatus;
  SCOPED_TRACE(what);
  auto sealed = Outputs::for_ops(seal_ops, true);
  auto got = Outputs::for_ops(seal_ops, true);
  ref.seal(sealed.ops, sealed.status);
  eng.seal(got.ops, got.status);
  for (std::size_t i = 0; i < seal_ops.size(); ++i) {
    ASSERT_EQ(sealed.status[i], got.status[i]) << "seal op " << i;
    if (seal_ok == SealOk::kAll) {
      ASSERT_EQ(sealed.status[i], SivStatus::kOk) << "seal op " << i;
    }
    ASSERT_EQ(to_hex(sealed.buf[i]), to_hex(got.buf[i]))
        << "seal op " << i << " len " << seal_ops[i].in.size();
  }
  std::vector<bool> tampered(seal_ops.size());
  for (std::size_t i = 0; i < seal_ops.size(); ++i) {
    if (rng.below(4) != 0 || sealed.status[i] != SivStatus::kOk) continue;
    auto& c = sealed.buf[i];
    c[rng.below(c.size())] ^= static_cast<std::uint8_t>(1u << rng.below(8));
    tampered[i] = true;
  }
  const auto ops = open_ops(seal_ops, sealed);
  auto ref_open = Outputs::for_ops(ops, false);
  auto got_open = Outputs::for_ops(ops, false);
  ref.open(ref_open.ops, ref_open.status);
  eng.open(got_open.ops, got_open.status);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    ASSERT_EQ(ref_open.status[i], got_open.status[i]) << "open op " << i;
    ASSERT_EQ(to_hex(ref_open.buf[i]), to_hex(got_open.buf[i])) << "open op " << i;
    if (sealed.status[i] != SivStatus::kOk) continue;  // a malformed op
    if (tampered[i]) {
      ASSERT_EQ(got_open.status[i], SivStatus::kAuthFail) << "open op " << i;
      for (auto c : got_open.buf[i]) ASSERT_EQ(c, 0) << "plaintext released, op " << i;
    } else {
      ASSERT_EQ(got_open.status[i], SivStatus::kOk) << "open op " << i;
      ASSERT_EQ(to_hex(got_open.buf[i]), to_hex(plain[i])) << "open op " << i;
    }
  }
}

}  // namespace ntsd::test
