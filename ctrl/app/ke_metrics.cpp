#include "ke_metrics.hpp"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <ctime>
#include <memory>

#include "ntsd/http/prometheus.hpp"

namespace ntsd::keapp {

using http::prom::family;
using http::prom::sample;

std::string render(const ke::ServerStats& s, const KeGauges& g, std::int64_t now) {
  std::string out;
  out.reserve(4096);
  const auto ld = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  family(out, "ntsd_ke_sessions_total", "counter",
         "NTS-KE exchanges completed: TLS 1.3 handshake, request, response with cookies (RFC 8915 section 4).");
  sample(out, "ntsd_ke_sessions_total", "", ld(s.completed));
  family(out, "ntsd_ke_connections_total", "counter", "TCP connections accepted by the NTS-KE listeners.");
  sample(out, "ntsd_ke_connections_total", "", ld(s.accepted));
  family(out, "ntsd_ke_errors_total", "counter",
         "NTS-KE connections that did not complete, by reason: tls_failed (handshake or TLS I/O error), no_alpn "
         "(client did not offer ntske/1), timed_out (whole exchange over [ke] handshake_timeout_ms), error_sent "
         "(an NTS-KE Error record answered a bad request), no_aead (no AEAD in common), refused_full "
         "(closed at accept, [ke] max_connections reached and no silent connection to close instead), "
         "refused_source (closed at accept, [ke] max_connections_per_source reached), refused_rate (closed at "
         "accept by the per-source rate limit, [ke] ratelimit), silent_closed (no byte "
         "within [ke] first_byte_timeout_ms), evicted (silent, closed to make room for a newcomer).");
  const std::pair<const char*, std::uint64_t> errors[] = {
      {"tls_failed", ld(s.tls_failed)},         {"no_alpn", ld(s.no_alpn)},
      {"timed_out", ld(s.timed_out)},           {"error_sent", ld(s.errors_sent)},
      {"no_aead", ld(s.no_aead)},               {"refused_full", ld(s.refused_full)},
      {"refused_source", ld(s.refused_source)}, {"silent_closed", ld(s.silent_closed)},
      {"evicted", ld(s.evicted)},               {"refused_rate", ld(s.refused_rate)},
  };
  for (const auto& [reason, v] : errors) sample(out, "ntsd_ke_errors_total", http::prom::label("reason", reason), v);
  // NTS pool time source (docs/pool.md).
  family(out, "ntsd_ke_pool_requests_total", "counter",
         "NTS pool requests answered, by kind: support (Supported Algorithm/Next Protocol List), fixed_key "
         "(cookies for the pool's keys).");
  sample(out, "ntsd_ke_pool_requests_total", http::prom::label("kind", "support"), ld(s.pool_support));
  sample(out, "ntsd_ke_pool_requests_total", http::prom::label("kind", "fixed_key"), ld(s.pool_fixed_key));
  family(out, "ntsd_ke_pool_refused_total", "counter",
         "NTS pool requests refused, by reason: bad_token (missing or wrong Authentication Token, Error 1), "
         "kept_alive_key_exchange (an ordinary request on a kept-alive connection, Error 1), keepalive_cap "
         "(Keep Alive not granted at [ke] pool_keepalive_connections).");
  sample(out, "ntsd_ke_pool_refused_total", http::prom::label("reason", "bad_token"), ld(s.pool_bad_token));
  sample(out, "ntsd_ke_pool_refused_total", http::prom::label("reason", "kept_alive_key_exchange"),
         ld(s.pool_kept_alive_key_exchange));
  sample(out, "ntsd_ke_pool_refused_total", http::prom::label("reason", "keepalive_cap"), ld(s.keepalive_refused));
  family(out, "ntsd_ke_pool_keepalive_connections", "gauge", "Connections kept open for pools (Keep Alive).");
  sample(out, "ntsd_ke_pool_keepalive_connections", "", s.keepalive_open.load());
  family(out, "ntsd_ke_pool_keepalive_idle_closed_total", "counter",
         "Kept-alive connections closed after [ke] pool_idle_timeout_ms without a request.");
  sample(out, "ntsd_ke_pool_keepalive_idle_closed_total", "", ld(s.keepalive_idle_closed));
  family(out, "ntsd_ke_threads", "gauge", "NTS-KE event-loop threads.");
  sample(out, "ntsd_ke_threads", "", static_cast<std::int64_t>(g.threads.load()));

  family(out, "ntsd_ke_certificate_not_after_seconds", "gauge",
         "Expiry (notAfter) of the served certificate, UNIX seconds; 0 if it could not be read.");
  sample(out, "ntsd_ke_certificate_not_after_seconds", "", g.cert_not_after.load());
  family(out, "ntsd_ke_certificate_reloads_total", "counter", "Certificate and key reloads (SIGHUP or file change) that worked.");
  sample(out, "ntsd_ke_certificate_reloads_total", "", ld(g.cert_reloads));
  family(out, "ntsd_ke_certificate_reload_errors_total", "counter",
         "Certificate reloads that failed (the old certificate is kept).");
  sample(out, "ntsd_ke_certificate_reload_errors_total", "", ld(g.cert_reload_errors));

  const std::int64_t rotated = g.key_rotated_at.load();
  family(out, "ntsd_ke_key_age_seconds", "gauge", "Seconds since the current master key became current.");
  sample(out, "ntsd_ke_key_age_seconds", "", rotated > 0 && now > rotated ? now - rotated : std::int64_t{0});
  family(out, "ntsd_ke_key_next_rotation_seconds", "gauge", "When the next master-key rotation is due, UNIX seconds.");
  sample(out, "ntsd_ke_key_next_rotation_seconds", "", g.key_next_rotation.load());
  family(out, "ntsd_ke_key_rotations_total", "counter", "Master-key rotations done since start.");
  sample(out, "ntsd_ke_key_rotations_total", "", ld(g.rotations));
  family(out, "ntsd_ke_key_rotation_errors_total", "counter",
         "Rotation attempts that failed (random source, or the key file could not be written; retried every second).");
  sample(out, "ntsd_ke_key_rotation_errors_total", "", ld(g.rotation_errors));
  // Derived keys (docs/keys.md "Derived keys"): all 0 in file mode.
  family(out, "ntsd_ke_keys_derived", "gauge", "1 if the master keys are derived from [keys] secret_file, 0 if from the key file.");
  sample(out, "ntsd_ke_keys_derived", "", static_cast<std::int64_t>(g.derived.load()));
  family(out, "ntsd_ke_keys_derived_period", "gauge",
         "The UTC period whose derived key seals cookies (floor(UNIX time / [keys] period_s)); hosts of a fleet agree.");
  sample(out, "ntsd_ke_keys_derived_period", "", g.derived_period.load());
  family(out, "ntsd_ke_keys_derived_clock_held", "gauge",
         "1 while the wall clock is outside the accepted window and the derived keys follow the monotonic clock.");
  sample(out, "ntsd_ke_keys_derived_clock_held", "", static_cast<std::int64_t>(g.derived_held.load()));
  family(out, "ntsd_ke_keys_derived_clock_holds_total", "counter",
         "Times the wall clock left the accepted window (a jump) and the derived keys held.");
  sample(out, "ntsd_ke_keys_derived_clock_holds_total", "", ld(g.derived_holds));
  family(out, "ntsd_ke_keys_derived_clock_offset_seconds", "gauge",
         "Wall clock minus the time carried on the monotonic clock since start (0 unless it stepped by 60 s or more).");
  sample(out, "ntsd_ke_keys_derived_clock_offset_seconds", "", g.derived_offset.load());
  return out;
}

std::int64_t certificate_not_after(const std::string& pem_path, std::string& error) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(pem_path.c_str(), "r"), &std::fclose);
  if (!f) {
    error = pem_path + ": cannot open";
    return 0;
  }
  std::unique_ptr<X509, void (*)(X509*)> x(PEM_read_X509(f.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!x) {
    error = pem_path + ": no PEM certificate";
    return 0;
  }
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(x.get()), &tm) != 1) {
    error = pem_path + ": unreadable notAfter";
    return 0;
  }
  return static_cast<std::int64_t>(timegm(&tm));
}

}  // namespace ntsd::keapp
