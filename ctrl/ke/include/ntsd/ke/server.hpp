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
//
// The server is the connection layer shared by ntsd-ke and ntsd-pool. What
// happens with one complete request is a RequestHandler's business: ntsd-ke's
// time source (the built-in handler, source.hpp) or ntsd-pool's relay.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "ntsd/crypto/keyring.hpp"
#include "ntsd/ke/tokens.hpp"

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
  // New connections per source, chrony's `ntsratelimit` (GCRA, dataplane/
  // limit): an idle source may open `ratelimit_burst` at once, then one per
  // 2^ratelimit_interval s on average; over that a connection is closed at
  // accept, before any TLS work (1 in 2^ratelimit_leak let through).
  bool ratelimit = false;
  int ratelimit_interval = 6;
  int ratelimit_burst = 8;
  int ratelimit_leak = 2;
  std::size_t max_request_bytes = 1024;
  std::string ntp_server;
  std::uint16_t ntp_port = 123;
  std::vector<std::uint16_t> aeads = {30, 15, 17};
  int cookies = 8;
  // Called from the event-loop threads after each completed NTS-KE (for
  // ntsd-ke --verbose). Must be thread-safe and quick.
  std::function<void(std::uint16_t aead, int cookies)> on_session;
  // NTS pool time source (docs/pool.md): the tokens accepted on Support and
  // Fixed Key requests (null/empty = no pool may use us), and the bound on
  // connections a pool keeps open with Keep Alive and their idle timeout.
  TokenSource pool_tokens;
  int keepalive_connections = 64;
  int keepalive_idle_ms = 60000;
};

struct ServerStats {
  std::atomic<std::uint64_t> accepted{0}, completed{0}, refused_full{0}, tls_failed{0},
      no_alpn{0}, timed_out{0}, errors_sent{0}, no_aead{0};
  // Slot protection (see the top of this file): silent connections closed
  // at first_byte_timeout_ms, silent ones closed to make room for a
  // newcomer, and newcomers refused by the per-source bound.
  std::atomic<std::uint64_t> silent_closed{0}, evicted{0}, refused_source{0};
  // Closed at accept by the per-source rate limit ([ke] ratelimit).
  std::atomic<std::uint64_t> refused_rate{0};
  // Pool time source: support queries and Fixed Key Requests answered,
  // pool requests refused for a missing or wrong token, ordinary requests
  // refused on a kept-alive connection, Keep Alive refused at the cap,
  // kept-alive connections closed for idling; connections kept alive now.
  std::atomic<std::uint64_t> pool_support{0}, pool_fixed_key{0}, pool_bad_token{0},
      pool_kept_alive_key_exchange{0}, keepalive_refused{0}, keepalive_idle_closed{0};
  std::atomic<std::int64_t> keepalive_open{0};
};

// ---- The request-handling hook ------------------------------------------

namespace detail {
struct Mailbox;
}

// A reply made later, from any thread (the pool answers after its time
// source did). Dropped if the connection is gone by then (closed by the
// client, past its deadline). The connection is closed after the reply.
class Deferred {
 public:
  Deferred() = default;
  void complete(std::vector<std::uint8_t> response);
  explicit operator bool() const noexcept { return box_ != nullptr; }

 private:
  friend class DeferredFactory;
  std::shared_ptr<detail::Mailbox> box_;
  int fd_ = -1;
  std::uint64_t serial_ = 0;
};

// One complete request (up to End of Message) on one connection, handed to
// RequestHandler::handle on the event-loop thread; valid only during it.
class KeRequest {
 public:
  virtual ~KeRequest() = default;
  virtual std::span<const std::uint8_t> bytes() const = 0;
  // An earlier exchange on this connection kept it open (Keep Alive).
  virtual bool kept_alive() const = 0;
  // AF_INET or AF_INET6 (a v4-mapped IPv6 peer counts as AF_INET).
  virtual int client_family() const = 0;
  // RFC 8915 §5.1 key export for `protocol`/`aead` into `out`. Refused on a
  // kept-alive connection (pool draft: "MUST NOT be used for key extraction").
  virtual bool export_key(std::uint16_t protocol, std::uint16_t aead, bool s2c,
                          std::span<std::uint8_t> out) = 0;
  // Takes one of the `keepalive_connections` slots for this connection
  // (kept while it stays open); false at the cap.
  virtual bool acquire_keep_alive() = 0;
  // Reply now; `keep_open` (with a slot) waits for the next request.
  virtual void respond(std::vector<std::uint8_t> response, bool keep_open = false) = 0;
  // Reply later through the returned Deferred.
  virtual Deferred defer() = 0;
};

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // Must call respond() or defer() once; if it does neither the client gets
  // Error 2 (internal server error).
  virtual void handle(KeRequest& request) = 0;
};

// Where the ring comes from (ntsd-ke: KeyManager::ring). Called once per
// request, never null after start.
using RingSource = std::function<std::shared_ptr<const crypto::KeyRing>()>;

class KeServer {
 public:
  // ntsd-ke: the built-in time-source handler (source.hpp) over `ring`.
  KeServer(ServerOptions opt, RingSource ring);
  // Any other role (ntsd-pool): `handler` answers every request.
  KeServer(ServerOptions opt, std::shared_ptr<RequestHandler> handler);
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
  ServerStats& stats() { return stats_; }

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::uint16_t bound_port_ = 0;
  ServerStats stats_;
};

}  // namespace ntsd::ke
