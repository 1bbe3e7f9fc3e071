// Shared by the proto gtests and fuzzers: a fake transmit clock, seeded
// randomness, and a key ring holding the master key of
// tests/vectors/nts/request_example.json.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "ntsd/crypto/cookie.hpp"
#include "ntsd/crypto/keyring.hpp"
#include "ntsd/proto/server.hpp"

namespace ntsd::proto::testing {

// T3 = start, start + step, ... one value per call; counts the calls.
class FakeClock final : public TxClock {
 public:
  explicit FakeClock(NtpTime start = 0xe5f0'0000'0000'0000ull, NtpTime step = 0x1000)
      : next_(start), step_(step) {}
  NtpTime now() noexcept override {
    ++calls;
    const NtpTime t = next_;
    next_ += step_;
    return t;
  }
  int calls = 0;

 private:
  NtpTime next_;
  NtpTime step_;
};

// A deterministic byte stream (splitmix64): fill(16)+fill(16) gives the same
// bytes as fill(32), so only the order of consumption matters.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(std::uint64_t seed) : state_(seed) {}
  void fill(MutBytes out) noexcept override {
    bytes += out.size();
    std::size_t i = 0;
    // Whole words at once when aligned to the stream (same bytes, LSB first).
    if (avail_ == 0) {
      for (; i + 8 <= out.size(); i += 8) {
        const std::uint64_t w = next();
        for (int k = 0; k < 8; ++k) out[i + k] = static_cast<std::uint8_t>(w >> (8 * k));
      }
    }
    for (auto& b : out.subspan(i)) {
      if (avail_ == 0) {
        word_ = next();
        avail_ = 8;
      }
      b = static_cast<std::uint8_t>(word_);
      word_ >>= 8;
      --avail_;
    }
  }
  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  std::size_t bytes = 0;

 private:
  std::uint64_t state_;
  std::uint64_t word_ = 0;
  int avail_ = 0;
};

inline std::vector<std::uint8_t> hex(std::string_view h) {
  auto nib = [](char c) -> std::uint8_t {
    if (c >= '0' && c <= '9') return static_cast<std::uint8_t>(c - '0');
    if (c >= 'a' && c <= 'f') return static_cast<std::uint8_t>(c - 'a' + 10);
    return static_cast<std::uint8_t>(c - 'A' + 10);
  };
  std::vector<std::uint8_t> v(h.size() / 2);
  for (std::size_t i = 0; i < v.size(); ++i)
    v[i] = static_cast<std::uint8_t>(nib(h[2 * i]) << 4 | nib(h[2 * i + 1]));
  return v;
}

// From tests/vectors/nts/request_example.json (the gtests also read the JSON
// itself; the fuzzers need these without a file system).
inline constexpr std::string_view kExampleMasterKey =
    "f9cc9df49293092fe1fad3506229daa87a2f3cfe79b8f35e1f8198fa688dd6b1";
inline constexpr std::uint32_t kExampleKeyId = 0xea0e3f0d;
inline constexpr std::string_view kExampleC2s =
    "2be26209fdc335d013aeb45aecd91f1aa4e1055b8f7fdae8c592b87d09200b74";
inline constexpr std::string_view kExampleS2c =
    "3852da8bfe83e54b4ecf9c6d5a7f5e5b2a537686231dec5d45745e9314daaad4";
inline constexpr std::string_view kExampleCookie =
    "ea0e3f0d0604300746b5d7c09f9e2a29a785c2b9b6d493971faefc47977295e2127b7dfddcfa59ed82e24e32"
    "94789bb20d7dddf8a5c7d9982ce752f0775ab86e985a57f2d34cac37d6621199d600a4fdaf6de2b8a70bfdd6"
    "1b072c0910d5e57a1956a84c";

inline crypto::SivKey key_from_hex(std::string_view h) {
  const auto b = hex(h);
  return *crypto::SivKey::from_bytes(b);
}

inline crypto::MasterKey example_master() {
  // The vector seals its cookie with AD = [nonce] (crypto/keyring.hpp, CookieAd).
  return crypto::MasterKey{kExampleKeyId, key_from_hex(kExampleMasterKey), crypto::CookieAd::kNonceOnly};
}

// A ring whose current key is the example's master key (so fresh cookies are
// sealed under it too), or, with `current_other`, a different current key and
// the example key as a previous one.
inline std::optional<crypto::KeyRing> example_ring(bool current_other = false) {
  if (!current_other) return crypto::KeyRing::make(example_master(), {}, std::nullopt);
  const crypto::MasterKey other{0x01020304, key_from_hex(kExampleC2s)};
  const crypto::MasterKey prev[] = {example_master()};
  return crypto::KeyRing::make(other, prev, std::nullopt);
}

// AEAD 30 (AES-128-GCM-SIV): a GCM-SIV master key (16 bytes; its cookies
// have a 12-byte nonce) and AEAD-30 session keys. aead30_ring() makes it the
// current key with the example's AES-SIV master key as a previous one, so
// both kinds of cookie open and new cookies are GCM-SIV-sealed.
inline constexpr std::uint32_t kGcmMasterId = 0x3030a0be;  // another ring bucket than the example's
inline constexpr std::string_view kGcmMasterKey = "6b7cf1d0e2a3b4c5d6e7f8091a2b3c4d";
inline constexpr std::string_view kAead30C2s = "00112233445566778899aabbccddeeff";
inline constexpr std::string_view kAead30S2c = "ffeeddccbbaa99887766554433221100";

inline crypto::MasterKey gcm_master() {
  return crypto::MasterKey{kGcmMasterId, key_from_hex(kGcmMasterKey)};
}

inline std::optional<crypto::KeyRing> aead30_ring() {
  const crypto::MasterKey prev[] = {example_master()};
  return crypto::KeyRing::make(gcm_master(), prev, std::nullopt);
}

// An AEAD-30 cookie for kAead30C2s/S2c, sealed with a fixed nonce under the
// GCM-SIV master key (64 bytes) or under the example AES-SIV one (68 bytes).
inline std::vector<std::uint8_t> aead30_cookie(bool under_gcm_master) {
  const crypto::CookieKeys keys{key_from_hex(kAead30C2s), key_from_hex(kAead30S2c)};
  const crypto::MasterKey mk = under_gcm_master ? gcm_master() : example_master();
  std::vector<std::uint8_t> nonce(crypto::kCookieNonceLen, 0x5a);
  std::vector<std::uint8_t> out(crypto::cookie_len(crypto::AeadId::kAesGcmSiv128, mk.aead()));
  auto eng = crypto::make_scalar_engine();
  if (!crypto::seal_cookie(*eng, mk, keys, nonce, out)) out.clear();
  return out;
}

}  // namespace ntsd::proto::testing
