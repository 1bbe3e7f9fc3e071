#include "ntsd/ke/query.hpp"

#include <netdb.h>
#include <openssl/rand.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "ntsd/ke/client.hpp"
#include "ntsd/ke/records.hpp"
#include "ntsd/proto/client.hpp"

namespace ntsd {
namespace {

struct SysRandom final : proto::Random {
  void fill(proto::MutBytes out) noexcept override {
    if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) std::abort();
  }
};

// The system clock as an NTP timestamp (RFC 5905 §6: 1900 epoch, 32.32).
proto::NtpTime ntp_now() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  std::uint64_t sec = static_cast<std::uint64_t>(ts.tv_sec) + 2208988800ULL;
  std::uint64_t frac = (static_cast<std::uint64_t>(ts.tv_nsec) << 32) / 1000000000ULL;
  return sec << 32 | frac;
}

int usage() {
  std::fprintf(stderr,
               "usage: query HOST[:PORT] [--ca FILE] [--socks5 HOST:PORT] [--timeout MS]\n"
               "             [--aead ID[,ID]] [--deny NAME]... [--ke-only]\n");
  return 1;
}

bool parse_aeads(const char* s, std::vector<std::uint16_t>& out) {
  out.clear();
  std::string str = s;
  std::size_t pos = 0;
  while (pos <= str.size()) {
    std::size_t comma = str.find(',', pos);
    if (comma == std::string::npos) comma = str.size();
    int v = std::atoi(str.substr(pos, comma - pos).c_str());
    if (v <= 0 || v > 65535) return false;
    out.push_back(static_cast<std::uint16_t>(v));
    pos = comma + 1;
  }
  return !out.empty();
}

// One NTS-protected exchange with `c2s`/`s2c` and `cookie` over a connected
// UDP socket: the client status (kMalformed if nothing came back).
proto::ClientStatus exchange(int fd, const crypto::SivKey& c2s, const crypto::SivKey& s2c,
                             proto::Bytes cookie, int timeout_ms, proto::Response& r) {
  proto::Client client(crypto::make_scalar_engine());
  SysRandom rng;
  proto::PendingRequest pending;
  std::uint8_t req[proto::kMaxPacketLen], resp[2048];
  proto::NtsRequestSpec spec;
  spec.c2s = &c2s;
  spec.cookie = cookie;
  spec.t1 = ntp_now();
  std::size_t len = client.build_nts_request(spec, rng, req, pending);
  if (len == 0 || ::send(fd, req, len, 0) != static_cast<ssize_t>(len)) {
    std::printf("NTP: error: could not build or send the request\n");
    return proto::ClientStatus::kMalformed;
  }
  pollfd p{fd, POLLIN, 0};
  ssize_t n = ::poll(&p, 1, timeout_ms) == 1 ? ::recv(fd, resp, sizeof resp, 0) : -1;
  proto::NtpTime t4 = ntp_now();
  if (n <= 0) {
    std::printf("NTP: error: no response within %d ms\n", timeout_ms);
    return proto::ClientStatus::kMalformed;
  }
  r = client.verify_nts_response({resp, static_cast<std::size_t>(n)}, pending, s2c, t4);
  return r.status;
}

// One NTS-protected exchange with the server NTS-KE named. Returns 0 or 3.
// With AEAD 30 and no record 1024 from the server, the keys are chrony's
// legacy ones (exporter id 15); a server that derived them with id 30 answers
// with an NTS NAK, and the exchange is retried once with the id-30 keys and
// the next cookie, as chrony >= 4.6.1 does (nts_ke_client.c, alt_context).
int ntp_exchange(const ke::KeResult& ke, int timeout_ms) {
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = SOCK_DGRAM;
  std::string port = std::to_string(ke.ntp_port);
  if (int g = ::getaddrinfo(ke.ntp_server.c_str(), port.c_str(), &hints, &res); g != 0) {
    std::printf("NTP: error: %s: %s\n", ke.ntp_server.c_str(), gai_strerror(g));
    return 3;
  }
  int fd = ::socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
    std::printf("NTP: error: %s\n", std::strerror(errno));
    ::freeaddrinfo(res);
    if (fd >= 0) ::close(fd);
    return 3;
  }
  ::freeaddrinfo(res);
  proto::Response r;
  proto::ClientStatus st = exchange(fd, ke.c2s, ke.s2c, ke.cookies.front(), timeout_ms, r);
  if (st == proto::ClientStatus::kNak && !ke.alt_c2s.empty() && ke.cookies.size() > 1) {
    std::printf("NTP: NTS NAK with the exporter-id-15 keys; retrying with the id-30 keys\n");
    st = exchange(fd, ke.alt_c2s, ke.alt_s2c, ke.cookies[1], timeout_ms, r);
  }
  ::close(fd);
  if (st != proto::ClientStatus::kOk) {
    std::printf("NTP: error: response rejected: %s\n", proto::client_status_name(st));
    return 3;
  }
  std::printf("NTP: ok, stratum %u, offset %+.6f s, delay %.6f s, %u new cookie(s) of %zu bytes\n",
              r.stratum, r.offset_s(), r.delay_s(), r.cookie_count,
              r.cookie_count ? r.cookies[0].size() : std::size_t{0});
  return 0;
}

}  // namespace

int query_main(int argc, char** argv) {
  ke::ClientOptions opt;
  std::string target;
  bool ke_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--ca" && (v = value())) {
      opt.ca_file = v;
    } else if (a == "--socks5" && (v = value())) {
      opt.socks5 = v;
    } else if (a == "--timeout" && (v = value())) {
      opt.timeout_ms = std::atoi(v);
      if (opt.timeout_ms <= 0) return usage();
    } else if (a == "--aead" && (v = value())) {
      if (!parse_aeads(v, opt.aeads)) return usage();
    } else if (a == "--deny" && (v = value())) {
      // NTS pool: do not give me this NTP server (docs/pool.md).
      if (!*v || std::strlen(v) > 255) return usage();
      opt.deny.push_back(v);
    } else if (a == "--ke-only") {
      ke_only = true;
    } else if (!a.empty() && a[0] != '-' && target.empty()) {
      target = a;
    } else {
      return usage();
    }
  }
  if (target.empty() || !ke::split_host_port(target, opt.host, opt.port)) return usage();
  auto r = ke::run_ke(opt);
  if (r.error != ke::KeError::kOk) {
    std::printf("NTS-KE: error (%s): %s\n", ke::ke_error_name(r.error), r.message.c_str());
    return 2;
  }
  // For AEAD 30, which exporter context the keys come from (records.hpp).
  const char* ctx = r.aead != ke::kAeadGcmSiv ? ""
                    : r.compliant_gcm_siv     ? " (compliant exporter context, record 1024)"
                                              : " (legacy exporter context: id 15)";
  std::printf("NTS-KE: ok, AEAD %u%s, %zu cookies of %zu bytes, NTP server %s port %u\n", r.aead,
              ctx, r.cookies.size(), r.cookies.front().size(), r.ntp_server.c_str(), r.ntp_port);
  if (ke_only) return 0;
  return ntp_exchange(r, opt.timeout_ms);
}

}  // namespace ntsd
