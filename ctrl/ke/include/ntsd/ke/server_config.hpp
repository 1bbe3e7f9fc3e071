// The NTS-KE server's options from the configuration's [ke] table, in one
// place for both programs that serve NTS-KE: ntsd-ke (a time source) and
// ntsd-pool (the users' side of a pool, docs/pool.md).
#pragma once

#include "ntsd/config/config.hpp"
#include "ntsd/ke/server.hpp"

namespace ntsd::ke {

// What the server is. Both take the users' side of [ke] alike: listeners,
// certificate, threads, connection slots and their protection (issue 20),
// the per-source rate limit and the request bound.
//  - kTimeSource (ntsd-ke): also the records only a time source sends (NTPv4
//    Server and Port, its AEADs, the cookie count) and the Keep Alive bound
//    for pools that fetch cookies from it.
//  - kPoolFrontEnd (ntsd-pool): the records come from the time source the
//    pool picks; users never keep a connection.
enum class ServerRole { kTimeSource, kPoolFrontEnd };

ServerOptions server_options(const config::KeConfig& k, ServerRole role);

}  // namespace ntsd::ke
