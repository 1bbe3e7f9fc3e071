// Client side: build requests, verify responses (RFC 5905 §8, RFC 8915 §5).
// The single calls are bursts of one, like the server's.
#include "ntsd/proto/client.hpp"

#include <algorithm>
#include <cstring>

#include "reader.hpp"

namespace ntsd::proto {

using detail::pad4;

struct Client::Scratch {
  std::array<crypto::SivOp, kMaxBurst> ops;
  std::array<crypto::SivStatus, kMaxBurst> status;
  std::array<std::uint16_t, kMaxBurst> owner;
  std::array<std::array<std::uint8_t, kMaxPacketLen>, kMaxBurst> plain;
};

Client::Client(std::unique_ptr<crypto::SivEngine> engine)
    : engine_(std::move(engine)), scratch_(std::make_unique<Scratch>()) {}
Client::~Client() = default;

const char* client_status_name(ClientStatus s) noexcept {
  switch (s) {
    case ClientStatus::kOk:
      return "ok";
    case ClientStatus::kNak:
      return "nak";
    case ClientStatus::kKod:
      return "kod";
    case ClientStatus::kMalformed:
      return "malformed";
    case ClientStatus::kOriginMismatch:
      return "origin_mismatch";
    case ClientStatus::kUidMismatch:
      return "uid_mismatch";
    case ClientStatus::kAuthMissing:
      return "auth_missing";
    case ClientStatus::kAuthFailed:
      return "auth_failed";
  }
  return "invalid";
}

namespace {

NtpHeader request_header(NtpTime t1, std::uint8_t version, std::int8_t poll, NtpTime origin = 0,
                         NtpTime receive = 0) noexcept {
  NtpHeader h;
  h.version = version;
  h.mode = Mode::kClient;
  h.poll = poll;
  h.origin = origin;
  h.receive = receive;
  h.transmit = t1;
  return h;
}

// RFC 5905 §8: θ = ((T2 − T1) + (T3 − T4)) / 2, δ = (T4 − T1) − (T3 − T2).
// Halve each term first so the sum cannot overflow.
void compute_sample(Response& r) noexcept {
  r.offset = ntp_diff(r.t2, r.t1) / 2 + ntp_diff(r.t3, r.t4) / 2;
  // In modular (era) arithmetic, as ntp_diff: a server's T2 and T3 are
  // whatever it sent, and the difference of the two signed differences
  // overflowed int64 for hostile ones (UBSan, fuzz_ntsgen_check).
  r.delay = static_cast<std::int64_t>((r.t4 - r.t1) - (r.t3 - r.t2));
}

// Header checks shared by plain and NTS (RFC 5905 §8): mode 4, origin = T1.
// Fills the header fields and timestamps; kOk means "go on".
ClientStatus check_header(Bytes resp, const PendingRequest& pending, NtpTime t4,
                          Response& out) noexcept {
  NtpHeader h;
  if (!parse_header(resp, h) || h.mode != Mode::kServer) return ClientStatus::kMalformed;
  // The origin check is what ties an unauthenticated answer to our request:
  // T1 for a basic answer, our receive field for an interleaved one (RFC 9769 §2).
  const bool interleaved = pending.receive != 0 && h.origin == pending.receive && h.origin != pending.t1;
  if (h.origin != pending.t1 && !interleaved) return ClientStatus::kOriginMismatch;
  out.interleaved = interleaved;
  out.leap = h.leap;
  out.version = h.version;
  out.stratum = h.stratum;
  out.poll = h.poll;
  out.precision = h.precision;
  out.root_delay = h.root_delay;
  out.root_dispersion = h.root_dispersion;
  out.refid = h.refid;
  out.reference = h.reference;
  out.t1 = pending.t1;
  out.t2 = h.receive;
  out.t3 = h.transmit;
  out.t4 = t4;
  compute_sample(out);
  return h.stratum == 0 ? ClientStatus::kKod : ClientStatus::kOk;
}

// Finds the UID and the Authenticator of an NTS response. EFs after the
// Authenticator are unauthenticated and ignored (RFC 8915 §5.6).
ClientStatus find_nts_efs(Bytes resp, const PendingRequest& pending, const Ef*& auth,
                          EfList& efs) noexcept {
  if (parse_efs(resp, kHeaderLen, efs) != EfStatus::kOk) return ClientStatus::kMalformed;
  const Ef* uid = nullptr;
  auth = nullptr;
  for (std::size_t i = 0; i < efs.count && auth == nullptr; ++i) {
    const Ef& e = efs.ef[i];
    if (e.type == kEfUniqueId) {
      if (uid != nullptr) return ClientStatus::kMalformed;
      uid = &e;
    } else if (e.type == kEfAuthenticator) {
      auth = &e;
    }
  }
  if (uid == nullptr || uid->body.size() != pending.uid.size() ||
      !std::equal(uid->body.begin(), uid->body.end(), pending.uid.begin()))
    return ClientStatus::kUidMismatch;
  return ClientStatus::kOk;
}

// Collects the cookies from the decrypted EFs (RFC 8915 §5.4).
ClientStatus extract_cookies(Bytes plain, Response& out) noexcept {
  EfList efs;
  if (parse_efs(plain, 0, efs, false) != EfStatus::kOk) return ClientStatus::kMalformed;
  out.cookie_count = 0;
  for (std::size_t i = 0; i < efs.count && out.cookie_count < kMaxNewCookies; ++i)
    if (efs.ef[i].type == kEfCookie) out.cookies[out.cookie_count++] = efs.ef[i].body;
  return ClientStatus::kOk;
}

}  // namespace

std::size_t build_plain_request(NtpTime t1, MutBytes out, PendingRequest& pending,
                                std::uint8_t version, std::int8_t poll, NtpTime origin,
                                NtpTime receive) noexcept {
  if (!write_header(request_header(t1, version, poll, origin, receive), out)) return 0;
  pending = PendingRequest{};
  pending.t1 = t1;
  pending.receive = receive;
  return kHeaderLen;
}

bool InterleavedAssociation::update(const Response& r, NtpTime t1, Response& sample) noexcept {
  if (r.status != ClientStatus::kOk) return false;
  Response cur = r;
  cur.t1 = t1;  // the actual TX time if the caller has it (chrony uses its own TX timestamp)
  bool have = false;
  if (!r.interleaved) {
    sample = cur;
    compute_sample(sample);
    have = true;
  } else if (have_prev_) {
    // RFC 9769 §2: T3 of the previous exchange arrives with this answer.
    sample = prev_;
    sample.t3 = r.t3;
    sample.interleaved = true;
    compute_sample(sample);
    have = true;
  }
  prev_ = cur;
  have_prev_ = cur.t4 != 0;
  return have;
}

Response verify_plain_response(Bytes resp, const PendingRequest& pending, NtpTime t4) noexcept {
  Response r;
  r.status = check_header(resp, pending, t4, r);
  return r;
}

std::size_t Client::build_nts_request(const NtsRequestSpec& spec, Random& rng, MutBytes out,
                                      PendingRequest& pending) noexcept {
  std::size_t len = 0;
  build_nts_burst({&spec, 1}, rng, {&out, 1}, {&pending, 1}, {&len, 1});
  return len;
}

void Client::build_nts_burst(std::span<const NtsRequestSpec> specs, Random& rng,
                             std::span<const MutBytes> outs, std::span<PendingRequest> pending,
                             std::span<std::size_t> lens) noexcept {
  const std::size_t total = std::min({specs.size(), outs.size(), pending.size(), lens.size()});
  Scratch& sc = *scratch_;
  for (std::size_t base = 0; base < total; base += kMaxBurst) {
    const std::size_t n = std::min(kMaxBurst, total - base);
    std::size_t nops = 0;
    for (std::size_t j = 0; j < n; ++j) {
      const std::size_t i = base + j;
      const NtsRequestSpec& s = specs[i];
      const MutBytes out = outs[i];
      lens[i] = 0;
      if (s.c2s == nullptr || s.c2s->empty()) continue;
      const crypto::AeadId aead = s.c2s->aead();
      const std::size_t nonce_len = crypto::aead_nonce_len(aead);
      const std::size_t len = nts_request_len(s.cookie.size(), s.placeholders, aead);
      if (s.cookie.empty() || len > out.size() || len > kMaxPacketLen) continue;
      PendingRequest& pr = pending[i];
      pr.t1 = s.t1;
      pr.nts = true;
      pr.receive = s.receive;
      rng.fill(pr.uid);
      write_header(request_header(s.t1, 4, s.poll, s.origin, s.receive), out);
      std::size_t pos = kHeaderLen;
      pos += write_ef(kEfUniqueId, pr.uid, out.subspan(pos));
      pos += write_ef(kEfCookie, s.cookie, out.subspan(pos));
      const std::size_t ph_len = pad4(kEfHeaderLen + s.cookie.size());
      for (std::size_t k = 0; k < s.placeholders; ++k) {
        // RFC 8915 §5.5: the body is ignored by the server; send zeros.
        std::uint8_t* p = out.data() + pos;
        detail::put16(p, kEfPlaceholder);
        detail::put16(p + 2, static_cast<std::uint16_t>(ph_len));
        std::memset(p + kEfHeaderLen, 0, ph_len - kEfHeaderLen);
        pos += ph_len;
      }
      std::uint8_t* a = out.data() + pos;
      detail::put16(a, kEfAuthenticator);
      detail::put16(a + 2, static_cast<std::uint16_t>(auth_ef_len(nonce_len, crypto::kSivTagLen)));
      detail::put16(a + 4, static_cast<std::uint16_t>(nonce_len));
      detail::put16(a + 6, static_cast<std::uint16_t>(crypto::kSivTagLen));
      rng.fill(out.subspan(pos + 8, nonce_len));
      const Bytes all(out.data(), out.size());
      crypto::set_aead_op(sc.ops[nops], *s.c2s, all.first(pos), all.subspan(pos + 8, nonce_len),
                          Bytes{}, out.subspan(pos + 8 + nonce_len, crypto::kSivTagLen));
      sc.owner[nops++] = static_cast<std::uint16_t>(i);
      lens[i] = len;
    }
    if (nops == 0) continue;
    engine_->seal({sc.ops.data(), nops}, {sc.status.data(), nops});
    for (std::size_t k = 0; k < nops; ++k)
      if (sc.status[k] != crypto::SivStatus::kOk) lens[sc.owner[k]] = 0;
  }
}

Response Client::verify_nts_response(Bytes resp, const PendingRequest& pending,
                                     const crypto::SivKey& s2c, NtpTime t4) noexcept {
  const VerifyJob job{resp, &pending, &s2c, t4};
  Response r;
  verify_nts_burst({&job, 1}, {&r, 1});
  return r;
}

void Client::verify_nts_burst(std::span<const VerifyJob> jobs,
                              std::span<Response> results) noexcept {
  const std::size_t n = std::min({jobs.size(), results.size(), kMaxBurst});
  for (std::size_t j = n; j < results.size(); ++j) results[j] = Response{};
  Scratch& sc = *scratch_;
  {
    constexpr std::size_t base = 0;
    std::size_t nops = 0;
    for (std::size_t j = 0; j < n; ++j) {
      const VerifyJob& job = jobs[base + j];
      Response& r = results[base + j];
      r = Response{};
      if (job.pending == nullptr || job.s2c == nullptr) continue;
      r.status = check_header(job.resp, *job.pending, job.t4, r);
      if (r.status != ClientStatus::kOk && r.status != ClientStatus::kKod) continue;
      EfList efs;
      const Ef* auth = nullptr;
      const ClientStatus ef_st = find_nts_efs(job.resp, *job.pending, auth, efs);
      if (r.status == ClientStatus::kKod) {
        // RFC 8915 §5.7: an NTS NAK counts only if it echoes our UID.
        if (r.refid == kKissNtsNak)
          r.status = ef_st == ClientStatus::kOk ? ClientStatus::kNak : ef_st;
        continue;
      }
      if (ef_st != ClientStatus::kOk) {
        r.status = ef_st;
        continue;
      }
      AuthBody ab;
      if (auth == nullptr) {
        r.status = ClientStatus::kAuthMissing;
        continue;
      }
      // RFC 8915 §5.6: N_REQ = min(16, N_MAX): 12 for GCM-SIV, 16 for AES-SIV.
      const std::size_t n_req = crypto::aead_nonce_len(job.s2c->aead());
      if (!parse_auth_body(auth->body, ab, n_req) || ab.ciphertext.size() < crypto::kSivTagLen ||
          ab.ciphertext.size() - crypto::kSivTagLen > kMaxPacketLen) {
        r.status = ClientStatus::kMalformed;
        continue;
      }
      const std::size_t plain = ab.ciphertext.size() - crypto::kSivTagLen;
      crypto::set_aead_op(sc.ops[nops], *job.s2c, job.resp.first(auth->offset), ab.nonce,
                          ab.ciphertext, MutBytes(sc.plain[j]).first(plain));
      sc.owner[nops++] = static_cast<std::uint16_t>(j);
    }
    if (nops == 0) return;
    engine_->open({sc.ops.data(), nops}, {sc.status.data(), nops});
    for (std::size_t k = 0; k < nops; ++k) {
      const std::size_t j = sc.owner[k];
      Response& r = results[base + j];
      if (sc.status[k] != crypto::SivStatus::kOk) {
        r.status = ClientStatus::kAuthFailed;
        continue;
      }
      r.status = extract_cookies(Bytes(sc.plain[j]).first(sc.ops[k].out.size()), r);
    }
  }
}

}  // namespace ntsd::proto
