// The Prometheus endpoint: a tiny HTTP/1.0 server on a non-worker thread.
// GET /metrics returns the text exposition; anything else is 404. One
// connection at a time with short timeouts: a slow scraper cannot pile up
// threads or memory.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "ntsd/runtime/endpoint.hpp"

namespace ntsd::runtime {

class MetricsServer {
 public:
  using Render = std::function<std::string()>;
  MetricsServer() = default;
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Binds and starts the thread; false with `error` set if it cannot bind.
  bool start(const Endpoint& ep, Render render, std::string& error);
  void stop();
  // The bound port (useful with port 0 in tests).
  int port() const noexcept { return port_; }

 private:
  void loop();
  void serve(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  Render render_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace ntsd::runtime
