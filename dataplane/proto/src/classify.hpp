// Structural parse of a request (no crypto): header checks, RFC 7822 EF walk
// and the NTS EF rules of RFC 8915 §5.7. Shared by the server's single,
// burst and kiss paths so they can never disagree.
#pragma once

#include "ntsd/proto/server.hpp"

namespace ntsd::proto::detail {

struct Parsed {
  NtpHeader hdr;
  bool nts = false;
  Ef uid;
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
