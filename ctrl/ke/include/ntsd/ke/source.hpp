// ntsd-ke's request handling: an NTS-KE server (RFC 8915 §4) that is also a
// time source for NTS pools (draft-ietf-ntp-nts-keyexchange-pool-00 with
// ntpd-rs 1.9's code points; docs/pool.md):
//
//   ordinary request   -> cookies for keys exported from this TLS session
//   support query      -> Supported Algorithm / Next Protocol List (token)
//   Fixed Key Request  -> cookies for the keys in the request (token)
//   Keep Alive         -> echoed, and the connection kept, for a pool with a
//                         valid token while under the cap; such a connection
//                         never exports keys (an ordinary request on it gets
//                         Error 1, then close)
//
// Every refusal is an Error record followed by close: Error 1 for a
// malformed request, a missing or wrong token, a wrong key length, several
// or unsupported AEADs; Error 0 for an unknown critical record.
#pragma once

#include <memory>

#include "ntsd/ke/server.hpp"

namespace ntsd::ke {

// Uses opt.aeads, cookies, ntp_server, ntp_port, on_session, pool_tokens.
std::shared_ptr<RequestHandler> make_time_source_handler(const ServerOptions& opt, RingSource ring,
                                                         ServerStats& stats);

}  // namespace ntsd::ke
