// The burst loop both AEAD vector runners share (wycheproof_runner.hpp for
// AES-SIV, gcm_siv_runner.hpp for AES-128-GCM-SIV): every vector through any
// SivEngine, `burst` ops per seal() and open() call (1 = single ops).
// Valid vectors must seal to exactly the expected bytes and open to the
// message; invalid ones must still seal (to other bytes than the vector's)
// and fail to open with kAuthFail and the output zeroed.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "ntsd/crypto/siv.hpp"
#include "test_util.hpp"

namespace ntsd::test {

struct VectorCounts {
  std::size_t valid = 0;
  std::size_t invalid = 0;
  std::size_t total() const { return valid + invalid; }
};

// `Vector` has `where` (file and test id, for failure messages), `key`,
// `msg`, `sealed` (the wire form) and `valid`. `make_ops(v, key, sealed_out,
// opened_out, seal_op, open_op)` fills in the two ops of one vector: its
// key, AD and nonce in the cipher's convention, seal_op.in = msg and
// open_op.in = sealed, and the given outputs.
template <class Vector, class MakeOps>
VectorCounts run_vectors(crypto::SivEngine& eng, const std::vector<Vector>& vectors,
                         std::size_t burst, MakeOps make_ops) {
  using crypto::SivStatus;
  VectorCounts counts;
  burst = std::max<std::size_t>(burst, 1);
  for (std::size_t base = 0; base < vectors.size(); base += burst) {
    const std::size_t n = std::min(burst, vectors.size() - base);
    std::vector<crypto::SivKey> keys(n);
    std::vector<std::vector<std::uint8_t>> sealed(n), opened(n);
    std::vector<crypto::SivOp> seal_ops(n), open_ops(n);
    for (std::size_t i = 0; i < n; ++i) {
      const Vector& v = vectors[base + i];
      auto k = crypto::SivKey::from_bytes(v.key);
      EXPECT_TRUE(k.has_value()) << v.where << ": key of " << v.key.size() << " bytes refused";
      if (k) keys[i] = *k;
      sealed[i].assign(v.msg.size() + crypto::kSivTagLen, 0);
      opened[i].assign(v.sealed.size() >= crypto::kSivTagLen ? v.sealed.size() - crypto::kSivTagLen : 0,
                       0xAA);
      make_ops(v, keys[i], std::span<std::uint8_t>(sealed[i]), std::span<std::uint8_t>(opened[i]),
               seal_ops[i], open_ops[i]);
    }
    std::vector<SivStatus> seal_st(n, SivStatus::kBadInput), open_st(n, SivStatus::kBadInput);
    eng.seal(seal_ops, seal_st);
    eng.open(open_ops, open_st);
    for (std::size_t i = 0; i < n; ++i) {
      const Vector& v = vectors[base + i];
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
