// Random AES-SIV bursts for cross-checking two engines (gtest and fuzzer).
//
// A Burst owns every buffer its SivOps point into. Keys come from a small
// pool so that ops share key pointers (the engines may share per-key work
// between them), and some pool entries are copies of others (same bytes,
// other pointer) so that sharing must follow the pointer, not the bytes.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "ntsd/crypto/siv.hpp"

namespace ntsd::test {

using crypto::SivEngine;
using crypto::SivKey;
using crypto::SivOp;
using crypto::SivStatus;

// The source of randomness: `Rng` provides `std::uint64_t below(std::uint64_t n)`
// (uniform in [0, n), 0 if n == 0) and `void fill(std::uint8_t*, std::size_t)`.
struct BurstShape {
  std::size_t ops = 1;
  std::size_t min_len = 0, max_len = 512;  // plaintext length range
  std::size_t max_ad = 300;                // per AD component
  std::size_t max_ad_count = 2;
  bool allow_aes192 = false;  // 48-byte keys (the MB engine hands them to the reference)
};

struct Burst {
  std::vector<SivKey> keys;
  std::vector<std::vector<std::uint8_t>> ad;  // ops * kMaxAdComponents
  std::vector<std::vector<std::uint8_t>> plain;
  std::vector<SivOp> ops;  // seal ops; `out` unset

  template <class Rng>
  static Burst make(Rng& rng, const BurstShape& shape) {
    Burst b;
    const std::size_t nkeys = 1 + rng.below(8);
    b.keys.reserve(nkeys);
    for (std::size_t k = 0; k < nkeys; ++k) {
      if (k > 0 && rng.below(4) == 0) {  // same bytes, other object
        b.keys.push_back(b.keys[rng.below(k)]);
        continue;
      }
      static constexpr std::size_t kLens[] = {32, 64, 48};
      const std::size_t len = kLens[rng.below(shape.allow_aes192 ? 3 : 2)];
      std::uint8_t raw[crypto::kMaxSivKeyLen];
      rng.fill(raw, len);
      b.keys.push_back(*SivKey::from_bytes({raw, len}));
    }
    b.ad.resize(shape.ops * crypto::kMaxAdComponents);
    b.plain.resize(shape.ops);
    b.ops.resize(shape.ops);
    for (std::size_t i = 0; i < shape.ops; ++i) {
      SivOp& op = b.ops[i];
      op.key = &b.keys[rng.below(nkeys)];
      op.ad_count = static_cast<std::uint8_t>(rng.below(shape.max_ad_count + 1));
      for (std::size_t j = 0; j < op.ad_count; ++j) {
        auto& a = b.ad[i * crypto::kMaxAdComponents + j];
        a.resize(rng.below(shape.max_ad + 1));
        rng.fill(a.data(), a.size());
        op.ad[j] = a;
      }
      b.plain[i].resize(shape.min_len + rng.below(shape.max_len - shape.min_len + 1));
      rng.fill(b.plain[i].data(), b.plain[i].size());
      op.in = b.plain[i];
    }
    return b;
  }
};

// Output buffers for one engine's run of a burst, pre-filled with a marker so
// that "zeroed on failure" is observable.
struct Outputs {
  std::vector<std::vector<std::uint8_t>> buf;
  std::vector<SivStatus> status;
  std::vector<SivOp> ops;

  // Seal: out = |in| + 16. Open: out = |in| - 16 (or empty if shorter).
  static Outputs for_ops(std::span<const SivOp> in_ops, bool sealing) {
    Outputs o;
    o.buf.resize(in_ops.size());
    o.status.assign(in_ops.size(), SivStatus::kBadInput);
    o.ops.assign(in_ops.begin(), in_ops.end());
    for (std::size_t i = 0; i < in_ops.size(); ++i) {
      const std::size_t n = in_ops[i].in.size();
      const std::size_t len =
          sealing ? n + crypto::kSivTagLen : (n >= crypto::kSivTagLen ? n - crypto::kSivTagLen : 0);
      o.buf[i].assign(len, 0xA5);
      o.ops[i].out = o.buf[i];
    }
    return o;
  }
};

// Open ops over sealed outputs, reusing the seal ops' keys and AD.
inline std::vector<SivOp> open_ops(std::span<const SivOp> seal_ops, const Outputs& sealed) {
  std::vector<SivOp> ops(seal_ops.begin(), seal_ops.end());
  for (std::size_t i = 0; i < ops.size(); ++i) ops[i].in = sealed.buf[i];
  return ops;
}

}  // namespace ntsd::test
