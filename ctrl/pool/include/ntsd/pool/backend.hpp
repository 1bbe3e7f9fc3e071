// One time source behind the pool (a [[backend]]): its kept-alive TLS 1.3
// connections, its cached support answer, its health, and its counters.
//
// Health (docs/pool.md "Health"): a time source is up after a support query
// (records 9 and 10, with our token) answered well. It is marked down when
// a connection, the TLS handshake (certificate checked against [pool]
// ca_file or the system store, name = `name`) or an exchange fails, or when
// it answers with an Error record; it is then asked again after
// retry_min_ms, doubling up to retry_max_ms. A healthy time source is asked
// again every support_refresh_s.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ntsd/config/config.hpp"
#include "ntsd/ke/client.hpp"
#include "ntsd/ke/records.hpp"
#include "ntsd/pool/select.hpp"

namespace ntsd::pool {

using Clock = std::chrono::steady_clock;
using Log = std::function<void(const std::string&)>;

// Why an exchange with a time source failed (the `reason` label).
enum class Failure : std::uint8_t {
  kConnect,      // resolve or TCP connect
  kTls,          // TLS handshake or ALPN
  kCertificate,  // its certificate did not verify for its name
  kTimeout,
  kClosed,       // it closed or reset the connection mid-exchange
  kRefused,      // Error 0 or 1: it refused our request (e.g. a wrong token)
  kServerError,  // Error 2 or another code
  kMalformed,    // an answer that breaks the records' rules
  kTooLong,      // an answer over 4096 bytes
};
inline constexpr std::size_t kFailureKinds = 9;
const char* failure_name(Failure f) noexcept;

// Prometheus histogram with fixed buckets, lock-free.
class LatencyHistogram {
 public:
  static constexpr std::array<double, 10> kBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                     0.025,  0.05,  0.1,    0.25,  1.0};
  void observe(double seconds) noexcept;
  // Appends the _bucket/_sum/_count lines of `name` with `labels` ("a=\"b\"").
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_ns_{0};
};

struct BackendCounters {
  std::atomic<std::uint64_t> fixed_key{0}, fixed_key_ok{0}, support{0}, support_ok{0}, connects{0},
      cookies_dropped{0};
  std::array<std::atomic<std::uint64_t>, kFailureKinds> errors{};
  LatencyHistogram latency;  // Fixed Key Request exchanges, connect included
};

class Backend {
 public:
  // `token`: our token for this time source (never logged). `changed` is
  // called after every change of health or support (the pool's snapshot).
  Backend(config::BackendConfig cfg, std::string token, const config::PoolConfig& pool,
          const ke::KeConnector& tls, Log log, std::function<void()> changed);
  ~Backend();
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  const config::BackendConfig& config() const { return cfg_; }
  BackendInfo info() const;
  bool healthy() const;
  std::size_t idle_connections() const;
  BackendCounters& counters() { return counters_; }
  const BackendCounters& counters() const { return counters_; }

  // The health thread: checks when due, prunes idle connections, until stop.
  void run_health(const std::atomic<bool>& stop);
  void wake();  // stop or reschedule now

  // One Fixed Key Request with the user's keys. `keys_sent` tells whether
  // any byte of the request may have reached the time source: once it may,
  // the user's keys must not go to another one (pool draft, Security
  // Considerations, "Error handling").
  struct Exchange {
    bool ok = false;
    bool keys_sent = false;
    Failure failure = Failure::kConnect;
    std::string why;
    ke::Response response;  // ok: the answer's records
  };
  Exchange fixed_key(std::uint16_t protocol, std::uint16_t aead, ke::Bytes c2s, ke::Bytes s2c,
                     Clock::time_point deadline);

  // Marks the time source down for `f` and schedules a retry with backoff.
  void failed(Failure f, const std::string& why);

 private:
  struct Idle {
    std::unique_ptr<ke::KeStream> stream;
    Clock::time_point since;
  };
  struct Roundtrip {
    bool ok = false, sent = false;
    Failure failure = Failure::kConnect;
    std::string why;
    std::vector<std::uint8_t> answer;
    std::unique_ptr<ke::KeStream> stream;
  };

  void check();  // one support query
  Roundtrip roundtrip(std::span<const std::uint8_t> msg, Clock::time_point deadline);
  std::unique_ptr<ke::KeStream> checkout(bool& reused);
  std::unique_ptr<ke::KeStream> dial(Clock::time_point deadline, Failure& f, std::string& why);
  void checkin(std::unique_ptr<ke::KeStream> s, bool keep);
  void prune();
  void up(std::vector<std::uint16_t> protocols, std::vector<ke::AlgorithmDescription> algorithms);
  void learn_server(const std::string& name);

  const config::BackendConfig cfg_;
  const std::string token_;
  const config::PoolConfig pool_;
  const ke::KeConnector& tls_;
  Log log_;
  std::function<void()> changed_;
  BackendCounters counters_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool healthy_ = false;
  bool ever_checked_ = false;
  std::vector<std::uint16_t> protocols_;
  std::vector<ke::AlgorithmDescription> algorithms_;
  std::vector<std::string> servers_;  // learned Server record names
  int failures_ = 0;
  Clock::time_point next_check_{};
  std::vector<Idle> idle_;
};

}  // namespace ntsd::pool
