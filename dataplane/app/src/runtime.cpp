#include "ntsd/runtime/runtime.hpp"

#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
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

void BufferedRandom::fill(proto::MutBytes out) noexcept {
  std::size_t done = 0;
  while (done < out.size()) {
    if (pos_ == sizeof buf_) {
      if (RAND_bytes(buf_, sizeof buf_) != 1) {
        // No randomness means no safe nonces: stop rather than reuse one.
        std::fputs("ntsd: RAND_bytes failed, aborting\n", stderr);
        std::abort();
      }
      pos_ = 0;
    }
    const std::size_t n = std::min(out.size() - done, sizeof buf_ - pos_);
    std::memcpy(out.data() + done, buf_ + pos_, n);
    // Never hand out the same bytes twice.
    std::memset(buf_ + pos_, 0, n);
    pos_ += n;
    done += n;
  }
}

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
