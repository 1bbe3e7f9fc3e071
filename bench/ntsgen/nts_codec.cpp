#include "nts_codec.hpp"

#include <array>

#include "nts_check.hpp"
#include "ntsd/proto/client.hpp"
#include "random.hpp"

namespace ntsgen {
namespace {

namespace proto = ntsd::proto;
constexpr std::size_t kChunk = proto::Client::kMaxBurst;

Invalid to_invalid(QuickCheck q) noexcept {
  switch (q) {
    case QuickCheck::kOrigin: return Invalid::kOriginMismatch;
    case QuickCheck::kUid: return Invalid::kUidMismatch;
    case QuickCheck::kNoAuth: return Invalid::kNoAuth;
    default: return Invalid::kMalformed;
  }
}

Invalid to_invalid(proto::ClientStatus s) noexcept {
  switch (s) {
    case proto::ClientStatus::kOriginMismatch: return Invalid::kOriginMismatch;
    case proto::ClientStatus::kUidMismatch: return Invalid::kUidMismatch;
    case proto::ClientStatus::kAuthMissing: return Invalid::kNoAuth;
    case proto::ClientStatus::kAuthFailed: return Invalid::kAuthFail;
    default: return Invalid::kMalformed;
  }
}

std::unique_ptr<ntsd::crypto::SivEngine> make_engine(const std::string& name) {
  if (name == "scalar") return ntsd::crypto::make_scalar_engine();
  if (name == "mb") {
    if (auto e = ntsd::crypto::make_mb_engine()) return e;
  }
  return ntsd::crypto::make_best_engine();
}

class NtsCodec final : public Codec {
 public:
  NtsCodec(std::vector<Session>& sessions, const NtsCodecOptions& opt, std::size_t slots)
      : sessions_(sessions),
        opt_(opt),
        client_(make_engine(opt.engine)),
        pending_(slots),
        full_(slots, 1) {
    // Buffers fit the longest cookie a jar may hold: servers choose the
    // cookie length (RFC 8915 §6) and may change it with a key rotation.
    max_len_ = std::min(proto::nts_request_len(CookieJar::kMaxCookie, opt.placeholders), proto::kMaxPacketLen);
  }

  std::size_t max_request_len() const noexcept override { return max_len_; }

  void build(std::span<TxBuf> bufs, std::uint64_t now_ns, Tracker& tr, Counters& c) noexcept override {
    for (std::size_t off = 0; off < bufs.size(); off += kChunk) {
      build_chunk(bufs.subspan(off, std::min(kChunk, bufs.size() - off)), now_ns, tr, c);
    }
  }

  void verify(std::span<const RxPkt> pkts, Tracker& tr, Counters& c, Histogram& lat) noexcept override {
    for (std::size_t off = 0; off < pkts.size(); off += kChunk) {
      verify_chunk(pkts.subspan(off, std::min(kChunk, pkts.size() - off)), tr, c, lat);
    }
  }

 private:
  void build_chunk(std::span<TxBuf> bufs, std::uint64_t now_ns, Tracker& tr, Counters& c) noexcept {
    const std::size_t n = bufs.size();
    for (std::size_t i = 0; i < n; ++i) {
      const auto sid = static_cast<std::uint32_t>(next_session_);
      next_session_ = next_session_ + 1 == sessions_.size() ? 0 : next_session_ + 1;  // no division per request
      Session& s = sessions_[sid];
      specs_[i] = proto::NtsRequestSpec{};
      specs_[i].c2s = &s.c2s;
      specs_[i].cookie = s.jar.take();
      specs_[i].placeholders = opt_.placeholders;
      specs_[i].t1 = tr.issue(now_ns, sid, c, bufs[i].client);
      request_fields(tr.slot_of(specs_[i].t1), specs_[i].t1, specs_[i].origin, specs_[i].receive);
      full_[tr.index_of(specs_[i].t1)] = pick_full();
      outs_[i] = proto::MutBytes(bufs[i].data, max_len_);
    }
    client_.build_nts_burst(std::span(specs_.data(), n), rng_, std::span(outs_.data(), n),
                            std::span(pend_.data(), n), std::span(lens_.data(), n));
    for (std::size_t i = 0; i < n; ++i) {
      pending_[tr.index_of(specs_[i].t1)] = pend_[i];
      bufs[i].len = static_cast<std::uint16_t>(lens_[i]);  // 0: the transport skips it
      if (lens_[i] == 0) {
        // Could not be built (no cookie, or too long for the buffer): it
        // never leaves, so it is a send error, not a loss.
        Slot* s = nullptr;
        if (tr.lookup(specs_[i].t1, s) == Tracker::Match::kLive) tr.finish(*s);
        ++c.send_errors;
      }
    }
  }

  void verify_chunk(std::span<const RxPkt> pkts, Tracker& tr, Counters& c, Histogram& lat) noexcept {
    std::size_t n = 0;
    for (const auto& p : pkts) {
      const proto::Bytes b(p.data, p.len);
      const HeaderClass hc = classify_header(b);
      if (hc == HeaderClass::kMalformed) {
        c.add_invalid(Invalid::kMalformed);
        continue;
      }
      Slot* s = nullptr;
      bool interleaved = false;
      switch (lookup_origin(tr, load_be64(p.data + kOriginOff), s, interleaved)) {
        case Tracker::Match::kForeign: c.add_invalid(Invalid::kUnmatched); continue;
        case Tracker::Match::kStale: ++c.stale; continue;
        case Tracker::Match::kDuplicate: c.add_invalid(Invalid::kDuplicate); continue;
        case Tracker::Match::kLive: break;
      }
      const std::size_t idx = tr.index_of(s->tag);
      if (!full_[idx]) {
        checked_only(p, hc, *s, idx, interleaved, tr, c, lat);
        continue;
      }
      jobs_[n] = proto::Client::VerifyJob{b, &pending_[idx],
                                          &sessions_[s->session].s2c, 0};
      slots_[n] = s;
      rx_ns_[n] = p.rx_ns;
      rx_real_ns_[n] = p.rx_real_ns;
      ++n;
    }
    if (n == 0) return;
    client_.verify_nts_burst(std::span(jobs_.data(), n), std::span(results_.data(), n));
    for (std::size_t i = 0; i < n; ++i) account(results_[i], jobs_[i].resp, *slots_[i], rx_ns_[i], rx_real_ns_[i], tr, c, lat);
  }

