// [ke] -> ServerOptions (ntsd/ke/server_config.hpp).
#include "ntsd/ke/server_config.hpp"

namespace ntsd::ke {

ServerOptions server_options(const config::KeConfig& k, ServerRole role) {
  ServerOptions o;
  o.listen = k.listen;
  o.port = static_cast<std::uint16_t>(k.port);
  o.cert = k.cert;
  o.key = k.key;
  o.threads = k.threads;
  o.max_connections = k.max_connections;
  o.handshake_timeout_ms = k.handshake_timeout_ms;
  o.first_byte_timeout_ms = k.first_byte_timeout_ms;
  o.max_connections_per_source = k.max_connections_per_source;
  o.source_ipv4_prefix = k.source_ipv4_prefix;
  o.source_ipv6_prefix = k.source_ipv6_prefix;
  o.ratelimit = k.ratelimit;
  o.ratelimit_interval = k.ratelimit_interval;
  o.ratelimit_burst = k.ratelimit_burst;
  o.ratelimit_leak = k.ratelimit_leak;
  o.max_request_bytes = static_cast<std::size_t>(k.max_request_bytes);
  if (role == ServerRole::kPoolFrontEnd) {
    o.keepalive_connections = 0;  // users never keep a connection
    return o;
  }
  o.ntp_server = k.ntp_server;
  o.ntp_port = static_cast<std::uint16_t>(k.ntp_port);
  o.aeads = k.aeads;
  o.cookies = k.cookies;
  o.keepalive_connections = k.pool_keepalive_connections;
  o.keepalive_idle_ms = k.pool_idle_timeout_ms;
  return o;
}

}  // namespace ntsd::ke
