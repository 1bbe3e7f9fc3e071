// Fuzzes the NTS pool records (draft-ietf-ntp-nts-keyexchange-pool-00,
// ntpd-rs 1.9 code points): the request classifier of both roles, the
// support-answer and response parsers, and the pool's relay. None may crash
// or read out of bounds; what parses must re-encode and parse the same; a
// relayed answer stays within 4096 bytes and carries no Keep Alive.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "ntsd/ke/records.hpp"
#include "ntsd/pool/relay.hpp"

using namespace ntsd;
using namespace ntsd::ke;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

std::vector<std::uint16_t> u16s(Bytes list) {
  std::vector<std::uint16_t> v;
  for (std::size_t i = 0; i < list.size() / 2; ++i) v.push_back(u16_at(list, i));
  return v;
}

std::string_view text(Bytes b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

void requests(Bytes in) {
  auto p = parse_pool_request(in, 4096);
  switch (p.kind) {
    case PoolRequest::Kind::kFixedKey: {
      check(p.has_token && p.protocols.size() == 2 && p.aeads.size() == 2 && p.fixed_key.size() % 2 == 0);
      const std::size_t h = p.fixed_key.size() / 2;
      auto again = build_fixed_key_request(text(p.token), p.fixed_key.first(h), p.fixed_key.subspan(h),
                                           u16_at(p.protocols, 0), u16_at(p.aeads, 0), p.keep_alive);
      auto q = parse_pool_request(again, 1 << 17);
      check(q.kind == PoolRequest::Kind::kFixedKey && std::ranges::equal(q.fixed_key, p.fixed_key) &&
            std::ranges::equal(q.token, p.token) && q.keep_alive == p.keep_alive &&
            u16s(q.aeads) == u16s(p.aeads) && u16s(q.protocols) == u16s(p.protocols));
      break;
    }
    case PoolRequest::Kind::kSupport: {
      check(p.has_token && (p.wants_protocols || p.wants_algorithms) && p.fixed_key.empty());
      auto again = build_support_request(text(p.token), p.wants_protocols, p.wants_algorithms, p.keep_alive);
      auto q = parse_pool_request(again, 1 << 17);
      check(q.kind == PoolRequest::Kind::kSupport && q.wants_protocols == p.wants_protocols &&
            q.wants_algorithms == p.wants_algorithms && q.keep_alive == p.keep_alive &&
            std::ranges::equal(q.token, p.token));
      break;
    }
    case PoolRequest::Kind::kKeyExchange: {
      check(!p.protocols.empty() && !p.aeads.empty() && p.denied.size() <= 64);
      auto aeads = u16s(p.aeads);
      std::vector<std::string> denied;
      for (auto d : p.denied) denied.emplace_back(text(d));
      auto again = build_request(aeads, denied);
      auto q = parse_pool_request(again, 1 << 17);  // spans into `again`
      check(q.kind == PoolRequest::Kind::kKeyExchange && u16s(q.aeads) == aeads && q.denied.size() == denied.size());
      break;
    }
    case PoolRequest::Kind::kError:
      check(p.error == ErrorCode::kBadRequest || p.error == ErrorCode::kUnrecognizedCritical);
      check(p.denied.empty());
      break;
    case PoolRequest::Kind::kNeedMore:
      check(scan_message(in, 4096) != MessageStatus::kComplete || in.size() > 4096);
      break;
  }
}

void support_answers(Bytes in) {
  auto s = parse_support_response(in, 4096);
  if (s.status != SupportResponse::Status::kOk) return;
  auto again = parse_support_response(
      build_support_response(s.has_algorithms ? &s.algorithms : nullptr, s.has_protocols ? &s.protocols : nullptr,
                             s.keep_alive),
      1 << 17);
  check(again.status == SupportResponse::Status::kOk && again.algorithms == s.algorithms &&
        again.protocols == s.protocols && again.keep_alive == s.keep_alive);
}

void relays(Bytes in) {
  auto r = parse_response_records(in, 4096);
  if (r.status != Response::Status::kOk || !r.next_protocol || !r.aead) return;
  auto rel = pool::relay_response(r, *r.next_protocol, *r.aead, "fuzz.pool.test");
  if (!rel.ok) return;
  check(rel.out.size() <= pool::kMaxMessage);
  auto back = parse_response_records(rel.out, 1 << 17);
  check(back.status == Response::Status::kOk && !back.keep_alive && !back.server.empty() &&
        *back.aead == *r.aead && back.cookies.size() + rel.cookies_dropped == r.cookies.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Bytes in(data, size);
  requests(in);
  support_answers(in);
  relays(in);
  Record rec;
  Bytes walk = in;
  while (read_record(walk, rec) == ReadStatus::kRecord) (void)record_body_valid(rec);
  return 0;
}
