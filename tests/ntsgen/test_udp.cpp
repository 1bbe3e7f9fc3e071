// The corrupted-response test of issue 6: ntsgen runs a real load step over
// loopback UDP against a tiny NTS responder. With the right S2C key every
// response is valid; with a wrong S2C key every response is counted invalid
// (auth) and none valid. Plain NTP against the same responder style checks
// the socket transport end to end.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "fake_nts_server.hpp"
#include "nts_codec.hpp"
#include "nts_fixture.hpp"
#include "runner.hpp"
#include "transport.hpp"

namespace ntsgen {
namespace {

// Answers every datagram on 127.0.0.1:<port> until stopped.
class Responder {
 public:
  explicit Responder(const ntsd::crypto::SivKey* s2c) : s2c_(s2c) {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t l = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &l);
    port_ = ntohs(a.sin_port);
    th_ = std::thread([this] { loop(); });
  }
  ~Responder() {
    stop_ = true;
    th_.join();
    close(fd_);
  }
  std::uint16_t port() const { return port_; }

 private:
  void loop() {
    auto eng = ntsd::crypto::make_scalar_engine();
    std::uint8_t buf[1500];
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      sockaddr_storage from{};
      socklen_t fl = sizeof from;
      const ssize_t n = recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
      if (n < 48) continue;
      std::vector<std::uint8_t> out;
      if (s2c_) {
        out = test::fake_nts_response(*eng, *s2c_, std::span<const std::uint8_t>(buf, static_cast<std::size_t>(n)));
      } else {
        out.assign(48, 0);
        out[0] = 0x24;
        out[1] = 1;
        std::memcpy(out.data() + 24, buf + 40, 8);
        out[40] = 0xe0;
      }
      if (!out.empty()) sendto(fd_, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
    }
  }
  const ntsd::crypto::SivKey* s2c_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread th_;
};

RunResult load(std::uint16_t port, Codec& codec, Tracker& tr, unsigned attempts = 1) {
  std::string err;
  SocketOptions so;
  so.server = "127.0.0.1";
  so.port = port;
  so.sockets = 4;
  auto t = make_socket_transport(so, err);
  EXPECT_NE(t, nullptr) << err;
  RunOptions ro;
  ro.rate = 2000;
  ro.step_seconds = 0.5;
  ro.drain_seconds = 0.5;
  ro.attempts = attempts;
  return run_load(*t, codec, tr, ro, {});
}

TEST(NtsgenUdp, RightS2CIsAllValid) {
  auto keys = test::vector_keys();
  auto sessions = test::vector_sessions(4);
  Tracker tr(4096, 11);
  auto codec = make_nts_codec(sessions, {}, tr.capacity());
  Responder r(&keys.s2c);
  const auto res = load(r.port(), *codec, tr);
  ASSERT_EQ(res.steps.size(), 1u);
  const auto& s = res.steps[0];
  EXPECT_GT(s.c.sent, 900u);
  EXPECT_EQ(s.c.valid, s.c.sent);
  EXPECT_EQ(s.c.invalid_total(), 0u);
  EXPECT_EQ(s.latency.count(), s.c.valid);
  EXPECT_EQ(res.knee, 0);
}

TEST(NtsgenUdp, WrongS2CIsAllInvalidNeverValid) {
  auto keys = test::vector_keys();
  auto sessions = test::vector_sessions(4);
  Tracker tr(4096, 12);
  auto codec = make_nts_codec(sessions, {}, tr.capacity());
  const ntsd::crypto::SivKey wrong = keys.c2s;  // the server seals with the wrong key
  Responder r(&wrong);
  const auto res = load(r.port(), *codec, tr);
  const auto& s = res.steps[0];
  EXPECT_GT(s.c.sent, 900u);
  EXPECT_EQ(s.c.valid, 0u);
  EXPECT_EQ(s.c.invalid[static_cast<int>(Invalid::kAuthFail)], s.c.sent);
  EXPECT_DOUBLE_EQ(s.invalid_pct(), 100.0);
  EXPECT_EQ(s.latency.count(), 0u);
  EXPECT_EQ(res.knee, -1);
}

// --verify-every 8 over real sockets: against the right key every answer is
// valid and one in 8 fully verified; against the wrong key exactly the
// fully verified ones are invalid (auth), the checked-only ones cannot tell.
TEST(NtsgenUdp, SampledVerification) {
  auto keys = test::vector_keys();
  const ntsd::crypto::SivKey wrong = keys.c2s;
  for (const ntsd::crypto::SivKey* key : {static_cast<const ntsd::crypto::SivKey*>(&keys.s2c), &wrong}) {
    auto sessions = test::vector_sessions(4);
    Tracker tr(4096, 14);
    NtsCodecOptions o;
    o.verify_every = 8;
    auto codec = make_nts_codec(sessions, o, tr.capacity());
    Responder r(key);
    const auto res = load(r.port(), *codec, tr);
    const auto& s = res.steps[0];
    EXPECT_GT(s.c.sent, 900u);
    EXPECT_EQ(s.c.lost, 0u);
    const std::uint64_t full = key == &wrong ? s.c.invalid[static_cast<int>(Invalid::kAuthFail)] : s.c.verified;
    EXPECT_GE(full, s.c.sent / 8);  // one per complete group of 8, maybe one in the last
    EXPECT_LE(full, s.c.sent / 8 + 1);
    EXPECT_EQ(s.c.valid + s.c.invalid_total(), s.c.sent);
    EXPECT_EQ(s.c.invalid_total(), key == &wrong ? full : 0u);
    EXPECT_GT(s.busy_s, 0.0);  // the loop's busy time is part of the step
    EXPECT_LE(s.busy_s, s.duration_s);
  }
}

TEST(NtsgenUdp, PlainNtpOverSockets) {
  auto codec = make_ntp_codec();
  Tracker tr(4096, 13);
  Responder r(nullptr);
  const auto res = load(r.port(), *codec, tr);
  const auto& s = res.steps[0];
  EXPECT_GT(s.c.sent, 900u);
  EXPECT_EQ(s.c.valid, s.c.sent);
  EXPECT_EQ(s.c.lost, 0u);
}

// A step over the threshold is run again up to --attempts times, each
// attempt reported; a step within it is not repeated.
TEST(NtsgenUdp, AttemptsRetryOnlyFailingSteps) {
  auto keys = test::vector_keys();
  auto sessions = test::vector_sessions(4);
  Tracker tr(4096, 14);
  auto codec = make_nts_codec(sessions, {}, tr.capacity());
  const ntsd::crypto::SivKey wrong = keys.c2s;
  Responder bad(&wrong);
  const auto failed = load(bad.port(), *codec, tr, 3);
  ASSERT_EQ(failed.steps.size(), 3u);
  for (unsigned a = 0; a < 3; ++a) {
    EXPECT_EQ(failed.steps[a].step, 0u);
    EXPECT_EQ(failed.steps[a].attempt, a + 1);
  }
  EXPECT_EQ(failed.knee, -1);
  Responder good(&keys.s2c);
  const auto passed = load(good.port(), *codec, tr, 3);
  ASSERT_EQ(passed.steps.size(), 1u);
  EXPECT_EQ(passed.steps[0].attempt, 1u);
  EXPECT_EQ(passed.knee, 0);
}

}  // namespace
}  // namespace ntsgen
