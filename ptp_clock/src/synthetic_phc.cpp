#include "ntsd/clock/synthetic_phc.hpp"

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

SyntheticPhc::SyntheticPhc(Timescale scale, const LeapTableRef& leaps)
    : scale_(scale), leaps_(leaps), name_(std::string("phc sim:") + to_string(scale)) {
  mono0_ = mono_now();
  const UnixNs utc = system_now();
  const auto t = leaps_.get();
  tai0_ = t ? t->utc_to_tai(utc) : utc;
}

Reading SyntheticPhc::read() noexcept {
  Reading r;
  const UnixNs before = system_now();
  const UnixNs tai = tai0_ + (mono_now() - mono0_);
  const UnixNs after = system_now();
  const auto t = leaps_.get();
  r.ok = true;
  r.src_ns = scale_ == Timescale::kTai ? tai : (t ? t->tai_to_utc(tai) : tai);
  r.sys_ns = before + (after - before) / 2;
  r.window_ns = after - before;
  return r;
}

}  // namespace ntsd::clock
