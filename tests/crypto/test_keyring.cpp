// The cookie master key ring: lookup, capacity, duplicates, future key, wiping.
#include <gtest/gtest.h>

#include <cstring>
#include <new>
#include <vector>

#include "ntsd/crypto/keyring.hpp"

namespace ntsd::crypto {
namespace {

MasterKey mk(std::uint32_t id, std::size_t len = 32) {
  std::vector<std::uint8_t> bytes(len, static_cast<std::uint8_t>(id * 31 + 1));
  MasterKey m;
  m.id = id;
  m.key = *SivKey::from_bytes(bytes);
  return m;
}

TEST(KeyRing, EmptyRing) {
  KeyRing ring;
  EXPECT_TRUE(ring.empty());
  EXPECT_EQ(ring.size(), 0u);
  EXPECT_EQ(ring.find(0), nullptr);
  EXPECT_EQ(ring.future(), nullptr);
  EXPECT_TRUE(ring.current().key.empty());  // engines refuse an empty key
}

TEST(KeyRing, FindsEveryKeyAndNothingElse) {
  // Ids that collide in the low bits (chrony's slot index) and large ids.
  const std::vector<MasterKey> prev = {mk(0x10), mk(0x20), mk(0xffffff00),
                                       mk(0x31), mk(1),    mk(0x11)};
  const auto ring = KeyRing::make(mk(0x00), prev, mk(0x40));
  ASSERT_TRUE(ring);
  EXPECT_EQ(ring->size(), 8u);
  EXPECT_FALSE(ring->empty());
  EXPECT_EQ(ring->current().id, 0x00u);
  ASSERT_NE(ring->future(), nullptr);
  EXPECT_EQ(ring->future()->id, 0x40u);
  for (std::uint32_t id : {0x00u, 0x10u, 0x20u, 0xffffff00u, 0x31u, 1u, 0x11u, 0x40u}) {
    const MasterKey* m = ring->find(id);
    ASSERT_NE(m, nullptr) << id;
    EXPECT_EQ(m->id, id);
    EXPECT_EQ(m->key.bytes()[0], static_cast<std::uint8_t>(id * 31 + 1));
  }
  for (std::uint32_t id : {2u, 0x50u, 0x30u, 0xffffffffu, 0x12u})
    EXPECT_EQ(ring->find(id), nullptr) << id;
}

TEST(KeyRing, PreviousIsTruncatedToCapacity) {
  std::vector<MasterKey> prev;
  for (std::uint32_t i = 1; i <= 10; ++i) prev.push_back(mk(i));  // newest first
  const auto ring = KeyRing::make(mk(100), prev, std::nullopt);
  ASSERT_TRUE(ring);
  EXPECT_EQ(ring->size(), 1 + KeyRing::kMaxPrevious);
  for (std::uint32_t i = 1; i <= KeyRing::kMaxPrevious; ++i) EXPECT_NE(ring->find(i), nullptr) << i;
  for (std::uint32_t i = KeyRing::kMaxPrevious + 1; i <= 10; ++i)
    EXPECT_EQ(ring->find(i), nullptr) << i;
  EXPECT_EQ(ring->future(), nullptr);
}

TEST(KeyRing, RejectsDuplicatesAndEmptyKeys) {
  const std::vector<MasterKey> dup_prev = {mk(1), mk(2), mk(1)};
  EXPECT_FALSE(KeyRing::make(mk(5), dup_prev, std::nullopt));
  const std::vector<MasterKey> prev = {mk(1)};
  EXPECT_FALSE(KeyRing::make(mk(1), prev, std::nullopt));      // current == previous
  EXPECT_FALSE(KeyRing::make(mk(5), prev, mk(5)));             // future == current
  EXPECT_FALSE(KeyRing::make(mk(5), prev, mk(1)));             // future == previous
  EXPECT_FALSE(KeyRing::make(MasterKey{}, {}, std::nullopt));  // no key material
  EXPECT_TRUE(KeyRing::make(mk(5), prev, mk(6)));
}

TEST(KeyRing, MixedKeySizes) {
  const std::vector<MasterKey> prev = {mk(2, 32)};
  const auto ring = KeyRing::make(mk(1, 64), prev, std::nullopt);
  ASSERT_TRUE(ring);
  EXPECT_EQ(ring->find(1)->key.aead(), AeadId::kSivCmac512);
  EXPECT_EQ(ring->find(2)->key.aead(), AeadId::kSivCmac256);
}

TEST(KeyRing, CopiesAreIndependent) {
  // Workers hold snapshots; a copy must survive the original.
  std::optional<KeyRing> copy;
  {
    const auto ring = KeyRing::make(mk(9), {}, std::nullopt);
    copy = *ring;
  }
  ASSERT_NE(copy->find(9), nullptr);
  EXPECT_EQ(copy->find(9)->key.size(), 32u);
}

TEST(KeyRing, KeyMaterialWipedOnRelease) {
  // Build a ring in storage we own, destroy it, and look for key bytes.
  alignas(KeyRing) unsigned char storage[sizeof(KeyRing)];
  const std::vector<MasterKey> prev = {mk(2), mk(3)};
  auto* ring = new (storage) KeyRing(*KeyRing::make(mk(1), prev, mk(4)));
  auto count_key_bytes = [&] {
    std::size_t n = 0;
    for (std::uint32_t id : {1u, 2u, 3u, 4u}) {
      const auto b = static_cast<unsigned char>(id * 31 + 1);
      for (std::size_t i = 0; i + 32 <= sizeof(KeyRing); ++i)
        if (std::all_of(storage + i, storage + i + 32, [&](unsigned char c) { return c == b; }))
          ++n;
    }
    return n;
  };
  ASSERT_GE(count_key_bytes(), 4u);
  ring->~KeyRing();
  EXPECT_EQ(count_key_bytes(), 0u);
}

}  // namespace
}  // namespace ntsd::crypto
