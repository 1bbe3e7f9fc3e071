// What a pool user receives for its time source's answer (sans-IO).
//
// The time source answered our Fixed Key Request with Next Protocol, AEAD,
// cookies and maybe Server, Port and Keep Alive. The user gets Next
// Protocol, AEAD, the cookies, the Server record (the time source's, else
// one naming it: pool draft "the pool ... MUST add such a record"), its Port
// if any, and End of Message. Keep Alive is ours, never the user's. The
// answer stays within `max_bytes` (4096, the bound ntpd-rs and nts-pool put
// on a message): cookies are dropped from the end to fit, at least one stays.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ntsd/ke/records.hpp"

namespace ntsd::pool {

inline constexpr std::size_t kMaxMessage = 4096;

struct Relay {
  bool ok = false;
  std::vector<std::uint8_t> out;
  std::string why;                  // !ok: what was wrong with the answer
  std::size_t cookies_dropped = 0;  // to fit max_bytes
};

// `r` is the time source's answer as parse_response_records read it (kOk);
// `protocol`/`aead` what we asked for. `compliant_gcm_siv`: the user sent
// record 1024 and its keys were exported with id 30, so the answer echoes
// it (with AEAD 30 only; chrony nts_ke_server.c prepare_response).
Relay relay_response(const ke::Response& r, std::uint16_t protocol, std::uint16_t aead,
                     std::string_view backend_name, bool compliant_gcm_siv = false,
                     std::size_t max_bytes = kMaxMessage);

// RFC 8915 §4.1.5 for any protocol: Next Protocol, an empty AEAD record.
std::vector<std::uint8_t> no_aead_response(std::uint16_t protocol);

}  // namespace ntsd::pool
