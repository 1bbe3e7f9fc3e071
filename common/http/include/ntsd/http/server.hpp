// The Prometheus endpoint of ntsd and ntsd-ke: a tiny HTTP/1.0 server on one
// thread of its own. GET /metrics returns the text exposition; anything
// else is 404.
//
// One thread serves every connection with non-blocking sockets and poll(),
// so a slow client never holds up another: each connection has an absolute
// deadline for the whole exchange (request in, response out; default 2 s),
// whatever it sends and however slowly, and at most `max_connections` are
// open at once. When they are all taken, the newcomer takes the slot of the
// connection that has been open longest (closed unanswered), so that a
// handful of trickling clients cannot lock scrapes out for a deadline each
// (issue 20, item 3: one client sending a byte every 0.8 s held the old
// one-connection-at-a-time server for hours).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "ntsd/http/endpoint.hpp"

namespace ntsd::http {

struct ServerOptions {
  int deadline_ms = 2000;          // whole exchange, from accept
  int max_connections = 8;         // open at once
  std::size_t max_request = 8192;  // bytes of request head read at most
};

struct ServerStats {
  std::atomic<std::uint64_t> served{0};     // responses sent in full
  std::atomic<std::uint64_t> timed_out{0};  // closed at their deadline
  std::atomic<std::uint64_t> evicted{0};    // closed to make room for a newcomer
};

class MetricsServer {
 public:
  using Render = std::function<std::string()>;
  MetricsServer() = default;
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Binds and starts the thread; false with `error` set if it cannot bind.
  // `render` runs on the server's thread, once per GET /metrics.
  bool start(const Endpoint& ep, Render render, std::string& error, ServerOptions opt = {});
  void stop();
  // The bound port (useful with port 0 in tests).
  int port() const noexcept { return port_; }
  const ServerStats& stats() const noexcept { return stats_; }

 private:
  struct Conn;
  void loop();

  int listen_fd_ = -1;
  int port_ = 0;
  Render render_;
  ServerOptions opt_;
  ServerStats stats_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace ntsd::http
