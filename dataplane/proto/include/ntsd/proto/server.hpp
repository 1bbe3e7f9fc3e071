// The sans-IO NTP/NTS server (RFC 5905, RFC 7822, RFC 8915 §5).
//
// Request bytes + receive timestamp + server state + key ring in; response
// bytes (never longer than the request) + verdict out. No I/O, no clock reads
// (the transmit clock is injected), no allocation, locks or syscalls per
// packet. One Server per worker thread: it owns its AES-SIV engine and the
// scratch for a burst of kMaxBurst requests.
//
// Order of work per NTS request (RFC 8915 §5.7, docs/protocol.md):
//   parse → open cookie (key ring) → verify authenticator (C2S) →
//   draw random (cookie nonces, then response nonce) → seal new cookies →
//   read T3 from TxClock → seal response (S2C).
// handle_burst does the same steps phase by phase for the whole burst, each
// crypto phase in one engine call. The random bytes of all the packets are
// drawn in one Random::fill call, in packet order, and TxClock::now() is
// called once per answered packet in packet order, so a burst is
// byte-identical to the same requests handled one by one.
//
// Interleaved mode (RFC 9769 §2, docs/protocol.md "Interleaved mode"): given
// an xleave::Table, the server stamps its receive timestamps with the low bit
// set and its transmit timestamps with it clear (chrony's flag, so that only
// a request whose origin has the bit set can be one that echoes a receive
// timestamp), looks up a request that looks interleaved in the table, and
// answers it with origin = the request's receive field and transmit = the
// actual TX time of the previous response; else a basic answer. The table
// operations happen in phase 6 in packet order, so single and burst stay
// identical for the same table state.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>

#include "ntsd/crypto/cookie.hpp"
#include "ntsd/crypto/keyring.hpp"
#include "ntsd/crypto/siv.hpp"
#include "ntsd/proto/wire.hpp"
#include "ntsd/xleave/table.hpp"

namespace ntsd::proto {

// What the server says about itself in every response (RFC 5905 §7.3).
struct ServerState {
  std::uint8_t leap = 3;  // 3 = unsynchronised until the clock says otherwise
  std::uint8_t stratum = 16;
  std::int8_t precision = -20;
  std::uint32_t root_delay = 0;       // NTP short 16.16
  std::uint32_t root_dispersion = 0;  // NTP short 16.16
  std::uint32_t refid = 0;
  NtpTime reference_time = 0;
};

// The transmit clock, read as late as possible (after the new cookies are sealed).
class TxClock {
 public:
  virtual ~TxClock() = default;
  virtual NtpTime now() noexcept = 0;
};

// Randomness for nonces (response nonce, cookie nonces, client unique ids).
// Must be cryptographically strong in production (the workers' is
// runtime::WorkerRandom, a fast-key-erasure generator that rekeys per call).
// The server draws the nonces of a whole burst in one call (one virtual call
// per burst, not two per packet); with a Random that is a byte stream
// (fill(a) then fill(b) gives the bytes of fill(a + b), as the tests' seeded
// one is), a burst is byte-identical to its requests handled one by one.
class Random {
 public:
  virtual ~Random() = default;
  virtual void fill(MutBytes out) noexcept = 0;
};

enum class Verdict : std::uint8_t {
  kRespond,  // `len` response bytes are in the out buffer
  kNak,      // an NTS NAK (KoD NTSN, RFC 8915 §5.7) of `len` bytes is in the out buffer
  kKod,      // another Kiss-o'-Death (e.g. RATE) of `len` bytes is in the out buffer
  kDrop,     // send nothing
};

// Why. A closed set; reason_name() gives stable snake_case metric labels.
// docs/protocol.md has the table with the RFC section behind each one.
enum class Reason : std::uint8_t {
  kOkPlain,            // respond: plain NTPv3/v4 client request
  kOkNts,              // respond: authenticated NTS request
  kTooShort,           // drop: fewer than 48 bytes
  kTooLong,            // drop: more than kMaxPacketLen bytes
  kBadVersion,         // drop: version not 1..4 (NTS needs 4)
  kNotClientMode,      // drop: mode != 3 (never answer a response, RFC 5905 §9.2)
  kBadEfLength,        // drop: EF length < 16 or not a multiple of 4 (RFC 7822 §3)
  kEfTruncated,        // drop: EF runs past the end of the packet
  kTooManyEfs,         // drop: more than kMaxEfs EFs
  kMacUnsupported,     // drop: legacy symmetric-key MAC (RFC 5905 §7.3); not served
  kMissingUid,         // drop: NTS EFs but no Unique Identifier (RFC 8915 §5.3)
  kShortUid,           // drop: Unique Identifier shorter than 32 bytes
  kDuplicateUid,       // drop: more than one Unique Identifier
  kMissingCookie,      // drop: no NTS Cookie EF (RFC 8915 §5.7)
  kMultipleCookies,    // drop: more than one NTS Cookie EF (RFC 8915 §5.7)
  kPlaceholderLength,  // drop: a placeholder not as long as the cookie (RFC 8915 §5.5)
  kAuthMissing,        // drop: no Authenticator EF (RFC 8915 §5.7)
  kAuthMalformed,      // drop: bad nonce/ciphertext lengths or padding (RFC 8915 §5.6)
  kAuthNotLast,        // drop: NTS EFs after the Authenticator (unauthenticated, §5.6)
  kNoKeyRing,          // NAK: an NTS request but no key ring loaded yet
  kCookieUnknownKey,   // NAK: cookie key id not in the ring (RFC 8915 §5.7)
  kCookieBad,          // NAK: cookie did not open (forged, corrupt, bad length)
  kAuthFailed,         // NAK: authenticator did not verify with C2S (RFC 8915 §5.7)
  kResponseTooLarge,   // drop: response would be longer than the request (anti-amplification)
  kOutTooSmall,        // drop: caller's out buffer too small for the response
  kRateLimited,        // KoD: the caller asked for a RATE kiss (Server::kiss)
  kInternal,           // drop: a cookie or response seal failed (bad current key)
  kCount,
};
inline constexpr std::size_t kReasonCount = static_cast<std::size_t>(Reason::kCount);

const char* reason_name(Reason r) noexcept;
// The verdict a reason always leads to (inline: the burst loop asks per phase).
constexpr Verdict reason_verdict(Reason r) noexcept {
  switch (r) {
    case Reason::kOkPlain:
    case Reason::kOkNts: return Verdict::kRespond;
    case Reason::kNoKeyRing:
    case Reason::kCookieUnknownKey:
    case Reason::kCookieBad:
    case Reason::kAuthFailed: return Verdict::kNak;
    case Reason::kRateLimited: return Verdict::kKod;
    default: return Verdict::kDrop;
  }
}

struct Outcome {
  Verdict verdict = Verdict::kDrop;
  Reason reason = Reason::kTooShort;
  std::uint16_t len = 0;  // response bytes written to the out buffer (0 on drop)
  // Interleaved mode (only with a table): the transmit timestamp is the TX
  // time of the client's previous response (RFC 9769 §2), not this one's T3.
  bool interleaved = false;
  // Where this response's actual TX time goes (xleave::Table::set_tx), for
  // the client's next, interleaved request; kNoTicket when nobody will ask.
  xleave::Ticket tx_ticket = xleave::kNoTicket;
};

// Per worker; plain counters, no atomics (readers snapshot between bursts).
struct ReasonCounters {
  std::array<std::uint64_t, kReasonCount> n{};
  std::uint64_t operator[](Reason r) const noexcept { return n[static_cast<std::size_t>(r)]; }
};

// Interleaved mode, over answered requests (per worker, like ReasonCounters).
struct InterleavedCounters {
  std::uint64_t answers = 0;  // interleaved answers
  // Basic answers to requests that looked interleaved, by why (index
  // xleave::Miss; kNone stays 0).
  std::array<std::uint64_t, xleave::kMissCount> basic{};
};

// One request of a burst. `out` should be at least bytes.size() long (the
// response is never longer than the request). It may be the request's own
// buffer (out.data() == bytes.data(): answer in place, e.g. in the same mbuf)
// but must not otherwise overlap it or any other request of the burst.
struct Request {
  Bytes bytes;
  NtpTime rx = 0;  // T2, taken as early as possible by the adapter
  MutBytes out;
  // Who sent it; read only in interleaved mode (a table is passed).
  limit::Address client{};
  std::uint16_t port = 0;
};

// Most new cookies one response carries (one per cookie and per placeholder;
// extra placeholders beyond this are ignored, as chrony does).
inline constexpr std::size_t kMaxNewCookies = 8;

class Server {
 public:
  static constexpr std::size_t kMaxBurst = 64;  // longer bursts are done in chunks

