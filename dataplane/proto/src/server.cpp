// The server core. Every request goes through the same phases; handle_request
// is a burst of one, so single and burst output cannot drift apart.
//
//   1 classify + prepare cookie open        (no crypto)
//   2 engine.open  all cookies              (master keys)
//   3 engine.open  all authenticators       (C2S)
//   4 size checks, random, prepare seals    (packet order; one Random call)
//   5 engine.seal  all new cookies          (current master key)
//   6 T3 = clock.now(), write headers/EFs   (packet order; interleaved
//     mode: the table's take/save, and T3 from it where the client asks)
//   7 engine.seal  all responses            (S2C)
#include "ntsd/proto/server.hpp"

#include <algorithm>
#include <cstring>

#include "classify.hpp"
#include "reader.hpp"

namespace ntsd::proto {

using detail::pad4;

namespace {
constexpr std::size_t kMaxOps = Server::kMaxBurst * kMaxNewCookies;
// Random bytes one NTS response needs: a nonce per new cookie, then the
// response nonce (RFC 8915 §5.6, §6).
constexpr std::size_t kMaxRandomPerSlot = kMaxNewCookies * crypto::kCookieNonceLen + kNonceLen;
}  // namespace

namespace detail {
// The poll an answer echoes, clamped to what we serve (RFC 5905 §7.3).
inline std::int8_t echoed_poll(const Parsed& p) noexcept {
  return std::clamp(p.hdr.poll, kMinPoll, kMaxPoll);
}

// The header bytes all answers of one kind share for one ServerState:
// everything but the version bits, the poll and the three timestamps, which
// come from the request and the clocks. Built by write_header from
// response_header / kiss_header whenever the state differs from the one it
// was built from (so the bytes are by construction those a per-packet
// write_header would give), then per packet a 24-byte copy, two bytes and
// three timestamps.
class HeaderTemplate {
 public:
  void update(const ServerState& state, bool nak) noexcept;
  // `out` has at least kHeaderLen bytes (checked against resp_len before).
  void write(const detail::Parsed& p, NtpTime rx, NtpTime tx, std::uint8_t* out) const noexcept {
    write(p, p.hdr.transmit, rx, tx, out);  // origin = the client's transmit (RFC 5905 §7.3)
  }
  // With the origin given: an interleaved answer echoes the request's
  // receive field instead (RFC 9769 §2). In the class: once per answer.
  void write(const detail::Parsed& p, NtpTime origin, NtpTime rx, NtpTime tx,
             std::uint8_t* out) const noexcept {
    std::memcpy(out, bytes_.data(), 24);
    out[0] = static_cast<std::uint8_t>(bytes_[0] | (p.hdr.version & 7) << 3);
    out[2] = static_cast<std::uint8_t>(echoed_poll(p));
    detail::put64(out + 24, origin);
    detail::put64(out + 32, rx);
    detail::put64(out + 40, tx);
  }

