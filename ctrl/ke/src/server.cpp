#include "ntsd/ke/server.hpp"
#include "ntsd/limit/limiter.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <mutex>
#include <unordered_map>

#include "ntsd/ke/records.hpp"
#include "ntsd/ke/source.hpp"
#include "tls.hpp"

namespace ntsd::ke {
namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct FileId {
  std::int64_t mtime_ns = 0, size = 0;
  std::uint64_t ino = 0;
  bool operator==(const FileId&) const = default;
};

FileId file_id(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec, st.st_size, st.st_ino};
}

constexpr int kDeferAcceptSeconds = 1;

// Binds one listening socket; `port` 0 picks one and is updated.
int open_listener(const std::string& addr, std::uint16_t& port, std::string& error) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  bool v6 = addr.find(':') != std::string::npos;
  if (v6) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    if (inet_pton(AF_INET6, addr.c_str(), &s6->sin6_addr) != 1) {
      error = "bad listen address '" + addr + "'";
      return -1;
    }
    len = sizeof *s6;
  } else {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    if (inet_pton(AF_INET, addr.c_str(), &s4->sin_addr) != 1) {
      error = "bad listen address '" + addr + "'";
      return -1;
    }
    len = sizeof *s4;
  }
  int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // One socket per thread on the same port: the kernel balances accepts.
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  // "0.0.0.0" and "::" side by side need a v6-only "::".
  if (v6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 4096) != 0) {
    error = "bind " + addr + " port " + std::to_string(port) + ": " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  // The kernel keeps a connection until its first data arrives (or, for
  // one that stays silent, until one SYN-ACK retransmission, ~1 s), so an
  // empty connection costs no slot meanwhile (issue 20, item 2). A client
  // speaks first in TLS, so a good one is not delayed at all.
  int defer_s = kDeferAcceptSeconds;
  ::setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_s, sizeof defer_s);
  if (port == 0) {
    sockaddr_storage got{};
    socklen_t gl = sizeof got;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&got), &gl);
    port = ntohs(got.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&got)->sin6_port
                                           : reinterpret_cast<sockaddr_in*>(&got)->sin_port);
  }
  return fd;
}

// A client's source for the per-source bound: its address cut to the
// configured prefix (IPv4 /32, IPv6 /64 by default: one host, one site).
struct SourceKey {
  std::array<std::uint8_t, 16> addr{};
  std::uint8_t family = 0;
  bool operator==(const SourceKey&) const = default;
};

struct SourceHash {
  std::size_t operator()(const SourceKey& k) const noexcept {
    std::uint64_t a = 0, b = 0;
    std::memcpy(&a, k.addr.data(), 8);
    std::memcpy(&b, k.addr.data() + 8, 8);
    return std::hash<std::uint64_t>{}(a ^ (b * 0x9E3779B97F4A7C15ULL) ^ k.family);
  }
};

SourceKey source_of(const sockaddr_storage& ss, int v4_prefix, int v6_prefix) {
  SourceKey k;
  int prefix = 0;
  std::size_t len = 0;
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    std::memcpy(k.addr.data(), &a->sin_addr, 4);
    len = 4;
    prefix = v4_prefix;
  } else if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    std::memcpy(k.addr.data(), &a->sin6_addr, 16);
    len = 16;
    prefix = v6_prefix;
  }
  k.family = static_cast<std::uint8_t>(ss.ss_family);
  for (std::size_t i = 0; i < len; ++i) {
    const int bits = std::clamp(prefix - static_cast<int>(8 * i), 0, 8);
    k.addr[i] &= static_cast<std::uint8_t>(0xFF00 >> bits);
  }
  return k;
}

// kWaiting: a handler deferred its reply (Deferred::complete delivers it).
enum class State : std::uint8_t { kHandshake, kReading, kWaiting, kWriting };

