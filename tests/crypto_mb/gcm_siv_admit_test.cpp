// The GCM-SIV burst engines' one-pass admission (GcmSivBurst::admit_fast):
// a chunk whose ops all have op 0's shape is admitted in one pass, and any
// op that differs sends the chunk through the op-by-op path. These bursts
// are the NTS shapes (uniform: what admit_fast takes) with one op spoiled at
// a time, at the first, a middle and the last position of a chunk: every
// status and every sealed or opened byte must be the scalar reference's.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "mb_gcm_siv.hpp"
#include "ntsd/crypto/siv.hpp"

namespace ntsd::test {
namespace {

using crypto::Bytes;
using crypto::MutBytes;
using crypto::SivKey;
using crypto::SivOp;
using crypto::SivStatus;

constexpr std::size_t kOps = 16;  // one chunk of the widest engine
constexpr std::size_t kAad = 152, kNonce = 12, kMsg = 68, kTag = 16;

// The ways one op leaves the chunk's shape or validity.
enum class Spoil {
  kNone,
  kAesSivKey,      // a 32-byte (AEAD 15) key: the fallback's
  kNoKey,          // no key
  kLongNonce,      // a 16-byte nonce
  kNoAad,          // [nonce] instead of [AAD, nonce]: valid, other shape
  kShortAad,       // 151 bytes of AAD: valid, other shape
  kOutOverlapsIn,  // out over the input
  kOutOverlapsNonce,
  kOutOverlapsAad,
  kShortOut,  // out one byte short
};

constexpr Spoil kSpoils[] = {Spoil::kNone,          Spoil::kAesSivKey,       Spoil::kNoKey,
                             Spoil::kLongNonce,     Spoil::kNoAad,           Spoil::kShortAad,
                             Spoil::kOutOverlapsIn, Spoil::kOutOverlapsNonce, Spoil::kOutOverlapsAad,
                             Spoil::kShortOut};

std::vector<std::uint8_t> bytes(std::size_t n, std::uint32_t seed) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(seed * 131 + i * 7 + 3);
  return v;
}

// One burst's memory: per op a key, AAD, nonce, input and two outputs (the
// engine's and the reference's), each op's buffers in one block so that the
// overlap cases can point into them.
struct Burst {
  std::vector<SivKey> keys;
  SivKey siv_key = *SivKey::from_bytes(bytes(32, 99));
  std::vector<std::vector<std::uint8_t>> mem;  // AAD | nonce | 16 spare | input (msg + tag)
  std::vector<std::vector<std::uint8_t>> out_eng, out_ref;
  std::vector<SivOp> ops_eng, ops_ref;

  static constexpr std::size_t kNonceAt = kAad, kInAt = kAad + kNonce + 16;

  Burst(bool shared_key, bool sealing) {
    for (std::size_t i = 0; i < kOps; ++i)
      keys.push_back(*SivKey::from_bytes(bytes(16, shared_key ? 7 : static_cast<std::uint32_t>(i))));
    const std::size_t in_len = sealing ? kMsg : kMsg + kTag;
    const std::size_t out_len = sealing ? kMsg + kTag : kMsg;
    for (std::size_t i = 0; i < kOps; ++i) {
      mem.push_back(bytes(kInAt + in_len, static_cast<std::uint32_t>(i + 40)));
      out_eng.emplace_back(out_len + 1, 0xa5);
      out_ref.emplace_back(out_len + 1, 0xa5);
    }
    for (std::size_t i = 0; i < kOps; ++i) {
      ops_eng.push_back(op(i, out_eng[i], in_len, out_len));
      ops_ref.push_back(op(i, out_ref[i], in_len, out_len));
    }
  }

  SivOp op(std::size_t i, std::vector<std::uint8_t>& out, std::size_t in_len, std::size_t out_len) {
    const std::uint8_t* m = mem[i].data();
    return crypto::make_aead_op(keys[i], Bytes(m, kAad), Bytes(m + kNonceAt, kNonce),
                                Bytes(m + kInAt, in_len), MutBytes(out.data(), out_len));
  }

