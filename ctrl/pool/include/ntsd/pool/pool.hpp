// ntsd-pool's request handling (docs/pool.md): the users' NTS-KE requests
// come from the shared KE server (ke::KeServer, same TLS 1.3, ALPN, limits,
// timeouts and certificate reload as ntsd-ke) to Pool::handle on its event
// loops. The pool picks a time source (select.hpp), exports the user's keys
// on the loop thread, and hands the exchange with the time source to a
// worker thread; the worker's answer goes back through ke::Deferred.
//
// What a user gets:
//   a time source answered        -> its cookies, Server (inserted if it sent
//                                    none), Port; no Keep Alive; <= 4096 bytes
//   no healthy time source        -> Error 2
//   failure after the Fixed Key
//   Request left                  -> Error 2, never retried elsewhere (the
//                                    user's keys would reach a second operator)
//   failure before it left        -> the next time source in the order
//   no protocol / AEAD in common  -> the RFC 8915 answer (empty record)
//   malformed / unknown critical  -> Error 1 / Error 0, as ntsd-ke
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ntsd/config/config.hpp"
#include "ntsd/ke/client.hpp"
#include "ntsd/ke/server.hpp"
#include "ntsd/pool/backend.hpp"

namespace ntsd::pool {

// What a user's NTS-KE ended with (the `outcome` label).
enum class Outcome : std::uint8_t {
  kOk,
  kNoBackend,      // Error 2: no healthy time source for the user
  kBackendFailed,  // Error 2: the chosen time source failed after our request left
  kOverloaded,     // Error 2: the worker queue was full
  kBadRequest,     // Error 1
  kUnknownCritical,  // Error 0
  kNoProtocol,     // empty Next Protocol record
  kNoAead,         // empty AEAD record
  kInternal,       // Error 2: key export failed
};
inline constexpr std::size_t kOutcomes = 9;
const char* outcome_name(Outcome o) noexcept;

struct PoolOptions {
  config::PoolConfig pool;
  std::vector<config::BackendConfig> backends;
  std::vector<std::string> tokens;  // per backend, same order (never logged)
  bool verbose = false;             // one log line per user
};

class Pool final : public ke::RequestHandler {
 public:
  Pool(PoolOptions opt, Log log);
  ~Pool() override;
  // Loads the trust store and starts the health and worker threads.
  bool start(std::string& error);
  void stop();

  void handle(ke::KeRequest& r) override;

  // Prometheus text: per time source (health, requests, errors by reason,
  // latency, connections) and per user outcome; `server` adds the KE
  // server's own counters.
  std::string render_metrics(const ke::ServerStats* server) const;
  std::size_t healthy_count() const;
  std::size_t backend_count() const { return backends_.size(); }

 private:
  struct Keys;  // exported key material for one (protocol, AEAD)
  struct Job;
  void worker();
  void run(Job& job);
  void refresh_snapshot();
  std::shared_ptr<const std::vector<BackendInfo>> snapshot() const;
  void count(Outcome o) { outcomes_[static_cast<std::size_t>(o)]++; }

  PoolOptions opt_;
  Log log_;
  std::unique_ptr<ke::KeConnector> tls_;
  std::vector<std::unique_ptr<Backend>> backends_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;

  mutable std::mutex snap_mu_;
  std::shared_ptr<const std::vector<BackendInfo>> snap_;

  std::mutex q_mu_;
  std::condition_variable q_cv_;
  std::deque<std::unique_ptr<Job>> queue_;

  std::array<std::atomic<std::uint64_t>, kOutcomes> outcomes_{};
  std::atomic<std::uint64_t> deny_ignored_{0}, retried_{0};
};

}  // namespace ntsd::pool
