// Latency histogram for ntsgen: log-linear buckets (HdrHistogram-style) over
// nanoseconds. 32 sub-buckets per power of two bound the relative error of a
// reported percentile to 1/32 (~3 %), at a fixed 15 KiB per histogram and
// O(1) recording with no allocation, so the receive path can record every
// response.
#pragma once

#include <array>
#include <cstdint>

namespace ntsgen {

class Histogram {
 public:
  static constexpr unsigned kSubBits = 5;
  static constexpr std::uint64_t kSub = 1u << kSubBits;  // 32
  static constexpr std::size_t kLinear = 2 * kSub;        // values < 64 are exact
  static constexpr std::size_t kBuckets = kLinear + (64 - (kSubBits + 1)) * kSub;

  void record(std::uint64_t ns) noexcept;
  void merge(const Histogram& other) noexcept;
  void clear() noexcept;

  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t max() const noexcept { return max_; }
  std::uint64_t min() const noexcept { return count_ ? min_ : 0; }
  // The value at quantile q in [0,1] (upper edge of its bucket, never above
  // max()); 0 on an empty histogram.
  std::uint64_t quantile(double q) const noexcept;

  std::uint64_t bucket_count(std::size_t i) const noexcept { return buckets_[i]; }
  static std::size_t index_of(std::uint64_t ns) noexcept;
  // Smallest and largest value that fall into bucket i.
  static std::uint64_t lower_edge(std::size_t i) noexcept;
  static std::uint64_t upper_edge(std::size_t i) noexcept;

 private:
  std::array<std::uint64_t, kBuckets> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
  std::uint64_t min_ = UINT64_MAX;
};

}  // namespace ntsgen
