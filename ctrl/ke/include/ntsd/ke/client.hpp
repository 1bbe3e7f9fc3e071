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

#include <cstdint>
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
  // Our preference order. With 30 in it the request carries record 1024.
  std::vector<std::uint16_t> aeads = {15, 17};
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

 private:
  void* ctx_ = nullptr;  // SSL_CTX
  bool ok_ = false;
  std::string error_;
};

// Splits "host", "host:port", "[v6]:port" or a bare IPv6 literal. False on a bad port.
bool split_host_port(const std::string& s, std::string& host, std::uint16_t& port);

}  // namespace ntsd::ke
