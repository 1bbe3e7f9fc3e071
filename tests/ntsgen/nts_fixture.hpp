// Sessions for tests, from tests/vectors/nts/request_example.json (a real
// C2S/S2C pair and the cookie that carries them).
#pragma once

#include <nlohmann/json.hpp>

#include "session.hpp"
#include "test_util.hpp"

namespace ntsgen::test {

struct VectorKeys {
  ntsd::crypto::SivKey c2s, s2c;
  std::vector<std::uint8_t> cookie;
};

inline VectorKeys vector_keys() {
  const auto j = nlohmann::json::parse(ntsd::test::read_file(ntsd::test::vectors_dir() + "/nts/request_example.json"));
  VectorKeys k;
  k.c2s = *ntsd::crypto::SivKey::from_bytes(ntsd::test::from_hex(j["c2s_key"]));
  k.s2c = *ntsd::crypto::SivKey::from_bytes(ntsd::test::from_hex(j["s2c_key"]));
  k.cookie = ntsd::test::from_hex(j["cookie"]["bytes"]);
  return k;
}

inline std::vector<Session> vector_sessions(std::size_t n) {
  const auto k = vector_keys();
  std::vector<Session> v(n);
  for (auto& s : v) {
    s.c2s = k.c2s;
    s.s2c = k.s2c;
    s.jar.put(k.cookie);
  }
  return v;
}

}  // namespace ntsgen::test
