// Fast randomness for request Unique Identifiers and authenticator nonces.
// xoshiro256** seeded from getrandom(2): the UID only has to be unguessable by
// an off-path attacker for the length of a load test (RFC 8915 §5.3), and the
// sender must produce 48 random bytes per request at millions per second,
// which a DRBG per byte would not.
#pragma once

#include <cstdint>

#include "ntsd/proto/server.hpp"

namespace ntsgen {

class FastRandom final : public ntsd::proto::Random {
 public:
  FastRandom();                        // seeds from getrandom(2)
  explicit FastRandom(std::uint64_t seed) noexcept;  // deterministic, for tests
  void fill(ntsd::proto::MutBytes out) noexcept override;
  // xoshiro256** (Blackman and Vigna); inline: fill() calls it 6 times a request.
  std::uint64_t next() noexcept {
    const auto rotl = [](std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); };
    const std::uint64_t r = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return r;
  }

 private:
  std::uint64_t s_[4];
};

}  // namespace ntsgen
