// Lock-free hand-off of immutable KeyRing snapshots from the control thread
// to the workers (quiescent-state-based reclamation, QSBR).
//
//   control: publish(new)  ->  cur_ = new; E += 1; retire(old, tag = E)
//   worker w, between bursts:  seen[w] = E; ring = cur_   (then uses `ring`
//                              for the whole burst, never after its next report)
//   control: reclaim()     ->  free retired snapshots whose tag <= min(seen[*])
//
// A worker that has reported seen[w] >= tag loaded E after the increment,
// hence after the swap, so every pointer it loads afterwards is the new one
// and it no longer holds the old. Per burst a worker does one load of E, one
// store to its own cache line and one load of cur_: no lock, no RMW, no
// fence, no allocation. Offline workers (blocked or gone) report kOffline and never
// hold back reclamation. The DPDK backend follows the same protocol (the
// reasoning is that of rte_rcu_qsbr). docs/architecture.md has the picture.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "ntsd/crypto/keyring.hpp"

namespace ntsd::runtime {

class KeyRingRcu {
 public:
  static constexpr std::uint64_t kOffline = ~0ull;

  explicit KeyRingRcu(std::size_t workers);
  ~KeyRingRcu();
  KeyRingRcu(const KeyRingRcu&) = delete;
  KeyRingRcu& operator=(const KeyRingRcu&) = delete;

  // Control side (one thread at a time).
  void publish(std::unique_ptr<const crypto::KeyRing> ring);
  // Frees retired snapshots no worker can hold any more; returns how many remain.
  std::size_t reclaim();
  std::uint64_t generation() const noexcept { return epoch_.load(std::memory_order_acquire); }

  // Worker side: report a quiescent state and get the ring for the next burst.
  //
  // Acquire on E: a worker that sees E >= tag sees the ring published before
  // the increment. Release on seen[w]: its uses of the ring it held happen
  // before reclaim()'s acquire of seen[w], hence before the delete. No
  // store-load order is needed (a cur_ load that passes the seen store only
  // returns a ring at least as new as E says), so this is plain moves on
  // x86: a seq_cst store here was an xchg that drained the store buffer
  // after every burst's packet writes, ~5 % of a DPDK worker at 4 M pkt/s.
  const crypto::KeyRing* quiescent(std::size_t w) noexcept {
    slots_[w].seen.store(epoch_.load(std::memory_order_acquire), std::memory_order_release);
    return cur_.load(std::memory_order_acquire);
  }
  // The worker holds no snapshot until its next quiescent() (e.g. exiting).
  void offline(std::size_t w) noexcept { slots_[w].seen.store(kOffline, std::memory_order_release); }

 private:
  struct alignas(64) Slot {
    std::atomic<std::uint64_t> seen{kOffline};
  };
  struct Retired {
    const crypto::KeyRing* ring;
    std::uint64_t tag;
  };

  std::atomic<const crypto::KeyRing*> cur_{nullptr};
  std::atomic<std::uint64_t> epoch_{0};
  std::unique_ptr<Slot[]> slots_;
  std::size_t n_;
  std::mutex control_;  // control side only; never taken by a worker
  std::vector<Retired> retired_;
};

}  // namespace ntsd::runtime
