// "a.b.c.d:port" / "[v6]:port" / "host-less" endpoint strings from config.
#pragma once

#include <sys/socket.h>

#include <optional>
#include <string>

namespace ntsd::http {

struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family() const noexcept { return addr.ss_family; }
};

// Parses "0.0.0.0:123", "[::]:123", "[2001:db8::1]:123". Port is required.
std::optional<Endpoint> parse_endpoint(const std::string& s, std::string& error);
std::string to_string(const Endpoint& e);

}  // namespace ntsd::http