struct Conn {
  int fd = -1;
  SslPtr ssl;
  State state = State::kHandshake;
  std::vector<std::uint8_t> in, out;
  std::size_t out_off = 0;
  std::uint64_t serial = 0;
  int family = AF_INET;
  bool keep_open = false;   // the reply being written keeps the connection
  bool kept_alive = false;  // an earlier reply did (pool draft Keep Alive)
  bool holds_slot = false;  // counts against keepalive_connections
  bool heard = false;       // the client has sent at least one byte
  SourceKey source;
};

// True if `out` is an Error record response (for the errors_sent counter).
bool is_error_response(const std::vector<std::uint8_t>& out) {
  return out.size() >= 2 && (out[0] & 0x7F) == 0 && out[1] == kError;
}

}  // namespace

namespace detail {

// Where Deferred replies wait for their event loop: an eventfd in the loop's
// epoll set and a list under a mutex (one reply per pool user: a lock and an
// eventfd write are small next to that user's TLS handshake). Shared with every Deferred, so a late reply after the loop
// ended writes to a mailbox no one reads, never to freed memory.
struct Mailbox {
  struct Item {
    int fd;
    std::uint64_t serial;
    std::vector<std::uint8_t> out;
  };
  int efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  std::mutex mu;
  std::vector<Item> items;
  ~Mailbox() {
    if (efd >= 0) ::close(efd);
  }
  void post(Item it) {
    {
      std::lock_guard lock(mu);
      items.push_back(std::move(it));
    }
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(efd, &one, sizeof one);
  }
};

}  // namespace detail

void Deferred::complete(std::vector<std::uint8_t> response) {
  if (!box_) return;
  box_->post({fd_, serial_, std::move(response)});
  box_.reset();
}

class DeferredFactory {
 public:
  static Deferred make(std::shared_ptr<detail::Mailbox> box, int fd, std::uint64_t serial) {
    Deferred d;
    d.box_ = std::move(box);
    d.fd_ = fd;
    d.serial_ = serial;
    return d;
  }
};

struct KeServer::Impl {
  ServerOptions opt;
  std::shared_ptr<RequestHandler> handler;
  ServerStats* stats = nullptr;
  std::mutex ctx_mu;
  SslCtxPtr ctx;
  FileId cert_id, key_id;
  std::atomic<bool> stop{false};
  std::atomic<int> active{0};
  std::atomic<int> keepalive{0};  // connections holding a Keep Alive slot
  std::vector<std::vector<int>> listeners;  // per thread
  std::vector<std::thread> threads;

  // Connections per source over all threads. Taken once per accept and
  // once per close: the accept path, not per record or per byte.
  std::mutex source_mu;
  std::unordered_map<SourceKey, int, SourceHash> per_source;
  // New connections per source over time ([ke] ratelimit), under source_mu.
  std::unique_ptr<limit::Limiter> limiter;

  // Whether the per-source rate limit lets a new connection from `k` in.
  bool admit_rate(const SourceKey& k) {
    if (!limiter) return true;
    limit::Address a;
    a.v6 = k.family == AF_INET6;
    a.bytes = k.addr;  // already masked to the source prefix
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    // NTP 32.32 units; the limiter only takes differences.
    const std::uint64_t now = static_cast<std::uint64_t>(ts.tv_sec) << 32 |
                              ((static_cast<std::uint64_t>(ts.tv_nsec) << 32) / 1'000'000'000u);
    std::lock_guard lock(source_mu);
    return limiter->check(a, now) != limit::Decision::kLimit;
  }

  bool take_source(const SourceKey& k) {
    std::lock_guard lock(source_mu);
    if (opt.max_connections_per_source <= 0) {
      ++per_source[k];
      return true;
    }
    int& n = per_source[k];  // n > 0 whenever the bound is reached: no empty entry stays
    if (n >= opt.max_connections_per_source) return false;
    ++n;
    return true;
  }
  void drop_source(const SourceKey& k) {
    std::lock_guard lock(source_mu);
    auto it = per_source.find(k);
    if (it != per_source.end() && --it->second <= 0) per_source.erase(it);
  }

  // An SSL for one new connection on the current context: a recycled one
  // (SSL_clear keeps its buffers and fetched algorithms, which OpenSSL 3.0
  // otherwise rebuilds per connection) if it still uses that context.
  SSL* new_ssl(std::vector<SslPtr>& pool) {
    std::lock_guard lock(ctx_mu);
    while (!pool.empty()) {
      SslPtr s = std::move(pool.back());
      pool.pop_back();
      if (SSL_get_SSL_CTX(s.get()) == ctx.get()) return s.release();
    }
    return SSL_new(ctx.get());  // SSL holds its own reference to the context
  }

  void run(std::size_t index);
};

namespace {

// One event loop (one thread).
class Loop {
 public:
  Loop(KeServer::Impl& s, std::vector<int> listeners)
      : s_(s), listeners_(std::move(listeners)), mailbox_(std::make_shared<detail::Mailbox>()) {}