 private:
  static bool same_state(const ServerState& a, const ServerState& b) noexcept {
    return a.leap == b.leap && a.stratum == b.stratum && a.precision == b.precision &&
           a.root_delay == b.root_delay && a.root_dispersion == b.root_dispersion &&
           a.refid == b.refid && a.reference_time == b.reference_time;
  }
  std::array<std::uint8_t, kHeaderLen> bytes_{};
  ServerState built_for_{};
  bool ready_ = false;
};
}  // namespace detail

struct Server::Scratch {
  struct Slot {
    detail::Parsed p;
    Reason reason = Reason::kTooShort;
    std::uint8_t open_len = 0;     // C2S || S2C bytes the cookie open may have written
    std::uint16_t cookie_len = 0;  // length of each new cookie
    std::uint16_t plain_len = 0;   // response plaintext: the new cookie EFs
    std::uint16_t resp_len = 0;
    std::uint16_t random_off = 0;        // in random: cookie nonces, then the response nonce
    std::uint8_t* resp_plain = nullptr;  // in resp_arena: the new cookie EFs
    // Interleaved mode (phase 6): whether the request looked interleaved,
    // what the table said, and where the response's TX time goes.
    bool xleave_looked = false;
    bool interleaved = false;
    std::uint64_t xleave_tag = 0;  // the client address's keyed hash (phase 1)
    xleave::Miss miss = xleave::Miss::kNone;
    xleave::Ticket ticket = xleave::kNoTicket;
    crypto::CookieKeys keys;
    // The opened cookie, C2S || S2C: the keys come out of it and every new
    // cookie seals it again (RFC 8915 §6: new cookies carry the same keys).
    // Wiped at the end of the burst, with the keys.
    alignas(16) std::array<std::uint8_t, crypto::kMaxCookiePlainLen> plain{};
  };
  ~Scratch() {
    for (Slot& s : slots) crypto::secure_wipe(s.plain.data(), s.plain.size());
  }
  std::array<Slot, kMaxBurst> slots;
  // Plaintexts live in bump-allocated arenas rather than fixed per-slot
  // buffers, so a slot stays a few cache lines: requests normally have an
  // empty plaintext and responses carry ~100 bytes per cookie. Each arena
  // holds the worst case of a full burst.
  std::array<std::uint8_t, kMaxBurst * kMaxPacketLen>
      req_arena;  // request's decrypted EFs (ignored)
  std::array<std::uint8_t, kMaxBurst * kMaxNewCookies*(kEfHeaderLen + crypto::kMaxCookieLen)>
      resp_arena;
  // The burst's random bytes, drawn in one call in packet order (Random's
  // stream contract makes that the bytes per-packet calls would have given).
  std::array<std::uint8_t, kMaxBurst * kMaxRandomPerSlot> random;
  std::array<std::uint16_t, kMaxBurst> answering;  // slots that get an NTS response
  std::array<crypto::SivOp, kMaxOps> ops;
  std::array<crypto::SivStatus, kMaxOps> status;
  std::array<std::uint16_t, kMaxOps> owner;  // op index → slot index
  detail::HeaderTemplate resp_header;
  detail::HeaderTemplate nak_header;
};

Server::Server(std::unique_ptr<crypto::SivEngine> engine)
    : engine_(std::move(engine)), scratch_(std::make_unique<Scratch>()) {}
Server::~Server() = default;

namespace {

using Slot = Server::Scratch::Slot;

bool is_nts_pending(Reason r) noexcept {
  return r == Reason::kOkNts;
}

// Response header for a plain or NTS answer (RFC 5905 §7.3, §9.2): origin is
// the client's transmit timestamp, version and poll are echoed.
NtpHeader response_header(const detail::Parsed& p, NtpTime rx, const ServerState& s) noexcept {
  NtpHeader h;
  h.leap = s.leap;
  h.version = p.hdr.version;
  h.mode = Mode::kServer;
  // Stratum 0 would read as a Kiss-o'-Death; report "unsynchronised" instead.
  h.stratum = s.stratum == 0 ? 16 : s.stratum;
  h.poll = detail::echoed_poll(p);
  h.precision = s.precision;
  h.root_delay = s.root_delay;
  h.root_dispersion = s.root_dispersion;
  h.refid = s.refid;
  h.reference = s.reference_time;
  h.origin = p.hdr.transmit;
  h.receive = rx;
  return h;
}

// Kiss-o'-Death header (RFC 5905 §7.4): stratum 0, leap "alarm", kiss code in refid.
NtpHeader kiss_header(const detail::Parsed& p, NtpTime rx, const ServerState& s,
                      std::uint32_t code) noexcept {
  NtpHeader h = response_header(p, rx, s);
  h.leap = 3;
  h.stratum = 0;
  h.root_delay = 0;
  h.root_dispersion = 0;
  h.refid = code;
  h.reference = 0;
  return h;
}

}  // namespace

void detail::HeaderTemplate::update(const ServerState& state, bool nak) noexcept {
  if (ready_ && same_state(state, built_for_)) return;
  // Version 0, poll 0, zero timestamps: the per-packet fields, filled in by write().
  detail::Parsed none{};
  none.hdr.version = 0;
  write_header(nak ? kiss_header(none, 0, state, kKissNtsNak) : response_header(none, 0, state),
               bytes_);
  built_for_ = state;
  ready_ = true;
}

Outcome Server::handle_request(Bytes req, NtpTime rx, const ServerState& state,
                               const crypto::KeyRing* ring, TxClock& clock, Random& rng,
                               MutBytes out) noexcept {
  const Request r{req, rx, out};
  Outcome o;
  run_chunk({&r, 1}, state, ring, clock, rng, {&o, 1}, nullptr);
  return o;
}

Outcome Server::handle_request(const Request& req, const ServerState& state, const crypto::KeyRing* ring,
                               TxClock& clock, Random& rng, xleave::Table* xleave) noexcept {
  Outcome o;
  run_chunk({&req, 1}, state, ring, clock, rng, {&o, 1}, xleave);
  return o;
}

void Server::handle_burst(std::span<const Request> reqs, const ServerState& state,
                          const crypto::KeyRing* ring, TxClock& clock, Random& rng,
                          std::span<Outcome> outcomes, xleave::Table* xleave) noexcept {
  const std::size_t n = std::min(reqs.size(), outcomes.size());
  for (std::size_t i = 0; i < n; i += kMaxBurst) {
    const std::size_t m = std::min(kMaxBurst, n - i);
    run_chunk(reqs.subspan(i, m), state, ring, clock, rng, outcomes.subspan(i, m), xleave);
  }
}

namespace {

// One chunk of at most kMaxBurst requests on its way through the phases; each
// phase is one method, each crypto phase one engine call over `ops`.
class Chunk {
 public:
  Chunk(Server::Scratch& sc, crypto::SivEngine& eng, std::span<const Request> reqs,
        const crypto::KeyRing* ring, xleave::Table* xleave) noexcept
      : sc_(sc), eng_(eng), reqs_(reqs), ring_(ring), xleave_(xleave) {}

