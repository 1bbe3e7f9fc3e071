// The key-ring hand-off: snapshots are freed only after every worker moved
// on, offline workers do not block reclamation, and readers racing a writer
// always see a complete ring.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "ntsd/runtime/keyring_rcu.hpp"

using ntsd::crypto::KeyRing;
using ntsd::crypto::MasterKey;
using ntsd::crypto::SivKey;
using ntsd::runtime::KeyRingRcu;

namespace {

// Spins until `a` reaches `r`, yielding now and then: on a busy machine the
// other thread may not be running at all.
void wait_for(const std::atomic<long>& a, long r) {
  for (int i = 0; a.load(std::memory_order_acquire) < r; ++i)
    if ((i & 1023) == 1023) std::this_thread::yield();
}

std::unique_ptr<const KeyRing> ring(std::uint32_t id) {
  std::array<std::uint8_t, 32> k{};
  k[0] = static_cast<std::uint8_t>(id);
  MasterKey mk{id, *SivKey::from_bytes(k)};
  auto r = KeyRing::make(mk, {}, std::nullopt);
  return std::make_unique<const KeyRing>(*r);
}

}  // namespace

TEST(KeyRingRcu, OldSnapshotLivesUntilEveryWorkerReports) {
  KeyRingRcu rcu(2);
  EXPECT_EQ(rcu.quiescent(0), nullptr);
  EXPECT_EQ(rcu.quiescent(1), nullptr);
  rcu.publish(ring(1));
  const KeyRing* a0 = rcu.quiescent(0);
  const KeyRing* a1 = rcu.quiescent(1);
  ASSERT_NE(a0, nullptr);
  EXPECT_EQ(a0, a1);
  rcu.publish(ring(2));
  EXPECT_EQ(rcu.reclaim(), 1u);  // nobody has moved on yet
  EXPECT_EQ(rcu.quiescent(0)->current().id, 2u);
  EXPECT_EQ(rcu.reclaim(), 1u);  // worker 1 may still use ring 1
  EXPECT_EQ(a1->current().id, 1u);
  EXPECT_EQ(rcu.quiescent(1)->current().id, 2u);
  EXPECT_EQ(rcu.reclaim(), 0u);
}

TEST(KeyRingRcu, OfflineWorkerDoesNotBlockReclaim) {
  KeyRingRcu rcu(2);
  rcu.publish(ring(1));
  rcu.quiescent(0);
  rcu.quiescent(1);
  rcu.offline(1);
  rcu.publish(ring(2));
  rcu.quiescent(0);
  EXPECT_EQ(rcu.reclaim(), 0u);
  EXPECT_EQ(rcu.quiescent(1)->current().id, 2u);  // back online: sees the new ring
}

