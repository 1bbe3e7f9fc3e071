// The client side of NTP/NTS (RFC 5905 §8, RFC 8915 §5), used by the traffic
// generator and the tests: build requests, verify responses, compute offset
// and delay. Sans-IO like the server: the caller supplies timestamps and
// randomness, and all AES-SIV work of a burst runs through one engine call.
//
// An NTS request as built here (RFC 8915 §5.7):
//   header (48) | Unique Identifier EF (36) | Cookie EF (4 + cookie) |
//   n × Cookie Placeholder EF (4 + cookie) | Authenticator EF (empty plaintext:
//   40 bytes with a 16-byte AES-SIV nonce, 36 with GCM-SIV's 12-byte nonce)
// The AEAD is the C2S/S2C keys' (crypto::SivKey::aead()).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>

#include "ntsd/crypto/siv.hpp"
#include "ntsd/proto/server.hpp"
#include "ntsd/proto/wire.hpp"

namespace ntsd::proto {

inline constexpr std::size_t kClientUidLen = 32;

// What the client must remember about a request it sent, to check the answer.
struct PendingRequest {
  NtpTime t1 = 0;  // transmit timestamp written in the request (the origin the answer echoes)
  std::array<std::uint8_t, kClientUidLen> uid{};
  bool nts = false;
  // Interleaved mode (RFC 9769 §2): the receive field written in the
  // request, which an interleaved answer echoes as its origin. 0 = none.
  NtpTime receive = 0;
};

// Inputs for one NTS request. `c2s` must outlive the build call.
struct NtsRequestSpec {
  const crypto::SivKey* c2s = nullptr;
  Bytes cookie;
  std::uint8_t placeholders = 0;  // asks for 1 + placeholders new cookies
  NtpTime t1 = 0;
  std::int8_t poll = 0;
  // Interleaved mode (RFC 9769 §2): origin = the receive timestamp of the
  // server's last answer, receive = a value of the client's own that an
  // interleaved answer echoes (InterleavedAssociation gives both). 0 = basic.
  NtpTime origin = 0;
  NtpTime receive = 0;
};

enum class ClientStatus : std::uint8_t {
  kOk,
  kNak,             // KoD NTSN with our UID (RFC 8915 §5.7): get new cookies via NTS-KE
  kKod,             // another KoD; its code is in Response::refid
  kMalformed,       // too short, bad EFs, not mode 4
  kOriginMismatch,  // origin != our T1: not an answer to our request (RFC 5905 §8)
  kUidMismatch,     // NTS: UID missing or different
  kAuthMissing,     // NTS: no Authenticator EF
  kAuthFailed,      // NTS: did not verify with S2C
};
const char* client_status_name(ClientStatus s) noexcept;

// A verified response (RFC 5905 §8).
struct Response {
  ClientStatus status = ClientStatus::kMalformed;
  std::uint8_t leap = 0, version = 0, stratum = 0;
  std::int8_t poll = 0, precision = 0;
  std::uint32_t root_delay = 0, root_dispersion = 0, refid = 0;
  NtpTime reference = 0;
  NtpTime t1 = 0, t2 = 0, t3 = 0, t4 = 0;
  std::int64_t offset = 0;  // θ = ((T2 − T1) + (T3 − T4)) / 2, signed 32.32
  std::int64_t delay = 0;   // δ = (T4 − T1) − (T3 − T2), signed 32.32
  // Interleaved answer (RFC 9769 §2): its origin is the request's receive
  // field and t3 is the TX time of the server's previous answer, so t1..t4,
  // offset and delay above are not one exchange's:
  // InterleavedAssociation::sample() pairs t3 with the previous exchange.
  bool interleaved = false;
  // New cookies (NTS only). They point into the Client's scratch and stay
  // valid until the next verify call on the same Client.
  std::uint8_t cookie_count = 0;
  std::array<Bytes, kMaxNewCookies> cookies{};

