#include "ntsd/ke/source.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>

#include "ntsd/crypto/cookie.hpp"
#include "ntsd/ke/records.hpp"

namespace ntsd::ke {
namespace {

// One AES-SIV engine per event-loop thread (cookie sealing is not on the
// packet path; the scalar engine is enough).
crypto::SivEngine& engine() {
  thread_local std::unique_ptr<crypto::SivEngine> eng = crypto::make_scalar_engine();
  return *eng;
}

class TimeSource final : public RequestHandler {
 public:
  TimeSource(const ServerOptions& o, RingSource ring, ServerStats& stats)
      : aeads_(o.aeads), cookies_(o.cookies), server_(o.ntp_server),
        port_(o.ntp_port != 123 ? o.ntp_port : 0), on_session_(o.on_session),
        tokens_(o.pool_tokens), ring_(std::move(ring)), stats_(stats) {
    for (auto id : aeads_)
      algorithms_.push_back({id, static_cast<std::uint16_t>(crypto::aead_key_len(static_cast<crypto::AeadId>(id)))});
  }

  void handle(KeRequest& r) override {
    auto p = parse_pool_request(r.bytes(), r.bytes().size());
    switch (p.kind) {
      case PoolRequest::Kind::kKeyExchange:
        return key_exchange(r);
      case PoolRequest::Kind::kSupport:
        if (!authenticated(p)) return refuse_token(r);
        return support(r, p);
      case PoolRequest::Kind::kFixedKey:
        if (!authenticated(p)) return refuse_token(r);
        return fixed_key(r, p);
      case PoolRequest::Kind::kError:
        return r.respond(build_error(p.error));
      case PoolRequest::Kind::kNeedMore:
        break;  // the server hands over complete messages only
    }
    r.respond(build_error(ErrorCode::kBadRequest));
  }

 private:
  bool authenticated(const PoolRequest& p) const {
    auto t = tokens_ ? tokens_() : nullptr;
    return t && p.has_token && t->accepts(p.token);
  }

  void refuse_token(KeRequest& r) {
    stats_.pool_bad_token++;
    r.respond(build_error(ErrorCode::kBadRequest));
  }

  // RFC 8915 §4: keys exported from this TLS session.
  void key_exchange(KeRequest& r) {
    if (r.kept_alive()) {
      // Pool draft (Keep Alive): a kept-alive session is never used for key
      // extraction; ntpd-rs answers Error 1 and closes.
      stats_.pool_kept_alive_key_exchange++;
      return r.respond(build_error(ErrorCode::kBadRequest));
    }
    auto v = evaluate_request(r.bytes(), aeads_, r.bytes().size());
    if (v.kind == RequestVerdict::Kind::kNoAead) {
      stats_.no_aead++;
      return r.respond(build_no_aead_response());
    }
    if (v.kind != RequestVerdict::Kind::kAccept) return r.respond(build_error(v.error));
    const std::size_t klen = crypto::aead_key_len(static_cast<crypto::AeadId>(v.aead));
    // With AEAD 30 the keys come from exporter id 30 if the client sent
    // record 1024 (echoed then), else from chrony's id 15 (records.hpp,
    // exporter_aead; chrony nts_ke_server.c prepare_response).
    const std::uint16_t xid = exporter_aead(v.aead, v.compliant_gcm_siv);
    unsigned char k[2 * crypto::kMaxSivKeyLen];
    bool ok = klen != 0 && r.export_key(kNextProtocolNtpv4, xid, false, {k, klen}) &&
              r.export_key(kNextProtocolNtpv4, xid, true, {k + klen, klen});
    std::vector<std::uint8_t> out;
    if (ok) out = cookie_response(v.aead, {k, klen}, {k + klen, klen}, false, v.compliant_gcm_siv);
    OPENSSL_cleanse(k, sizeof k);
    r.respond(out.empty() ? build_error(ErrorCode::kInternalServerError) : std::move(out));
  }

