#include "stats.hpp"

namespace ntsgen {

std::string_view invalid_name(Invalid r) noexcept {
  switch (r) {
    case Invalid::kMalformed: return "malformed";
    case Invalid::kUnmatched: return "unmatched";
    case Invalid::kOriginMismatch: return "origin";
    case Invalid::kUidMismatch: return "uid";
    case Invalid::kNoAuth: return "no_auth";
    case Invalid::kAuthFail: return "auth";
    case Invalid::kCookieCount: return "cookies";
    case Invalid::kDuplicate: return "duplicate";
    case Invalid::kInterleavedT3: return "interleaved_t3";
    case Invalid::kCount_: break;
  }
  return "?";
}

std::uint64_t Counters::invalid_total() const noexcept {
  std::uint64_t t = 0;
  for (auto v : invalid) t += v;
  return t;
}

void Counters::merge(const Counters& o) noexcept {
  sent += o.sent;
  send_errors += o.send_errors;
  valid += o.valid;
  verified += o.verified;
  nak += o.nak;
  kod += o.kod;
  lost += o.lost;
  stale += o.stale;
  for (std::size_t i = 0; i < invalid.size(); ++i) invalid[i] += o.invalid[i];
}

static double pct(std::uint64_t n, std::uint64_t of) noexcept {
  return of ? 100.0 * static_cast<double>(n) / static_cast<double>(of) : 0.0;
}

double StepResult::lost_pct() const noexcept { return pct(c.lost, c.sent); }
double StepResult::invalid_pct() const noexcept { return pct(c.invalid_total(), c.sent); }

}  // namespace ntsgen
