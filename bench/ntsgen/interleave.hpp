// Interleaved mode in ntsgen (--interleaved, as ntpperf -I): each simulated
// client keeps the receive timestamp of the server's last answer and sends
// it as the origin of its next request (RFC 9769 §2), with receive = ~tag so
// that an interleaved answer, which echoes the receive field as its origin,
// still names its request. Also the transmit-timestamp offsets (--offsets,
// implied by --interleaved): T4 - T3 per valid answer, T4 being the
// client's receive time on the real-time clock (the kernel's RX timestamp on
// sockets), T3 the server's transmit timestamp: for a basic answer this
// answer's, for an interleaved one the previous answer's (its actual TX
// time). On one host both come from one clock, so the difference between
// the two distributions is the error of the basic-mode T3.
#pragma once

#include <cstdint>
#include <vector>

#include "histogram.hpp"

namespace ntsgen {

// Signed nanoseconds in two log-linear histograms (below and above zero).
class SignedHistogram {
 public:
  void record(std::int64_t ns) noexcept;
  void merge(const SignedHistogram& o) noexcept;
  std::uint64_t count() const noexcept { return neg_.count() + pos_.count(); }
  std::int64_t quantile(double q) const noexcept;
  std::int64_t min() const noexcept;
  std::int64_t max() const noexcept;

 private:
  Histogram neg_, pos_;  // neg_ holds -ns for ns < 0
};

// Per step.
struct XleaveStats {
  std::uint64_t interleaved = 0;  // valid answers in interleaved mode
  std::uint64_t basic = 0;        // valid basic answers after a client's warm-up
  std::uint64_t warmup = 0;       // basic answers to a client's first two requests
  SignedHistogram t3_basic, t3_interleaved;  // T4 - T3, ns
  // Share of interleaved answers after warm-up (what ntpperf -I reports).
  double share_pct() const noexcept {
    const std::uint64_t n = interleaved + basic;
    return n ? 100.0 * static_cast<double>(interleaved) / static_cast<double>(n) : 0.0;
  }
};

// NTP 32.32 (era 0) to Unix ns.
std::int64_t ntp_to_unix_ns(std::uint64_t ntp) noexcept;

class Interleaver {
 public:
  // `clients`: the transport's clients (TxBuf::client < clients).
  // `interleaved`: send interleaved requests (else basic, offsets only).
  Interleaver(std::size_t clients, bool interleaved);

  bool interleaved() const noexcept { return interleaved_; }
  // The receive field of a request: an interleaved answer echoes it.
  static std::uint64_t receive_field(std::uint64_t tag) noexcept { return ~tag; }
  // Origin and receive fields for client c's request `tag`.
  void fields(std::uint32_t c, std::uint64_t tag, std::uint64_t& origin, std::uint64_t& receive) const noexcept;

  // A verified answer to client c's request whose origin was `origin`:
  // receive (T2) and transmit (T3) fields, and when it arrived on the real-
  // time clock (0 = unknown). False if an interleaved T3 cannot be the TX
  // time of the previous answer (before that answer's T2, or after it
  // arrived here + 1 ms): the caller counts it invalid.
  bool answered(std::uint32_t c, std::uint64_t origin, bool interleaved, std::uint64_t t2, std::uint64_t t3,
                std::uint64_t rx_real_ns) noexcept;

  void begin_step() noexcept { step_ = XleaveStats{}; }
  const XleaveStats& step() const noexcept { return step_; }

 private:
  struct Client {
    std::uint64_t server_rx = 0;  // receive field of the last answer (the next origin)
    std::int64_t t2_ns = 0;       // that answer's T2 and arrival, Unix ns
    std::int64_t t4_ns = 0;
    std::uint32_t answers = 0;
  };
  std::vector<Client> clients_;
  bool interleaved_;
  XleaveStats step_;
};

}  // namespace ntsgen
