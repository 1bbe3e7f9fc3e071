// `ntsgen query` / `ntsd-query`: NTS-KE, then one authenticated NTP exchange
// over UDP; prints the negotiated AEAD, the cookies received, the server's
// stratum, offset and delay.
//
//   query HOST[:PORT] [--ca FILE] [--socks5 HOST:PORT] [--timeout MS]
//                     [--aead ID[,ID]] [--deny NAME]... [--ke-only]
//
// --deny sends an NTP Server Deny record per NAME (NTS pool draft): a pool
// then hands out another time source if it has one (docs/pool.md).
//
// Exit status: 0 ok, 1 usage, 2 NTS-KE failed, 3 NTP exchange failed.
#pragma once

namespace ntsd {

// argv[0] is the command name ("query"); the host follows.
int query_main(int argc, char** argv);

}  // namespace ntsd
