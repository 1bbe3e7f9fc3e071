// `ntsgen ke-load`: NTS-KE handshakes per second against any NTS-KE server or
// NTS pool (ntsd-ke, ntsd-pool, chrony, ntpsec), through ctrl's client. Each
// exchange is a full TCP connect + TLS 1.3 handshake + request + cookies +
// key export; bounded in time.
//
//   ntsgen ke-load HOST[:PORT] --ca FILE [--threads N] [--seconds S]
//                  [--aead ID[,ID]] [--deny NAME]... [--timeout MS]
//
// Prints "handshakes N errors E seconds S rate R/s", then the first error,
// the errors by kind, and for a pool how the users were spread over the NTP
// servers it named ("servers: a.test 51.2 %, b.test 48.8 %").
// Exit status: 0 if any handshake succeeded, 1 usage, 2 none did.
#pragma once

namespace ntsgen {

int ke_load_main(int argc, char** argv);  // argv[0] is the command name

}  // namespace ntsgen
