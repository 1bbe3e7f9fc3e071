#include <cstdio>

#include "ntsd/version.hpp"

namespace ntsd::cli {

int print_version(const char* name) {
  std::printf("%s %s (commit %s)\n", name, version(), commit());
  return 0;
}

int usage_error(const char* name, const char* why, const char* usage) {
  std::fprintf(stderr, "%s: %s\n%s", name, why, usage);
  return kUsageError;
}

}  // namespace ntsd::cli
