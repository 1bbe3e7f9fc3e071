// Per-step counters of ntsgen. Every request ends in exactly one bucket:
// valid, invalid (with a reason), NAK, KoD, or lost. A response that failed
// a check is never counted valid. Valid means fully verified, or, with NTS
// --verify-every N > 1, matched to its request and passing the cheap checks
// (docs/ntsgen.md); `verified` says how many valid ones were fully verified.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "histogram.hpp"
#include "interleave.hpp"

namespace ntsgen {

// Why a response was not accepted. Closed set, as in ntpd-rs.
enum class Invalid : std::uint8_t {
  kMalformed,      // too short, bad extension-field framing, not NTPv4 mode 4
  kUnmatched,      // origin timestamp / Unique Identifier belongs to no request in flight
  kOriginMismatch, // origin timestamp differs from the request's transmit timestamp
  kUidMismatch,    // Unique Identifier EF missing or different from the request's
  kNoAuth,         // NTS response without an Authenticator EF (and not a NAK)
  kAuthFail,       // the Authenticator did not verify under S2C
  kCookieCount,    // wrong number of fresh cookies (RFC 8915 §5.7: one per cookie + placeholder)
  kDuplicate,      // a second response for a request already answered
  kInterleavedT3,  // interleaved answer whose T3 cannot be the previous answer's TX time
  kCount_,
};
inline constexpr std::size_t kInvalidReasons = static_cast<std::size_t>(Invalid::kCount_);
std::string_view invalid_name(Invalid r) noexcept;

// Outcome of checking one response.
enum class Verdict : std::uint8_t { kValid, kInvalid, kNak, kKod, kStale };

struct Counters {
  std::uint64_t sent = 0;
  std::uint64_t send_errors = 0;  // the transport refused the packet
  std::uint64_t valid = 0;
  // Of the valid: NTS responses that passed the full verification (AEAD
  // open, fresh cookies into the jar). Equals valid for plain NTP and for NTS
  // with --verify-every 1; about valid / N with --verify-every N.
  std::uint64_t verified = 0;
  std::uint64_t nak = 0;          // NTS NAK (KoD "NTSN", RFC 8915 §5.7)
  std::uint64_t kod = 0;          // other Kiss-o'-Death (RATE, DENY, ...)
  std::uint64_t lost = 0;         // no response before the step's drain ended
  std::uint64_t stale = 0;        // a response to an earlier step, arriving late
  std::array<std::uint64_t, kInvalidReasons> invalid{};

  std::uint64_t invalid_total() const noexcept;
  void add_invalid(Invalid r) noexcept { ++invalid[static_cast<std::size_t>(r)]; }
  void merge(const Counters& o) noexcept;
};

// The result of one load step.
struct StepResult {
  unsigned step = 0;
  unsigned attempt = 1;      // 1 + retries of this step (RunOptions::attempts)
  double offered_rate = 0;   // requests/s the schedule asked for
  double duration_s = 0;     // time the sender ran
  double cpu_s = 0;          // CPU time the sending thread used meanwhile
  // Of duration_s, the loop iterations that sent or received something (the
  // rest polled and found nothing): the generator's load. sent / busy_s is a
  // lower bound of the rate it could sustain, whatever limited this step.
  double busy_s = 0;
  Counters c;
  Histogram latency;         // of valid responses only, in ns
  XleaveStats x;             // interleaved share and T3 offsets (--interleaved / --offsets)

  double sent_rate() const noexcept { return duration_s > 0 ? c.sent / duration_s : 0; }
  double valid_rate() const noexcept { return duration_s > 0 ? c.valid / duration_s : 0; }
  // Requests sent per second of CPU time: the generator's cost per core,
  // independent of how much of the core other processes took.
  double sent_per_cpu_s() const noexcept { return cpu_s > 0 ? c.sent / cpu_s : 0; }
  double sent_per_busy_s() const noexcept { return busy_s > 0 ? c.sent / busy_s : 0; }
  double busy_pct() const noexcept { return duration_s > 0 ? 100.0 * busy_s / duration_s : 0; }
  // Percentages of sent.
  double lost_pct() const noexcept;
  double invalid_pct() const noexcept;
};

}  // namespace ntsgen
