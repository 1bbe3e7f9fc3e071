#include "ntsd/http/endpoint.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace ntsd::http {

std::optional<Endpoint> parse_endpoint(const std::string& s, std::string& error) {
  std::string host, port;
  if (!s.empty() && s[0] == '[') {
    const auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      error = "bad endpoint '" + s + "': want [v6addr]:port";
      return std::nullopt;
    }
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string::npos) {
      error = "bad endpoint '" + s + "': want addr:port";
      return std::nullopt;
    }
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  unsigned p = 0;
  const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || ptr != port.data() + port.size() || p > 65535) {
    error = "bad port in endpoint '" + s + "'";
    return std::nullopt;
  }
  Endpoint e;
  auto* a4 = reinterpret_cast<sockaddr_in*>(&e.addr);
  auto* a6 = reinterpret_cast<sockaddr_in6*>(&e.addr);
  if (inet_pton(AF_INET, host.c_str(), &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(static_cast<std::uint16_t>(p));
    e.len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(static_cast<std::uint16_t>(p));
    e.len = sizeof(sockaddr_in6);
  } else {
    error = "bad address in endpoint '" + s + "'";
    return std::nullopt;
  }
  return e;
}

std::string to_string(const Endpoint& e) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (e.family() == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&e.addr);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(ntohs(a->sin_port));
  }
  const auto* a = reinterpret_cast<const sockaddr_in6*>(&e.addr);
  inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
  return "[" + std::string(buf) + "]:" + std::to_string(ntohs(a->sin6_port));
}

}  // namespace ntsd::http
