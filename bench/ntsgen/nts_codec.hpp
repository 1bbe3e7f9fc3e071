// NTS requests and their verification (RFC 8915 §5.7), on the protocol core's
// client API. Sessions are used round robin; each request takes one cookie
// from its session's jar and asks for 1 + placeholders fresh ones, and the
// fresh cookies of verified responses go back into the jar.
//
// With verify_every N > 1, one request in each group of N consecutive ones,
// chosen at random when the group starts (so that nothing in a request tells
// the server which answer will be opened), gets its response fully verified;
// the others get the cheap checks of nts_check.hpp. Their cookies stay
// sealed, so jars run dry and sessions reuse their last cookie (counted).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "codec.hpp"
#include "session.hpp"

namespace ntsgen {

struct NtsCodecOptions {
  std::uint8_t placeholders = 0;
  std::string engine = "best";  // AES-SIV engine: best | mb | scalar
  std::uint32_t verify_every = 1;  // fully verify one response in N (1: all)
};

// `sessions` must outlive the codec. Fails (null) if there are no sessions or a
// session has no cookie.
std::unique_ptr<Codec> make_nts_codec(std::vector<Session>& sessions, const NtsCodecOptions& opt,
                                      std::size_t tracker_slots);

}  // namespace ntsgen
