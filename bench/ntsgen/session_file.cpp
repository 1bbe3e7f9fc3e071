#include "session_file.hpp"

#include <fstream>
#include <optional>
#include <sstream>

namespace ntsgen {
namespace {

std::optional<std::vector<std::uint8_t>> unhex(const std::string& h) {
  if (h.size() % 2) return std::nullopt;
  std::vector<std::uint8_t> v(h.size() / 2);
  for (std::size_t i = 0; i < v.size(); ++i) {
    unsigned b = 0;
    for (int k = 0; k < 2; ++k) {
      const char c = h[2 * i + static_cast<std::size_t>(k)];
      unsigned d;
      if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') d = static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') d = static_cast<unsigned>(c - 'A' + 10);
      else return std::nullopt;
      b = b << 4 | d;
    }
    v[i] = static_cast<std::uint8_t>(b);
  }
  return v;
}

std::string hex(ntsd::crypto::Bytes b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (auto c : b) {
    s += d[c >> 4];
    s += d[c & 15];
  }
  return s;
}

}  // namespace

bool load_session_file(const std::string& path, std::vector<Session>& out, std::string& err) {
  std::ifstream f(path);
  if (!f) {
    err = "cannot open " + path;
    return false;
  }
  std::string line;
  for (int lineno = 1; std::getline(f, line); ++lineno) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream in(line);
    std::string c2s, s2c, cookie;
    in >> c2s >> s2c;
    auto k1 = unhex(c2s), k2 = unhex(s2c);
    std::optional<ntsd::crypto::SivKey> key1, key2;
    if (k1) key1 = ntsd::crypto::SivKey::from_bytes(*k1);
    if (k2) key2 = ntsd::crypto::SivKey::from_bytes(*k2);
    if (!key1 || !key2 || key1->aead() != key2->aead()) {
      err = path + ":" + std::to_string(lineno) + ": bad C2S/S2C key";
      return false;
    }
    Session s;
    s.c2s = *key1;
    s.s2c = *key2;
    while (in >> cookie) {
      auto c = unhex(cookie);
      if (!c || !s.jar.put(*c)) {
        err = path + ":" + std::to_string(lineno) + ": bad cookie";
        return false;
      }
    }
    if (s.jar.size() == 0) {
      err = path + ":" + std::to_string(lineno) + ": no cookie";
      return false;
    }
    out.push_back(std::move(s));
  }
  if (out.empty()) {
    err = path + ": no sessions";
    return false;
  }
  return true;
}

std::string session_line(const Session& s, ntsd::crypto::Bytes cookie) {
  return hex(s.c2s.bytes()) + " " + hex(s.s2c.bytes()) + " " + hex(cookie);
}

}  // namespace ntsgen
