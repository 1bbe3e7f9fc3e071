#include "ntsd/ke/client.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "ntsd/ke/records.hpp"
#include "tls.hpp"

namespace ntsd::ke {
namespace {

using Clock = std::chrono::steady_clock;

// OpenSSL writes to the socket with write(2): a peer that already closed
// would raise SIGPIPE and kill the caller. Block it on this thread for the
// exchange and swallow any that became pending, leaving the process's
// disposition alone (the library must not change it for ntsgen).
class SigpipeGuard {
 public:
  // `needed` false: the process ignores SIGPIPE already (ntsd-pool), so the
  // four system calls per use are skipped.
  explicit SigpipeGuard(bool needed = true) : active_(needed) {
    if (!active_) return;
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeGuard() {
    if (!active_) return;
    if (!was_pending_) {
      timespec zero{0, 0};
      while (sigtimedwait(&pipe_, nullptr, &zero) == SIGPIPE) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  bool active_;
  sigset_t pipe_, old_;
  bool was_pending_ = false;
};

// True unless the process ignores SIGPIPE (checked when a connector is made).
bool sigpipe_guard_needed() {
  struct sigaction sa{};
  return ::sigaction(SIGPIPE, nullptr, &sa) != 0 || sa.sa_handler != SIG_IGN;
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

int remaining_ms(Clock::time_point deadline) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return ms < 0 ? 0 : static_cast<int>(ms);
}

// Waits for `events` on fd until the deadline. False on timeout.
bool wait_fd(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r > 0) return true;
    if (r == 0 || errno != EINTR) return false;
  }
}

KeResult fail(KeError e, std::string msg) {
  KeResult r;
  r.error = e;
  r.message = std::move(msg);
  return r;
}

// Binds fd to the local address `bind` (an IP literal of fd's family).
bool bind_local(int fd, int family, const std::string& bind) {
  if (bind.empty()) return true;
  sockaddr_storage me{};
  socklen_t len = 0;
  if (family == AF_INET6) {
    auto* m = reinterpret_cast<sockaddr_in6*>(&me);
    m->sin6_family = AF_INET6;
    if (::inet_pton(AF_INET6, bind.c_str(), &m->sin6_addr) != 1) return false;
    len = sizeof *m;
  } else {
    auto* m = reinterpret_cast<sockaddr_in*>(&me);
    m->sin_family = AF_INET;
    if (::inet_pton(AF_INET, bind.c_str(), &m->sin_addr) != 1) return false;
    len = sizeof *m;
  }
  return ::bind(fd, reinterpret_cast<sockaddr*>(&me), len) == 0;
}

// Non-blocking connect to host:port with the deadline, from `bind` if set.
int tcp_connect(const std::string& host, std::uint16_t port, Clock::time_point deadline, KeResult& err,
                const std::string& bind = {}) {
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  int g = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (g != 0) {
    err = fail(KeError::kResolve, host + ": " + gai_strerror(g));
    return -1;
  }
  std::string last = "no address";
  KeError kind = KeError::kConnect;
  for (addrinfo* a = res; a; a = a->ai_next) {
    int fd = ::socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    if (!bind_local(fd, a->ai_family, bind)) {
      last = "cannot bind to " + bind + ": " + std::strerror(errno);
      ::close(fd);
      continue;
    }
    // Finished and the request go out as two small writes: no Nagle delay.
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0 ||
        (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline))) {
      int so = 0;
      socklen_t sl = sizeof so;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl);
      if (so == 0) {
        ::freeaddrinfo(res);
        return fd;
      }
      last = std::strerror(so);
    } else {
      bool timed_out = errno == EINPROGRESS;
      last = timed_out ? "connect timed out" : std::strerror(errno);
      if (timed_out) kind = KeError::kTimeout;
    }
    ::close(fd);
  }
  ::freeaddrinfo(res);
  err = fail(kind, host + ":" + std::to_string(port) + ": " + last);
  return -1;
}

bool io_all(int fd, std::uint8_t* buf, std::size_t len, bool write, Clock::time_point deadline) {
  std::size_t off = 0;
  while (off < len) {
    ssize_t n = write ? ::send(fd, buf + off, len - off, MSG_NOSIGNAL) : ::recv(fd, buf + off, len - off, 0);
    if (n > 0) {
      off += static_cast<std::size_t>(n);
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) return false;
    if (!wait_fd(fd, write ? POLLOUT : POLLIN, deadline)) return false;
  }
  return true;
}

