// Test helper: leap-second list text in the IERS/NIST format, with a correct
// "#h" SHA-1 line, for arbitrary (also imminent) leaps.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ntsd/clock/ntp_time.hpp"

namespace leaptest {

// Entries: (Unix seconds UTC, TAI - UTC). Expiry and update in Unix seconds.
inline std::string leap_file(const std::vector<std::pair<std::int64_t, int>>& entries, std::int64_t updated,
                             std::int64_t expires) {
  const auto ntp = [](std::int64_t unix_s) { return std::to_string(unix_s + ntsd::clock::kNtpUnixDelta); };
  std::string text = "# test leap-second list\n#$\t" + ntp(updated) + "\n#@\t" + ntp(expires) + "\n";
  std::string hashed = ntp(updated) + ntp(expires);
  for (const auto& [t, off] : entries) {
    text += ntp(t) + "\t" + std::to_string(off) + "\t# entry\n";
    hashed += ntp(t) + std::to_string(off);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(hashed.data(), hashed.size(), md, &n, EVP_sha1(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  text += "#h\t";
  for (unsigned i = 0; i < n; ++i) {
    text += kHex[md[i] >> 4];
    text += kHex[md[i] & 15];
    if (i % 4 == 3 && i + 1 < n) text += ' ';
  }
  return text + "\n";
}

}  // namespace leaptest
