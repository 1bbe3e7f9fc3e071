// NTS-KE for the generator: many handshakes in parallel (RFC 8915 §4), each
// giving one session (C2S/S2C exported from TLS, and the server's cookies).
#pragma once

#include <string>
#include <vector>

#include "session.hpp"

namespace ntsgen {

struct KeOptions {
  std::string host;            // NTS-KE server; also the name its certificate must carry
  std::uint16_t port = 4460;
  std::string ca;              // PEM file of trusted CAs (empty: system store)
  unsigned sessions = 1;
  unsigned parallel = 8;       // handshakes at once
  double timeout_s = 5;
  // AEADs offered, in our order (--aead): 15 by default; "30,15" offers
  // AES-128-GCM-SIV first, with record 1024, as chrony >= 4.6 does.
  std::vector<std::uint16_t> aeads = {15, 17};
};

// Fills `out` with opts.sessions sessions. False (with err) if any handshake
// failed; the sessions that succeeded are still in `out`.
bool establish_sessions(const KeOptions& opts, std::vector<Session>& out, std::string& err);

}  // namespace ntsgen