// RFC 1928: no authentication, CONNECT by domain name (the proxy resolves).
bool socks5_connect(int fd, const std::string& host, std::uint16_t port, Clock::time_point deadline,
                    std::string& why) {
  std::uint8_t hello[] = {5, 1, 0};
  std::uint8_t reply[2];
  if (!io_all(fd, hello, sizeof hello, true, deadline) || !io_all(fd, reply, 2, false, deadline)) {
    why = "no answer to greeting";
    return false;
  }
  if (reply[0] != 5 || reply[1] != 0) {
    why = "proxy requires authentication";
    return false;
  }
  if (host.size() > 255) {
    why = "host name too long";
    return false;
  }
  std::vector<std::uint8_t> req = {5, 1, 0, 3, static_cast<std::uint8_t>(host.size())};
  req.insert(req.end(), host.begin(), host.end());
  req.push_back(static_cast<std::uint8_t>(port >> 8));
  req.push_back(static_cast<std::uint8_t>(port));
  std::uint8_t head[4];
  if (!io_all(fd, req.data(), req.size(), true, deadline) || !io_all(fd, head, 4, false, deadline)) {
    why = "no answer to CONNECT";
    return false;
  }
  if (head[0] != 5 || head[1] != 0) {
    why = "CONNECT refused (reply code " + std::to_string(head[1]) + ")";
    return false;
  }
  // Skip the bound address the proxy reports.
  std::size_t addr_len = head[3] == 1 ? 4 : head[3] == 4 ? 16 : 0;
  std::uint8_t tmp[256 + 2];
  if (head[3] == 3) {
    std::uint8_t l;
    if (!io_all(fd, &l, 1, false, deadline)) return false;
    addr_len = l;
  } else if (addr_len == 0) {
    why = "bad address type in reply";
    return false;
  }
  if (!io_all(fd, tmp, addr_len + 2, false, deadline)) {
    why = "short reply";
    return false;
  }
  return true;
}

// Drives one non-blocking SSL call to completion or the deadline.
template <typename F>
int ssl_step(SSL* ssl, int fd, Clock::time_point deadline, F f, bool& timed_out) {
  for (;;) {
    ERR_clear_error();
    int r = f();
    if (r > 0) return r;
    int e = SSL_get_error(ssl, r);
    short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    if (ev == 0) return r;
    if (!wait_fd(fd, ev, deadline)) {
      timed_out = true;
      return -1;
    }
  }
}

KeResult handshake_failure(SSL* ssl, bool timed_out) {
  if (timed_out) return fail(KeError::kTimeout, "TLS handshake timed out");
  long v = SSL_get_verify_result(ssl);
  std::string tls = ssl_error_text();
  if (v != X509_V_OK)
    return fail(KeError::kCertificate, std::string("certificate: ") + X509_verify_cert_error_string(v));
  if (tls.find("no application protocol") != std::string::npos)
    return fail(KeError::kNoAlpn, "server does not speak ALPN ntske/1 (" + tls + ")");
  return fail(KeError::kTls, "TLS handshake failed: " + tls);
}

// The ALPN check after a completed handshake (RFC 8915 §4).
bool alpn_is_ntske(SSL* ssl) {
  const unsigned char* alpn = nullptr;
  unsigned alpn_len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  return alpn_len == 7 && std::memcmp(alpn, "ntske/1", 7) == 0;
}

KeResult exchange(KeStream& s, const ClientOptions& opt, Clock::time_point deadline) {
  auto req = build_request(opt.aeads, opt.deny, opt.compliant_gcm_siv);
  std::string why;
  bool any = false;
  if (!s.send(req, deadline, why, any))
    return fail(remaining_ms(deadline) == 0 ? KeError::kTimeout : KeError::kClosed, "sending the request failed");
  std::vector<std::uint8_t> in;
  auto rr = s.read_message(in, 65536, deadline);
  auto resp = parse_response(in);
  if (rr != KeStream::Read::kOk && resp.status != Response::Status::kErrorRecord) {
    if (rr == KeStream::Read::kTimeout) return fail(KeError::kTimeout, "response timed out");
    if (rr == KeStream::Read::kTooLong) return fail(KeError::kMalformed, "response too long");
    return fail(KeError::kClosed, "server closed before End of Message");
  }
  if (resp.status == Response::Status::kErrorRecord) {
    KeResult r = fail(KeError::kErrorRecord, std::string("server sent Error ") + std::to_string(resp.error) +
                                                 " (" + error_name(resp.error) + ")");
    r.error_code = resp.error;
    return r;
  }
  if (resp.status != Response::Status::kOk)
    return fail(KeError::kMalformed, resp.why.empty() ? "incomplete response" : resp.why);
  KeResult r;
  r.aead = *resp.aead;
  auto id = static_cast<crypto::AeadId>(r.aead);
  std::size_t klen = crypto::aead_key_len(id);
  unsigned char k[2 * crypto::kMaxSivKeyLen];
  if (klen == 0 || std::find(opt.aeads.begin(), opt.aeads.end(), r.aead) == opt.aeads.end())
    return fail(KeError::kMalformed,
                "server chose AEAD " + std::to_string(r.aead) + ", which we did not offer");
  r.compliant_gcm_siv = resp.compliant_gcm_siv && r.aead == kAeadGcmSiv;
  // chrony nts_ke_client.c handle_message: without the server's record 1024
  // the AEAD-30 keys use exporter id 15; the other set (id 30) is kept for a
  // server that answers those with an NTS NAK.
  const std::uint16_t xid = exporter_aead(r.aead, r.compliant_gcm_siv);
  if (!s.export_key(kNextProtocolNtpv4, xid, false, {k, klen}) ||
      !s.export_key(kNextProtocolNtpv4, xid, true, {k + klen, klen}))
    return fail(KeError::kTls, "key export failed: " + ssl_error_text());
  r.c2s = *crypto::SivKey::from_bytes({k, klen});
  r.s2c = *crypto::SivKey::from_bytes({k + klen, klen});
  if (r.aead == kAeadGcmSiv && !r.compliant_gcm_siv) {
    if (!s.export_key(kNextProtocolNtpv4, r.aead, false, {k, klen}) ||
        !s.export_key(kNextProtocolNtpv4, r.aead, true, {k + klen, klen}))
      return fail(KeError::kTls, "key export failed: " + ssl_error_text());
    r.alt_c2s = *crypto::SivKey::from_bytes({k, klen});
    r.alt_s2c = *crypto::SivKey::from_bytes({k + klen, klen});
  }
  OPENSSL_cleanse(k, sizeof k);
  r.cookies = std::move(resp.cookies);
  r.ntp_server = resp.server.empty() ? opt.host : resp.server;
  r.ntp_port = resp.port.value_or(123);
  r.warnings = resp.warnings;
  s.close();
  return r;
}

}  // namespace

