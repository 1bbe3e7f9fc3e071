// Fuzz: the two files ntsd's clock reads from outside, the leap-second list
// (leap_table.hpp) and the reference lock status file (lock_status.hpp).
// Either parses into something self-consistent or is rejected with a
// reason; nothing crashes, and a parsed table's conversions hold:
// tai_to_utc(utc_to_tai(u)) == u away from a repeated second, offsets only
// ever change by one second at a boundary, and the per-packet LeapStep
// agrees with the table around every boundary.
#include <cstdlib>
#include <string>
#include <string_view>

#include "ntsd/clock/leap_table.hpp"
#include "ntsd/clock/lock_status.hpp"

using namespace ntsd::clock;

namespace {
void require(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const LockReading l = parse_lock_status(text);
  require(l.state != LockReading::State::kMissing);
  require((l.state == LockReading::State::kInvalid) == !l.why.empty());
  if (l.state != LockReading::State::kInvalid) require(l.error_ns >= 0 && l.updated > 0);

  std::string err;
  const auto t = LeapTable::parse(text, err);
  require(t.has_value() == err.empty());
  if (!t) return 0;
  const auto& e = t->entries();
  require(!e.empty());
  for (std::size_t i = 1; i < e.size(); ++i) {
    require(e[i].utc > e[i - 1].utc);
    require(std::abs(e[i].offset_s - e[i - 1].offset_s) == 1);
    // Around each boundary: the step the workers use agrees with the table.
    const LeapStep step = t->step_after(e[i].boundary_tai - 1);
    for (const std::int64_t d : {-kNsPerSec, std::int64_t{-1}, std::int64_t{0}, kNsPerSec / 2, kNsPerSec, 2 * kNsPerSec}) {
      const UnixNs tai = e[i].boundary_tai + d;
      if (i + 1 < e.size() && tai >= e[i + 1].boundary_tai) continue;
      require(step.to_utc(tai) == t->tai_to_utc(tai));
    }
    // Two seconds after the boundary UTC is unambiguous and round-trips.
    const UnixNs u = e[i].utc + 2 * kNsPerSec;
    if (i + 1 >= e.size() || u + kNsPerSec < e[i + 1].utc) require(t->tai_to_utc(t->utc_to_tai(u)) == u);
    (void)t->leap_indicator(e[i].boundary_tai);
  }
  return 0;
}
