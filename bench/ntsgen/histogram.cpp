#include "histogram.hpp"

#include <bit>
#include <cmath>

namespace ntsgen {

std::size_t Histogram::index_of(std::uint64_t ns) noexcept {
  if (ns < kLinear) return static_cast<std::size_t>(ns);
  const unsigned e = 63u - static_cast<unsigned>(std::countl_zero(ns));  // >= kSubBits + 1
  const unsigned shift = e - kSubBits;
  const std::uint64_t mant = (ns >> shift) - kSub;  // in [0, kSub)
  return kLinear + (e - (kSubBits + 1)) * kSub + static_cast<std::size_t>(mant);
}

std::uint64_t Histogram::lower_edge(std::size_t i) noexcept {
  if (i < kLinear) return i;
  const std::size_t k = i - kLinear;
  const unsigned e = static_cast<unsigned>(k / kSub) + kSubBits + 1;
  const std::uint64_t mant = kSub + k % kSub;
  return mant << (e - kSubBits);
}

std::uint64_t Histogram::upper_edge(std::size_t i) noexcept {
  if (i + 1 >= kBuckets) return UINT64_MAX;
  return lower_edge(i + 1) - 1;
}

void Histogram::record(std::uint64_t ns) noexcept {
  ++buckets_[index_of(ns)];
  ++count_;
  if (ns > max_) max_ = ns;
  if (ns < min_) min_ = ns;
}

void Histogram::merge(const Histogram& other) noexcept {
  for (std::size_t i = 0; i < kBuckets; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  if (other.max_ > max_) max_ = other.max_;
  if (other.min_ < min_) min_ = other.min_;
}

void Histogram::clear() noexcept { *this = Histogram{}; }

std::uint64_t Histogram::quantile(double q) const noexcept {
  if (count_ == 0) return 0;
  if (q <= 0) return min();
  // Rank of the q-quantile, 1-based: the smallest value with at least
  // ceil(q * count) samples at or below it.
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  if (rank < 1) rank = 1;
  if (rank > count_) rank = count_;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      const std::uint64_t up = upper_edge(i);
      return up < max_ ? up : max_;
    }
  }
  return max_;
}

}  // namespace ntsgen
