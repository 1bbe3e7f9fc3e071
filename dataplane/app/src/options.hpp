// Command line of the ntsd binary, merged over the config file.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ntsd/config/config.hpp"

namespace ntsd::app {

struct Options {
  config::Config cfg;
  bool check_only = false;
  bool probe_port = false;  // --probe-port: report what the DPDK ports can do
  bool no_devices = false;  // --no-devices: --check-config without the clock device
  std::string keys_file;  // resolved: --keys-file, else [keys] file
  std::string config_path;
};

// Parses argv; on error or --help returns nullopt with `exit_code` set and a
// message printed.
std::optional<Options> parse_args(int argc, char** argv, int& exit_code);

}  // namespace ntsd::app
