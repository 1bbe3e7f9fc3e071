#include "ntsd/clock/kernel_time.hpp"

#include <sys/timex.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ntsd::clock {

bool KernelTime::unsynchronised() const noexcept { return state == TIME_ERROR || (status & STA_UNSYNC) != 0; }
bool KernelTime::leap_insert() const noexcept { return (status & STA_INS) != 0; }
bool KernelTime::leap_delete() const noexcept { return (status & STA_DEL) != 0; }

std::string KernelTime::describe() const {
  if (!ok) return std::string("adjtimex failed: ") + std::strerror(error);
  static constexpr const char* kStates[] = {"TIME_OK", "TIME_INS", "TIME_DEL", "TIME_OOP", "TIME_WAIT", "TIME_ERROR"};
  std::string s = "state ";
  s += state >= 0 && state <= 5 ? kStates[state] : std::to_string(state);
  if (status & STA_UNSYNC) s += ", STA_UNSYNC";
  if (status & STA_INS) s += ", STA_INS";
  if (status & STA_DEL) s += ", STA_DEL";
  s += ", maxerror " + std::to_string(maxerror_us / 1000) + " ms, esterror " + std::to_string(esterror_us / 1000) +
       " ms, tai " + std::to_string(tai);
  return s;
}

KernelTime read_kernel_time() noexcept {
  timex tx{};
  tx.modes = 0;  // read only
  KernelTime k;
  const int rc = ::adjtimex(&tx);
  if (rc < 0) {
    k.error = errno;
    return k;
  }
  k.ok = true;
  k.state = rc;
  k.status = tx.status;
  k.maxerror_us = tx.maxerror;
  k.esterror_us = tx.esterror;
  k.tai = tx.tai;
  return k;
}

KernelTime read_kernel_time_file(const std::string& path) {
  KernelTime k;
  std::ifstream f(path);
  if (!f) {
    k.error = ENOENT;
    return k;
  }
  std::string tok;
  int seen = 0;
  while (f >> tok) {
    const auto eq = tok.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = tok.substr(0, eq);
    const long long v = std::strtoll(tok.c_str() + eq + 1, nullptr, 0);
    if (key == "state") k.state = static_cast<int>(v);
    else if (key == "status") k.status = static_cast<int>(v);
    else if (key == "maxerror") k.maxerror_us = v;
    else if (key == "esterror") k.esterror_us = v;
    else if (key == "tai") k.tai = static_cast<int>(v);
    else continue;
    ++seen;
  }
  if (seen == 0) {
    k.error = EINVAL;
    return k;
  }
  k.ok = true;
  return k;
}

}  // namespace ntsd::clock
