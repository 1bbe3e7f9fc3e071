// Kernel-socket transport: N connected UDP sockets (N source ports, so that a
// server or a NIC hashing on the 5-tuple sees N clients), sendmmsg/recvmmsg in
// bursts, epoll to find the sockets with data. Good for quick checks and for
// servers on the kernel path; the DPDK transport is the fast one.
#include <netdb.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <vector>

#include "transport.hpp"

namespace ntsgen {

std::uint64_t mono_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

namespace {

constexpr std::size_t kBurst = 256;
constexpr std::size_t kBufLen = 1280;

class SocketTransport final : public Transport {
 public:
  ~SocketTransport() override {
    for (int fd : fds_) close(fd);
    if (ep_ >= 0) close(ep_);
  }

  bool open(const SocketOptions& o, std::string& err) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* res = nullptr;
    const std::string port = std::to_string(o.port);
    if (int rc = getaddrinfo(o.server.c_str(), port.c_str(), &hints, &res); rc != 0) {
      err = "resolve " + o.server + ": " + gai_strerror(rc);
      return false;
    }
    sockaddr_storage dst{};
    std::memcpy(&dst, res->ai_addr, res->ai_addrlen);
    const socklen_t dlen = res->ai_addrlen;
    const int family = res->ai_family;
    freeaddrinfo(res);
    sockaddr_storage src{};
    socklen_t slen = 0;
    if (!o.bind.empty()) {
      hints.ai_family = family;
      hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
      if (getaddrinfo(o.bind.c_str(), "0", &hints, &res) != 0) {
        err = "bad --bind address " + o.bind;
        return false;
      }
      std::memcpy(&src, res->ai_addr, res->ai_addrlen);
      slen = res->ai_addrlen;
      freeaddrinfo(res);
    }
    ep_ = epoll_create1(0);
    if (o.sources > 0) return open_sources(o, dst, dlen, family, src, slen, port, err);
    for (unsigned i = 0; i < (o.sockets ? o.sockets : 1); ++i) {
      const int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        err = std::string("socket: ") + std::strerror(errno);
        return false;
      }
      fds_.push_back(fd);
      const int buf = 4 << 20;
      // FORCE variants (root) lift the rmem_max/wmem_max caps; harmless if refused.
      if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf) != 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
      if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof buf) != 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
      if (slen && bind(fd, reinterpret_cast<sockaddr*>(&src), slen) != 0) {
        err = std::string("bind: ") + std::strerror(errno);
        return false;
      }
      if (o.rx_timestamps) {
        // The kernel's software RX timestamps (CLOCK_REALTIME): T4 for the
        // transmit-timestamp offsets (interleave.hpp).
        const int ts = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;
        if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &ts, sizeof ts) != 0) {
          err = std::string("SO_TIMESTAMPING: ") + std::strerror(errno);
          return false;
        }
        rx_ts_ = true;
      }
      if (connect(fd, reinterpret_cast<sockaddr*>(&dst), dlen) != 0) {
        err = std::string("connect: ") + std::strerror(errno);
        return false;
      }
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u32 = i;
      epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
    }
    spread_ = o.spread;
    desc_ = "udp sockets x" + std::to_string(fds_.size()) + " -> " + o.server + ":" + port;
    init_buffers();
    return true;
  }

  // --sources: one socket bound to the wildcard address, N source
  // addresses from --bind on, chosen per message.
  bool open_sources(const SocketOptions& o, const sockaddr_storage& dst, socklen_t dlen, int family,
                    const sockaddr_storage& first, socklen_t slen, const std::string& port, std::string& err) {
    if (slen == 0) {
      err = "--sources needs --bind (the first source address)";
      return false;
    }
    const int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      err = std::string("socket: ") + std::strerror(errno);
      return false;
    }
    fds_.push_back(fd);
    const int buf = 16 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf) != 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof buf) != 0)
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    if (o.rx_timestamps) {
      const int ts = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;
      setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &ts, sizeof ts);
      rx_ts_ = true;
    }
    sockaddr_storage any{};
    any.ss_family = static_cast<sa_family_t>(family);
    if (bind(fd, reinterpret_cast<sockaddr*>(&any), family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6)) != 0) {
      err = std::string("bind: ") + std::strerror(errno);
      return false;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = 0;
    epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
    dst_ = dst;
    dlen_ = dlen;
    family_ = family;
    sources_ = o.sources;
    first_src_ = first;
    desc_ = "udp socket, " + std::to_string(o.sources) + " source addresses from " + o.bind + " -> " + o.server + ":" + port;
    init_buffers();
    return true;
  }

  void init_buffers() {
    for (std::size_t i = 0; i < kBurst; ++i) {
      tx_[i].data = tx_mem_[i].data();
      rxhdr_[i].msg_hdr.msg_iov = &rxiov_[i];
      rxhdr_[i].msg_hdr.msg_iovlen = 1;
      rxiov_[i].iov_base = rx_mem_[i].data();
      rxiov_[i].iov_len = kBufLen;
    }
  }

  // The source address of client c (--sources): --bind + c.
  void set_source(msghdr& h, std::uint32_t c, std::size_t m) noexcept {
    h.msg_name = &dst_;
    h.msg_namelen = dlen_;
    h.msg_control = txctl_[m].data();
    auto* cm = reinterpret_cast<cmsghdr*>(txctl_[m].data());
    if (family_ == AF_INET) {
      in_pktinfo pi{};
      std::uint32_t a = ntohl(reinterpret_cast<const sockaddr_in&>(first_src_).sin_addr.s_addr) + c;
      pi.ipi_spec_dst.s_addr = htonl(a);
      cm->cmsg_level = IPPROTO_IP;
      cm->cmsg_type = IP_PKTINFO;
      cm->cmsg_len = CMSG_LEN(sizeof pi);
      std::memcpy(CMSG_DATA(cm), &pi, sizeof pi);
      h.msg_controllen = CMSG_SPACE(sizeof pi);
    } else {
      in6_pktinfo pi{};
      pi.ipi6_addr = reinterpret_cast<const sockaddr_in6&>(first_src_).sin6_addr;
      std::uint32_t low = 0;
      std::memcpy(&low, pi.ipi6_addr.s6_addr + 12, 4);
      low = htonl(ntohl(low) + c);
      std::memcpy(pi.ipi6_addr.s6_addr + 12, &low, 4);
      cm->cmsg_level = IPPROTO_IPV6;
      cm->cmsg_type = IPV6_PKTINFO;
      cm->cmsg_len = CMSG_LEN(sizeof pi);
      std::memcpy(CMSG_DATA(cm), &pi, sizeof pi);
      h.msg_controllen = CMSG_SPACE(sizeof pi);
    }
  }

  std::span<TxBuf> tx_buffers(std::size_t n, std::size_t len) noexcept override {
    if (len > kBufLen) return {};
    n = std::min(n, kBurst);
    // The whole burst goes out on one socket (send()): one client; spread,
    // each request on the next socket.
    for (std::size_t i = 0; i < n; ++i) {
      tx_[i].len = 0;
      tx_[i].client = sources_ ? static_cast<std::uint32_t>((next_src_ + i) % sources_)
                               : static_cast<std::uint32_t>(spread_ ? (next_tx_ + i) % fds_.size() : next_tx_);
    }
    return {tx_.data(), n};
  }

  std::uint32_t clients() const noexcept override {
    return sources_ ? sources_ : static_cast<std::uint32_t>(fds_.size());
  }

  std::size_t send(std::span<TxBuf> bufs) noexcept override {
    std::size_t m = 0;
    for (auto& b : bufs) {
      if (b.len == 0) continue;
      txiov_[m] = iovec{b.data, b.len};
      txhdr_[m] = mmsghdr{};
      txhdr_[m].msg_hdr.msg_iov = &txiov_[m];
      txhdr_[m].msg_hdr.msg_iovlen = 1;
      if (sources_) {
        set_source(txhdr_[m].msg_hdr, b.client, m);
        txfd_[m] = fds_[0];
      } else {
        txfd_[m] = fds_[b.client % fds_.size()];
      }
      ++m;
    }
    if (sources_) next_src_ = static_cast<std::uint32_t>((next_src_ + bufs.size()) % sources_);
    // Spread bursts over the sockets (source ports) round robin; one
    // sendmmsg per run of requests on the same socket.
    next_tx_ = (next_tx_ + (spread_ ? bufs.size() : 1)) % fds_.size();
    std::size_t done = 0;
    while (done < m) {
      std::size_t run = 1;
      while (done + run < m && txfd_[done + run] == txfd_[done]) ++run;
      const int r = sendmmsg(txfd_[done], txhdr_.data() + done, static_cast<unsigned>(run), 0);
      if (r <= 0) break;  // EAGAIN: the socket buffer is full, the rest is not sent
      done += static_cast<std::size_t>(r);
      if (static_cast<std::size_t>(r) < run) break;
    }
    return done;
  }

  std::span<const RxPkt> recv(std::size_t max) noexcept override {
    max = std::min(max, kBurst);
    std::array<epoll_event, 64> evs;
    const int ne = epoll_wait(ep_, evs.data(), static_cast<int>(evs.size()), 0);
    std::size_t got = 0;
    for (int e = 0; e < ne && got < max; ++e) {
      const int fd = fds_[evs[e].data.u32];
      for (std::size_t i = got; i < max; ++i) {
        rxhdr_[i].msg_hdr.msg_flags = 0;
        rxhdr_[i].msg_hdr.msg_control = rx_ts_ ? rxctl_[i].data() : nullptr;
        rxhdr_[i].msg_hdr.msg_controllen = rx_ts_ ? rxctl_[i].size() : 0;
      }
      const int r = recvmmsg(fd, rxhdr_.data() + got, static_cast<unsigned>(max - got), MSG_DONTWAIT, nullptr);
      if (r <= 0) continue;
      const std::uint64_t now = mono_ns();
      for (int k = 0; k < r; ++k, ++got) {
        rx_[got] = RxPkt{rx_mem_[got].data(), static_cast<std::uint16_t>(rxhdr_[got].msg_len), now,
                         rx_ts_ ? kernel_rx_ns(rxhdr_[got].msg_hdr) : 0};
      }
    }
    return {rx_.data(), got};
  }

  std::uint64_t now_ns() const noexcept override { return mono_ns(); }

  static std::uint64_t kernel_rx_ns(msghdr& h) noexcept {
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPING) continue;
      scm_timestamping ts;
      std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
      return static_cast<std::uint64_t>(ts.ts[0].tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.ts[0].tv_nsec);
    }
    return 0;
  }
  std::string describe() const override { return desc_; }

 private:
  std::vector<int> fds_;
  int ep_ = -1;
  std::size_t next_tx_ = 0;
  bool rx_ts_ = false;
  bool spread_ = false;
  // --sources
  std::uint32_t sources_ = 0, next_src_ = 0;
  sockaddr_storage dst_{}, first_src_{};
  socklen_t dlen_ = 0;
  int family_ = AF_INET;
  std::array<std::array<std::uint8_t, 64>, kBurst> txctl_{};
  std::string desc_;
  std::array<std::array<std::uint8_t, kBufLen>, kBurst> tx_mem_{};
  std::array<std::array<std::uint8_t, kBufLen>, kBurst> rx_mem_{};
  std::array<TxBuf, kBurst> tx_{};
  std::array<iovec, kBurst> txiov_{};
  std::array<mmsghdr, kBurst> txhdr_{};
  std::array<int, kBurst> txfd_{};
  std::array<iovec, kBurst> rxiov_{};
  std::array<mmsghdr, kBurst> rxhdr_{};
  std::array<RxPkt, kBurst> rx_{};
  std::array<std::array<std::uint8_t, 64>, kBurst> rxctl_{};
};

}  // namespace

std::unique_ptr<Transport> make_socket_transport(const SocketOptions& opt, std::string& err) {
  auto t = std::make_unique<SocketTransport>();
  if (!t->open(opt, err)) return nullptr;
  return t;
}

}  // namespace ntsgen
