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
// load and one store of its own cache line and one load of cur_: no lock,
// no RMW, no fence, no allocation. Offline workers (blocked or gone) report
// kOffline and never hold back reclamation; the step back online is ordered
// with seq_cst (see quiescent()). The DPDK backend follows the same protocol (the
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
  // before reclaim()'s acquire of seen[w], hence before the delete. While
  // the worker is online, no store-load order is needed: a cur_ load that
  // passes the seen store returns a ring at least as new as E says, and
  // until the store is visible reclaim() reads the worker's previous report,
  // which is older still and so protects that ring too. So this is plain
  // moves on x86: a seq_cst store here was an xchg that drained the store
  // buffer after every burst's packet writes, ~5 % of a DPDK worker at
  // 4 M pkt/s.
  //
  // Going online (seen[w] == kOffline, the first report after offline() or
  // at start) is different (issue 20, item 4): the previous report is
  // kOffline, which protects nothing. Were the store of E to pass the load
  // of cur_ (store-load reordering, which x86 does too), reclaim() could
  // still read kOffline after the worker has loaded a ring, and free it:
  //   worker:  E -> e;  cur_ -> R            (store seen = e still buffered)
  //   control: cur_ = R'; E = e + 1; reclaim(): seen[w] == kOffline -> delete R
  // So that step is a seq_cst store followed by a seq_cst load (an xchg on
  // x86), paired with seq_cst loads of seen[] in reclaim() and the seq_cst
  // exchange of cur_ in publish(). All four sit in one total order S: if the
  // load of cur_ returns the old ring, it precedes publish()'s exchange in S,
  // the store of seen precedes it, and reclaim()'s later load of seen must
  // then read e (< tag) or something later, never kOffline. And e < tag:
  // had the load of E seen the increment, it would have synchronised with
  // publish(), and the load of cur_ could only return the new ring. This is
  // the seq_cst fence that rte_rcu_qsbr_thread_online() has at the same
  // step; taken once per offline period, never per burst.
  const crypto::KeyRing* quiescent(std::size_t w) noexcept {
    std::atomic<std::uint64_t>& seen = slots_[w].seen;
    const std::uint64_t e = epoch_.load(std::memory_order_acquire);
    // Only this worker stores to its slot, so a relaxed load reads its own
    // last store.
    if (seen.load(std::memory_order_relaxed) == kOffline) [[unlikely]] {
      seen.store(e, std::memory_order_seq_cst);
      return cur_.load(std::memory_order_seq_cst);
    }
    seen.store(e, std::memory_order_release);
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
