// The NTS-KE server (RFC 8915 §4): TLS 1.3 only, ALPN "ntske/1", one epoll
// event loop per thread, each with its own SO_REUSEPORT listening sockets so
// the kernel spreads connections over the threads. Every socket and TLS
// object is non-blocking: a slow or hostile client holds one connection slot
// until its deadline, never a thread.
//
// Connection slots (issue 20, item 2). Empty TCP connections are cheap to
// make from anywhere, so they must not be able to fill the slots:
//  - the listeners have TCP_DEFER_ACCEPT (1 s): the kernel hands over a
//    connection when its first data arrives, so a client that connects and
//    says nothing costs no slot for that second;
//  - one accepted without data (the deferral ran out) must send its first
//    byte within first_byte_timeout_ms, well before handshake_timeout_ms;
//  - at most max_connections_per_source connections per source, where a
//    source is an IPv4 /source_ipv4_prefix or IPv6 /source_ipv6_prefix;
//  - when all max_connections slots are taken, the oldest connection of the
//    accepting thread that has received nothing is closed to make room;
//    only when there is none is the newcomer refused.
// A client with data is never displaced by one without.
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
  int first_byte_timeout_ms = 300;  // from accept to the client's first byte
  int max_connections_per_source = 32;  // 0 = no per-source bound
  int source_ipv4_prefix = 32;          // what one "source" is
  int source_ipv6_prefix = 64;
  std::size_t max_request_bytes = 1024;
  std::string ntp_server;
  std::uint16_t ntp_port = 123;
  std::vector<std::uint16_t> aeads = {15, 17};
  int cookies = 8;
  // Called from the event-loop threads after each completed NTS-KE (for
  // ntsd-ke --verbose). Must be thread-safe and quick.
  std::function<void(std::uint16_t aead, int cookies)> on_session;
};

struct ServerStats {
  std::atomic<std::uint64_t> accepted{0}, completed{0}, refused_full{0}, tls_failed{0},
      no_alpn{0}, timed_out{0}, errors_sent{0}, no_aead{0};
  // Slot protection (see the top of this file): silent connections closed
  // at first_byte_timeout_ms, silent ones closed to make room for a
  // newcomer, and newcomers refused by the per-source bound.
  std::atomic<std::uint64_t> silent_closed{0}, evicted{0}, refused_source{0};
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
