#include "ntsd/http/server.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

namespace ntsd::http {
namespace {

using Clock = std::chrono::steady_clock;

bool head_complete(const std::string& r) {
  return r.find("\r\n\r\n") != std::string::npos || r.find("\n\n") != std::string::npos;
}

std::string respond(const std::string& req, const MetricsServer::Render& render) {
  std::string body, status = "200 OK", type = "text/plain; version=0.0.4; charset=utf-8";
  if (req.rfind("GET /metrics ", 0) == 0 || req.rfind("GET /metrics?", 0) == 0) {
    body = render();
  } else {
    status = "404 Not Found";
    type = "text/plain";
    body = "not found: try /metrics\n";
  }
  return "HTTP/1.0 " + status + "\r\nContent-Type: " + type + "\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

}  // namespace

struct MetricsServer::Conn {
  int fd = -1;
  Clock::time_point deadline;
  std::string in, out;
  std::size_t sent = 0;
  bool writing = false;
};

MetricsServer::~MetricsServer() { stop(); }

bool MetricsServer::start(const Endpoint& ep, Render render, std::string& error, ServerOptions opt) {
  listen_fd_ = ::socket(ep.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd_ < 0) {
    error = std::string("metrics socket: ") + std::strerror(errno);
    return false;
  }
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&ep.addr), ep.len) != 0 ||
      ::listen(listen_fd_, 64) != 0) {
    error = "metrics listen on " + to_string(ep) + ": " + std::strerror(errno);
    ::close(listen_fd_);
    listen_fd_ = -1;
    return false;
  }
  sockaddr_storage bound{};
  socklen_t bl = sizeof bound;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &bl);
  port_ = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                           : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  render_ = std::move(render);
  opt_ = opt;
  opt_.max_connections = std::max(opt_.max_connections, 1);
  stop_ = false;
  thread_ = std::thread([this] { loop(); });
  return true;
}

void MetricsServer::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
}

void MetricsServer::loop() {
  std::vector<Conn> conns;
  std::vector<pollfd> pfds;
  conns.reserve(static_cast<std::size_t>(opt_.max_connections));
  const auto close_at = [&](std::size_t i) {
    ::close(conns[i].fd);
    conns.erase(conns.begin() + static_cast<std::ptrdiff_t>(i));
  };
  while (!stop_) {
    // Wake for the nearest deadline, and at least every 200 ms for stop().
    auto now = Clock::now();
    auto wake = now + std::chrono::milliseconds(200);
    pfds.assign(1, pollfd{listen_fd_, POLLIN, 0});
    for (const Conn& c : conns) {
      wake = std::min(wake, c.deadline);
      pfds.push_back(pollfd{c.fd, static_cast<short>(c.writing ? POLLOUT : POLLIN), 0});
    }
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(wake - now).count();
    if (::poll(pfds.data(), pfds.size(), static_cast<int>(std::max<long long>(ms, 0) + 1)) < 0 && errno != EINTR)
      break;
    now = Clock::now();
    // Existing connections first (their indices match pfds[1..]), newest last.
    for (std::size_t i = conns.size(); i-- > 0;) {
      Conn& c = conns[i];
      const short ev = pfds[i + 1].revents;
      bool done = (ev & (POLLERR | POLLNVAL)) != 0;
      if (!done && !c.writing && (ev & (POLLIN | POLLHUP))) {
        char buf[1024];
        const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
        if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR))) {
          done = true;  // closed or failed before a whole request head
        } else if (n > 0) {
          c.in.append(buf, static_cast<std::size_t>(n));
          if (head_complete(c.in) || c.in.size() >= opt_.max_request) {
            c.out = respond(c.in, render_);
            c.writing = true;
          }
        }
      }
      if (!done && c.writing && (ev & (POLLOUT | POLLHUP))) {
        const ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
        if (n > 0) c.sent += static_cast<std::size_t>(n);
        if (c.sent == c.out.size()) {
          stats_.served.fetch_add(1, std::memory_order_relaxed);
          done = true;
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
          done = true;
        }
      }
      if (!done && now >= c.deadline) {
        stats_.timed_out.fetch_add(1, std::memory_order_relaxed);
        done = true;
      }
      if (done) close_at(i);
    }
    if (!(pfds[0].revents & POLLIN)) continue;
    for (;;) {  // accept everything waiting; the backlog is the only queue
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) break;
      if (conns.size() >= static_cast<std::size_t>(opt_.max_connections)) {
        // Full: the oldest connection (earliest deadline, front) gives way.
        stats_.evicted.fetch_add(1, std::memory_order_relaxed);
        close_at(0);
      }
      conns.push_back(Conn{fd, now + std::chrono::milliseconds(opt_.deadline_ms), {}, {}, 0, false});
    }
  }
  for (Conn& c : conns) ::close(c.fd);
}

}  // namespace ntsd::http
