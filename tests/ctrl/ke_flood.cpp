// ke_flood: holds NTS-KE connection slots with empty TCP connections while a
// good client measures its handshakes (issue 20, item 2; tests/e2e/
// ke_slot_flood.sh). Bounded in time and in connections.
//
//   ke_flood HOST PORT --ca CA [--handshakes N] [--warmup S]
//            [--empty N [--renew MS]]       keep N silent connections open, each
//                                           reopened MS ms after it was opened
//                                           (default 1800) or as soon as the
//                                           server closes it
//            [--rate R --hold MS]           or open R silent connections per
//                                           second, each held MS ms (or until
//                                           the server closes it)
//            [--from ADDR,ADDR,...]         their source addresses, in turn
//            [--legit-from ADDR,...]        the good client's source addresses,
//                                           one per handshake in turn (many
//                                           clients, as a per-source limit sees them)
//            [--tls N [--trickle MS]]       or hold N connections that complete
//                                           the TLS 1.3 handshake (ALPN ntske/1)
//                                           and then send nothing, or with
//                                           --trickle one byte of an NTS-KE
//                                           request every MS ms (slowloris);
//                                           each is reopened when the server
//                                           closes it: with the server's
//                                           handshake timeout that is also a
//                                           flood of TLS handshakes (issue 15)
//
// Without --empty or --rate it measures an idle server. The good client runs
// N full NTS-KE exchanges one after the other (the ntsd client library: TCP,
// TLS 1.3, request, 8 cookies), each with a 3 s timeout, after S seconds of
// attack. Prints one line:
//   handshakes N ok K failed F p50 X ms p99 Y ms max Z ms attack C connections
// and "first error: ..." if any failed. Exit 0 if it ran (the script judges).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "ntsd/ke/client.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::string host, ca;
  std::uint16_t port = 4460;
  int handshakes = 200;
  double warmup = 2;
  int empty = 0, renew_ms = 1800;
  int rate = 0, hold_ms = 2500;
  int tls = 0, trickle_ms = 0;
  std::vector<std::string> from, legit_from;
};