  // Phase 1: structure, and set up the cookie opens (RFC 8915 §5.7 step 1).
  void classify() noexcept;
  // Phase 2: open every cookie in one engine call.
  void open_cookies() noexcept;
  // Phase 3: verify every authenticator with its C2S key (RFC 8915 §5.6:
  // AD = the packet before the Authenticator EF, then the nonce).
  void verify() noexcept;
  // Phase 4: sizes, random bytes (packet order: cookie nonces, then the
  // response nonce), and the new cookies' seal jobs.
  void prepare_seals(Random& rng) noexcept;
  // Phase 5: seal every new cookie, before T3 is read (RFC 8915 §5.7, DESIGN §1).
  void seal_cookies() noexcept;
  // Phase 6: stamp T3 as late as possible and write everything but the
  // response ciphertext.
  void write(const ServerState& state, TxClock& clock) noexcept;
  // Phase 7: seal every response with its S2C key.
  void seal_responses() noexcept;
  void finish(std::span<Outcome> outcomes, ReasonCounters& counters,
              InterleavedCounters& xcounters) noexcept;

 private:
  void add_op(std::size_t slot) noexcept { sc_.owner[nops_++] = static_cast<std::uint16_t>(slot); }
  // Runs ops[0, nops) and marks the owners of failed ops with `fail`.
  void run(bool seal, Reason fail) noexcept;
  void write_nts(Slot& s, const Request& r) noexcept;
  // Interleaved mode, phase 1: does the request look interleaved? If so, its
  // address's tag, and both its table buckets on their way into the cache.
  void look_interleaved(Slot& s, const Request& r) noexcept;
  // Interleaved mode: the header of an answer, with the table's take/save.
  void write_interleaved(Slot& s, const Request& r, const detail::HeaderTemplate& t,
                         TxClock& clock) noexcept;

