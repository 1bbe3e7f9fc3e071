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
  std::uint64_t next() noexcept;

 private:
  std::uint64_t s_[4];
};

}  // namespace ntsgen
