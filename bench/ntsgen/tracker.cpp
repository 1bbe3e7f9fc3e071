#include "tracker.hpp"

#include <bit>

namespace ntsgen {

Tracker::Tracker(std::size_t slots, std::uint32_t run_tag)
    : slots_(std::bit_ceil(slots < 64 ? std::size_t{64} : slots)),
      mask_(slots_.size() - 1),
      run_tag_(run_tag & 0xffffffu) {}

void Tracker::begin_step(std::uint8_t step) noexcept {
  step_ = step;
  seq_ = 0;
}

std::uint64_t Tracker::issue(std::uint64_t now_ns, std::uint32_t session, Counters& c, std::uint32_t client) noexcept {
  const std::uint64_t tag = (static_cast<std::uint64_t>(run_tag_) << 40) |
                            (static_cast<std::uint64_t>(step_) << 32) | seq_;
  Slot& s = slots_[seq_ & mask_];
  if (s.live) {
    ++c.lost;  // its response did not come back within one trip round the ring
    --live_;
  }
  s.tag = tag;
  s.tx_ns = now_ns;
  s.session = session;
  s.client = client;
  s.origin = 0;
  s.live = true;
  ++live_;
  ++seq_;
  return tag;
}

Tracker::Match Tracker::lookup(std::uint64_t tag, Slot*& slot) noexcept {
  slot = nullptr;
  if ((tag >> 40) != run_tag_) return Match::kForeign;
  if (static_cast<std::uint8_t>(tag >> 32) != step_) return Match::kStale;
  Slot& s = slots_[seq_of(tag) & mask_];
  if (s.tag != tag) {
    // Never issued in this step (forged) or already overwritten (counted lost).
    return seq_of(tag) < seq_ ? Match::kStale : Match::kForeign;
  }
  if (!s.live) return Match::kDuplicate;
  slot = &s;
  return Match::kLive;
}

std::uint64_t Tracker::expire_all() noexcept {
  std::uint64_t n = 0;
  if (live_ == 0) return 0;
  for (auto& s : slots_) {
    if (s.live) {
      s.live = false;
      ++n;
    }
  }
  live_ = 0;
  return n;
}

}  // namespace ntsgen
