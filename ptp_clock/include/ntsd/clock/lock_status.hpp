// Reference lock, from a status file that the operator's GNSS/PPS monitor
// rewrites (atomically: write a temporary file, then rename), independent of
// the PHC/system clock pair: when phc2sys slaves the system clock to the PHC,
// a GNSS outage moves both together and no offset check can see it.
//
//   # /run/ntsd/lock, rewritten every few seconds by the monitor
//   locked = true        # the receiver has a position/time fix and PPS lock
//   error_ns = 40        # its estimated time error now (>= 0)
//   updated = 1796000000 # Unix seconds (may have a fraction) of the check
//
// Every key is required and no other is allowed, so a monitor bug reads as
// "invalid", not as "locked". The age of `updated` counts: a file the
// monitor stopped rewriting goes stale ([server] lock_max_age_s) and is then
// treated like a lost lock (docs/operations.md, "Reference lock").
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "ntsd/clock/ntp_time.hpp"

namespace ntsd::clock {

struct LockReading {
  enum class State : std::uint8_t { kLocked, kUnlocked, kMissing, kInvalid };
  State state = State::kMissing;
  std::int64_t error_ns = 0;
  UnixNs updated = 0;  // Unix ns
  std::string why;     // for kMissing / kInvalid
};

// Parses the text; kInvalid with `why` naming the line on any error.
LockReading parse_lock_status(std::string_view text);
// Reads and parses the file; kMissing if it cannot be opened.
LockReading read_lock_status(const std::string& path);

using LockStatusFn = std::function<LockReading()>;

const char* to_string(LockReading::State s) noexcept;

}  // namespace ntsd::clock
