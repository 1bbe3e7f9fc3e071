// NTS requests and their verification (RFC 8915 §5.7), on the protocol core's
// client API. Sessions are used round robin; each request takes one cookie
// from its session's jar and asks for 1 + placeholders fresh ones, and the
// fresh cookies of verified responses go back into the jar.
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
};

// `sessions` must outlive the codec. Fails (null) if there are no sessions or a
// session has no cookie.
std::unique_ptr<Codec> make_nts_codec(std::vector<Session>& sessions, const NtsCodecOptions& opt,
                                      std::size_t tracker_slots);

}  // namespace ntsgen