const char* ke_error_name(KeError e) noexcept {
  switch (e) {
    case KeError::kOk: return "ok";
    case KeError::kResolve: return "resolve";
    case KeError::kConnect: return "connect";
    case KeError::kSocks: return "socks5";
    case KeError::kTls: return "tls";
    case KeError::kCertificate: return "certificate";
    case KeError::kNoAlpn: return "no-alpn";
    case KeError::kTimeout: return "timeout";
    case KeError::kErrorRecord: return "error-record";
    case KeError::kMalformed: return "malformed";
    case KeError::kClosed: return "closed";
  }
  return "?";
}

bool split_host_port(const std::string& s, std::string& host, std::uint16_t& port) {
  std::string p;
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string::npos) return false;
    host = s.substr(1, close - 1);
    if (close + 1 < s.size()) {
      if (s[close + 1] != ':') return false;
      p = s.substr(close + 2);
    }
  } else if (std::count(s.begin(), s.end(), ':') == 1) {
    host = s.substr(0, s.find(':'));
    p = s.substr(s.find(':') + 1);
  } else {
    host = s;  // a name, or an IPv6 literal without a port
  }
  if (p.empty()) return !host.empty();
  char* end = nullptr;
  long v = std::strtol(p.c_str(), &end, 10);
  if (*end || v < 1 || v > 65535) return false;
  port = static_cast<std::uint16_t>(v);
  return !host.empty();
}

KeConnector::KeConnector(const std::string& ca_file) : guard_sigpipe_(sigpipe_guard_needed()) {
  auto ctx = make_client_ctx(ca_file, error_);
  ok_ = ctx != nullptr;
  ctx_ = ctx.release();
}

KeConnector::~KeConnector() { SSL_CTX_free(static_cast<SSL_CTX*>(ctx_)); }

