#include "tls.hpp"

#include <openssl/bio.h>
#include <openssl/x509.h>

#include <cstring>

#include "ntsd/ke/records.hpp"

namespace ntsd::ke {
namespace {

// ALPN wire form: length-prefixed protocol names.
const unsigned char kAlpnWire[] = {7, 'n', 't', 's', 'k', 'e', '/', '1'};

int alpn_select(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  unsigned char* sel = nullptr;
  if (SSL_select_next_proto(&sel, outlen, kAlpnWire, sizeof kAlpnWire, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;  // no_application_protocol alert
  *out = sel;
  return SSL_TLSEXT_ERR_OK;
}

SslCtxPtr base_ctx(const SSL_METHOD* method, std::string& error) {
  SslCtxPtr ctx(SSL_CTX_new(method));
  if (!ctx) {
    error = "SSL_CTX_new: " + ssl_error_text();
    return nullptr;
  }
  // RFC 8915 §3: TLS 1.3 or newer only.
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return ctx;
}

}  // namespace

std::string ssl_error_text() {
  unsigned long e = ERR_get_error();
  unsigned long last = e;
  while (e != 0) {
    last = e;
    e = ERR_get_error();
  }
  if (last == 0) return "no OpenSSL error";
  char buf[256];
  ERR_error_string_n(last, buf, sizeof buf);
  return buf;
}

// "Jun 28 00:00:00 2026 GMT" for logs.
static std::string asn1_time_text(const ASN1_TIME* t) {
  BIO* b = BIO_new(BIO_s_mem());
  if (b == nullptr) return "?";
  ASN1_TIME_print(b, t);
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<std::size_t>(n > 0 ? n : 0));
  BIO_free(b);
  return out;
}

SslCtxPtr make_server_ctx(const std::string& cert, const std::string& key, std::string& error) {
  auto ctx = base_ctx(TLS_server_method(), error);
  if (!ctx) return nullptr;
  // NTS-KE is one exchange per connection: session tickets would cost a
  // signature-free but still expensive extra message per handshake, and no
  // NTS client resumes.
  SSL_CTX_set_num_tickets(ctx.get(), 0);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  // Read whole TCP segments instead of header-then-body per record: halves
  // the read(2) calls of a handshake.
  SSL_CTX_set_read_ahead(ctx.get(), 1);
  // SHA-256 suites first: the TLS 1.3 key schedule and the NTS key export
  // run a few dozen HMACs per handshake, cheaper with SHA-256 than SHA-384.
  SSL_CTX_set_ciphersuites(ctx.get(), "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384");
  SSL_CTX_set_options(ctx.get(), SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str()) != 1) {
    error = cert + ": " + ssl_error_text();
    return nullptr;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1) {
    error = key + ": " + ssl_error_text();
    return nullptr;
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    error = key + ": does not match " + cert;
    return nullptr;
  }
  // A certificate outside its validity period makes every client fail its
  // check: refuse it (at start, or on a reload: then the old one goes on
  // serving) rather than serve it.
  if (X509* leaf = SSL_CTX_get0_certificate(ctx.get())) {
    if (X509_cmp_current_time(X509_get0_notAfter(leaf)) <= 0) {
      error = cert + ": the certificate expired (notAfter " + asn1_time_text(X509_get0_notAfter(leaf)) + ")";
      return nullptr;
    }
    if (X509_cmp_current_time(X509_get0_notBefore(leaf)) >= 0) {
      error = cert + ": the certificate is not valid yet (notBefore " + asn1_time_text(X509_get0_notBefore(leaf)) + ")";
      return nullptr;
    }
  }
  SSL_CTX_set_alpn_select_cb(ctx.get(), alpn_select, nullptr);
  return ctx;
}

SslCtxPtr make_client_ctx(const std::string& ca_file, std::string& error) {
  auto ctx = base_ctx(TLS_client_method(), error);
  if (!ctx) return nullptr;
  int ok = ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx.get())
                           : SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr);
  if (ok != 1) {
    error = (ca_file.empty() ? std::string("system CA store") : ca_file) + ": " + ssl_error_text();
    return nullptr;
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_set_alpn_protos(ctx.get(), kAlpnWire, sizeof kAlpnWire) != 0) {
    error = "ALPN: " + ssl_error_text();
    return nullptr;
  }
  return ctx;
}

bool export_key(SSL* ssl, std::uint16_t aead, bool s2c, unsigned char* out, std::size_t len) {
  return export_key(ssl, kNextProtocolNtpv4, aead, s2c, out, len);
}

bool export_key(SSL* ssl, std::uint16_t protocol, std::uint16_t aead, bool s2c, unsigned char* out,
                std::size_t len) {
  auto ctx = exporter_context(protocol, aead, s2c);
  return SSL_export_keying_material(ssl, out, len, kExporterLabel, std::strlen(kExporterLabel),
                                    ctx.data(), ctx.size(), 1) == 1;
}

}  // namespace ntsd::ke
