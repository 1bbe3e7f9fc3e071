// Fuzz: handle_request on arbitrary bytes never crashes, never writes past
// the response it reports, and never answers with more bytes than it got.
// Inputs starting 0xff instead build a correctly authenticated NTS request
// around fuzz bytes (an unknown EF and the placeholder count), so the
// authenticated path is fuzzed too, not only the NAK path. Every input is
// also handled in interleaved mode, through a small table that the inputs
// themselves fill (the origin of one input may be the receive timestamp of an
// earlier answer): the same bounds hold, and an interleaved answer echoes the
// request's receive field.
#include <cstdlib>
#include <cstring>
#include <vector>

#include "ntsd/proto/client.hpp"
#include "ntsd/proto/server.hpp"
#include "proto_fixtures.hpp"

using namespace ntsd::proto;

namespace {
void require(bool ok) {
  if (!ok) std::abort();
}

std::uint64_t get_be64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}

std::vector<std::uint8_t> authenticated(const std::uint8_t* d, std::size_t n) {
  static const ntsd::crypto::SivKey c2s = testing::key_from_hex(testing::kExampleC2s);
  static const std::vector<std::uint8_t> cookie = testing::hex(testing::kExampleCookie);
  static Client client(ntsd::crypto::make_scalar_engine());
  const std::uint8_t ph = n > 0 ? d[0] % 10 : 0;
  std::vector<std::uint8_t> req(nts_request_len(cookie.size(), ph));
  PendingRequest pend;
  testing::SeededRandom rng(n);
  if (client.build_nts_request({&c2s, cookie, ph, 0x1234, 0}, rng, req, pend) == 0) return {};
  if (n <= 1) return req;
  // Splice the rest of the input in as EF bytes before the authenticator, then
  // re-seal so the authenticator still verifies.
  const std::size_t auth_off = req.size() - auth_ef_len(kNonceLen, ntsd::crypto::kSivTagLen);
  std::vector<std::uint8_t> r(req.begin(), req.begin() + static_cast<std::ptrdiff_t>(auth_off));
  r.insert(r.end(), d + 1, d + n);
  r.insert(r.end(), req.begin() + static_cast<std::ptrdiff_t>(auth_off), req.end());
  const std::size_t a = r.size() - (req.size() - auth_off);
  auto eng = ntsd::crypto::make_scalar_engine();
  const std::span<const std::uint8_t> all(r);
  const auto op = ntsd::crypto::make_aead_op(c2s, all.first(a), all.subspan(a + 8, kNonceLen), {},
                                             std::span(r).subspan(a + 8 + kNonceLen, 16));
  eng->seal_one(op);
  return r;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Server server(ntsd::crypto::make_scalar_engine());
  static const auto ring = *testing::example_ring();
  const std::vector<std::uint8_t> req = size > 0 && data[0] == 0xff
                                            ? authenticated(data + 1, size - 1)
                                            : std::vector<std::uint8_t>(data, data + size);
  constexpr std::size_t kGuard = 64;
  std::vector<std::uint8_t> out(req.size() + kGuard, 0xab);
  ServerState st;
  testing::FakeClock clock;
  testing::SeededRandom rng(size);
  const Outcome o = server.handle_request(req, 77, st, &ring, clock, rng, out);
  require(o.verdict == reason_verdict(o.reason));
  require(o.len <= req.size());
  require((o.verdict == Verdict::kDrop) == (o.len == 0));
  for (std::size_t i = req.size(); i < out.size(); ++i) require(out[i] == 0xab);
  if (o.verdict != Verdict::kDrop) {
    NtpHeader h;
    require(parse_header(std::span(out).first(o.len), h));
    require(h.mode == Mode::kServer && h.receive == 77);
    require((o.verdict == Verdict::kNak) == (h.stratum == 0 && h.refid == kKissNtsNak));
  }
  // Interleaved mode. The receive timestamp 77 | 1 is what answers carry, so
  // inputs with origin 77 | 1 find entries (or ambiguous twins) from earlier ones.
  static ntsd::xleave::Table table(16, ntsd::limit::Secret{1, 2, 3});
  std::vector<std::uint8_t> out2(req.size() + kGuard, 0xab);
  Request q{req, 77, std::span(out2).first(req.size())};
  q.port = size > 1 ? data[size - 1] : 0;
  const Outcome x = server.handle_request(q, st, &ring, clock, rng, &table);
  if (x.tx_ticket != ntsd::xleave::kNoTicket && size % 3 != 0) table.set_tx(x.tx_ticket, 99);
  require(x.verdict == o.verdict && x.reason == o.reason && x.len == o.len);
  for (std::size_t i = req.size(); i < out2.size(); ++i) require(out2[i] == 0xab);
  if (x.verdict == Verdict::kRespond) {
    NtpHeader h;
    require(parse_header(std::span(out2).first(x.len), h));
    require(h.receive == (77 | 1) && (h.transmit & 1) == 0);
    if (x.interleaved) require(h.transmit == 98 && h.origin == get_be64(req.data() + 32));
  }
  return 0;
}
