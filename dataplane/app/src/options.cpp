#include "options.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "ntsd/version.hpp"

namespace ntsd::app {
namespace {

constexpr const char* kUsage =
    "usage: ntsd [--config FILE] [options]\n"
    "       ntsd --check-config FILE [--no-devices]\n"
    "                                    validate the configuration and exit; --no-devices: do not\n"
    "                                    open the PHC or NIC clock (the system clock stands in), for\n"
    "                                    a file meant for another machine\n"
    "       ntsd --help | --version\n"
    "       ntsd --probe-port [--config FILE]\n"
    "                                    start the EAL on the configured DPDK ports, print what each\n"
    "                                    can do (driver, queues, RSS, offloads, RX timestamps,\n"
    "                                    read_clock, link) and exit; with --check-config, also fail\n"
    "                                    on what the configuration asks and the ports cannot do\n"
    "\n"
    "NTP/NTS responder (RFC 5905, RFC 8915). Options override the config file:\n"
    "  --socket              use the kernel-socket backend ([dataplane] backend = \"socket\")\n"
    "  --dpdk                use the DPDK backend\n"
    "  --listen ADDR:PORT    socket backend listen address (repeatable; replaces [dataplane] listen)\n"
    "  --workers N           worker threads / lcores\n"
    "  --keys-file PATH      master-key file written by ntsd-ke ([keys] file)\n"
    "  --metrics ADDR:PORT   Prometheus endpoint ([metrics] listen; \"\" = off)\n"
    "  --clock SPEC          system | phc:/dev/ptpN | dpdk ([server] clock)\n"
    "  --leap MODE           auto | none | insert | delete ([server] leap)\n";

bool load(const std::string& path, Options& o) {
  std::string err;
  auto c = config::load_config(path, err);
  if (!c) {
    std::fprintf(stderr, "ntsd: %s\n", err.c_str());
    return false;
  }
  o.cfg = *c;
  o.config_path = path;
  return true;
}

}  // namespace

std::optional<Options> parse_args(int argc, char** argv, int& exit_code) {
  Options o;
  std::vector<std::string> listen;
  std::string keys_file;
  exit_code = 2;
  auto need = [&](int& i) -> const char* {
    if (i + 1 >= argc) {
      std::fprintf(stderr, "ntsd: %s needs a value\n%s", argv[i], kUsage);
      return nullptr;
    }
    return argv[++i];
  };
  // The config file first, so that flags override it whatever their order.
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--config") == 0 || std::strcmp(argv[i], "--check-config") == 0) {
      o.check_only = o.check_only || std::strcmp(argv[i], "--check-config") == 0;
      const char* v = need(i);
      if (v == nullptr) return std::nullopt;
      if (!load(v, o)) {
        exit_code = 1;
        return std::nullopt;
      }
    }
  }
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = nullptr;
    if (a == "--config" || a == "--check-config") {
      ++i;
    } else if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      exit_code = 0;
      return std::nullopt;
    } else if (a == "--version") {
      exit_code = cli::print_version("ntsd");
      return std::nullopt;
    } else if (a == "--socket") {
      o.cfg.dataplane.backend = config::Backend::kSocket;
    } else if (a == "--probe-port") {
      o.probe_port = true;
    } else if (a == "--no-devices") {
      o.no_devices = true;
    } else if (a == "--dpdk") {
      o.cfg.dataplane.backend = config::Backend::kDpdk;
    } else if (a == "--listen" || a == "--workers" || a == "--keys-file" || a == "--metrics" ||
               a == "--clock" || a == "--leap") {
      if ((v = need(i)) == nullptr) return std::nullopt;
      if (a == "--listen") listen.emplace_back(v);
      if (a == "--keys-file") keys_file = v;
      if (a == "--metrics") o.cfg.metrics.listen = v;
      if (a == "--clock") o.cfg.server.clock = v;
      if (a == "--workers") {
        o.cfg.dataplane.workers = std::atoi(v);
        if (o.cfg.dataplane.workers < 1 || o.cfg.dataplane.workers > 128) {
          std::fprintf(stderr, "ntsd: --workers must be 1..128\n");
          return std::nullopt;
        }
      }
      if (a == "--leap") {
        const std::string m = v;
        if (m == "auto") o.cfg.server.leap = config::Leap::kAuto;
        else if (m == "none") o.cfg.server.leap = config::Leap::kNone;
        else if (m == "insert") o.cfg.server.leap = config::Leap::kInsert;
        else if (m == "delete") o.cfg.server.leap = config::Leap::kDelete;
        else {
          std::fprintf(stderr, "ntsd: --leap must be auto, none, insert or delete\n");
          return std::nullopt;
        }
      }
    } else {
      std::fprintf(stderr, "ntsd: unknown option %s\n%s", argv[i], kUsage);
      return std::nullopt;
    }
  }
  if (o.no_devices && !o.check_only) {
    std::fprintf(stderr, "ntsd: --no-devices only goes with --check-config\n%s", kUsage);
    return std::nullopt;
  }
  if (!listen.empty()) o.cfg.dataplane.listen = listen;
  o.keys_file = keys_file.empty() ? o.cfg.keys.file : keys_file;
  exit_code = 0;
  return o;
}

}  // namespace ntsd::app