  explicit Server(std::unique_ptr<crypto::SivEngine> engine);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // One request. `ring` may be null (then NTS requests get a NAK, no_key_ring).
  Outcome handle_request(Bytes req, NtpTime rx, const ServerState& state,
                         const crypto::KeyRing* ring, TxClock& clock, Random& rng,
                         MutBytes out) noexcept;

  // N requests, N outcomes (outcomes.size() must be ≥ reqs.size(); extra
  // entries are untouched). All AES-SIV work of the burst runs through the
  // engine in one call per phase.
  // With `xleave` (interleaved mode on): see the file comment; the table is
  // read and written in packet order, nothing else about it is kept here.
  void handle_burst(std::span<const Request> reqs, const ServerState& state,
                    const crypto::KeyRing* ring, TxClock& clock, Random& rng,
                    std::span<Outcome> outcomes, xleave::Table* xleave = nullptr) noexcept;
  // One request, with its client for interleaved mode: a burst of one.
  Outcome handle_request(const Request& req, const ServerState& state, const crypto::KeyRing* ring,
                         TxClock& clock, Random& rng, xleave::Table* xleave) noexcept;

  // A RATE Kiss-o'-Death (RFC 5905 §7.4) for a plain or NTS request the
  // caller's rate limiter refused. For an NTS request the UID is not echoed and
  // nothing is authenticated: a client treats it as unauthenticated (RFC 8915 §5.7).
  // Drops what handle_request would drop for structural reasons.
  Outcome kiss(Bytes req, NtpTime rx, const ServerState& state, TxClock& clock,
               MutBytes out) noexcept;

  const ReasonCounters& counters() const noexcept { return counters_; }
  const InterleavedCounters& interleaved_counters() const noexcept { return xleave_counters_; }
  crypto::SivEngine& engine() noexcept { return *engine_; }

  struct Scratch;  // per-burst working memory, defined in the .cpp

 private:
  void run_chunk(std::span<const Request> reqs, const ServerState& state,
                 const crypto::KeyRing* ring, TxClock& clock, Random& rng,
                 std::span<Outcome> outcomes, xleave::Table* xleave) noexcept;

  std::unique_ptr<crypto::SivEngine> engine_;
  std::unique_ptr<Scratch> scratch_;
  ReasonCounters counters_{};
  InterleavedCounters xleave_counters_{};
};

}  // namespace ntsd::proto
