// What the I/O backends share: the clock (TSC fit + server state), the key
// ring hand-off, the counters, and the stop flag. Everything a worker reads
// per burst is one of: an atomic word, a seqlock, or its own memory.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "ntsd/clock/server_clock.hpp"
#include "ntsd/clock/tsc_map.hpp"
#include "ntsd/crypto/fke_random.hpp"
#include "ntsd/limit/limiter.hpp"
#include "ntsd/proto/server.hpp"
#include "ntsd/runtime/keyring_rcu.hpp"
#include "ntsd/runtime/stats.hpp"

namespace ntsd::runtime {

struct Shared {
  KeyRingRcu& keys;
  Metrics& metrics;
  const clock::TscMap& tsc;
  // Leap, stratum, root delay and dispersion, reference time: published by
  // the control thread (ptp_clock/server_clock.hpp), loaded per burst.
  const clock::ServerClock& clock;
  // For NIC clocks (hardware RX timestamps): a new instance of the
  // configured clock source to fit the NIC's ticks to, so that T2 and T3
  // share one timescale, and the leap-second table. Unset: the system clock.
  std::function<std::unique_ptr<clock::ClockSource>()> nic_reference;
  const clock::LeapTableRef* leaps = nullptr;
  std::atomic<bool> stop{false};
  // Per-client rate limiting ([ratelimit]); each worker builds its own table
  // from these at start. One secret per process: see limit/limiter.hpp.
  bool ratelimit = false;
  limit::Params ratelimit_params{};
  limit::Secret ratelimit_secret{};
  // Interleaved mode ([server] interleaved, RFC 9769): each worker builds its
  // own table of this many entries (runtime/interleave.hpp); one hash key per
  // process. The socket backend needs to know whether the served clock is the
  // system clock (kernel TX timestamps are on it) or a PHC (hardware ones are).
  bool interleaved = false;
  std::size_t interleaved_entries = 0;
  limit::Secret interleaved_secret{};
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

// proto::Random for a worker: the nonces of new cookies and responses from a
// fast-key-erasure AES-128 generator (crypto/fke_random.hpp), keyed and
// reseeded from RAND_bytes, on the engines' 16-lane VAES code where the CPU
// has it. A fill costs ~1.9 TSC cycles per 16 bytes plus ~80 per call,
// written straight into the caller's buffer (a burst's 1 KiB: ~200 cycles);
// the 16 KiB RAND_bytes buffer this replaces cost ~0.52 cycles a byte
// (~530 a KiB) and evicted the burst's lines from L1 at each refill
// (docs/benchmarks.md, "The core").
class WorkerRandom final : public proto::Random {
 public:
  void fill(proto::MutBytes out) noexcept override { gen_.fill(out); }

 private:
  crypto::FkeRandom gen_;
};

// One log line on stderr: "2026-11-23T00:01:02Z ntsd: message".
void log(const std::string& msg);

}  // namespace ntsd::runtime