  void run() {
    ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    for (std::size_t i = 0; i < listeners_.size(); ++i) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = i;
      ::epoll_ctl(ep_, EPOLL_CTL_ADD, listeners_[i], &ev);
    }
    {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = kMailTag;
      ::epoll_ctl(ep_, EPOLL_CTL_ADD, mailbox_->efd, &ev);
    }
    epoll_event evs[64];
    while (!s_.stop.load(std::memory_order_relaxed)) {
      int n = ::epoll_wait(ep_, evs, 64, 50);
      for (int i = 0; i < n; ++i) {
        std::uint64_t tag = evs[i].data.u64;
        if (tag == kMailTag) {
          deliver_deferred();
        } else if (tag < kConnTag) {
          accept_from(listeners_[tag]);
        } else {
          auto it = conns_.find(static_cast<int>(tag - kConnTag));
          if (it != conns_.end()) drive(*it->second);
        }
      }
      expire();
      expire_idle();
      resume_listeners();
    }
    while (!conns_.empty()) close_conn(*conns_.begin()->second);
    for (int fd : listeners_) ::close(fd);
    ::close(ep_);
  }

 private:
  friend class Request;
  static constexpr std::uint64_t kConnTag = 1ULL << 32;
  static constexpr std::uint64_t kMailTag = kConnTag - 1;  // never a listener index

  struct Deadline {
    std::int64_t at;
    int fd;
    std::uint64_t serial;
  };


  void accept_from(int lfd) {
    for (int i = 0; i < 64; ++i) {  // bounded, so one busy listener cannot starve the rest
      sockaddr_storage peer{};
      socklen_t plen = sizeof peer;
      int fd = ::accept4(lfd, reinterpret_cast<sockaddr*>(&peer), &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        // Out of descriptors: the listener stays readable, so stop watching
        // it for a moment instead of spinning on it.
        if (errno == EMFILE || errno == ENFILE) pause_listener(lfd);
        return;
      }
      const SourceKey src = source_of(peer, s_.opt.source_ipv4_prefix, s_.opt.source_ipv6_prefix);
      if (!s_.admit_rate(src)) {
        s_.stats->refused_rate++;
        ::close(fd);
        continue;
      }
      if (!s_.take_source(src)) {
        s_.stats->refused_source++;
        ::close(fd);
        continue;
      }
      if (s_.active.fetch_add(1) >= s_.opt.max_connections && !evict_oldest_silent()) {
        s_.active.fetch_sub(1);
        s_.drop_source(src);
        s_.stats->refused_full++;
        ::close(fd);
        continue;
      }
      s_.stats->accepted++;
      // Handshake flights and the response are small writes in a row: Nagle
      // plus delayed ACKs would add ~40 ms to every exchange.
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto c = std::make_unique<Conn>();
      c->fd = fd;
      c->serial = ++serial_;
      c->family = peer_family(fd);
      c->source = src;
      c->ssl.reset(s_.new_ssl(pool_));
      if (!c->ssl || SSL_set_fd(c->ssl.get(), fd) != 1) {
        ::close(fd);
        s_.active.fetch_sub(1);
        s_.drop_source(src);
        continue;
      }
      SSL_set_accept_state(c->ssl.get());
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
      ev.data.u64 = kConnTag + static_cast<std::uint64_t>(fd);
      ::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
      // Same timeouts for all: each queue is ordered by deadline, and the
      // first-byte queue by age, oldest first (what eviction wants).
      const std::int64_t now = now_ms();
      deadlines_.push_back({now + s_.opt.handshake_timeout_ms, fd, c->serial});
      Conn& ref = *c;
      const std::uint64_t serial = ref.serial;
      conns_[fd] = std::move(c);
      if (!heard(ref)) {  // (closed, if the client already left: the entry goes stale)
        silent_.push_back({now + s_.opt.first_byte_timeout_ms, fd, serial});
        continue;
      }
      drive(ref);
    }
  }

