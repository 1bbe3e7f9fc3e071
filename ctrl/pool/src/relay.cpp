#include "ntsd/pool/relay.hpp"

namespace ntsd::pool {

Relay relay_response(const ke::Response& r, std::uint16_t protocol, std::uint16_t aead,
                     std::string_view backend_name, bool compliant_gcm_siv, std::size_t max_bytes) {
  Relay out;
  auto bad = [&](std::string why) {
    out.why = std::move(why);
    return std::move(out);
  };
  if (!r.next_protocol || *r.next_protocol != protocol)
    return bad("answered with another next protocol than we asked for");
  if (!r.aead || *r.aead != aead) return bad("answered with another AEAD than we asked for");
  if (r.cookies.empty()) return bad("sent no cookies");
  ke::ResponseParams p;
  p.protocol = protocol;
  p.aead = aead;
  p.compliant_gcm_siv = compliant_gcm_siv && aead == ke::kAeadGcmSiv;
  p.server = r.server.empty() ? std::string(backend_name) : r.server;
  // A Port record is relayed as received (build_response omits only 0).
  if (r.port) {
    if (*r.port == 0) return bad("sent port 0");
    p.port = *r.port;
  }
  std::size_t n = r.cookies.size();
  for (;;) {
    p.cookies = std::span(r.cookies.data(), n);
    out.out = ke::build_response(p);
    if (out.out.size() <= max_bytes) break;
    if (n == 1) return bad("answer does not fit " + std::to_string(max_bytes) + " bytes");
    --n;
  }
  out.cookies_dropped = r.cookies.size() - n;
  out.ok = true;
  return out;
}

std::vector<std::uint8_t> no_aead_response(std::uint16_t protocol) {
  std::vector<std::uint8_t> out;
  ke::append_u16_record(out, true, ke::kNextProtocol, {&protocol, 1});
  ke::append_record(out, true, ke::kAeadAlgorithm, {});
  ke::append_record(out, true, ke::kEndOfMessage, {});
  return out;
}

}  // namespace ntsd::pool
