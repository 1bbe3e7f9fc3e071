// Helpers shared by the unit tests: hex, files, and where the vectors are.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace ntsd::test {

inline std::vector<std::uint8_t> from_hex(const std::string& hex) {
  if (hex.size() % 2 != 0) throw std::invalid_argument("odd-length hex: " + hex);
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw std::invalid_argument(std::string("bad hex digit ") + c);
  };
  std::vector<std::uint8_t> out(hex.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<std::uint8_t>(nib(hex[2 * i]) << 4 | nib(hex[2 * i + 1]));
  return out;
}

template <typename Bytes>
std::string to_hex(const Bytes& b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  // One allocation: growing would free shorter copies of the hex on the way,
  // which KeyFileMemory's freed-block scan would later find as stale bytes.
  s.reserve(2 * std::size(b));
  for (auto c : b) {
    s += d[static_cast<std::uint8_t>(c) >> 4];
    s += d[static_cast<std::uint8_t>(c) & 15];
  }
  return s;
}

// Directory of tests/vectors: $NTSD_VECTORS (set by ctest), else the source tree.
inline std::string vectors_dir() {
  if (const char* v = std::getenv("NTSD_VECTORS")) return v;
  return std::string(NTSD_SOURCE_DIR) + "/tests/vectors";
}

inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace ntsd::test
