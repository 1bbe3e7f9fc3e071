// Open-loop pacing (the load does not wait for responses, so a slow server
// shows up as loss and latency, not as a lower offered rate). The pacer says
// how many requests are due at a given instant; the caller sends at most a
// burst of them and asks again. It never lets a run exceed its count or
// duration, so every run stops by itself.
#pragma once

#include <cstdint>

namespace ntsgen {

class Pacer {
 public:
  // rate: requests per second (> 0); limit: max requests in this step (0 = no
  // count limit); duration_ns: step length (the pacer stops offering after it).
  Pacer(double rate, std::uint64_t limit, std::uint64_t duration_ns, std::uint64_t start_ns) noexcept;

  // How many requests may go out now, at most max_burst.
  std::uint64_t due(std::uint64_t now_ns, std::uint64_t max_burst) const noexcept;
  // Records that n requests were handed to the transport.
  void sent(std::uint64_t n) noexcept { sent_ += n; }
  // True once the step's time or count budget is used up.
  bool done(std::uint64_t now_ns) const noexcept;

  std::uint64_t total_sent() const noexcept { return sent_; }
  // Requests the schedule called for by now (the offered load so far).
  std::uint64_t scheduled(std::uint64_t now_ns) const noexcept;

 private:
  double rate_per_ns_;
  std::uint64_t limit_;
  std::uint64_t duration_ns_;
  std::uint64_t start_ns_;
  std::uint64_t sent_ = 0;
};

// Rate of ramp step i: start * factor^i (factor >= 1).
double ramp_rate(double start, double factor, unsigned step) noexcept;

}  // namespace ntsgen
