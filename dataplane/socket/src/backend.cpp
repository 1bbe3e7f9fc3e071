#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/net_tstamp.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "ntsd/socket/backend.hpp"

namespace ntsd::sock {
namespace {

int open_socket(const runtime::Endpoint& ep, bool interleaved, std::string& error) {
  const int fd = ::socket(ep.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  const int one = 1;
  // Every worker binds the same address; the kernel balances by flow hash.
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (ep.family() == AF_INET6) {
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);  // 0.0.0.0 binds separately
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
  } else {
    ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
  }
  // Software RX timestamps always; hardware ones where the NIC has them.
  // Interleaved mode: TX timestamps are requested per message (worker.cpp);
  // OPT_ID numbers them, OPT_TX_SWHW keeps the software one where the NIC
  // stamps in hardware too (src/tx_timestamps.hpp).
  const int ts = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE |
                 SOF_TIMESTAMPING_RX_HARDWARE | SOF_TIMESTAMPING_RAW_HARDWARE |
                 (interleaved ? SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TX_SWHW : 0);
  ::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &ts, sizeof ts);
  const int rcvbuf = 4 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&ep.addr), ep.len) != 0) {
    error = "bind " + runtime::to_string(ep) + ": " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

// Interleaved mode with several workers: the SO_REUSEPORT group picks the
// worker by a hash of the client's address alone (the default hash covers
// the ports, and chrony sends each request from a new one), so a client's
// requests meet the worker whose table has its entry. Classic BPF: load the
// source address relative to the network header, fold IPv6 to 32 bits,
// multiply (Fibonacci hashing), take the high half modulo the workers.
bool steer_by_address(int fd, bool v6, unsigned workers, std::string& error) {
  std::vector<sock_filter> prog;
  auto ld = [&](std::uint32_t off) {
    prog.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<std::uint32_t>(SKF_NET_OFF) + off));
  };
  if (v6) {
    ld(8);
    for (std::uint32_t off : {12u, 16u, 20u}) {
      prog.push_back(BPF_STMT(BPF_MISC | BPF_TAX, 0));
      ld(off);
      prog.push_back(BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0));
    }
  } else {
    ld(12);
  }
  prog.push_back(BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 0x9e3779b1u));
  prog.push_back(BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16));
  prog.push_back(BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, workers));
  prog.push_back(BPF_STMT(BPF_RET | BPF_A, 0));
  sock_fprog fp{static_cast<unsigned short>(prog.size()), prog.data()};
  if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &fp, sizeof fp) != 0) {
    error = std::string("SO_ATTACH_REUSEPORT_CBPF: ") + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace

SocketBackend::SocketBackend(Options opt, runtime::Shared& shared) : opt_(std::move(opt)), shared_(shared) {}

SocketBackend::~SocketBackend() {
  for (auto& w : fds_)
    for (int fd : w) ::close(fd);
}

bool SocketBackend::open(std::string& error) {
  if (opt_.listen.empty()) {
    error = "no listen addresses";
    return false;
  }
  // With port 0 (tests) the first worker's socket picks the port and the
  // others join it, so that SO_REUSEPORT groups them.
  std::vector<runtime::Endpoint> eps = opt_.listen;
  fds_.assign(static_cast<std::size_t>(opt_.workers), {});
  for (std::size_t w = 0; w < fds_.size(); ++w) {
    for (std::size_t i = 0; i < eps.size(); ++i) {
      const int fd = open_socket(eps[i], shared_.interleaved, error);
      if (fd < 0) return false;
      fds_[w].push_back(fd);
      if (w == 0) {
        socklen_t l = eps[i].len;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&eps[i].addr), &l);
      }
    }
  }
  opt_.listen = eps;
  if (shared_.interleaved && fds_.size() > 1) {
    for (std::size_t i = 0; i < eps.size(); ++i) {
      std::string why;
      if (!steer_by_address(fds_[0][i], eps[i].family() == AF_INET6, static_cast<unsigned>(fds_.size()), why))
        runtime::log("warning: " + why + ": interleaved clients that change ports may reach another worker");
    }
  }
  return true;
}

int SocketBackend::bound_port(std::size_t i) const {
  const auto& a = opt_.listen.at(i).addr;
  return ntohs(a.ss_family == AF_INET ? reinterpret_cast<const sockaddr_in&>(a).sin_port
                                      : reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
}

void SocketBackend::run() {
  std::vector<std::thread> threads;
  for (std::size_t w = 0; w < fds_.size(); ++w)
    threads.emplace_back([this, w] { run_socket_worker(w, fds_[w], opt_, shared_); });
  for (auto& t : threads) t.join();
}

}  // namespace ntsd::sock
