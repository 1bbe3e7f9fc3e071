#include "random.hpp"

#include <sys/random.h>

#include <cstring>

namespace ntsgen {

static std::uint64_t splitmix(std::uint64_t& x) noexcept {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

FastRandom::FastRandom(std::uint64_t seed) noexcept {
  for (auto& v : s_) v = splitmix(seed);
}

FastRandom::FastRandom() : FastRandom(0) {
  std::uint64_t seed[4] = {};
  if (getrandom(seed, sizeof seed, 0) == static_cast<ssize_t>(sizeof seed)) {
    for (int i = 0; i < 4; ++i) s_[i] ^= seed[i];
  }
}

void FastRandom::fill(ntsd::proto::MutBytes out) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= out.size(); i += 8) {
    const std::uint64_t v = next();
    std::memcpy(out.data() + i, &v, 8);
  }
  if (i < out.size()) {
    const std::uint64_t v = next();
    std::memcpy(out.data() + i, &v, out.size() - i);
  }
}

}  // namespace ntsgen