  // Whether the client has sent anything yet; peeks once per event until it
  // has (with TCP_DEFER_ACCEPT it usually has at accept). False, and the
  // connection closed, when the client closed without a byte.
  bool heard(Conn& c) {
    if (c.heard) return true;
    char b;
    const ssize_t n = ::recv(c.fd, &b, 1, MSG_PEEK);
    if (n > 0) return c.heard = true;
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) close_conn(c);
    return false;
  }

  // The live, still silent connection behind a queue entry, or null.
  Conn* silent_conn(const Deadline& d) {
    auto it = conns_.find(d.fd);
    if (it == conns_.end() || it->second->serial != d.serial || it->second->heard) return nullptr;
    return it->second.get();
  }

  // Closes this loop's oldest connection that has received nothing, to
  // make room for a newcomer. False if there is none.
  bool evict_oldest_silent() {
    while (!silent_.empty()) {
      Deadline d = silent_.front();
      silent_.pop_front();
      if (Conn* c = silent_conn(d)) {
        s_.stats->evicted++;
        close_conn(*c);
        return true;
      }
    }
    return false;
  }

  void pause_listener(int lfd) {
    ::epoll_ctl(ep_, EPOLL_CTL_DEL, lfd, nullptr);
    paused_.push_back({now_ms() + 100, lfd});
  }

  void resume_listeners() {
    std::int64_t now = now_ms();
    while (!paused_.empty() && paused_.front().first <= now) {
      int lfd = paused_.front().second;
      paused_.pop_front();
      epoll_event ev{};
      ev.events = EPOLLIN;
      for (std::size_t i = 0; i < listeners_.size(); ++i)
        if (listeners_[i] == lfd) ev.data.u64 = i;
      ::epoll_ctl(ep_, EPOLL_CTL_ADD, lfd, &ev);
    }
  }

  void expire() {
    std::int64_t now = now_ms();
    while (!silent_.empty() && silent_.front().at <= now) {
      Deadline d = silent_.front();
      silent_.pop_front();
      if (Conn* c = silent_conn(d)) {
        s_.stats->silent_closed++;
        close_conn(*c);
      }
    }
    while (!deadlines_.empty() && deadlines_.front().at <= now) {
      auto d = deadlines_.front();
      deadlines_.pop_front();
      auto it = conns_.find(d.fd);
      if (it != conns_.end() && it->second->serial == d.serial) {
        s_.stats->timed_out++;
        close_conn(*it->second);
      }
    }
  }

  void close_conn(Conn& c) {
    int fd = c.fd;
    if (c.holds_slot) {
      s_.keepalive.fetch_sub(1);
      s_.stats->keepalive_open--;
    }
    ::epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
    SslPtr ssl = std::move(c.ssl);
    s_.drop_source(c.source);
    conns_.erase(fd);
    if (pool_.size() < kPoolMax && SSL_clear(ssl.get()) == 1) pool_.push_back(std::move(ssl));
    ::close(fd);
    s_.active.fetch_sub(1);
  }

