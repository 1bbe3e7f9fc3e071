#include "ntsd/clock/phc_clock.hpp"

#include <fcntl.h>
#include <linux/ptp_clock.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace ntsd::clock {
namespace {

UnixNs to_ns(const ptp_clock_time& t) noexcept {
  return static_cast<std::int64_t>(t.sec) * kNsPerSec + t.nsec;
}

}  // namespace

Reading pair_triplets(std::span<const PhcTriplet> samples) noexcept {
  Reading best;
  for (const auto& s : samples) {
    const std::int64_t window = s.sys_after - s.sys_before;
    if (window < 0) continue;  // the system clock stepped between the reads
    if (best.ok && window >= best.window_ns) continue;
    best.ok = true;
    best.window_ns = window;
    best.sys_ns = s.sys_before + window / 2;
    best.src_ns = s.phc;
  }
  return best;
}

PhcClock::PhcClock(std::string device, Timescale scale)
    : device_(std::move(device)), name_("phc " + device_), scale_(scale) {
  fd_ = ::open(device_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) fail("cannot open", errno);
}

PhcClock::~PhcClock() {
  if (fd_ >= 0) ::close(fd_);
}

void PhcClock::fail(const char* what, int err) {
  error_ = std::string(what) + " " + device_ + ": " + std::strerror(err);
}

Reading PhcClock::read() noexcept {
  if (fd_ < 0) return {};
  if (precise_) {
    Reading r = read_precise();
    if (r.ok || precise_) return r;
  }
  return read_extended();
}

Reading PhcClock::read_precise() noexcept {
  ptp_sys_offset_precise p{};
  if (::ioctl(fd_, PTP_SYS_OFFSET_PRECISE, &p) != 0) {
    const int err = errno;
    // Most drivers have no hardware cross-timestamp: fall back for good.
    if (err == EOPNOTSUPP || err == ENOTTY || err == EINVAL) {
      precise_ = false;
    } else {
      fail("PTP_SYS_OFFSET_PRECISE on", err);
    }
    return {};
  }
  Reading r;
  r.ok = true;
  r.src_ns = to_ns(p.device);
  r.sys_ns = to_ns(p.sys_realtime);
  return r;
}

Reading PhcClock::read_extended() noexcept {
  ptp_sys_offset_extended e{};
  e.n_samples = 5;
  if (::ioctl(fd_, PTP_SYS_OFFSET_EXTENDED, &e) != 0) {
    fail("PTP_SYS_OFFSET_EXTENDED on", errno);
    return {};
  }
  std::array<PhcTriplet, PTP_MAX_SAMPLES> t{};
  const unsigned n = e.n_samples < t.size() ? e.n_samples : static_cast<unsigned>(t.size());
  for (unsigned i = 0; i < n; ++i)
    t[i] = {to_ns(e.ts[i][0]), to_ns(e.ts[i][1]), to_ns(e.ts[i][2])};
  Reading r = pair_triplets(std::span(t.data(), n));
  if (!r.ok) error_ = "no valid PTP_SYS_OFFSET_EXTENDED sample from " + device_;
  return r;
}

}  // namespace ntsd::clock
