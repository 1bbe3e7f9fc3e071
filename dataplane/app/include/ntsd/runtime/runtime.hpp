// What the I/O backends share: the clock (TSC fit + server state), the key
// ring hand-off, the counters, and the stop flag. Everything a worker reads
// per burst is one of: an atomic word, a seqlock, or its own memory.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "ntsd/clock/server_clock.hpp"
#include "ntsd/clock/tsc_map.hpp"
#include "ntsd/limit/limiter.hpp"
#include "ntsd/proto/server.hpp"
#include "ntsd/runtime/keyring_rcu.hpp"
#include "ntsd/runtime/stats.hpp"

namespace ntsd::runtime {

struct Shared {
  KeyRingRcu& keys;
  Metrics& metrics;
  const clock::TscMap& tsc;
  const clock::ServerClock& clock;
  std::uint32_t root_delay = 0;       // NTP short 16.16
  std::uint32_t root_dispersion = 0;  // NTP short 16.16
  std::atomic<std::uint64_t> reference_time{0};  // NTP64 of the last good clock poll
  std::atomic<bool> stop{false};
  // Per-client rate limiting ([ratelimit]); each worker builds its own table
  // from these at start. One secret per process: see limit/limiter.hpp.
  bool ratelimit = false;
  limit::Params ratelimit_params{};
  limit::Secret ratelimit_secret{};
};

// The state to put in responses for the next burst.
proto::ServerState server_state(const Shared& s) noexcept;

// proto::TxClock over the TSC fit: T3 costs one rdtsc.
class TscTxClock final : public proto::TxClock {
 public:
  explicit TscTxClock(const clock::TscMap& m) noexcept : map_(m) {}
  proto::NtpTime now() noexcept override;

 private:
  const clock::TscMap& map_;
};

// proto::Random from OpenSSL's DRBG, refilled 4 KiB at a time so that a
// packet costs a memcpy, not a DRBG call.
class BufferedRandom final : public proto::Random {
 public:
  void fill(proto::MutBytes out) noexcept override;

 private:
  std::uint8_t buf_[4096];
  std::size_t pos_ = sizeof buf_;
};

// One log line on stderr: "2026-11-23T00:01:02Z ntsd: message".
void log(const std::string& msg);

// Microseconds to NTP short format (16.16 seconds), saturating.
std::uint32_t ntp_short_from_us(std::int64_t us) noexcept;

}  // namespace ntsd::runtime
