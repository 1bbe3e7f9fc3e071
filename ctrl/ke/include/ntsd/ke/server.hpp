// The NTS-KE server (RFC 8915 §4): TLS 1.3 only, ALPN "ntske/1", one epoll
// event loop per thread, each with its own SO_REUSEPORT listening sockets so
// the kernel spreads connections over the threads. Every socket and TLS
// object is non-blocking: a slow or hostile client holds one connection slot
// until its deadline, never a thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ntsd/crypto/keyring.hpp"

namespace ntsd::ke {

struct ServerOptions {
  std::vector<std::string> listen = {"0.0.0.0", "::"};
  std::uint16_t port = 4460;  // 0 = any (tests); see KeServer::port()
  std::string cert, key;      // PEM chain and private key
  int threads = 0;            // 0 = one per core
  int max_connections = 1024;
  int handshake_timeout_ms = 2000;  // whole exchange: handshake, request, response
  std::size_t max_request_bytes = 1024;
  std::string ntp_server;
  std::uint16_t ntp_port = 123;
  std::vector<std::uint16_t> aeads = {30, 15, 17};
  int cookies = 8;
  // Called from the event-loop threads after each completed NTS-KE (for
  // ntsd-ke --verbose). Must be thread-safe and quick.
  std::function<void(std::uint16_t aead, int cookies)> on_session;
};

struct ServerStats {
  std::atomic<std::uint64_t> accepted{0}, completed{0}, refused_full{0}, tls_failed{0},
      no_alpn{0}, timed_out{0}, errors_sent{0}, no_aead{0};
};

// Where the ring comes from (ntsd-ke: KeyManager::ring). Called once per
// request, never null after start.
using RingSource = std::function<std::shared_ptr<const crypto::KeyRing>()>;

class KeServer {
 public:
  KeServer(ServerOptions opt, RingSource ring);
  ~KeServer();
  KeServer(const KeServer&) = delete;
  KeServer& operator=(const KeServer&) = delete;

  // Loads the certificate, binds, starts the threads. False with `error` set.
  bool start(std::string& error);
  void stop();

  // Loads cert+key again; established connections keep the old context
  // (OpenSSL reference-counts it). False (old context kept) on error.
  bool reload_certificate(std::string& error);
  // True if the cert or key file changed (mtime, size or inode) since the last load.
  bool certificate_files_changed() const;

  std::uint16_t port() const { return bound_port_; }
  const ServerStats& stats() const { return stats_; }

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::uint16_t bound_port_ = 0;
  ServerStats stats_;
};

}  // namespace ntsd::ke
