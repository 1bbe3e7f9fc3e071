// What the server says about its clock in every response (RFC 5905 §7.3):
// leap indicator, stratum, precision, reference id, and whether the clock is
// healthy at all.
//
// The control thread calls poll() periodically: it refreshes the TSC fit,
// checks the source (readable? offset to the system clock within bounds?),
// takes the leap announcement from config or from the kernel (adjtimex
// STA_INS/STA_DEL) and publishes one 64-bit word that workers load per burst.
// When the source is unhealthy the published leap is 3 (RFC 5905 §7.3
// "alarm condition, clock not synchronized"): clients then ignore us instead
// of taking wrong time. Transitions are logged with the reason.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "ntsd/clock/source.hpp"
#include "ntsd/clock/tsc_map.hpp"

namespace ntsd::clock {

enum class Leap : std::uint8_t { kNone = 0, kInsert = 1, kDelete = 2, kUnsynchronized = 3 };
enum class LeapMode : std::uint8_t { kNone, kInsert, kDelete, kKernel };

struct ServerClockConfig {
  std::uint8_t stratum = 1;
  std::uint32_t refid = 0x50505300;  // "PPS\0"-style ASCII id for stratum 1 (RFC 5905 §7.3)
  std::int8_t precision = -20;       // log2 seconds
  LeapMode leap = LeapMode::kKernel;
  // |source - system clock| beyond this makes the clock unhealthy; 0 turns the
  // check off (the system clock source is always 0 from itself).
  std::int64_t max_offset_ns = 0;
};

struct ServerStateWord {
  Leap leap = Leap::kUnsynchronized;
  std::uint8_t stratum = 16;
  std::int8_t precision = -20;
  std::uint32_t refid = 0;
};

// adjtimex(2) status bits, or -1 if the call failed.
int kernel_time_status() noexcept;

class ServerClock {
 public:
  using KernelStatusFn = int (*)();
  using LogFn = std::function<void(const std::string&)>;

  ServerClock(ServerClockConfig cfg, Calibrator& cal, ClockSource& src, LogFn log,
              KernelStatusFn kernel = kernel_time_status);

  void poll() noexcept;
  // Any thread, lock-free: one atomic load.
  ServerStateWord state() const noexcept;
  bool healthy() const noexcept { return healthy_; }
  const std::string& reason() const noexcept { return reason_; }

 private:
  Leap announced_leap() const noexcept;
  void set_health(bool ok, std::string why);
  void publish(const ServerStateWord& s) noexcept;

  ServerClockConfig cfg_;
  Calibrator& cal_;
  ClockSource& src_;
  LogFn log_;
  KernelStatusFn kernel_;
  bool healthy_ = false;
  bool first_ = true;
  std::string reason_ = "not polled yet";
  std::atomic<std::uint64_t> word_{0};
};

}  // namespace ntsd::clock
