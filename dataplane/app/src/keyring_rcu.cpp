#include "ntsd/runtime/keyring_rcu.hpp"

#include <algorithm>

namespace ntsd::runtime {

KeyRingRcu::KeyRingRcu(std::size_t workers) : slots_(new Slot[workers]), n_(workers) {}

KeyRingRcu::~KeyRingRcu() {
  delete cur_.load();
  for (const Retired& r : retired_) delete r.ring;
}

void KeyRingRcu::publish(std::unique_ptr<const crypto::KeyRing> ring) {
  std::lock_guard<std::mutex> lock(control_);
  const crypto::KeyRing* old = cur_.exchange(ring.release(), std::memory_order_seq_cst);
  const std::uint64_t tag = epoch_.fetch_add(1, std::memory_order_seq_cst) + 1;
  if (old != nullptr) retired_.push_back({old, tag});
}

std::size_t KeyRingRcu::reclaim() {
  std::lock_guard<std::mutex> lock(control_);
  std::uint64_t min_seen = kOffline;
  // seq_cst, not just acquire: pairs with a worker's seq_cst step back
  // online (keyring_rcu.hpp, quiescent()). A plain load on x86.
  for (std::size_t w = 0; w < n_; ++w)
    min_seen = std::min(min_seen, slots_[w].seen.load(std::memory_order_seq_cst));
  auto keep = std::remove_if(retired_.begin(), retired_.end(), [&](const Retired& r) {
    if (r.tag > min_seen) return false;
    delete r.ring;
    return true;
  });
  retired_.erase(keep, retired_.end());
  return retired_.size();
}

}  // namespace ntsd::runtime