  // Pool draft "Supported Next Protocol List" / "Supported Algorithm List".
  void support(KeRequest& r, const PoolRequest& p) {
    stats_.pool_support++;
    const std::vector<std::uint16_t> protocols = {kNextProtocolNtpv4};
    bool keep = p.keep_alive && r.acquire_keep_alive();
    r.respond(build_support_response(p.wants_algorithms ? &algorithms_ : nullptr,
                                     p.wants_protocols ? &protocols : nullptr, keep),
              keep);
  }

  // Pool draft "Fixed Key Request": cookies for the pool's user's keys.
  void fixed_key(KeRequest& r, const PoolRequest& p) {
    const std::uint16_t protocol = u16_at(p.protocols, 0), aead = u16_at(p.aeads, 0);
    const std::size_t klen = crypto::aead_key_len(static_cast<crypto::AeadId>(aead));
    // We speak NTPv4 only; the AEAD must be one we offer, each key its length.
    if (protocol != kNextProtocolNtpv4 || std::find(aeads_.begin(), aeads_.end(), aead) == aeads_.end() ||
        klen == 0 || p.fixed_key.size() != 2 * klen)
      return r.respond(build_error(ErrorCode::kBadRequest));
    stats_.pool_fixed_key++;
    bool keep = p.keep_alive && r.acquire_keep_alive();
    auto out = cookie_response(aead, p.fixed_key.first(klen), p.fixed_key.subspan(klen), keep);
    if (out.empty()) return r.respond(build_error(ErrorCode::kInternalServerError));
    r.respond(std::move(out), keep);
  }

  // NTPv4 + AEAD + `cookies_` New Cookie records sealed over (c2s, s2c)
  // under the current master key (its algorithm sets their size), Server/Port
  // as configured, record 1024 echoed if `compliant`; empty on failure.
  std::vector<std::uint8_t> cookie_response(std::uint16_t aead, Bytes c2s_bytes, Bytes s2c_bytes,
                                            bool keep_alive, bool compliant = false) {
    const auto id = static_cast<crypto::AeadId>(aead);
    auto c2s = crypto::SivKey::from_bytes(c2s_bytes);
    auto s2c = crypto::SivKey::from_bytes(s2c_bytes);
    auto ring = ring_();
    if (!c2s || !s2c || !ring || ring->empty()) return {};
    crypto::CookieKeys keys{*c2s, *s2c};
    std::vector<std::vector<std::uint8_t>> cookies(static_cast<std::size_t>(cookies_));
    // All nonces from one RAND_bytes call (each call costs a getpid(2) for
    // OpenSSL's fork check).
    std::vector<std::uint8_t> nonces(cookies.size() * crypto::kCookieNonceLen);
    if (RAND_bytes(nonces.data(), static_cast<int>(nonces.size())) != 1) return {};
    for (std::size_t i = 0; i < cookies.size(); ++i) {
      cookies[i].resize(crypto::cookie_len(id, ring->current().aead()));
      crypto::Bytes nonce(nonces.data() + i * crypto::kCookieNonceLen, crypto::kCookieNonceLen);
      if (!crypto::seal_cookie(engine(), ring->current(), keys, nonce, cookies[i])) return {};
    }
    ResponseParams rp;
    rp.aead = aead;
    rp.compliant_gcm_siv = compliant;
    rp.cookies = cookies;
    rp.server = server_;
    rp.port = port_;
    rp.keep_alive = keep_alive;
    if (on_session_) on_session_(aead, cookies_);
    return build_response(rp);
  }

  std::vector<std::uint16_t> aeads_;
  std::vector<AlgorithmDescription> algorithms_;
  int cookies_;
  std::string server_;
  std::uint16_t port_;
  std::function<void(std::uint16_t, int)> on_session_;
  TokenSource tokens_;
  RingSource ring_;
  ServerStats& stats_;
};

}  // namespace

std::shared_ptr<RequestHandler> make_time_source_handler(const ServerOptions& opt, RingSource ring,
                                                         ServerStats& stats) {
  return std::make_shared<TimeSource>(opt, std::move(ring), stats);
}

}  // namespace ntsd::ke
