// The NTS-KE client (RFC 8915 §4): connect (directly or through a SOCKS5
// proxy, RFC 1928), TLS 1.3 with ALPN "ntske/1", verify the server's
// certificate against a CA file or the system store including the host name
// or IP address, send the request, parse the response, export C2S and S2C.
//
//   ntsd::ke::ClientOptions o;
//   o.host = "time.example"; o.ca_file = "ca.pem";
//   auto r = ntsd::ke::run_ke(o);
//   if (r.error != ntsd::ke::KeError::kOk) puts(r.message.c_str());
//   // r.aead, r.c2s, r.s2c, r.cookies, r.ntp_server, r.ntp_port
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ntsd/crypto/siv.hpp"

namespace ntsd::ke {

struct ClientOptions {
  std::string host;           // name or IP literal to dial and verify
  std::uint16_t port = 4460;
  std::string ca_file;        // "" = system trust store
  std::string socks5;         // "host:port" of a SOCKS5 proxy, "" = direct
  int timeout_ms = 5000;      // whole exchange, connect to last byte
  // Our preference order. With 30 in it the request carries record 1024
  // unless `compliant_gcm_siv` is false (a chrony 4.4-4.5 client: AEAD-30
  // keys from the legacy exporter context, id 15).
  std::vector<std::uint16_t> aeads = {15, 17};
  bool compliant_gcm_siv = true;
  // NTS pool (docs/pool.md): names of NTP servers we do not want, sent as
  // NTP Server Deny records (ntsgen query --deny NAME).
  std::vector<std::string> deny;
  // The name the certificate must carry (and SNI); "" = `host`. The pool
  // dials a time source's address and checks its name.
  std::string tls_name;
  // Local address to connect from (an IP literal), "" = the kernel's choice.
  std::string bind;
};

enum class KeError : std::uint8_t {
  kOk,
  kResolve,      // host name did not resolve
  kConnect,      // TCP connect failed (refused, unreachable)
  kSocks,        // the SOCKS5 proxy refused or spoke nonsense
  kTls,          // TLS handshake failed (e.g. TLS 1.2-only server)
  kCertificate,  // certificate did not verify or does not match the host
  kNoAlpn,       // server did not agree to "ntske/1"
  kTimeout,
  kErrorRecord,  // the server sent an Error record; see error_code
  kMalformed,    // the response broke RFC 8915 §4
  kClosed,       // the server closed before End of Message
};
const char* ke_error_name(KeError e) noexcept;

struct KeResult {
  KeError error = KeError::kOk;
  std::string message;        // human-readable detail
  std::uint16_t error_code = 0;  // with kErrorRecord
  std::uint16_t aead = 0;
  // The keys, exported with the id records.hpp's exporter_aead() gives.
  crypto::SivKey c2s, s2c;
  // AEAD 30 only: whether the server echoed record 1024 (c2s/s2c then come
  // from id 30). If it did not, alt_c2s/alt_s2c are the keys with id 30,
  // for a server that uses the compliant context without negotiating it: it
  // answers the first request with an NTS NAK, and a client switches to the
  // other set (chrony >= 4.6.1 does the same).
  bool compliant_gcm_siv = false;
  crypto::SivKey alt_c2s, alt_s2c;
  std::vector<std::vector<std::uint8_t>> cookies;
  std::string ntp_server;     // from the response, else the KE host
  std::uint16_t ntp_port = 123;
  std::vector<std::uint16_t> warnings;
};

// One NTS-KE exchange (builds a TLS context each time: fine for one-shots).
KeResult run_ke(const ClientOptions& opt);

// One NTS-KE connection (TLS 1.3, ALPN "ntske/1", certificate checked) with
// blocking I/O bounded by deadlines. run_ke uses it for one exchange; the
// pool keeps some open to each time source with Keep Alive.
class KeStream {
 public:
  using Clock = std::chrono::steady_clock;
  ~KeStream();
  KeStream(const KeStream&) = delete;
  KeStream& operator=(const KeStream&) = delete;

  // Writes one whole message. On failure `why` is set, and `any_sent` says
  // whether any byte of it was handed to the kernel (false: the peer can
  // have seen none of it).
  bool send(std::span<const std::uint8_t> msg, Clock::time_point deadline, std::string& why,
            bool& any_sent);
  enum class Read : std::uint8_t { kOk, kClosed, kTimeout, kTooLong, kError };
  // Reads one message up to End of Message, at most `max` bytes; on anything
  // but kOk `out` holds what arrived.
  Read read_message(std::vector<std::uint8_t>& out, std::size_t max, Clock::time_point deadline);
  // An idle connection that the peer closed, reset or wrote to unasked
  // cannot carry another request (non-blocking check).
  bool unusable() const;
  // RFC 8915 §5.1 key export.
  bool export_key(std::uint16_t protocol, std::uint16_t aead, bool s2c, std::span<std::uint8_t> out);
  // One close_notify attempt, then close.
  void close();

 private:
  friend class KeConnector;
  KeStream(void* ssl, int fd, bool guard_sigpipe) : ssl_(ssl), fd_(fd), guard_sigpipe_(guard_sigpipe) {}
  void* ssl_ = nullptr;  // SSL
  int fd_ = -1;
  bool guard_sigpipe_ = true;
};

// Reuses one TLS context (trust store loaded once) for many exchanges, as a
// load generator needs. Thread-safe: run() may be called from many threads.
class KeConnector {
 public:
  explicit KeConnector(const std::string& ca_file);
  ~KeConnector();
  KeConnector(const KeConnector&) = delete;
  KeConnector& operator=(const KeConnector&) = delete;
  // False (with the reason in error()) if the trust store could not be loaded.
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  KeResult run(const ClientOptions& opt) const;  // opt.ca_file is ignored
  // Connects (directly or through opt.socks5) and completes the TLS
  // handshake; null with `err` set on failure.
  std::unique_ptr<KeStream> connect(const ClientOptions& opt, KeStream::Clock::time_point deadline,
                                    KeResult& err) const;

 private:
  void* ctx_ = nullptr;  // SSL_CTX
  bool ok_ = false;
  bool guard_sigpipe_ = true;  // false if the process ignores SIGPIPE
  std::string error_;
};

// Splits "host", "host:port", "[v6]:port" or a bare IPv6 literal. False on a bad port.
bool split_host_port(const std::string& s, std::string& host, std::uint16_t& port);

}  // namespace ntsd::ke
