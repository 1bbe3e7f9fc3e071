// Random AES-128-GCM-SIV bursts (AEAD 30 SivOps) for cross-checking the
// burst engines against the scalar reference (gtest and fuzzer).
//
// A GcmBurst owns every buffer its ops point into. Keys come from a small
// pool so that ops share key objects (the engines expand a key shared by
// every lane once), some entries are byte copies under another pointer, and
// a shape may mix in AES-SIV keys (the GCM-SIV engines hand those ops to the
// scalar engine; AeadDispatch routes them) and malformed ops (a nonce that is
// not 12 bytes, a bad AD count) that every engine must refuse alike.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "ntsd/crypto/siv.hpp"

namespace ntsd::test {

struct GcmShape {
  std::size_t ops = 1;
  std::size_t min_len = 0, max_len = 512;  // message length range
  std::size_t max_aad = 300;
  bool one_key = false;       // every op under the same key object (a cookie phase)
  bool mix_siv = false;       // some ops with AES-SIV keys
  bool malformed = false;     // some ops with bad nonces or AD counts
};

struct GcmBurst {
  std::vector<crypto::SivKey> keys;
  std::vector<std::vector<std::uint8_t>> aad, nonce, plain;
  std::vector<crypto::SivOp> ops;  // seal ops; `out` unset

  template <class Rng>
  static GcmBurst make(Rng& rng, const GcmShape& shape) {
    GcmBurst b;
    const std::size_t nkeys = shape.one_key ? 1 : 1 + rng.below(8);
    b.keys.reserve(nkeys);
    for (std::size_t k = 0; k < nkeys; ++k) {
      if (k > 0 && rng.below(4) == 0) {  // same bytes, other object
        b.keys.push_back(b.keys[rng.below(k)]);
        continue;
      }
      const std::size_t len = shape.mix_siv && rng.below(3) == 0 ? 32 : 16;
      std::uint8_t raw[32];
      rng.fill(raw, len);
      b.keys.push_back(*crypto::SivKey::from_bytes({raw, len}));
    }
    b.aad.resize(shape.ops);
    b.nonce.resize(shape.ops);
    b.plain.resize(shape.ops);
    b.ops.resize(shape.ops);
    for (std::size_t i = 0; i < shape.ops; ++i) {
      crypto::SivOp& op = b.ops[i];
      op.key = &b.keys[rng.below(nkeys)];
      b.aad[i].resize(rng.below(shape.max_aad + 1));
      rng.fill(b.aad[i].data(), b.aad[i].size());
      std::size_t nlen = crypto::kGcmSivNonceLen;
      if (shape.malformed && rng.below(6) == 0) nlen = rng.below(20);
      b.nonce[i].resize(nlen);
      rng.fill(b.nonce[i].data(), nlen);
      // [AAD, nonce] mostly, [nonce] (empty AAD) sometimes, a bad count rarely.
      const std::uint64_t form = rng.below(8);
      if (form == 0) {
        op.ad[0] = b.nonce[i];
        op.ad_count = 1;
      } else if (shape.malformed && form == 1) {
        op.ad[0] = b.aad[i];
        op.ad[1] = b.aad[i];
        op.ad[2] = b.nonce[i];
        op.ad_count = static_cast<std::uint8_t>(rng.below(2) == 0 ? 0 : 3);
      } else {
        op.ad[0] = b.aad[i];
        op.ad[1] = b.nonce[i];
        op.ad_count = 2;
      }
      b.plain[i].resize(shape.min_len + rng.below(shape.max_len - shape.min_len + 1));
      rng.fill(b.plain[i].data(), b.plain[i].size());
      op.in = b.plain[i];
    }
    return b;
  }
};

}  // namespace ntsd::test