  void drive(Conn& c) {
    if (!heard(c)) return;
    // A connection becomes readable again after a kept-alive reply, so loop
    // until a step has to wait (edge-triggered epoll will not say it twice).
    for (;;) {
      if (c.state == State::kHandshake && !handshake(c)) return;
      if (c.state == State::kReading && !read_request(c)) return;
      if (c.state == State::kWaiting) return;  // the handler answers later
      if (c.state == State::kWriting && !write_response(c)) return;
    }
  }

  // Each step returns true when it finished and the next may run.
  bool handshake(Conn& c) {
    ERR_clear_error();
    int r = SSL_do_handshake(c.ssl.get());
    if (r != 1) {
      int e = SSL_get_error(c.ssl.get(), r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return false;
      // Wrong TLS version, ALPN mismatch (fatal alert from our callback), bad input.
      s_.stats->tls_failed++;
      close_conn(c);
      return false;
    }
    const unsigned char* alpn = nullptr;
    unsigned int alpn_len = 0;
    SSL_get0_alpn_selected(c.ssl.get(), &alpn, &alpn_len);
    if (alpn_len == 0) {
      // RFC 8915 §4: ALPN is mandatory; a client that sent none is refused.
      s_.stats->no_alpn++;
      close_conn(c);
      return false;
    }
    c.state = State::kReading;
    return true;
  }

  bool read_request(Conn& c) {
    std::uint8_t buf[2048];
    for (;;) {
      ERR_clear_error();
      int n = SSL_read(c.ssl.get(), buf, sizeof buf);
      bool eof = false;
      if (n > 0) {
        c.in.insert(c.in.end(), buf, buf + n);
      } else {
        int e = SSL_get_error(c.ssl.get(), n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return false;
        if (c.kept_alive && c.in.empty()) {
          close_conn(c);  // a pool closing its long-lived connection
          return false;
        }
        if (e != SSL_ERROR_ZERO_RETURN) {
          s_.stats->tls_failed++;
          close_conn(c);
          return false;
        }
        eof = true;  // close_notify: the request ended without End of Message
      }
      auto m = scan_message(c.in, s_.opt.max_request_bytes);
      if (m == MessageStatus::kNeedMore && !eof) continue;
      if (m == MessageStatus::kComplete) return handle(c);
      // Oversized, or ended before End of Message: §4 bad request.
      reply(c, build_error(ErrorCode::kBadRequest), false);
      return true;
    }
  }

  // Hands a complete request to the handler (the role's business).
  bool handle(Conn& c);

  void reply(Conn& c, std::vector<std::uint8_t> out, bool keep_open) {
    if (is_error_response(out)) s_.stats->errors_sent++;
    c.out = std::move(out);
    c.out_off = 0;
    c.keep_open = keep_open && c.holds_slot;
    c.state = State::kWriting;
  }

  bool acquire_slot(Conn& c) {
    if (c.holds_slot) return true;
    if (s_.keepalive.fetch_add(1) >= s_.opt.keepalive_connections) {
      s_.keepalive.fetch_sub(1);
      s_.stats->keepalive_refused++;
      return false;
    }
    c.holds_slot = true;
    s_.stats->keepalive_open++;
    return true;
  }

  void deliver_deferred() {
    std::uint64_t count;
    [[maybe_unused]] ssize_t n = ::read(mailbox_->efd, &count, sizeof count);
    std::vector<detail::Mailbox::Item> items;
    {
      std::lock_guard lock(mailbox_->mu);
      items.swap(mailbox_->items);
    }
    for (auto& it : items) {
      auto found = conns_.find(it.fd);
      if (found == conns_.end()) continue;
      Conn& c = *found->second;
      // The same connection, still waiting (not closed and reused meanwhile).
      if (c.serial != it.serial || c.state != State::kWaiting) continue;
      reply(c, std::move(it.out), false);
      drive(c);
    }
  }

  // A v4-mapped IPv6 peer is an IPv4 client.
  static int peer_family(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return AF_INET;
    if (ss.ss_family != AF_INET6) return AF_INET;
    const auto* a = &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr;
    return IN6_IS_ADDR_V4MAPPED(a) ? AF_INET : AF_INET6;
  }

  // True when the connection is kept for another request.
  bool write_response(Conn& c) {
    while (c.out_off < c.out.size()) {
      ERR_clear_error();
      int n = SSL_write(c.ssl.get(), c.out.data() + c.out_off, static_cast<int>(c.out.size() - c.out_off));
      if (n <= 0) {
        int e = SSL_get_error(c.ssl.get(), n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return false;
        close_conn(c);
        return false;
      }
      c.out_off += static_cast<std::size_t>(n);
    }
    s_.stats->completed++;
    if (c.keep_open) {
      // Pool draft Keep Alive: wait for the next request, bounded by the
      // idle timeout. A new serial retires the exchange's deadline.
      c.kept_alive = true;
      c.keep_open = false;
      c.in.clear();
      c.out.clear();
      c.out_off = 0;
      c.serial = ++serial_;
      c.state = State::kReading;
      idle_deadlines_.push_back({now_ms() + s_.opt.keepalive_idle_ms, c.fd, c.serial});
      return true;
    }
    // §4: the server closes the connection after its response. One
    // close_notify attempt; we do not wait for the client's.
    SSL_shutdown(c.ssl.get());
    close_conn(c);
    return false;
  }

  void expire_idle() {
    std::int64_t now = now_ms();
    while (!idle_deadlines_.empty() && idle_deadlines_.front().at <= now) {
      auto d = idle_deadlines_.front();
      idle_deadlines_.pop_front();
      auto it = conns_.find(d.fd);
      if (it != conns_.end() && it->second->serial == d.serial) {
        s_.stats->keepalive_idle_closed++;
        SSL_shutdown(it->second->ssl.get());
        close_conn(*it->second);
      }
    }
  }

  KeServer::Impl& s_;
  std::vector<int> listeners_;
  std::shared_ptr<detail::Mailbox> mailbox_;
  int ep_ = -1;
  std::uint64_t serial_ = 0;
  std::unordered_map<int, std::unique_ptr<Conn>> conns_;
  std::deque<Deadline> deadlines_;
  std::deque<Deadline> silent_;  // accepted without data: first-byte deadline, oldest first
  std::deque<Deadline> idle_deadlines_;  // kept-alive connections (one timeout: ordered)
  std::deque<std::pair<std::int64_t, int>> paused_;  // (resume at, listener)
  static constexpr std::size_t kPoolMax = 64;
  std::vector<SslPtr> pool_;
};

// The handler's view of one request on one connection.
class Request final : public KeRequest {
 public:
  Request(Loop& loop, Conn& c) : loop_(loop), c_(c) {}
  std::span<const std::uint8_t> bytes() const override { return c_.in; }
  bool kept_alive() const override { return c_.kept_alive; }
  int client_family() const override { return c_.family; }
  bool export_key(std::uint16_t protocol, std::uint16_t aead, bool s2c,
                  std::span<std::uint8_t> out) override {
    if (c_.kept_alive) return false;
    return ke::export_key(c_.ssl.get(), protocol, aead, s2c, out.data(), out.size());
  }
  bool acquire_keep_alive() override { return loop_.acquire_slot(c_); }
  void respond(std::vector<std::uint8_t> response, bool keep_open) override {
    if (answered_) return;
    answered_ = true;
    loop_.reply(c_, std::move(response), keep_open);
  }
  Deferred defer() override {
    if (answered_) return {};
    answered_ = true;
    c_.state = State::kWaiting;
    return DeferredFactory::make(loop_.mailbox_, c_.fd, c_.serial);
  }
  bool answered() const { return answered_; }

 private:
  Loop& loop_;
  Conn& c_;
  bool answered_ = false;
};

bool Loop::handle(Conn& c) {
  Request r(*this, c);
  s_.handler->handle(r);
  if (!r.answered()) reply(c, build_error(ErrorCode::kInternalServerError), false);
  return c.state == State::kWriting;
}

}  // namespace

void KeServer::Impl::run(std::size_t index) {
  Loop loop(*this, listeners[index]);
  loop.run();
}

KeServer::KeServer(ServerOptions opt, RingSource ring) : impl_(std::make_unique<Impl>()) {
  impl_->opt = std::move(opt);
  impl_->stats = &stats_;
  impl_->handler = make_time_source_handler(impl_->opt, std::move(ring), stats_);
}

KeServer::KeServer(ServerOptions opt, std::shared_ptr<RequestHandler> handler)
    : impl_(std::make_unique<Impl>()) {
  impl_->opt = std::move(opt);
  impl_->stats = &stats_;
  impl_->handler = std::move(handler);
}

KeServer::~KeServer() { stop(); }

bool KeServer::reload_certificate(std::string& error) {
  FileId cid = file_id(impl_->opt.cert), kid = file_id(impl_->opt.key);
  auto ctx = make_server_ctx(impl_->opt.cert, impl_->opt.key, error);
  std::lock_guard lock(impl_->ctx_mu);
  // Remember what we tried even on failure: a half-written or mismatched
  // pair is retried when the files change again, not every second.
  impl_->cert_id = cid;
  impl_->key_id = kid;
  if (!ctx) return false;
  impl_->ctx = std::move(ctx);  // connections in progress keep the old one
  return true;
}

bool KeServer::certificate_files_changed() const {
  std::lock_guard lock(impl_->ctx_mu);
  return !(file_id(impl_->opt.cert) == impl_->cert_id) || !(file_id(impl_->opt.key) == impl_->key_id);
}

bool KeServer::start(std::string& error) {
  // A client that resets mid-response must not kill the server (OpenSSL
  // writes with write(2), not send(MSG_NOSIGNAL)).
  struct sigaction old{};
  if (::sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) ::signal(SIGPIPE, SIG_IGN);
  if (!reload_certificate(error)) return false;
  auto& o = impl_->opt;
  if (o.ratelimit) {
    limit::Params p;
    p.interval = o.ratelimit_interval;
    p.burst = o.ratelimit_burst;
    p.leak = o.ratelimit_leak;
    p.ipv4_prefix = o.source_ipv4_prefix;
    p.ipv6_prefix = o.source_ipv6_prefix;
    if (const char* why = limit::check(p); *why != '\0') {
      error = std::string("[ke] ratelimit: ") + why;
      return false;
    }
    impl_->limiter = std::make_unique<limit::Limiter>(p, limit::Secret::random());
  }
  std::size_t n = o.threads > 0 ? static_cast<std::size_t>(o.threads)
                                : std::max(1u, std::thread::hardware_concurrency());
  std::uint16_t port = o.port;
  impl_->listeners.assign(n, {});
  for (std::size_t t = 0; t < n; ++t) {
    for (const auto& addr : o.listen) {
      int fd = open_listener(addr, port, error);
      if (fd < 0) {
        for (auto& l : impl_->listeners)
          for (int x : l) ::close(x);
        return false;
      }
      impl_->listeners[t].push_back(fd);
    }
  }
  bound_port_ = port;
  for (std::size_t t = 0; t < n; ++t) impl_->threads.emplace_back([this, t] { impl_->run(t); });
  return true;
}

void KeServer::stop() {
  impl_->stop = true;
  for (auto& t : impl_->threads)
    if (t.joinable()) t.join();
  impl_->threads.clear();
}

}  // namespace ntsd::ke