TEST(KeyRingRcu, ConcurrentReadersAlwaysSeeWholeRings) {
  // Readers check each snapshot's content between reports; the writer
  // publishes and reclaims continuously. ASan (in the sanitizer build) turns
  // any use after free into a failure.
  constexpr int kWorkers = 2;
  KeyRingRcu rcu(kWorkers);
  rcu.publish(ring(1));
  std::atomic<bool> stop{false};
  std::atomic<long> checks{0};
  std::vector<std::thread> readers;
  for (int w = 0; w < kWorkers; ++w) {
    readers.emplace_back([&, w] {
      std::uint32_t last = 0;
      while (!stop) {
        const KeyRing* r = rcu.quiescent(static_cast<std::size_t>(w));
        const std::uint32_t id = r->current().id;
        ASSERT_EQ(r->find(id), &r->current());
        ASSERT_EQ(r->current().key.bytes()[0], static_cast<std::uint8_t>(id));
        ASSERT_GE(id, last);  // generations only move forward
        last = id;
        checks.fetch_add(1, std::memory_order_relaxed);
      }
      rcu.offline(static_cast<std::size_t>(w));
    });
  }
  // At least 3000 publications, and go on until the readers (which a busy
  // machine may schedule late) have checked many snapshots; bounded in time.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (std::uint32_t id = 2; (id < 3000 || checks.load() < 100'000) && std::chrono::steady_clock::now() < deadline; ++id) {
    rcu.publish(ring(id));
    rcu.reclaim();
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(rcu.reclaim(), 0u);
  EXPECT_GE(checks.load(), 100'000);
}

// Issue 20, item 4: a worker's first report after offline() (kOffline ->
// an epoch) must be ordered before its load of the ring, or reclaim() can
// still read kOffline and free the ring the worker has just loaded. Workers
// here go offline after every snapshot, so every report is that step, while
// the control thread publishes and reclaims as fast as it can. A worker
// re-reads its snapshot after a pause: a ring freed under it is a
// heap-use-after-free in the ASan build, and, in any build, shows as a
// ring whose content changed (freed rings are immutable until deleted, and
// the allocator hands the same block to the next one). Run in the release,
// ASan and TSan builds (docs/reliability.md).
TEST(KeyRingRcu, WorkersGoingOfflineAndOnlineNeverUseAFreedRing) {
  constexpr int kWorkers = 2;
  KeyRingRcu rcu(kWorkers);
  rcu.publish(ring(1));
  std::atomic<bool> stop{false};
  std::atomic<long> transitions{0}, torn{0};
  std::vector<std::thread> workers;
  std::array<std::atomic<long>, kWorkers> spins{};
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      const auto me = static_cast<std::size_t>(w);
      std::atomic<long>& spin = spins[me];
      long n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        const KeyRing* r = rcu.quiescent(me);  // offline -> online, every time
        const std::uint32_t id = r->current().id;
        // Hold it for a moment (~1 us), as a burst would, then look again.
        for (int i = 0; i < 200; ++i) spin.fetch_add(1, std::memory_order_relaxed);
        if (r->current().id != id || r->find(id) != &r->current() ||
            r->current().key.bytes()[0] != static_cast<std::uint8_t>(id))
          torn.fetch_add(1, std::memory_order_relaxed);
        rcu.offline(me);
        ++n;
      }
      transitions.fetch_add(n);
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  std::uint32_t id = 2;
  for (; std::chrono::steady_clock::now() < deadline; ++id) {
    rcu.publish(ring(id));
    rcu.reclaim();
  }
  stop = true;
  for (auto& t : workers) t.join();
  EXPECT_EQ(torn.load(), 0) << "a worker's ring changed under it: freed while in use";
  EXPECT_EQ(rcu.reclaim(), 0u);  // every worker is offline now
  EXPECT_GE(transitions.load(), 10'000) << "too few offline->online steps to mean anything";
  EXPECT_GE(id, 10'000u) << "too few publications";
  std::printf("offline->online steps %ld, publications %u\n", transitions.load(), id - 2);
}

// The same step as a litmus test, round by round, which catches the
// reordering itself rather than its rare consequence. Each round the worker
// writes 48 cache lines the control thread has just taken (a burst's packet
// writes: each store needs the line back, so the store buffer fills), then
// reports online and loads the ring; the control thread publishes after a
// varying delay and reclaims; only then does the worker go offline again.
// If the worker got the old ring and reclaim() freed it in the same round,
// a ring was freed while held. With 119d3ed's release store this happens on
// x86 (AMD EPYC here: dozens of times per 600k rounds, in 6 of 8 half-second
// runs); with the seq_cst step, never. Checked by pointer only: the freed
// ring is not touched.
TEST(KeyRingRcu, OnlineStepIsOrderedBeforeTheRingLoad) {
  KeyRingRcu rcu(1);
  rcu.publish(ring(1));
  std::atomic<long> go{0}, reclaimed{0}, done{0};
  std::atomic<const KeyRing*> got{nullptr};
  struct alignas(64) Line {
    std::atomic<long> v{0};
  };
  static std::array<Line, 48> lines;
  constexpr long kMaxRounds = 4'000'000;
  std::atomic<bool> stop{false};
  std::thread worker([&] {
    for (long r = 1;; ++r) {
      wait_for(go, r);
      if (stop.load(std::memory_order_acquire)) return;
      for (auto& l : lines) l.v.store(r, std::memory_order_relaxed);
      got.store(rcu.quiescent(0), std::memory_order_relaxed);
      wait_for(reclaimed, r);
      rcu.offline(0);
      done.store(r, std::memory_order_release);
    }
  });
  // 3 s normally; up to 8 s while the worker has raced too few publications
  // (a busy machine), never more than kMaxRounds.
  const auto start = std::chrono::steady_clock::now();
  long freed_while_held = 0, got_old = 0, r = 1;
  std::atomic<long> sink{0};
  for (std::uint32_t id = 2; r <= kMaxRounds; ++r, ++id) {
    if ((r & 1023) == 0) {
      const auto t = std::chrono::steady_clock::now() - start;
      if (t > std::chrono::seconds(8) || (t > std::chrono::seconds(3) && got_old >= 100'000)) break;
    }
    auto next = ring(id);
    const KeyRing* fresh = next.get();
    rcu.reclaim();  // nothing retired at the start of a round
    for (auto& l : lines) l.v.store(-r, std::memory_order_relaxed);
    go.store(r, std::memory_order_release);
    for (long i = (r * 7919) % 128; i > 0; --i) sink.fetch_add(1, std::memory_order_relaxed);
    rcu.publish(std::move(next));
    const std::size_t left = rcu.reclaim();
    reclaimed.store(r, std::memory_order_release);
    wait_for(done, r);
    if (got.load(std::memory_order_relaxed) != fresh) {
      ++got_old;
      if (left == 0) ++freed_while_held;
    }
  }
  stop.store(true, std::memory_order_release);
  go.store(r, std::memory_order_release);  // the worker waits for round r: it sees stop
  worker.join();
  EXPECT_EQ(freed_while_held, 0) << "the old ring was freed while the worker that just came online held it";
  // On an idle machine the worker gets the old ring in most rounds; a
  // machine busy enough to leave it fewer races than this says so rather
  // than fail (the stress test above still ran).
  if (got_old < 10'000) std::printf("note: only %ld races observed (busy machine?)\n", got_old);
  std::printf("rounds %ld, worker got the old ring in %ld, freed while held %ld\n", r - 1, got_old,
              freed_while_held);
}
