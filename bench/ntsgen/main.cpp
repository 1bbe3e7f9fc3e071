// ntsgen: the bundled NTP/NTS traffic generator (docs/ntsgen.md).
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <memory>
#include <thread>

#include "cli.hpp"
#include "ntsd/version.hpp"
#include "ke_load.hpp"
#include "nts_codec.hpp"
#include "output.hpp"
#include "session_file.hpp"
#include "transport_dpdk.hpp"

#ifdef NTSGEN_HAVE_QUERY
namespace ntsd {
int query_main(int argc, char** argv);
}
#endif

namespace {

using namespace ntsgen;

// SIGINT/SIGTERM end the run early; the steps so far are still printed.
std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true); }

std::unique_ptr<Transport> open_transport(const Options& o, std::string& err) {
  if (o.transport == "dpdk") return make_dpdk_transport(o, err);
  return make_socket_transport(o.sock, err);
}

bool make_sessions(const Options& o, std::vector<Session>& sessions, std::string& err) {
  if (!o.session_file.empty()) return load_session_file(o.session_file, sessions, err);
  if (!o.quiet) std::fprintf(stderr, "NTS-KE: %u sessions with %s:%u (%u in parallel)\n", o.ke.sessions,
                             o.ke.host.c_str(), o.ke.port, o.ke.parallel);
  if (!establish_sessions(o.ke, sessions, err)) return false;
  if (!o.quiet) {
    // The AEAD each session negotiated (scripts check "AEAD 30: 16").
    std::map<unsigned, unsigned> by_aead;
    for (const auto& s : sessions) ++by_aead[static_cast<unsigned>(s.c2s.aead())];
    std::string line;
    for (const auto& [id, n] : by_aead)
      line += (line.empty() ? "" : ", ") + std::string("AEAD ") + std::to_string(id) + ": " + std::to_string(n);
    std::fprintf(stderr, "NTS-KE: sessions by AEAD: %s\n", line.c_str());
  }
  return true;
}

// Keeps the (idle) transport open until `seconds` pass or a signal asks to
// stop; the results are already out, so a script can stop the peer first.
void linger(double seconds) {
  if (seconds <= 0) return;
  std::fflush(stdout);
  // Scripts wait for this line: everything before it is complete.
  std::fprintf(stderr, "ntsgen: results written, lingering up to %.0f s\n", seconds);
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (!g_stop.load() && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

int run(const Options& o) {
  std::string err;
  std::vector<Session> sessions;
  std::unique_ptr<Codec> codec;
  Tracker tracker(o.slots, static_cast<std::uint32_t>(mono_ns() ^ (mono_ns() >> 24)));
  if (o.mode == "nts") {
    if (!make_sessions(o, sessions, err)) {
      std::fprintf(stderr, "ntsgen: %s\n", err.c_str());
      return 1;
    }
    codec = make_nts_codec(sessions,
                           NtsCodecOptions{static_cast<std::uint8_t>(o.placeholders), o.engine, o.verify_every},
                           tracker.capacity());
    if (!codec) {
      std::fprintf(stderr, "ntsgen: NTS sessions have no cookies\n");
      return 1;
    }
  } else {
    codec = make_ntp_codec();
  }
  auto transport = open_transport(o, err);
  if (!transport) {
    std::fprintf(stderr, "ntsgen: %s\n", err.c_str());
    return 1;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  RunOptions ro = o.run;
  ro.stop = &g_stop;
  std::unique_ptr<Interleaver> xleave;
  if (o.offsets) {
    xleave = std::make_unique<Interleaver>(transport->clients(), o.interleaved);
    codec->set_interleaver(xleave.get());
    ro.interleaver = xleave.get();
  }
  ProgressFn progress;
  if (!o.quiet) progress = [](const StepResult& s) { print_progress(stderr, s); };
  RunResult res = run_load(*transport, *codec, tracker, ro, progress);
  for (const auto& s : sessions) res.cookie_reuses += s.jar.reuses();
  if (!o.quiet) std::fputc('\n', stderr);

  RunInfo info{o.mode, transport->describe(), static_cast<unsigned>(sessions.size()), o.placeholders,
               o.run.loss_threshold, o.interleaved, o.offsets, o.mode == "nts" ? o.verify_every : 1u};
  if (o.json == "-") {
    std::puts(to_json(info, res).c_str());
  } else {
    print_table(stdout, info, res);
    if (!o.json.empty()) std::ofstream(o.json) << to_json(info, res) << '\n';
  }
  if (!o.plot.empty() && !res.steps.empty() && !write_plot(o.plot, res, err)) {
    std::fprintf(stderr, "ntsgen: %s\n", err.c_str());
    return 1;
  }
  linger(o.linger_seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "--version") == 0) return ntsd::cli::print_version("ntsgen");
  // NTS-KE handshake load against a server or a pool (docs/ntsgen.md).
  if (argc >= 2 && std::strcmp(argv[1], "ke-load") == 0) return ntsgen::ke_load_main(argc - 1, argv + 1);
  if (argc >= 2 && std::strcmp(argv[1], "query") == 0) {
#ifdef NTSGEN_HAVE_QUERY
    return ntsd::query_main(argc - 1, argv + 1);
#else
    std::fprintf(stderr, "ntsgen: built without ntsd_query\n");
    return 2;
#endif
  }
  std::string err;
  bool help = false;
  auto o = parse_cli(argc - 1, argv + 1, err, help);
  if (!o) {
    if (help) {
      print_usage(stdout);
      return 0;
    }
    std::fprintf(stderr, "ntsgen: %s (see ntsgen --help)\n", err.c_str());
    return 2;
  }
  return run(*o);
}