  Server::Scratch& sc_;
  crypto::SivEngine& eng_;
  std::span<const Request> reqs_;
  const crypto::KeyRing* ring_;
  xleave::Table* xleave_;
  std::size_t nops_ = 0;
};

void Chunk::run(bool seal, Reason fail) noexcept {
  if (nops_ == 0) return;
  const std::span<const crypto::SivOp> ops(sc_.ops.data(), nops_);
  const std::span<crypto::SivStatus> st(sc_.status.data(), nops_);
  if (seal) {
    eng_.seal(ops, st);
  } else {
    eng_.open(ops, st);
  }
  // Statuses are single bytes and kOk is 0: eight at a time, so that a
  // burst whose ops all succeeded costs a load and a test per eight ops.
  static_assert(sizeof(crypto::SivStatus) == 1 && crypto::SivStatus::kOk == crypto::SivStatus{});
  const auto mark = [&](std::size_t k) {
    if (st[k] != crypto::SivStatus::kOk) sc_.slots[sc_.owner[k]].reason = fail;
  };
  std::size_t k = 0;
  for (; k + 8 <= nops_; k += 8) {
    std::uint64_t eight;
    std::memcpy(&eight, st.data() + k, sizeof eight);
    if (eight != 0)
      for (std::size_t j = k; j < k + 8; ++j) mark(j);
  }
  for (; k < nops_; ++k) mark(k);
}

// Classify is the first to read a request's bytes, which are rarely in L1:
// a NIC wrote them, or (in process) the rest of the last burst pushed them
// out. Without this every EF header the parse reads waits for its line.
// A prefetch never faults; the length is capped as classify caps it.
void prefetch_request(Bytes req) noexcept {
  const std::size_t n = std::min(req.size(), kMaxPacketLen);
  for (std::size_t off = 0; off < n; off += 64) __builtin_prefetch(req.data() + off, 0, 3);
}

// How many requests ahead of the parse the prefetches run.
constexpr std::size_t kPrefetchAhead = 4;

void Chunk::classify() noexcept {
  nops_ = 0;
  const bool have_ring = ring_ != nullptr && !ring_->empty();
  for (std::size_t i = 0; i < std::min(kPrefetchAhead, reqs_.size()); ++i)
    prefetch_request(reqs_[i].bytes);
  for (std::size_t i = 0; i < reqs_.size(); ++i) {
    if (i + kPrefetchAhead < reqs_.size()) prefetch_request(reqs_[i + kPrefetchAhead].bytes);
    Slot& s = sc_.slots[i];
    s.reason = detail::classify(reqs_[i].bytes, s.p);
    s.xleave_looked = s.interleaved = false;
    s.miss = xleave::Miss::kNone;
    s.ticket = xleave::kNoTicket;
    if (xleave_ != nullptr) look_interleaved(s, reqs_[i]);
    if (!is_nts_pending(s.reason)) continue;
    if (!have_ring) {
      s.reason = Reason::kNoKeyRing;
      continue;
    }
    // The op is written where the engine reads it (no SivOp copies).
    switch (crypto::set_open_op(*ring_, s.p.cookie, s.plain.data(), sc_.ops[nops_])) {
      case crypto::CookieStatus::kOk:
        s.open_len = static_cast<std::uint8_t>(sc_.ops[nops_].out.size());
        add_op(i);
        break;
      case crypto::CookieStatus::kUnknownKeyId:
        s.reason = Reason::kCookieUnknownKey;
        break;
      default:
        s.reason = Reason::kCookieBad;
        break;
    }
  }
}

void Chunk::open_cookies() noexcept {
  run(false, Reason::kCookieBad);
  for (std::size_t k = 0; k < nops_; ++k) {
    Slot& s = sc_.slots[sc_.owner[k]];
    if (s.reason == Reason::kOkNts &&
        !crypto::keys_from_plain(Bytes(s.plain.data(), s.open_len), s.keys))
      s.reason = Reason::kCookieBad;
  }
}

void Chunk::verify() noexcept {
  nops_ = 0;
  std::size_t arena = 0;
  for (std::size_t i = 0; i < reqs_.size(); ++i) {
    Slot& s = sc_.slots[i];
    if (!is_nts_pending(s.reason)) continue;
    // A 12-byte nonce without padding to 16 is N_REQ of GCM-SIV only
    // (RFC 8915 §5.6; classify let it through before the AEAD was known).
    if (!s.p.auth.reaches_16 && !crypto::aead_is_gcm_siv(s.keys.c2s.aead())) {
      s.reason = Reason::kAuthMalformed;
      continue;
    }
    // Fits: the ciphertext is inside a request of at most kMaxPacketLen bytes.
    const std::size_t plain = s.p.auth.ciphertext.size() - crypto::kSivTagLen;
    crypto::set_aead_op(sc_.ops[nops_], s.keys.c2s, reqs_[i].bytes.first(s.p.auth_offset),
                        s.p.auth.nonce, s.p.auth.ciphertext,
                        MutBytes(sc_.req_arena).subspan(arena, plain));
    arena += plain;
    add_op(i);
  }
  run(false, Reason::kAuthFailed);
}

// Copies `n` bytes (a multiple of 4, as every EF length is) front to back,
// each piece loaded before it is stored: right for disjoint buffers and for
// dst < src, the only overlap there is (the UID moving forward in place).
// The echo is ~36 bytes; this avoids a memmove call per packet.
void copy_forward(std::uint8_t* dst, const std::uint8_t* src, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    std::uint8_t piece[16];
    std::memcpy(piece, src + i, 16);
    std::memcpy(dst + i, piece, 16);
  }
  for (; i + 4 <= n; i += 4) {
    std::uint8_t piece[4];
    std::memcpy(piece, src + i, 4);
    std::memcpy(dst + i, piece, 4);
  }
}

// Response length for a slot's verdict (RFC 8915 §5.7 for the NTS ones).
// New cookies are sealed under the current master key, whose algorithm sets
// their nonce length (crypto/cookie.hpp); the response nonce is the
// session AEAD's (16 bytes for AES-SIV, 12 for GCM-SIV).
std::uint16_t response_len(Slot& s, Verdict v, crypto::AeadId master) noexcept {
  if (s.reason == Reason::kOkPlain) return kHeaderLen;
  // A NAK is the header and the Unique Identifier echoed, nothing else.
  if (v == Verdict::kNak) return static_cast<std::uint16_t>(kHeaderLen + s.p.uid_len);
  const crypto::AeadId aead = s.keys.c2s.aead();
  s.cookie_len = static_cast<std::uint16_t>(crypto::cookie_len(aead, master));
  s.plain_len = static_cast<std::uint16_t>(pad4(kEfHeaderLen + s.cookie_len) * s.p.new_cookies);
  return static_cast<std::uint16_t>(
      kHeaderLen + s.p.uid_len +
      auth_ef_len(crypto::aead_nonce_len(aead), crypto::kSivTagLen + s.plain_len));
}

void Chunk::prepare_seals(Random& rng) noexcept {
  nops_ = 0;
  std::size_t nanswer = 0;
  std::size_t nrandom = 0;
  // The current master key's AEAD sizes the new cookies; only NTS answers,
  // which need a ring, ask for it.
  const crypto::AeadId master =
      ring_ != nullptr ? ring_->current().aead() : crypto::AeadId::kSivCmac256;
  for (std::size_t i = 0; i < reqs_.size(); ++i) {
    Slot& s = sc_.slots[i];
    const Request& r = reqs_[i];
    const Verdict v = reason_verdict(s.reason);
    if (v == Verdict::kDrop) continue;
    s.resp_len = response_len(s, v, master);
    // Anti-amplification (RFC 8915 §5.7, RFC 7822 §7): never answer with more bytes.
    if (s.resp_len > r.bytes.size()) {
      s.reason = Reason::kResponseTooLarge;
      continue;
    }
    if (s.resp_len > r.out.size()) {
      s.reason = Reason::kOutTooSmall;
      continue;
    }
    if (s.reason != Reason::kOkNts) continue;
    s.random_off = static_cast<std::uint16_t>(nrandom);
    nrandom += s.p.new_cookies * crypto::kCookieNonceLen + kNonceLen;
    sc_.answering[nanswer++] = static_cast<std::uint16_t>(i);
  }
  if (nanswer == 0) return;  // (else there is a ring: every NTS answer opened a cookie)
  rng.fill(MutBytes(sc_.random.data(), nrandom));
  // New cookies are sealed under the current master key (RFC 8915 §6).
  const crypto::CookieSealer sealer(ring_->current());
  std::size_t arena = 0;
  for (std::size_t a = 0; a < nanswer; ++a) {
    const std::size_t i = sc_.answering[a];
    Slot& s = sc_.slots[i];
    const std::size_t ef_len = pad4(kEfHeaderLen + s.cookie_len);
    const std::size_t pad = ef_len - kEfHeaderLen - s.cookie_len;
    const Bytes keys(s.plain.data(), s.open_len);  // C2S || S2C, as the cookie opened
    const std::uint8_t* nonce = sc_.random.data() + s.random_off;
    s.resp_plain = sc_.resp_arena.data() + arena;  // ≤ kMaxNewCookies EFs of ≤ kMaxCookieLen
    arena += s.plain_len;
    // The NTS Cookie EF's type and length (RFC 8915 §5.7, RFC 7822 §3) in one store.
    const std::uint32_t ef_head =
        std::uint32_t{kEfCookie} << 16 | static_cast<std::uint32_t>(ef_len);
    for (std::size_t c = 0; c < s.p.new_cookies; ++c) {
      std::uint8_t* ef = s.resp_plain + c * ef_len;
      detail::put32(ef, ef_head);
      if (pad != 0) std::memset(ef + kEfHeaderLen + s.cookie_len, 0, pad);
      if (!sealer.usable() ||
          !sealer.set_op(keys, nonce + c * crypto::kCookieNonceLen,
                         MutBytes(ef + kEfHeaderLen, s.cookie_len), sc_.ops[nops_])) {
        s.reason = Reason::kInternal;
        break;
      }
      add_op(i);
    }
  }
}

void Chunk::seal_cookies() noexcept {
  run(true, Reason::kInternal);
}

void Chunk::write(const ServerState& state, TxClock& clock) noexcept {
  nops_ = 0;
  // The state is the chunk's: check the templates against it once, not per packet.
  sc_.resp_header.update(state, false);
  sc_.nak_header.update(state, true);
  for (std::size_t i = 0; i < reqs_.size(); ++i) {
    Slot& s = sc_.slots[i];
    const Request& r = reqs_[i];
    const Verdict v = reason_verdict(s.reason);
    if (v == Verdict::kDrop) continue;
    const detail::HeaderTemplate& t = v == Verdict::kNak ? sc_.nak_header : sc_.resp_header;
    if (xleave_ != nullptr && v == Verdict::kRespond) {
      write_interleaved(s, r, t, clock);
    } else {
      t.write(s.p, r.rx, clock.now(), r.out.data());
    }
    if (s.reason == Reason::kOkPlain) continue;
    std::uint8_t* p = r.out.data() + kHeaderLen;
    // In place (out == request) the UID is already where it belongs. Nothing
    // of the request is read after this phase starts, which is what makes
    // answering in the request's own buffer safe.
    if (p != r.bytes.data() + s.p.uid_offset)
      copy_forward(p, r.bytes.data() + s.p.uid_offset, s.p.uid_len);  // may overlap in place
    if (v == Verdict::kNak) continue;
    write_nts(s, r);
    add_op(i);
  }
}

// RFC 9769 §2 and chrony's ntp_core.c (NCR_ProcessRxUnknown, transmit_packet):
//  - every answer's receive timestamp has the low bit set and its transmit
//    timestamp the low bit clear, so a request can echo one of our receive
//    timestamps as its origin only if that origin has the bit set: requests
//    without it (basic clients echo our transmit, or send 0) never touch the
//    table, so basic clients cost no memory;
//  - an NTPv4 request with such an origin and receive != transmit looks
//    interleaved: the table is asked for (client address, origin). Found with
//    a TX time: origin = the request's receive field, receive = this T2,
//    transmit = the previous response's TX time. Else a basic answer, and why;
//  - such a request's response is saved (address, T2), so that its TX time
//    can answer the next one. A client's first interleaved request (origin =
//    the receive timestamp of a basic answer) therefore gets a basic answer
//    too, and its third request the first interleaved one, as with chrony.
void Chunk::look_interleaved(Slot& s, const Request& r) noexcept {
  const detail::RequestHeader& h = s.p.hdr;
  const bool answerable = s.reason == Reason::kOkPlain || s.reason == Reason::kOkNts;
  if (!answerable || h.version != 4 || (h.origin & 1) == 0 || h.receive == h.transmit) return;
  s.xleave_looked = true;
  s.xleave_tag = xleave_->tag(r.client);
  xleave_->prefetch(s.xleave_tag, h.origin);  // the take
  xleave_->prefetch(s.xleave_tag, r.rx | 1);  // the save
}

void Chunk::write_interleaved(Slot& s, const Request& r, const detail::HeaderTemplate& t,
                              TxClock& clock) noexcept {
  const NtpTime rx = r.rx | 1;
  const detail::RequestHeader& h = s.p.hdr;
  if (!s.xleave_looked) {
    t.write(s.p, rx, clock.now() & ~NtpTime{1}, r.out.data());
    return;
  }
  const std::uint64_t tag = s.xleave_tag;
  const xleave::Table::Taken got = xleave_->take(tag, r.port, h.origin);
  s.miss = got.miss;
  s.ticket = xleave_->save(tag, r.port, rx);
  if (got.miss == xleave::Miss::kNone) {
    s.interleaved = true;
    t.write(s.p, h.receive, rx, got.tx & ~NtpTime{1}, r.out.data());
  } else {
    t.write(s.p, rx, clock.now() & ~NtpTime{1}, r.out.data());
  }
}

// The Authenticator and Encrypted EF (RFC 8915 §5.6) with the session
// AEAD's nonce (16 bytes, or 12 for GCM-SIV, whose N_REQ is 12: no additional
// padding either way), and its seal op: AD = the response before it, then
// the nonce.
void Chunk::write_nts(Slot& s, const Request& r) noexcept {
  const std::size_t auth_off = kHeaderLen + s.p.uid_len;
  const std::size_t ct_len = crypto::kSivTagLen + s.plain_len;
  const std::size_t nonce_len = crypto::aead_nonce_len(s.keys.s2c.aead());
  std::uint8_t* p = r.out.data() + auth_off;
  // EF type and length, then the body's nonce and ciphertext lengths: one store.
  detail::put64(p, std::uint64_t{kEfAuthenticator} << 48 |
                       std::uint64_t{static_cast<std::uint16_t>(s.resp_len - auth_off)} << 32 |
                       std::uint64_t{nonce_len} << 16 | std::uint64_t{ct_len});
  // The response nonce follows the slot's cookie nonces in the burst's random
  // bytes (16 drawn; GCM-SIV uses the first 12, and the 4 bytes more copied
  // here are overwritten by the ciphertext the seal phase writes after them).
  std::memcpy(p + 8, sc_.random.data() + s.random_off + s.p.new_cookies * crypto::kCookieNonceLen,
              kNonceLen);
  const Bytes out_all(r.out.data(), r.out.size());
  crypto::set_aead_op(sc_.ops[nops_], s.keys.s2c, out_all.first(auth_off),
                      out_all.subspan(auth_off + 8, nonce_len), Bytes(s.resp_plain, s.plain_len),
                      r.out.subspan(auth_off + 8 + nonce_len, ct_len));
}

void Chunk::seal_responses() noexcept {
  run(true, Reason::kInternal);
}

void Chunk::finish(std::span<Outcome> outcomes, ReasonCounters& counters,
                   InterleavedCounters& xcounters) noexcept {
  for (std::size_t i = 0; i < reqs_.size(); ++i) {
    Slot& s = sc_.slots[i];
    const Verdict v = reason_verdict(s.reason);
    outcomes[i] = Outcome{v, s.reason, v == Verdict::kDrop ? std::uint16_t{0} : s.resp_len};
    ++counters.n[static_cast<std::size_t>(s.reason)];
    if (s.xleave_looked && v == Verdict::kRespond) {
      outcomes[i].interleaved = s.interleaved;
      outcomes[i].tx_ticket = s.ticket;
      if (s.interleaved) {
        ++xcounters.answers;
      } else {
        ++xcounters.basic[static_cast<std::size_t>(s.miss)];
      }
    }
    // Session keys (RFC 8915 §6) must not outlive the burst in scratch the
    // next burst may not reuse: the opened cookie and the keys out of it.
    if (s.open_len != 0) {
      // A constant size (64 covers AEAD 15's two 32-byte keys) compiles to a
      // few vector stores; a variable one became a rep stos.
      if (s.open_len <= 64) {
        crypto::secure_wipe(s.plain.data(), 64);
      } else {
        crypto::secure_wipe(s.plain.data(), s.plain.size());
      }
      s.open_len = 0;
    }
    if (!s.keys.c2s.empty()) {
      s.keys.c2s.wipe();
      s.keys.s2c.wipe();
    }
  }
}

}  // namespace

