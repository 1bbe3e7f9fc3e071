// Command line of ntsgen (docs/ntsgen.md has the reference).
#pragma once

#include <optional>
#include <string>

#include "ke.hpp"
#include "runner.hpp"
#include "transport.hpp"

namespace ntsgen {

struct Options {
  std::string mode = "ntp";  // ntp | nts
  std::string transport = "socket";
  SocketOptions sock;
  KeOptions ke;
  std::string session_file;
  unsigned placeholders = 0;
  std::string engine = "best";
  // NTS: fully verify (AEAD open, cookies into the jar) one response in N;
  // the others are matched and cheaply checked (docs/ntsgen.md). 1: all.
  std::uint32_t verify_every = 1;
  RunOptions run;
  // Seconds to keep the transport open and idle after the results are out
  // (until then, or SIGINT/SIGTERM). A DPDK memif peer can then be stopped
  // first: DPDK 22.11's memif unmaps its rings on a peer's disconnect
  // without waiting for the datapath, so the side that is polling must not
  // be the one left behind (docs/ntsgen.md).
  double linger_seconds = 0;
  std::string json;  // file, or "-" for stdout
  std::string plot;
  bool quiet = false;
  std::size_t slots = 1 << 20;
  std::string dpdk_args;  // EAL args for --transport dpdk
  std::string dpdk_dst_mac;
  std::string src_ip, dst_ip;
  unsigned clients = 1024;
  unsigned src_addrs = 1;
  // Interleaved requests (RFC 9769, as ntpperf -I) and the share of
  // interleaved answers; T3 offsets (T4 - T3) with either, or with --offsets
  // alone for basic requests (interleave.hpp).
  bool interleaved = false;
  bool offsets = false;
};

// Parses argv (without the program name). nullopt with `err` set on a bad
// option; `help` set when --help was given.
std::optional<Options> parse_cli(int argc, char** argv, std::string& err, bool& help);
void print_usage(std::FILE* f);

}  // namespace ntsgen
