// The key-ring hand-off: snapshots are freed only after every worker moved
// on, offline workers do not block reclamation, and readers racing a writer
// always see a complete ring.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "ntsd/runtime/keyring_rcu.hpp"

using ntsd::crypto::KeyRing;
using ntsd::crypto::MasterKey;
using ntsd::crypto::SivKey;
using ntsd::runtime::KeyRingRcu;

namespace {

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
