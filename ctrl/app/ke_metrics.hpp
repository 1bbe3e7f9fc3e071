// ntsd-ke's Prometheus metrics ([metrics] ke_listen, default
// 127.0.0.1:9124): NTS-KE sessions and connections, errors by reason, the
// certificate's expiry, the master keys' age and rotation failures. The
// server's counters are read live; the rest is set by the main thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "ntsd/ke/server.hpp"

namespace ntsd::keapp {

struct KeGauges {
  std::atomic<std::int64_t> cert_not_after{0};     // unix seconds; 0 = unknown
  std::atomic<std::uint64_t> cert_reloads{0};
  std::atomic<std::uint64_t> cert_reload_errors{0};
  std::atomic<std::int64_t> key_rotated_at{0};     // unix seconds the current key became current
  std::atomic<std::int64_t> key_next_rotation{0};  // unix seconds
  std::atomic<std::uint64_t> rotations{0};
  std::atomic<std::uint64_t> rotation_errors{0};
  std::atomic<int> threads{0};
  // [keys] mode = "derived" (ctrl/keys derived.hpp); zeros in file mode.
  std::atomic<int> derived{0};
  std::atomic<std::int64_t> derived_period{0};
  std::atomic<int> derived_held{0};
  std::atomic<std::uint64_t> derived_holds{0};
  std::atomic<std::int64_t> derived_offset{0};
};

// The text exposition at wall-clock time `now` (unix seconds).
std::string render(const ke::ServerStats& s, const KeGauges& g, std::int64_t now);

// notAfter of the first certificate in a PEM file, as unix seconds; 0 (and
// `error` set) if it cannot be read.
std::int64_t certificate_not_after(const std::string& pem_path, std::string& error);

}  // namespace ntsd::keapp
