#include "cli.hpp"

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>

namespace ntsgen {
namespace {

bool to_double(const std::string& s, double& v) {
  char* end = nullptr;
  v = std::strtod(s.c_str(), &end);
  return !s.empty() && end && *end == 0;
}
bool to_u64(const std::string& s, std::uint64_t& v) {
  char* end = nullptr;
  v = std::strtoull(s.c_str(), &end, 10);
  return !s.empty() && s[0] != '-' && end && *end == 0;
}
template <typename T>
bool to_uint(const std::string& s, T& out, std::uint64_t max) {
  std::uint64_t v = 0;
  if (!to_u64(s, v) || v > max) return false;
  out = static_cast<T>(v);
  return true;
}
// HOST[:PORT], [V6]:PORT or a bare V6 literal.
bool host_port(const std::string& s, std::string& host, std::uint16_t& port) {
  if (!s.empty() && s[0] == '[') {
    const auto close = s.find(']');
    if (close == std::string::npos) return false;
    host = s.substr(1, close - 1);
    if (close + 1 == s.size()) return true;
    return s[close + 1] == ':' && to_uint(s.substr(close + 2), port, 65535);
  }
  const auto colon = s.rfind(':');
  if (colon == std::string::npos || s.find(':') != colon) {
    host = s;
    return true;
  }
  host = s.substr(0, colon);
  return to_uint(s.substr(colon + 1), port, 65535);
}

// "30,15": AEAD ids of NTS-KE (RFC 8915 §4.1.5), each 1..65535.
bool aead_list(const std::string& s, std::vector<std::uint16_t>& out) {
  out.clear();
  std::size_t pos = 0;
  while (pos <= s.size()) {
    const std::size_t comma = std::min(s.find(',', pos), s.size());
    unsigned v = 0;
    if (!to_uint(s.substr(pos, comma - pos), v, 65535) || v == 0) return false;
    out.push_back(static_cast<std::uint16_t>(v));
    pos = comma + 1;
  }
  return !out.empty();
}

}  // namespace

void print_usage(std::FILE* f) {
  std::fputs(
      "usage: ntsgen [options]            load test an NTP/NTS server\n"
      "       ntsgen --help | --version\n"
      "       ntsgen query HOST[:PORT] .. one exchange (see ntsd-query; --deny NAME)\n"
      "       ntsgen ke-load HOST[:PORT] --ca PEM [--threads N] [--seconds S] [--deny NAME]\n"
      "                                  NTS-KE handshakes/s (a server or an NTS pool)\n"
      "target:  --server HOST[:PORT]  --mode ntp|nts\n"
      "NTS:     --ke HOST[:PORT] (default: server, 4460)  --ca PEM\n"
      "         --sessions N (1)  --ke-parallel N (8)  --placeholders N (0, max 7)\n"
      "         --session-file FILE (keys and cookies instead of NTS-KE)\n"
      "         --engine best|mb|scalar (AEAD engine, default best)\n"
      "         --aead ID[,ID] (AEADs offered in NTS-KE, our order; default 15,17;\n"
      "           30 = AES-128-GCM-SIV, sent with record 1024)\n"
      "         --verify-every N (1: open every response; N: one in N, the rest matched\n"
      "           and checked without the AEAD, their cookies unused)\n"
      "socket:  --transport socket  --sockets N (16)  --bind ADDR\n"
      "         --sources N (N clients on consecutive addresses from --bind, one socket)\n"
      "dpdk:    --transport dpdk --eal 'EAL ARGS' --src-ip A --dst-ip A [--dst-mac M]\n"
      "         --clients N (1024, source address x port pairs)  --src-addrs K (1)\n"
      "         --port P (destination port, default 123)\n"
      "load:    --rate R (1000)  --ramp FACTOR  --steps N (1; ramp: 10)  --duration S (1, per step)\n"
      "         --count N (per step)  --threshold PCT (1)  --drain S (0.25)  --burst N (32)\n"
      "         --attempts N (1: runs of a step over the threshold before a ramp ends)\n"
      "mode:    --interleaved (interleaved requests, RFC 9769; as ntpperf -I)\n"
      "         --offsets (T4 - T3 per answer: the server's transmit timestamp against our RX time)\n"
      "output:  --json FILE|-  --plot FILE.png  --quiet\n"
      "exit:    --linger S (0: keep the port open, idle, S s after the results or until SIGTERM)\n",
      f);
}

std::optional<Options> parse_cli(int argc, char** argv, std::string& err, bool& help) {
  Options o;
  help = false;
  bool steps_given = false;
  using Fn = std::function<bool(const std::string&)>;
  const std::map<std::string, Fn> opts = {
      {"--port", [&](const std::string& v) { return to_uint(v, o.sock.port, 65535) && o.sock.port; }},
      {"--server", [&](const std::string& v) { return host_port(v, o.sock.server, o.sock.port); }},
      {"--mode", [&](const std::string& v) { o.mode = v; return v == "ntp" || v == "nts"; }},
      {"--ke", [&](const std::string& v) { return host_port(v, o.ke.host, o.ke.port); }},
      {"--ca", [&](const std::string& v) { o.ke.ca = v; return true; }},
      {"--aead", [&](const std::string& v) { return aead_list(v, o.ke.aeads); }},
      {"--sessions", [&](const std::string& v) { return to_uint(v, o.ke.sessions, 1u << 20) && o.ke.sessions; }},
      {"--ke-parallel", [&](const std::string& v) { return to_uint(v, o.ke.parallel, 1024) && o.ke.parallel; }},
      {"--placeholders", [&](const std::string& v) { return to_uint(v, o.placeholders, 7); }},
      {"--verify-every", [&](const std::string& v) { return to_uint(v, o.verify_every, 1u << 20) && o.verify_every; }},
      {"--engine", [&](const std::string& v) { o.engine = v; return v == "best" || v == "mb" || v == "scalar"; }},
      {"--session-file", [&](const std::string& v) { o.session_file = v; return true; }},
      {"--transport", [&](const std::string& v) { o.transport = v; return v == "socket" || v == "dpdk"; }},
      {"--sockets", [&](const std::string& v) { return to_uint(v, o.sock.sockets, 4096) && o.sock.sockets; }},
      {"--bind", [&](const std::string& v) { o.sock.bind = v; return true; }},
      {"--sources", [&](const std::string& v) { return to_uint(v, o.sock.sources, 65536) && o.sock.sources; }},
      {"--eal", [&](const std::string& v) { o.dpdk_args = v; return true; }},
      {"--src-ip", [&](const std::string& v) { o.src_ip = v; return true; }},
      {"--dst-ip", [&](const std::string& v) { o.dst_ip = v; return true; }},
      {"--dst-mac", [&](const std::string& v) { o.dpdk_dst_mac = v; return true; }},
      {"--clients", [&](const std::string& v) { return to_uint(v, o.clients, 1u << 24) && o.clients; }},
      {"--src-addrs", [&](const std::string& v) { return to_uint(v, o.src_addrs, 1u << 16) && o.src_addrs; }},
      {"--rate", [&](const std::string& v) { return to_double(v, o.run.rate) && o.run.rate > 0; }},
      {"--ramp", [&](const std::string& v) { return to_double(v, o.run.factor) && o.run.factor > 1; }},
      {"--steps", [&](const std::string& v) { steps_given = true; return to_uint(v, o.run.max_steps, 255) && o.run.max_steps; }},
      {"--duration", [&](const std::string& v) { return to_double(v, o.run.step_seconds) && o.run.step_seconds >= 0 && o.run.step_seconds <= 3600; }},
      {"--count", [&](const std::string& v) { return to_u64(v, o.run.count); }},
      {"--attempts", [&](const std::string& v) { return to_uint(v, o.run.attempts, 10) && o.run.attempts; }},
      {"--threshold", [&](const std::string& v) { return to_double(v, o.run.loss_threshold) && o.run.loss_threshold >= 0; }},
      {"--linger", [&](const std::string& v) { return to_double(v, o.linger_seconds) && o.linger_seconds >= 0 && o.linger_seconds <= 600; }},
      {"--drain", [&](const std::string& v) { return to_double(v, o.run.drain_seconds) && o.run.drain_seconds >= 0 && o.run.drain_seconds <= 60; }},
      {"--burst", [&](const std::string& v) { return to_uint(v, o.run.burst, 256) && o.run.burst; }},
      {"--json", [&](const std::string& v) { o.json = v; return true; }},
      {"--plot", [&](const std::string& v) { o.plot = v; return true; }},
      {"--slots", [&](const std::string& v) { return to_uint(v, o.slots, 1u << 26); }},
  };
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      help = true;
      return std::nullopt;
    }
    if (a == "--quiet") {
      o.quiet = true;
      continue;
    }
    if (a == "--interleaved" || a == "--offsets") {
      (a == "--interleaved" ? o.interleaved : o.offsets) = true;
      continue;
    }
    const auto it = opts.find(a);
    if (it == opts.end()) {
      err = "unknown option " + a;
      return std::nullopt;
    }
    if (i + 1 >= argc) {
      err = a + " needs a value";
      return std::nullopt;
    }
    if (!it->second(argv[++i])) {
      err = "bad value for " + a + ": " + argv[i];
      return std::nullopt;
    }
  }
  if (o.sock.server.empty() && o.dst_ip.empty()) {
    err = "--server is required";
    return std::nullopt;
  }
  if (o.run.step_seconds == 0 && o.run.count == 0) {
    err = "--duration 0 needs --count (every run must be bounded)";
    return std::nullopt;
  }
  if (o.run.factor > 1 && !steps_given) o.run.max_steps = 10;
  if (o.ke.host.empty()) o.ke.host = o.sock.server.empty() ? o.dst_ip : o.sock.server;
  if (o.interleaved) o.offsets = true;
  o.sock.rx_timestamps = o.offsets;  // T4 from the kernel for the offsets
  o.sock.spread = o.interleaved && o.sock.sources == 0;  // one request out per client at a time
  return o;
}

}  // namespace ntsgen
