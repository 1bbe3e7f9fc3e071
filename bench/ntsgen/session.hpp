// One simulated NTS client: the C2S/S2C keys from its NTS-KE handshake and its
// cookie jar (RFC 8915 §5.7: every cookie is used once; each response brings
// one fresh cookie per cookie and placeholder sent).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "ntsd/crypto/cookie.hpp"
#include "ntsd/crypto/siv.hpp"

namespace ntsgen {

class CookieJar {
 public:
  static constexpr std::size_t kMax = 8;  // RFC 8915 §4: servers send 8 in NTS-KE
  // Cookies are opaque to clients (RFC 8915 §6) and other servers' layouts are
  // longer than ntsd's 100 bytes (ntpsec's are 104 and more), so the jar keeps
  // any cookie up to this length.
  static constexpr std::size_t kMaxCookie = 256;

  // Stores a fresh cookie, dropping the oldest when full. False if too long.
  bool put(ntsd::crypto::Bytes cookie) noexcept;
  // Takes the oldest unused cookie. When the jar ran dry (responses lost), it
  // hands out the last cookie again and counts a reuse: servers accept it,
  // and a load test must not stop because the server dropped packets.
  ntsd::crypto::Bytes take() noexcept;
  std::size_t size() const noexcept { return count_; }
  std::uint64_t reuses() const noexcept { return reuses_; }
  // Length of the longest cookie the jar holds now.
  std::size_t longest() const noexcept;

 private:
  std::array<std::array<std::uint8_t, kMaxCookie>, kMax> buf_{};
  std::array<std::uint16_t, kMax> len_{};
  std::size_t head_ = 0, count_ = 0, last_ = kMax;
  std::uint64_t reuses_ = 0;
};

struct Session {
  ntsd::crypto::SivKey c2s;
  ntsd::crypto::SivKey s2c;
  CookieJar jar;
  std::string server;       // NTPv4 server the KE named (empty: the KE host)
  std::uint16_t port = 123;
};

}  // namespace ntsgen
