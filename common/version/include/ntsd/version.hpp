// The version of ntsd and the commit it was built from (cmake/version.cmake),
// and the command-line conventions every binary follows (issue 16):
//   --help     usage on stdout, exit 0
//   --version  "NAME VERSION (commit COMMIT)" on stdout, exit 0
//   a bad option or value: the reason and the usage on stderr, exit 2
#pragma once

#include <cstdio>

namespace ntsd {

const char* version() noexcept;
const char* commit() noexcept;

namespace cli {

inline constexpr int kUsageError = 2;  // a bad option, as getopt-based tools do

// Prints the version line for `name` to stdout; returns 0 (the exit code).
int print_version(const char* name);
// Prints "NAME: WHY" and the usage to stderr; returns kUsageError.
int usage_error(const char* name, const char* why, const char* usage);

}  // namespace cli
}  // namespace ntsd
