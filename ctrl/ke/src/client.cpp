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
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeGuard() {
    if (!was_pending_) {
      timespec zero{0, 0};
      while (sigtimedwait(&pipe_, nullptr, &zero) == SIGPIPE) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t pipe_, old_;
  bool was_pending_ = false;
};

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

// Non-blocking connect to host:port with the deadline.
int tcp_connect(const std::string& host, std::uint16_t port, Clock::time_point deadline, KeResult& err) {
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

KeResult exchange(SSL* ssl, int fd, const ClientOptions& opt, Clock::time_point deadline) {
  bool timed_out = false;
  if (ssl_step(ssl, fd, deadline, [&] { return SSL_connect(ssl); }, timed_out) != 1)
    return handshake_failure(ssl, timed_out);
  const unsigned char* alpn = nullptr;
  unsigned alpn_len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  if (alpn_len != 7 || std::memcmp(alpn, "ntske/1", 7) != 0)
    return fail(KeError::kNoAlpn, "server did not select ALPN ntske/1");
  auto req = build_request(opt.aeads);
  std::size_t off = 0;
  while (off < req.size()) {
    int n = ssl_step(ssl, fd, deadline,
                     [&] { return SSL_write(ssl, req.data() + off, static_cast<int>(req.size() - off)); },
                     timed_out);
    if (n <= 0) return fail(timed_out ? KeError::kTimeout : KeError::kClosed, "sending the request failed");
    off += static_cast<std::size_t>(n);
  }
  std::vector<std::uint8_t> in;
  std::uint8_t buf[4096];
  for (;;) {
    auto resp = parse_response(in);
    if (resp.status != Response::Status::kNeedMore) {
      if (resp.status == Response::Status::kErrorRecord) {
        KeResult r = fail(KeError::kErrorRecord, std::string("server sent Error ") +
                                                     std::to_string(resp.error) + " (" +
                                                     error_name(resp.error) + ")");
        r.error_code = resp.error;
        return r;
      }
      if (resp.status == Response::Status::kMalformed) return fail(KeError::kMalformed, resp.why);
      KeResult r;
      r.aead = *resp.aead;
      auto id = static_cast<crypto::AeadId>(r.aead);
      std::size_t klen = crypto::aead_key_len(id);
      unsigned char k[2 * crypto::kMaxSivKeyLen];
      if (klen == 0 || std::find(opt.aeads.begin(), opt.aeads.end(), r.aead) == opt.aeads.end())
        return fail(KeError::kMalformed, "server chose AEAD " + std::to_string(r.aead) +
                                             ", which we did not offer");
      r.compliant_gcm_siv = resp.compliant_gcm_siv && r.aead == kAeadGcmSiv;
      // chrony nts_ke_client.c handle_message: without the server's record
      // 1024 the AEAD-30 keys use exporter id 15; the other set (id 30) is
      // kept for a server that answers those with an NTS NAK.
      const std::uint16_t xid = exporter_aead(r.aead, r.compliant_gcm_siv);
      if (!export_key(ssl, xid, false, k, klen) || !export_key(ssl, xid, true, k + klen, klen))
        return fail(KeError::kTls, "key export failed: " + ssl_error_text());
      r.c2s = *crypto::SivKey::from_bytes({k, klen});
      r.s2c = *crypto::SivKey::from_bytes({k + klen, klen});
      if (r.aead == kAeadGcmSiv && !r.compliant_gcm_siv) {
        if (!export_key(ssl, r.aead, false, k, klen) || !export_key(ssl, r.aead, true, k + klen, klen))
          return fail(KeError::kTls, "key export failed: " + ssl_error_text());
        r.alt_c2s = *crypto::SivKey::from_bytes({k, klen});
        r.alt_s2c = *crypto::SivKey::from_bytes({k + klen, klen});
      }
      OPENSSL_cleanse(k, sizeof k);
      r.cookies = std::move(resp.cookies);
      r.ntp_server = resp.server.empty() ? opt.host : resp.server;
      r.ntp_port = resp.port.value_or(123);
      r.warnings = resp.warnings;
      SSL_shutdown(ssl);
      return r;
    }
    int n = ssl_step(ssl, fd, deadline, [&] { return SSL_read(ssl, buf, sizeof buf); }, timed_out);
    if (n <= 0)
      return fail(timed_out ? KeError::kTimeout : KeError::kClosed,
                  timed_out ? "response timed out" : "server closed before End of Message");
    in.insert(in.end(), buf, buf + n);
  }
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

KeConnector::KeConnector(const std::string& ca_file) {
  auto ctx = make_client_ctx(ca_file, error_);
  ok_ = ctx != nullptr;
  ctx_ = ctx.release();
}

KeConnector::~KeConnector() { SSL_CTX_free(static_cast<SSL_CTX*>(ctx_)); }

KeResult KeConnector::run(const ClientOptions& opt) const {
  SigpipeGuard no_sigpipe;
  if (!ok_) return fail(KeError::kTls, error_);
  auto deadline = Clock::now() + std::chrono::milliseconds(opt.timeout_ms);
  Fd sock;
  KeResult cerr;
  if (opt.socks5.empty()) {
    sock.fd = tcp_connect(opt.host, opt.port, deadline, cerr);
    if (sock.fd < 0) return cerr;
  } else {
    std::string ph;
    std::uint16_t pp = 1080;
    if (!split_host_port(opt.socks5, ph, pp)) return fail(KeError::kSocks, "bad proxy '" + opt.socks5 + "'");
    sock.fd = tcp_connect(ph, pp, deadline, cerr);
    if (sock.fd < 0) return cerr;
    std::string why;
    if (!socks5_connect(sock.fd, opt.host, opt.port, deadline, why))
      return fail(remaining_ms(deadline) == 0 ? KeError::kTimeout : KeError::kSocks, "SOCKS5: " + why);
  }
  SslPtr ssl(SSL_new(static_cast<SSL_CTX*>(ctx_)));
  if (!ssl) return fail(KeError::kTls, ssl_error_text());
  SSL_set_fd(ssl.get(), sock.fd);
  // Check the name (or IP address) in the certificate, and send SNI for names.
  in6_addr a6;
  bool is_ip = inet_pton(AF_INET, opt.host.c_str(), &a6) == 1 || inet_pton(AF_INET6, opt.host.c_str(), &a6) == 1;
  X509_VERIFY_PARAM* vp = SSL_get0_param(ssl.get());
  if (is_ip) {
    X509_VERIFY_PARAM_set1_ip_asc(vp, opt.host.c_str());
  } else {
    SSL_set1_host(ssl.get(), opt.host.c_str());
    SSL_set_tlsext_host_name(ssl.get(), opt.host.c_str());
  }
  return exchange(ssl.get(), sock.fd, opt, deadline);
}

KeResult run_ke(const ClientOptions& opt) { return KeConnector(opt.ca_file).run(opt); }

}  // namespace ntsd::ke