// A non-blocking connect from `from` (may be empty) to host:port; -1 on error.
int open_empty(const Args& a, const std::string& from) {
  sockaddr_storage to{}, me{};
  socklen_t len = 0;
  bool v6 = a.host.find(':') != std::string::npos;
  if (v6) {
    auto* s = reinterpret_cast<sockaddr_in6*>(&to);
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(a.port);
    inet_pton(AF_INET6, a.host.c_str(), &s->sin6_addr);
    len = sizeof *s;
    auto* m = reinterpret_cast<sockaddr_in6*>(&me);
    m->sin6_family = AF_INET6;
    if (!from.empty()) inet_pton(AF_INET6, from.c_str(), &m->sin6_addr);
  } else {
    auto* s = reinterpret_cast<sockaddr_in*>(&to);
    s->sin_family = AF_INET;
    s->sin_port = htons(a.port);
    inet_pton(AF_INET, a.host.c_str(), &s->sin_addr);
    len = sizeof *s;
    auto* m = reinterpret_cast<sockaddr_in*>(&me);
    m->sin_family = AF_INET;
    if (!from.empty()) inet_pton(AF_INET, from.c_str(), &m->sin_addr);
  }
  int fd = ::socket(to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (!from.empty() && ::bind(fd, reinterpret_cast<sockaddr*>(&me), len) != 0) {
    ::close(fd);
    return -1;
  }
  ::connect(fd, reinterpret_cast<sockaddr*>(&to), len);  // EINPROGRESS
  return fd;
}

// The attacker: silent connections, never a byte sent. epoll tells it when
// the server closes one; renewals come due in opening order (one lifetime
// for all), so a FIFO holds them. It wakes at most every 10 ms: its own CPU
// use must not be what slows the good client down on a small machine.
class Attacker {
 public:
  explicit Attacker(const Args& a) : a_(a), ep_(::epoll_create1(EPOLL_CLOEXEC)) {}
  ~Attacker() { ::close(ep_); }
  void run(const std::atomic<bool>& stop) {
    const int life = a_.empty > 0 ? a_.renew_ms : a_.hold_ms;
    auto next_open = Clock::now();
    std::vector<epoll_event> evs(256);
    while (!stop.load(std::memory_order_relaxed)) {
      const auto now = Clock::now();
      while (!due_.empty() && due_.front().first <= now) {
        close_fd(due_.front().second);
        due_.pop_front();
      }
      if (a_.empty > 0) {
        while (open_ < a_.empty) add(now, life);
      } else if (a_.rate > 0) {
        const auto step = std::chrono::nanoseconds(1'000'000'000LL / a_.rate);
        for (int n = 0; next_open <= now && n < 1000; ++n, next_open += step) add(now, life);
        if (next_open < now - std::chrono::seconds(1)) next_open = now;  // no burst after a stall
      }
      const int n = ::epoll_wait(ep_, evs.data(), static_cast<int>(evs.size()), 10);
      for (int i = 0; i < n; ++i) close_fd(evs[static_cast<std::size_t>(i)].data.fd);  // closed by the server
    }
    while (!due_.empty()) {
      close_fd(due_.front().second);
      due_.pop_front();
    }
  }
  long opened() const { return opened_; }

 private:
  void add(Clock::time_point now, int life_ms) {
    const std::string& src = a_.from.empty() ? kNone : a_.from[static_cast<std::size_t>(opened_) % a_.from.size()];
    int fd = open_empty(a_, src);
    ++opened_;
    if (fd < 0) return;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = fd;
    ::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
    if (static_cast<std::size_t>(fd) >= live_.size()) live_.resize(static_cast<std::size_t>(fd) + 1, 0);
    live_[static_cast<std::size_t>(fd)] = ++gen_;
    due_.push_back({now + std::chrono::milliseconds(life_ms), Entry{fd, gen_}});
    ++open_;
  }
  struct Entry {
    int fd;
    std::uint64_t gen;
  };
  void close_fd(int fd) { close_fd(Entry{fd, live_[static_cast<std::size_t>(fd)]}); }
  void close_fd(Entry e) {
    auto& g = live_[static_cast<std::size_t>(e.fd)];
    if (g == 0 || g != e.gen) return;  // already closed (the descriptor may be reused)
    g = 0;
    ::epoll_ctl(ep_, EPOLL_CTL_DEL, e.fd, nullptr);
    ::close(e.fd);
    --open_;
  }
  inline static const std::string kNone;
  const Args& a_;
  int ep_;
  std::deque<std::pair<Clock::time_point, Entry>> due_;
  std::vector<std::uint64_t> live_;  // per descriptor: generation, 0 = closed
  std::uint64_t gen_ = 0;
  int open_ = 0;
  long opened_ = 0;
};

// The TLS attacker: N connections through TLS 1.3 with ALPN ntske/1, then
// idle or trickling. Two threads, each serving its half of the slots with
// blocking I/O and a 10 ms round; a slot whose connection the server closed
// (or refused) is reopened a second later.
class TlsAttacker {
 public:
  explicit TlsAttacker(const Args& a) : a_(a) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx_, TLS1_3_VERSION);
    static const unsigned char kAlpn[] = "\x07ntske/1";
    SSL_CTX_set_alpn_protos(ctx_, kAlpn, sizeof kAlpn - 1);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);  // an attacker does not care
  }
  ~TlsAttacker() { SSL_CTX_free(ctx_); }
  void run(const std::atomic<bool>& stop) {
    std::thread t1([&] { serve(stop, 0); });
    serve(stop, 1);
    t1.join();
  }
  long opened() const { return opened_.load(); }
  long established() const { return established_.load(); }

 private:
  struct Slot {
    int fd = -1;
    SSL* ssl = nullptr;
    Clock::time_point retry{}, next_byte{};
    std::size_t sent = 0;
  };
  // A slot whose connection failed or was closed is retried this much later:
  // each attempt costs the attacker a ClientHello (an X25519 key), and on a
  // 2-core test machine its own CPU must not be what the measurement sees.
  static constexpr int s_retry_ms = 1000;
  void drop(Slot& s, Clock::time_point now) {
    if (s.ssl) SSL_free(s.ssl);
    if (s.fd >= 0) ::close(s.fd);
    s = Slot{};
    s.retry = now + std::chrono::milliseconds(s_retry_ms);
  }
  bool open(Slot& s, std::size_t i) {
    const std::string& src = a_.from.empty() ? std::string() : a_.from[i % a_.from.size()];
    ++opened_;
    s.fd = open_empty(a_, src);
    if (s.fd < 0) return false;
    // Blocking from here on, with timeouts, for the handshake.
    const int fl = ::fcntl(s.fd, F_GETFL);
    ::fcntl(s.fd, F_SETFL, fl & ~O_NONBLOCK);
    pollfd p{s.fd, POLLOUT, 0};
    if (::poll(&p, 1, 1000) != 1) return false;
    int err = 0;
    socklen_t el = sizeof err;
    if (::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) return false;
    timeval tv{1, 0};
    ::setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(s.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    s.ssl = SSL_new(ctx_);
    SSL_set_fd(s.ssl, s.fd);
    if (SSL_connect(s.ssl) != 1) return false;
    ++established_;
    s.next_byte = Clock::now() + std::chrono::milliseconds(a_.trickle_ms);
    return true;
  }
  // True if the server closed the connection (EOF, reset).
  static bool closed(int fd) {
    char b;
    const ssize_t n = ::recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }
  void serve(const std::atomic<bool>& stop, int half) {
    // An NTS-KE request's first bytes (Next Protocol record, RFC 8915 §4.1.2),
    // never its End of Message: the server must wait for the rest.
    static const unsigned char kReq[] = {0x80, 0x01, 0x00, 0x02, 0x00, 0x00, 0x80, 0x04, 0x00, 0x02, 0x00, 0x0f};
    std::vector<Slot> slots(static_cast<std::size_t>((a_.tls + 1 - half) / 2));
    while (!stop.load(std::memory_order_relaxed)) {
      const auto now = Clock::now();
      for (std::size_t i = 0; i < slots.size() && !stop.load(std::memory_order_relaxed); ++i) {
        Slot& s = slots[i];
        if (s.fd < 0) {
          if (now >= s.retry && !open(s, 2 * i + static_cast<std::size_t>(half))) drop(s, now);
          continue;
        }
        if (closed(s.fd)) {
          drop(s, now);
          continue;
        }
        if (a_.trickle_ms > 0 && now >= s.next_byte && s.sent < sizeof kReq) {
          if (SSL_write(s.ssl, kReq + s.sent, 1) != 1) {
            drop(s, now);
            continue;
          }
          ++s.sent;
          s.next_byte = now + std::chrono::milliseconds(a_.trickle_ms);
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    for (auto& s : slots) drop(s, Clock::now());
  }
  const Args& a_;
  SSL_CTX* ctx_;
  std::atomic<long> opened_{0}, established_{0};
};

bool parse(int argc, char** argv, Args& a) {
  if (argc < 3) return false;
  a.host = argv[1];
  a.port = static_cast<std::uint16_t>(std::atoi(argv[2]));
  for (int i = 3; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--ca") a.ca = v;
    else if (k == "--handshakes") a.handshakes = std::atoi(v.c_str());
    else if (k == "--warmup") a.warmup = std::atof(v.c_str());
    else if (k == "--empty") a.empty = std::atoi(v.c_str());
    else if (k == "--renew") a.renew_ms = std::atoi(v.c_str());
    else if (k == "--rate") a.rate = std::atoi(v.c_str());
    else if (k == "--hold") a.hold_ms = std::atoi(v.c_str());
    else if (k == "--tls") a.tls = std::atoi(v.c_str());
    else if (k == "--trickle") a.trickle_ms = std::atoi(v.c_str());
    else if (k == "--from" || k == "--legit-from") {
      auto& list = k == "--from" ? a.from : a.legit_from;
      for (std::size_t p = 0; p <= v.size();) {
        std::size_t c = v.find(',', p);
        if (c == std::string::npos) c = v.size();
        if (c > p) list.push_back(v.substr(p, c - p));
        p = c + 1;
      }
    } else return false;
  }
  return (argc - 3) % 2 == 0 && !a.ca.empty() && a.handshakes > 0 && a.handshakes <= 100000 &&
         a.empty >= 0 && a.empty <= 20000 && a.tls >= 0 && a.tls <= 5000 && a.trickle_ms >= 0 && a.rate >= 0 && a.rate <= 5000 && a.warmup >= 0 && a.warmup <= 60;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!parse(argc, argv, a)) {
    std::fprintf(stderr,
                 "usage: ke_flood HOST PORT --ca CA [--handshakes N] [--warmup S] [--empty N [--renew MS]]\n"
                 "                [--rate R --hold MS] [--tls N [--trickle MS]] [--from ADDR,...]\n");
    return 2;
  }
  // A server that closes on us mid-write must not kill the tool.
  std::signal(SIGPIPE, SIG_IGN);
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
    nofile.rlim_cur = nofile.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  ntsd::ke::KeConnector conn(a.ca);
  if (!conn.ok()) {
    std::fprintf(stderr, "ke_flood: %s\n", conn.error().c_str());
    return 2;
  }
  std::atomic<bool> stop{false};
  Attacker attacker(a);
  TlsAttacker tls(a);
  std::thread t;
  const auto attack_start = Clock::now();
  if (a.tls > 0) {
    t = std::thread([&] { tls.run(stop); });
    std::this_thread::sleep_for(std::chrono::duration<double>(a.warmup));
  } else if (a.empty > 0 || a.rate > 0) {
    t = std::thread([&] { attacker.run(stop); });
    std::this_thread::sleep_for(std::chrono::duration<double>(a.warmup));
  }
  ntsd::ke::ClientOptions o;
  o.host = a.host;
  o.port = a.port;
  o.timeout_ms = 3000;
  std::vector<double> ms;
  int failed = 0;
  std::string first_error;
  for (int i = 0; i < a.handshakes; ++i) {
    if (!a.legit_from.empty()) o.bind = a.legit_from[static_cast<std::size_t>(i) % a.legit_from.size()];
    const auto t0 = Clock::now();
    auto r = conn.run(o);
    const double took = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (r.error == ntsd::ke::KeError::kOk && r.cookies.size() == 8) {
      ms.push_back(took);
    } else {
      ++failed;
      if (first_error.empty()) first_error = r.message;
    }
  }
  stop = true;
  if (t.joinable()) t.join();
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double q) {
    if (ms.empty()) return 0.0;
    std::size_t i = static_cast<std::size_t>(q * static_cast<double>(ms.size() - 1) + 0.5);
    return ms[std::min(i, ms.size() - 1)];
  };
  std::printf("handshakes %d ok %zu failed %d p50 %.2f ms p99 %.2f ms max %.2f ms attack %ld connections\n",
              a.handshakes, ms.size(), failed, pct(0.5), pct(0.99), ms.empty() ? 0.0 : ms.back(),
              a.tls > 0 ? tls.opened() : attacker.opened());
  if (a.tls > 0) {
    const double secs = std::chrono::duration<double>(Clock::now() - attack_start).count();
    std::printf("tls attack: %ld connections tried, %ld TLS handshakes completed (%.0f/s) in %.1f s\n", tls.opened(),
                tls.established(), static_cast<double>(tls.established()) / secs, secs);
  }
  if (failed) std::printf("first error: %s\n", first_error.c_str());
  return 0;
}
