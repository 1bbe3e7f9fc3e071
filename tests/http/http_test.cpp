// The metrics endpoint (common/http) under clients that do not behave:
// issue 20 item 3, "one slow client blocks the metrics endpoint". A client
// that trickles a byte every 0.8 s must neither delay a concurrent scrape nor
// keep its connection past the 2 s deadline, and a server whose connection
// slots are all held still answers a scrape.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "ntsd/http/server.hpp"

using namespace std::chrono;
using ntsd::http::MetricsServer;

namespace {

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  const timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

// Reads until the server closes (or 5 s pass).
std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

std::string get(int port, const std::string& path, milliseconds* took = nullptr) {
  const auto t0 = steady_clock::now();
  const int fd = connect_to(port);
  if (fd < 0) return "connect failed";
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: x\r\n\r\n";
  ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string r = read_all(fd);
  ::close(fd);
  if (took) *took = duration_cast<milliseconds>(steady_clock::now() - t0);
  return r;
}

class HttpTest : public ::testing::Test {
 protected:
  void start(ntsd::http::ServerOptions opt = {}) {
    std::string err;
    auto ep = ntsd::http::parse_endpoint("127.0.0.1:0", err);
    ASSERT_TRUE(ep) << err;
    ASSERT_TRUE(server_.start(*ep, [] { return std::string("# HELP x y\n# TYPE x gauge\nx 1\n"); }, err, opt)) << err;
  }
  MetricsServer server_;
};

}  // namespace

TEST_F(HttpTest, ServesMetricsAndNotFound) {
  start();
  const std::string ok = get(server_.port(), "/metrics");
  EXPECT_EQ(ok.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << ok;
  EXPECT_NE(ok.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(ok.find("\r\n\r\n# HELP x y\n# TYPE x gauge\nx 1\n"), std::string::npos);
  EXPECT_EQ(get(server_.port(), "/").rfind("HTTP/1.0 404", 0), 0u);
  EXPECT_EQ(server_.stats().served.load(), 2u);
}

// The regression: a client sends one byte every 0.8 s and never finishes its
// request. A scrape started while it trickles is answered at once, and the
// trickler is cut off at the 2 s deadline, not after its last byte.
TEST_F(HttpTest, SlowClientDoesNotBlockAConcurrentScrape) {
  start();
  const int slow = connect_to(server_.port());
  ASSERT_GE(slow, 0);
  std::atomic<bool> stop{false};
  const auto t0 = steady_clock::now();
  std::thread trickle([&] {
    const std::string req = "GET /metrics HTTP/1.0\r\nHost: a-very-slow-client\r\n";
    for (std::size_t i = 0; i < req.size() && !stop; ++i) {
      if (::send(slow, &req[i], 1, MSG_NOSIGNAL) != 1) break;
      for (int t = 0; t < 8 && !stop; ++t) std::this_thread::sleep_for(milliseconds(100));
    }
  });
  std::this_thread::sleep_for(milliseconds(300));
  for (int i = 0; i < 3; ++i) {  // a scrape at 0.3, 0.8 and 1.3 s: each fast
    milliseconds took{};
    const std::string r = get(server_.port(), "/metrics", &took);
    EXPECT_EQ(r.rfind("HTTP/1.0 200 OK", 0), 0u) << r;
    EXPECT_LT(took.count(), 500) << "scrape " << i << " waited behind the slow client";
    std::this_thread::sleep_for(milliseconds(400));
  }
  // The slow client: closed by the server at its deadline (recv sees EOF).
  const std::string rest = read_all(slow);
  const auto closed_after = duration_cast<milliseconds>(steady_clock::now() - t0).count();
  stop = true;
  trickle.join();
  ::close(slow);
  EXPECT_TRUE(rest.empty()) << "an unfinished request got an answer: " << rest;
  EXPECT_GE(closed_after, 1900);
  EXPECT_LT(closed_after, 3000) << "the slow client held its connection past the 2 s deadline";
  EXPECT_EQ(server_.stats().timed_out.load(), 1u);
  EXPECT_EQ(server_.stats().served.load(), 3u);
}

// Every slot held by a silent client: a scrape still gets through, because
// the newcomer evicts the oldest connection instead of waiting for it.
TEST_F(HttpTest, FullServerStillAnswersAScrape) {
  ntsd::http::ServerOptions opt;
  opt.max_connections = 4;
  opt.deadline_ms = 5000;
  start(opt);
  std::vector<int> idle;
  for (int i = 0; i < 4; ++i) idle.push_back(connect_to(server_.port()));
  std::this_thread::sleep_for(milliseconds(100));
  milliseconds took{};
  const std::string r = get(server_.port(), "/metrics", &took);
  EXPECT_EQ(r.rfind("HTTP/1.0 200 OK", 0), 0u) << r;
  EXPECT_LT(took.count(), 500);
  EXPECT_EQ(server_.stats().evicted.load(), 1u);
  // The evicted one is the oldest: its read sees EOF at once.
  char c;
  EXPECT_EQ(::recv(idle[0], &c, 1, MSG_DONTWAIT), 0);
  for (int fd : idle) ::close(fd);
}

// A request head longer than the limit is answered (404, it is not a GET of
// /metrics), never buffered without bound.
TEST_F(HttpTest, OversizedRequestIsBounded) {
  start();
  const int fd = connect_to(server_.port());
  ASSERT_GE(fd, 0);
  const std::string junk(8192, 'A');  // exactly the limit: nothing left unread
  ::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL);
  const std::string r = read_all(fd);
  ::close(fd);
  EXPECT_EQ(r.rfind("HTTP/1.0 404", 0), 0u);
}