void Server::run_chunk(std::span<const Request> reqs, const ServerState& state,
                       const crypto::KeyRing* ring, TxClock& clock, Random& rng,
                       std::span<Outcome> outcomes, xleave::Table* xleave) noexcept {
  Chunk c(*scratch_, *engine_, reqs, ring, xleave);
  c.classify();
  c.open_cookies();
  c.verify();
  c.prepare_seals(rng);
  c.seal_cookies();
  c.write(state, clock);
  c.seal_responses();
  c.finish(outcomes, counters_, xleave_counters_);
}

Outcome Server::kiss(Bytes req, NtpTime rx, const ServerState& state, TxClock& clock,
                     MutBytes out) noexcept {
  detail::Parsed p;
  Reason r = detail::classify(req, p);
  if (r == Reason::kOkPlain || r == Reason::kOkNts) {
    r = out.size() < kHeaderLen ? Reason::kOutTooSmall : Reason::kRateLimited;
  }
  ++counters_.n[static_cast<std::size_t>(r)];
  if (r != Reason::kRateLimited) return Outcome{Verdict::kDrop, r, 0};
  NtpHeader h = kiss_header(p, rx, state, kKissRate);
  h.transmit = clock.now();
  write_header(h, out);
  return Outcome{Verdict::kKod, r, static_cast<std::uint16_t>(kHeaderLen)};
}

}  // namespace ntsd::proto