  double offset_s() const noexcept { return ntp_seconds(offset); }
  double delay_s() const noexcept { return ntp_seconds(delay); }
};

// Plain NTP needs no engine and no state beyond PendingRequest.
// Returns 48, or 0 if `out` is too small. `origin` and `receive` are for
// interleaved mode (NtsRequestSpec says what they carry).
std::size_t build_plain_request(NtpTime t1, MutBytes out, PendingRequest& pending,
                                std::uint8_t version = 4, std::int8_t poll = 0, NtpTime origin = 0,
                                NtpTime receive = 0) noexcept;

// Verifies a plain (unauthenticated) response; T4 is the receive time.
Response verify_plain_response(Bytes resp, const PendingRequest& pending, NtpTime t4) noexcept;

// Length of the NTS request build_nts_request writes for this cookie length
// and session AEAD.
constexpr std::size_t nts_request_len(std::size_t cookie_len, std::size_t placeholders,
                                      crypto::AeadId aead = crypto::AeadId::kSivCmac256) noexcept {
  const std::size_t ef = kEfHeaderLen + ((cookie_len + 3) & ~std::size_t{3});
  return kHeaderLen + kEfHeaderLen + kClientUidLen + ef * (1 + placeholders) +
         auth_ef_len(crypto::aead_nonce_len(aead), crypto::kSivTagLen);
}

// One association in interleaved client/server mode (RFC 9769 §2), for a
// client with one request out at a time, as chrony's `xleave` does it:
//   request:  origin = the receive timestamp of the last answer (the
//             server's T2 of that exchange), receive = when that answer
//             arrived here (T4, never 0: an interleaved answer echoes it),
//             transmit = T1 of this request (a basic answer echoes it);
//   answer:   basic (origin = T1): a sample of this exchange;
//             interleaved (origin = our receive field): its transmit is the
//             actual TX time of the previous answer, so the sample is
//             (T1, T2, T4 of the previous exchange, T3 from this answer).
// Feed it every verified answer in order; a lost answer just means the next
// request is answered in basic mode (the server finds no match), after
// which the association is back in step.
class InterleavedAssociation {
 public:
  NtpTime next_origin() const noexcept { return have_prev_ ? prev_.t2 : 0; }
  NtpTime next_receive() const noexcept { return have_prev_ ? prev_.t4 : 0; }
  // `r` verified (kOk), answering the request sent at `t1` (as written in
  // it, or its actual TX time); sets `sample` and returns true when the
  // answer gives a sample (every basic answer; an interleaved one whose
  // previous exchange is known).
  bool update(const Response& r, NtpTime t1, Response& sample) noexcept;

 private:
  Response prev_{};
  bool have_prev_ = false;
};

class Client {
 public:
  static constexpr std::size_t kMaxBurst = 64;  // longer bursts are done in chunks

  explicit Client(std::unique_ptr<crypto::SivEngine> engine);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Builds one NTS request into `out`. Random use: UID (32 bytes), then the
  // authenticator nonce (16, or 12 for GCM-SIV). Returns the length, or 0 on
  // bad input (no key, empty cookie, out too small).
  std::size_t build_nts_request(const NtsRequestSpec& spec, Random& rng, MutBytes out,
                                PendingRequest& pending) noexcept;
  // Burst form: one engine call seals every authenticator. lens[i] is 0 on failure.
  void build_nts_burst(std::span<const NtsRequestSpec> specs, Random& rng,
                       std::span<const MutBytes> outs, std::span<PendingRequest> pending,
                       std::span<std::size_t> lens) noexcept;

  // Verifies an NTS response with S2C: mode 4, origin == T1, UID echoed,
  // Authenticator EF verifies (AD = bytes before it, then the nonce), and
  // extracts the new cookies. A KoD NTSN echoing our UID is kNak.
  Response verify_nts_response(Bytes resp, const PendingRequest& pending, const crypto::SivKey& s2c,
                               NtpTime t4) noexcept;

  // Burst form: one engine call opens every authenticator. Cookies of results[i]
  // point into scratch slot i, valid until the next verify call, so one call
  // takes at most kMaxBurst jobs: results past that are left kMalformed.
  struct VerifyJob {
    Bytes resp;
    const PendingRequest* pending = nullptr;
    const crypto::SivKey* s2c = nullptr;
    NtpTime t4 = 0;
  };
  void verify_nts_burst(std::span<const VerifyJob> jobs, std::span<Response> results) noexcept;

  struct Scratch;

 private:
  std::unique_ptr<crypto::SivEngine> engine_;
  std::unique_ptr<Scratch> scratch_;
};

}  // namespace ntsd::proto