  void account(const proto::Response& r, proto::Bytes resp, Slot& s, std::uint64_t rx_ns, std::uint64_t rx_real_ns,
               Tracker& tr, Counters& c, Histogram& lat) noexcept {
    // Two answers to one request in the same burst both passed the lookup;
    // the first one to get here completes the request.
    if (!s.live) {
      c.add_invalid(Invalid::kDuplicate);
      return;
    }
    switch (r.status) {
      case proto::ClientStatus::kOk: break;
      // A NAK echoes our UID but is not authenticated (RFC 8915 §5.7); it still
      // answers the request, so the slot is done.
      case proto::ClientStatus::kNak: tr.finish(s); ++c.nak; return;
      case proto::ClientStatus::kKod: tr.finish(s); ++c.kod; return;
      default:
        // Matched by origin but not accepted: the request ends as invalid (not
        // also lost), so that sent = valid + invalid + NAK + KoD + lost.
        tr.finish(s);
        c.add_invalid(to_invalid(r.status));
        return;
    }
    tr.finish(s);
    if (r.cookie_count != 1u + opt_.placeholders) {
      c.add_invalid(Invalid::kCookieCount);
      return;
    }
    Session& sess = sessions_[s.session];
    for (std::size_t k = 0; k < r.cookie_count; ++k) sess.jar.put(r.cookies[k]);
    if (!answered(s, resp, r.interleaved, rx_real_ns)) {
      c.add_invalid(Invalid::kInterleavedT3);
      return;
    }
    ++c.valid;
    ++c.verified;
    lat.record(rx_ns > s.tx_ns ? rx_ns - s.tx_ns : 0);
  }

  // Whether the request being built gets its response fully verified: all of
  // them with verify_every 1, else one of each group of verify_every
  // consecutive requests, drawn when the group starts.
  bool pick_full() noexcept {
    const std::uint32_t n = opt_.verify_every;
    if (n <= 1) return true;
    if (group_pos_ == 0) group_pick_ = static_cast<std::uint32_t>(rng_.next() % n);
    const bool full = group_pos_ == group_pick_;
    group_pos_ = group_pos_ + 1 == n ? 0 : group_pos_ + 1;
    return full;
  }

  // A response not picked for the full verification: the cheap checks, and
  // the request ends here (valid, invalid, NAK or KoD) as it would there.
  void checked_only(const RxPkt& p, HeaderClass hc, Slot& s, std::size_t idx, bool interleaved, Tracker& tr,
                    Counters& c, Histogram& lat) noexcept {
    tr.finish(s);
    const std::span<const std::uint8_t> pkt(p.data, p.len);
    const std::size_t n_req = ntsd::crypto::aead_nonce_len(sessions_[s.session].s2c.aead());
    switch (const QuickCheck q = quick_check_nts(pkt, hc, pending_[idx], n_req)) {
      case QuickCheck::kOk: break;
      case QuickCheck::kNak: ++c.nak; return;
      case QuickCheck::kKod: ++c.kod; return;
      default: c.add_invalid(to_invalid(q)); return;
    }
    if (!answered(s, pkt, interleaved, p.rx_real_ns)) {
      c.add_invalid(Invalid::kInterleavedT3);
      return;
    }
    ++c.valid;
    lat.record(p.rx_ns > s.tx_ns ? p.rx_ns - s.tx_ns : 0);
  }

  std::vector<Session>& sessions_;
  NtsCodecOptions opt_;
  proto::Client client_;
  FastRandom rng_;
  std::vector<proto::PendingRequest> pending_;  // by tracker slot index
  std::vector<std::uint8_t> full_;               // by tracker slot index: fully verify its answer
  std::uint32_t group_pos_ = 0, group_pick_ = 0;  // pick_full()
  std::size_t max_len_ = 0;
  std::size_t next_session_ = 0;
  std::array<proto::NtsRequestSpec, kChunk> specs_{};
  std::array<proto::MutBytes, kChunk> outs_{};
  std::array<proto::PendingRequest, kChunk> pend_{};
  std::array<std::size_t, kChunk> lens_{};
  std::array<proto::Client::VerifyJob, kChunk> jobs_{};
  std::array<proto::Response, kChunk> results_{};
  std::array<Slot*, kChunk> slots_{};
  std::array<std::uint64_t, kChunk> rx_ns_{};
  std::array<std::uint64_t, kChunk> rx_real_ns_{};
};

}  // namespace

std::unique_ptr<Codec> make_nts_codec(std::vector<Session>& sessions, const NtsCodecOptions& opt,
                                      std::size_t tracker_slots) {
  if (sessions.empty()) return nullptr;
  for (auto& s : sessions) {
    if (s.c2s.empty() || s.s2c.empty() || s.jar.size() == 0) return nullptr;
  }
  return std::make_unique<NtsCodec>(sessions, opt, tracker_slots);
}

}  // namespace ntsgen
