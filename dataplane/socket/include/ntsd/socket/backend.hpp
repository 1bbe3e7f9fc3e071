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
#pragma once

#include <string>
#include <vector>

#include "ntsd/runtime/endpoint.hpp"
#include "ntsd/runtime/runtime.hpp"

namespace ntsd::sock {

struct Options {
  std::vector<runtime::Endpoint> listen;
  int workers = 1;
  int burst = 32;
  bool kernel_rx_timestamps = true;  // T2 from SO_TIMESTAMPING (system clock source only)
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