  // Spoils op i of `ops` (the engine's or the reference's: the same change).
  void spoil(std::vector<SivOp>& ops, std::size_t i, Spoil s) {
    SivOp& o = ops[i];
    std::uint8_t* m = mem[i].data();
    switch (s) {
      case Spoil::kNone: break;
      case Spoil::kAesSivKey: o.key = &siv_key; break;
      case Spoil::kNoKey: o.key = nullptr; break;
      case Spoil::kLongNonce: o.ad[1] = Bytes(m + kNonceAt, kNonce + 4); break;
      case Spoil::kNoAad:
        o.ad[0] = o.ad[1];
        o.ad[1] = {};
        o.ad_count = 1;
        break;
      case Spoil::kShortAad: o.ad[0] = o.ad[0].first(kAad - 1); break;
      case Spoil::kOutOverlapsIn: o.out = MutBytes(m + kInAt + 1, o.out.size()); break;
      case Spoil::kOutOverlapsNonce: o.out = MutBytes(m + kNonceAt + 4, o.out.size()); break;
      case Spoil::kOutOverlapsAad: o.out = MutBytes(m + 8, o.out.size()); break;
      case Spoil::kShortOut: o.out = o.out.first(o.out.size() - 1); break;
    }
  }
};

bool overlapping(Spoil s) {
  return s == Spoil::kOutOverlapsIn || s == Spoil::kOutOverlapsNonce || s == Spoil::kOutOverlapsAad;
}

class GcmSivAdmit : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ref_ = crypto::make_scalar_engine();
    eng_ = GetParam() == "gcmsiv-vaes-x16" ? crypto::make_gcm_siv_vaes_engine()
                                           : crypto::make_gcm_siv_aesni_engine();
    if (!eng_) GTEST_SKIP() << GetParam() << ": not on this CPU";
  }

  // Runs one spoiled burst through both engines and compares statuses and
  // outputs (an overlapping op's output is the input memory both share:
  // refused ops must leave it alone, which the status check covers).
  void check(bool sealing, bool shared_key, std::size_t at, Spoil s) {
    Burst b(shared_key, sealing);
    if (!sealing) {
      // Inputs to open: the reference's seals of the unspoiled ops, in place.
      Burst src(shared_key, true);
      std::vector<SivStatus> st(kOps);
      ref_->seal(src.ops_ref, st);
      for (std::size_t i = 0; i < kOps; ++i) {
        ASSERT_EQ(st[i], SivStatus::kOk);
        std::memcpy(b.mem[i].data() + Burst::kInAt, src.out_ref[i].data(), kMsg + kTag);
      }
    }
    b.spoil(b.ops_eng, at, s);
    b.spoil(b.ops_ref, at, s);
    std::vector<SivStatus> st_eng(kOps), st_ref(kOps);
    const std::string what = std::string(sealing ? "seal" : "open") +
                             (shared_key ? " shared" : " per-op") + " op " + std::to_string(at) +
                             " spoil " + std::to_string(static_cast<int>(s));
    // One engine at a time, the reference last: an overlapping op shares
    // memory between the two bursts, and is refused before anything is written.
    crypto::mb::run_ops(*eng_, sealing, b.ops_eng, st_eng);
    crypto::mb::run_ops(*ref_, sealing, b.ops_ref, st_ref);
    if (overlapping(s)) {
      EXPECT_EQ(st_eng[at], SivStatus::kBadInput) << what;
    }
    for (std::size_t i = 0; i < kOps; ++i) {
      EXPECT_EQ(st_eng[i], st_ref[i]) << what << " lane " << i;
      if (i != at || s == Spoil::kNone) {
        EXPECT_EQ(st_eng[i], SivStatus::kOk) << what << " lane " << i;
      }
      if (!(i == at && overlapping(s))) {
        EXPECT_EQ(b.out_eng[i], b.out_ref[i]) << what << " lane " << i;
      }
    }
  }

  std::unique_ptr<crypto::SivEngine> ref_, eng_;
};

TEST_P(GcmSivAdmit, OneSpoiledOpInAnNtsShapedChunk) {
  for (bool sealing : {true, false})
    for (bool shared_key : {true, false})
      for (std::size_t at : {std::size_t{0}, std::size_t{5}, kOps - 1})
        for (Spoil s : kSpoils) {
          check(sealing, shared_key, at, s);
          if (HasFailure()) return;
        }
}

INSTANTIATE_TEST_SUITE_P(Engines, GcmSivAdmit,
                         ::testing::Values("gcmsiv-vaes-x16", "gcmsiv-aesni-x8"),
                         [](const auto& p) {
                           std::string n = p.param;
                           for (auto& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

}  // namespace
}  // namespace ntsd::test
