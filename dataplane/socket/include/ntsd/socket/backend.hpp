// The kernel-socket I/O backend (development machines, small deployments,
// and the fallback where DPDK cannot start).
//
// N worker threads; each has its own SO_REUSEPORT UDP socket per listen
// address (the kernel spreads clients over them by flow hash), waits with
// poll() (50 ms, so it reports a quiescent state to the key-ring hand-off
// even when idle), reads a burst with recvmmsg, hands it to the protocol
// core's handle_burst and answers with one sendmmsg. T2 is the kernel's
// software RX timestamp (SO_TIMESTAMPING) when the clock source is the
// system clock, else the TSC fit read right after recvmmsg. Replies leave
// from the address the request was sent to (IP_PKTINFO/IPV6_PKTINFO).
//
// Interleaved mode (RFC 9769, [server] interleaved): responses that an
// interleaved client will ask about request a kernel TX timestamp; the
// worker reads them from the error queue in batches (src/tx_timestamps.hpp)
// into its table. With several workers, a classic BPF program on the
// SO_REUSEPORT group picks the worker by the client's address, not its port:
// chrony sends every request from a new port, and its next request must
// reach the worker that holds its entry.
#pragma once

#include <string>
#include <vector>

#include "ntsd/runtime/endpoint.hpp"
#include "ntsd/runtime/runtime.hpp"

namespace ntsd::sock {

// Interleaved mode: which kernel TX timestamp is the TX time, and how it
// gets onto the served timescale (the clock source; src/tx_timestamps.hpp).
enum class TxSource : std::uint8_t {
  kSystem,  // clock = "system": the software timestamp (CLOCK_REALTIME) as it is
  kOther,   // another clock: the software timestamp moved onto it by an offset
  kPhcUtc,  // clock = "phc:..." (phc_timescale utc): the NIC's hardware
            // timestamp is the served clock's own reading (this PHC is that
            // NIC's); a software one (no hardware TX stamping) as with kOther
  kPhcTai,  // the same on a TAI PHC: hardware timestamps converted to UTC
};

struct Options {
  std::vector<runtime::Endpoint> listen;
  int workers = 1;
  int burst = 32;
  bool kernel_rx_timestamps = true;  // T2 from SO_TIMESTAMPING (system clock source only)
  TxSource tx_source = TxSource::kSystem;  // interleaved mode
};

class SocketBackend {
 public:
  SocketBackend(Options opt, runtime::Shared& shared);
  ~SocketBackend();
  SocketBackend(const SocketBackend&) = delete;
  SocketBackend& operator=(const SocketBackend&) = delete;

  // Creates and binds every socket, so that errors (port in use, bad
  // address) surface before any thread starts. False with `error` set.
  bool open(std::string& error);
  // Runs the workers until shared.stop; joins them.
  void run();
  // The port actually bound for listen address i (for port 0 in tests).
  int bound_port(std::size_t i) const;

 private:
  Options opt_;
  runtime::Shared& shared_;
  std::vector<std::vector<int>> fds_;  // [worker][listen]
};

// One worker's loop (worker.cpp).
void run_socket_worker(std::size_t index, const std::vector<int>& fds, const Options& opt,
                       runtime::Shared& shared);

}  // namespace ntsd::sock
