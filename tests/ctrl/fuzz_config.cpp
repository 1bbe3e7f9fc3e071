// libFuzzer: any bytes as a configuration file. toml++ parses them and the
// readers map them onto Config; either gives a Config or an error with a
// reason, never a crash, a hang or a leak.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ntsd/config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string err;
  auto cfg = ntsd::config::parse_config(std::string_view(reinterpret_cast<const char*>(data), size), err);
  if (!cfg && err.empty()) __builtin_trap();  // a refusal always says why
  return 0;
}
