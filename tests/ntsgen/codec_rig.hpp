// Driving a codec in the verification tests (test_verify.cpp,
// test_verify_every.cpp): request buffers built into, one response fed
// back, and the state an NTS codec test holds against the fake server.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <span>
#include <vector>

#include "codec.hpp"
#include "nts_fixture.hpp"
#include "ntsd/crypto/siv.hpp"

namespace ntsgen::test {

struct Built {
  std::vector<std::array<std::uint8_t, 1280>> mem;
  std::vector<TxBuf> bufs;
};

// n requests from `codec`, sent at time 1000.
inline Built build(Codec& codec, Tracker& tr, Counters& c, std::size_t n) {
  Built b;
  b.mem.resize(n);
  b.bufs.resize(n);
  for (std::size_t i = 0; i < n; ++i) b.bufs[i].data = b.mem[i].data();
  codec.build(b.bufs, 1000, tr, c);
  return b;
}

// One response, received at time 5000.
inline void feed(Codec& codec, Tracker& tr, Counters& c, Histogram& h, const std::vector<std::uint8_t>& pkt) {
  const RxPkt p{pkt.data(), static_cast<std::uint16_t>(pkt.size()), 5000};
  codec.verify(std::span(&p, 1), tr, c, h);
}

// The vector's keys and sessions, a tracker, the scalar engine the fake
// server seals with, and the counters; the test makes codec_.
class NtsCodecTest : public ::testing::Test {
 protected:
  void feed(const std::vector<std::uint8_t>& resp) { test::feed(*codec_, tr_, c_, h_, resp); }

  VectorKeys keys_ = vector_keys();
  std::vector<Session> sessions_;
  Tracker tr_{4096, 7};
  std::unique_ptr<Codec> codec_;
  std::unique_ptr<ntsd::crypto::SivEngine> eng_ = ntsd::crypto::make_scalar_engine();
  Counters c_;
  Histogram h_;
};

}  // namespace ntsgen::test
