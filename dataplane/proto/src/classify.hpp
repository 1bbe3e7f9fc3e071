// Structural parse of a request (no crypto): header checks, RFC 7822 EF walk
// and the NTS EF rules of RFC 8915 §5.7. Shared by the server's single,
// burst and kiss paths so they can never disagree.
#pragma once

#include "ntsd/proto/server.hpp"

namespace ntsd::proto::detail {

// The request header fields an answer depends on (RFC 5905 §7.3, §9.2):
// the rest of the client's header is never read.
struct RequestHeader {
  std::uint8_t version = 0;
  Mode mode = Mode::kReserved;
  std::int8_t poll = 0;
  NtpTime transmit = 0;  // echoed as the origin timestamp
  // Interleaved mode (RFC 9769 §2): a request echoing one of our receive
  // timestamps as its origin gets its own receive field echoed instead.
  NtpTime origin = 0;
  NtpTime receive = 0;
};

struct Parsed {
  RequestHeader hdr;
  std::uint16_t uid_offset = 0;  // the Unique Identifier EF, header included (echoed whole)
  std::uint16_t uid_len = 0;
  Bytes cookie;
  std::uint8_t new_cookies = 0;  // 1 + placeholders, capped at kMaxNewCookies
  std::uint16_t auth_offset = 0;
  AuthBody auth;
};

// kOkPlain, kOkNts or a drop reason.
Reason classify(Bytes req, Parsed& p) noexcept;

// RFC 5905 §7.3 poll bounds a response echoes within.
inline constexpr std::int8_t kMinPoll = -7;
inline constexpr std::int8_t kMaxPoll = 17;

}  // namespace ntsd::proto::detail