std::unique_ptr<KeStream> KeConnector::connect(const ClientOptions& opt, Clock::time_point deadline,
                                                KeResult& err) const {
  SigpipeGuard no_sigpipe(guard_sigpipe_);
  if (!ok_) {
    err = fail(KeError::kTls, error_);
    return nullptr;
  }
  Fd sock;
  if (opt.socks5.empty()) {
    sock.fd = tcp_connect(opt.host, opt.port, deadline, err, opt.bind);
    if (sock.fd < 0) return nullptr;
  } else {
    std::string ph;
    std::uint16_t pp = 1080;
    if (!split_host_port(opt.socks5, ph, pp)) {
      err = fail(KeError::kSocks, "bad proxy '" + opt.socks5 + "'");
      return nullptr;
    }
    sock.fd = tcp_connect(ph, pp, deadline, err);
    if (sock.fd < 0) return nullptr;
    std::string why;
    if (!socks5_connect(sock.fd, opt.host, opt.port, deadline, why)) {
      err = fail(remaining_ms(deadline) == 0 ? KeError::kTimeout : KeError::kSocks, "SOCKS5: " + why);
      return nullptr;
    }
  }
  SslPtr ssl(SSL_new(static_cast<SSL_CTX*>(ctx_)));
  if (!ssl) {
    err = fail(KeError::kTls, ssl_error_text());
    return nullptr;
  }
  SSL_set_fd(ssl.get(), sock.fd);
  // Check the name (or IP address) in the certificate, and send SNI for names.
  const std::string& name = opt.tls_name.empty() ? opt.host : opt.tls_name;
  in6_addr a6;
  bool is_ip = inet_pton(AF_INET, name.c_str(), &a6) == 1 || inet_pton(AF_INET6, name.c_str(), &a6) == 1;
  X509_VERIFY_PARAM* vp = SSL_get0_param(ssl.get());
  if (is_ip) {
    X509_VERIFY_PARAM_set1_ip_asc(vp, name.c_str());
  } else {
    SSL_set1_host(ssl.get(), name.c_str());
    SSL_set_tlsext_host_name(ssl.get(), name.c_str());
  }
  bool timed_out = false;
  if (ssl_step(ssl.get(), sock.fd, deadline, [&] { return SSL_connect(ssl.get()); }, timed_out) != 1) {
    err = handshake_failure(ssl.get(), timed_out);
    return nullptr;
  }
  if (!alpn_is_ntske(ssl.get())) {
    err = fail(KeError::kNoAlpn, "server did not select ALPN ntske/1");
    return nullptr;
  }
  std::unique_ptr<KeStream> s(new KeStream(ssl.release(), sock.fd, guard_sigpipe_));
  sock.fd = -1;
  return s;
}

KeResult KeConnector::run(const ClientOptions& opt) const {
  SigpipeGuard no_sigpipe(guard_sigpipe_);
  auto deadline = Clock::now() + std::chrono::milliseconds(opt.timeout_ms);
  KeResult err;
  auto s = connect(opt, deadline, err);
  if (!s) return err;
  return exchange(*s, opt, deadline);
}

KeStream::~KeStream() {
  SSL_free(static_cast<SSL*>(ssl_));
  if (fd_ >= 0) ::close(fd_);
}

bool KeStream::send(std::span<const std::uint8_t> msg, Clock::time_point deadline, std::string& why,
                    bool& any_sent) {
  SigpipeGuard no_sigpipe(guard_sigpipe_);
  SSL* ssl = static_cast<SSL*>(ssl_);
  any_sent = false;
  std::size_t off = 0;
  while (off < msg.size()) {
    bool timed_out = false;
    int n = ssl_step(ssl, fd_, deadline,
                     [&] { return SSL_write(ssl, msg.data() + off, static_cast<int>(msg.size() - off)); },
                     timed_out);
    if (n <= 0) {
      why = timed_out ? "write timed out" : "write failed: " + ssl_error_text();
      // Without partial writes a failed SSL_write handed no byte of this
      // record to the kernel; a timeout may have left some in flight.
      any_sent = any_sent || off > 0 || timed_out;
      return false;
    }
    any_sent = true;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

KeStream::Read KeStream::read_message(std::vector<std::uint8_t>& out, std::size_t max,
                                      Clock::time_point deadline) {
  SSL* ssl = static_cast<SSL*>(ssl_);
  out.clear();
  std::uint8_t buf[4096];
  for (;;) {
    switch (scan_message(out, max)) {
      case MessageStatus::kComplete: return Read::kOk;
      case MessageStatus::kTooLong: return Read::kTooLong;
      case MessageStatus::kNeedMore: break;
    }
    bool timed_out = false;
    int n = ssl_step(ssl, fd_, deadline, [&] { return SSL_read(ssl, buf, sizeof buf); }, timed_out);
    if (n <= 0) {
      if (timed_out) return Read::kTimeout;
      return SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN || n == 0 ? Read::kClosed : Read::kError;
    }
    out.insert(out.end(), buf, buf + n);
  }
}

bool KeStream::unusable() const {
  SSL* ssl = static_cast<SSL*>(ssl_);
  // Bytes buffered in OpenSSL, or anything readable on the socket (a
  // close_notify, data, EOF, an error), mean the peer did not just wait.
  if (SSL_pending(ssl) > 0) return true;
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, 0) != 0;
}

bool KeStream::export_key(std::uint16_t protocol, std::uint16_t aead, bool s2c, std::span<std::uint8_t> out) {
  return ke::export_key(static_cast<SSL*>(ssl_), protocol, aead, s2c, out.data(), out.size());
}

void KeStream::close() {
  if (fd_ < 0) return;
  SigpipeGuard no_sigpipe(guard_sigpipe_);
  ERR_clear_error();
  SSL_shutdown(static_cast<SSL*>(ssl_));  // one attempt; we do not wait for the peer's
  ::close(fd_);
  fd_ = -1;
}

KeResult run_ke(const ClientOptions& opt) { return KeConnector(opt.ca_file).run(opt); }

}  // namespace ntsd::ke
