#include "ntsd/clock/synthetic_phc.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "ntsd/clock/system_clock.hpp"

namespace ntsd::clock {
namespace {

std::int64_t mono_now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return from_timespec(ts);
}

}  // namespace

SyntheticPhc::SyntheticPhc(Timescale scale, const LeapTableRef& leaps, std::string control_file)
    : scale_(scale), leaps_(leaps), name_(std::string("phc sim:") + to_string(scale)),
      control_(std::move(control_file)) {
  mono0_ = mono_now();
  const UnixNs utc = system_now();
  const auto t = leaps_.get();
  tai0_ = t ? t->utc_to_tai(utc) : utc;
}

Reading SyntheticPhc::read() noexcept {
  Reading r;
  std::int64_t step = 0;
  if (!control_.empty()) {
    char buf[64] = {};
    if (FILE* f = std::fopen(control_.c_str(), "r")) {
      const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
      std::fclose(f);
      buf[n] = '\0';
      if (std::strncmp(buf, "unreadable", 10) == 0) {
        error_ = "simulated PHC unreadable (test seam " + control_ + ")";
        return r;
      }
      if (std::strncmp(buf, "step_ns=", 8) == 0) step = std::strtoll(buf + 8, nullptr, 10);
    }
  }
  const UnixNs before = system_now();
  const UnixNs tai = tai0_ + (mono_now() - mono0_) + step;
  const UnixNs after = system_now();
  const auto t = leaps_.get();
  r.ok = true;
  r.src_ns = scale_ == Timescale::kTai ? tai : (t ? t->tai_to_utc(tai) : tai);
  r.sys_ns = before + (after - before) / 2;
  r.window_ns = after - before;
  return r;
}

}  // namespace ntsd::clock
