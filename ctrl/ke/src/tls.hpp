// OpenSSL helpers shared by the NTS-KE server and client.
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>

namespace ntsd::ke {

struct SslCtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};
using SslPtr = std::unique_ptr<SSL, SslFree>;

// The last OpenSSL error queue entry as text (and clears the queue).
std::string ssl_error_text();

// A TLS 1.3-only server context with ALPN "ntske/1" required (RFC 8915 §4:
// "MUST NOT ... TLS 1.2 or earlier", §4: ALPN). Null with `error` set.
SslCtxPtr make_server_ctx(const std::string& cert, const std::string& key, std::string& error);

// A TLS 1.3-only client context offering ALPN "ntske/1" and verifying the peer
// against `ca_file` (or the system store if empty).
SslCtxPtr make_client_ctx(const std::string& ca_file, std::string& error);

// Exports C2S or S2C (RFC 8915 §5.1). False on failure.
bool export_key(SSL* ssl, std::uint16_t aead, bool s2c, unsigned char* out, std::size_t len);
// The same for any next protocol (the pool relays what its time sources speak).
bool export_key(SSL* ssl, std::uint16_t protocol, std::uint16_t aead, bool s2c, unsigned char* out,
                std::size_t len);

}  // namespace ntsd::ke
