#include "ntsd/runtime/runtime.hpp"

#include <cstdio>
#include <ctime>
#include <mutex>

namespace ntsd::runtime {

proto::ServerState server_state(const Shared& s) noexcept {
  const clock::ServerStateWord w = s.clock.state();
  proto::ServerState st;
  st.leap = static_cast<std::uint8_t>(w.leap);
  st.stratum = w.stratum;
  st.precision = w.precision;
  st.refid = w.refid;
  st.root_delay = w.root_delay;
  st.root_dispersion = w.root_dispersion;
  st.reference_time = w.reference_time;
  return st;
}

proto::NtpTime TscTxClock::now() noexcept { return clock::to_ntp64(map_.now()); }

void log(const std::string& msg) {
  static std::mutex m;
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t;
  gmtime_r(&ts.tv_sec, &t);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &t);
  std::lock_guard<std::mutex> lock(m);
  std::fprintf(stderr, "%s ntsd: %s\n", when, msg.c_str());
  std::fflush(stderr);
}

}  // namespace ntsd::runtime
