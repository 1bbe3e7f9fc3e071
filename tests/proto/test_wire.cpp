// RFC 5905 header and RFC 7822 extension-field parsing.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "ntsd/proto/wire.hpp"
#include "reader.hpp"
#include "test_util.hpp"

namespace ntsd::proto {
namespace {

using test::from_hex;

std::vector<std::uint8_t> example_request() {
  const auto j =
      nlohmann::json::parse(test::read_file(test::vectors_dir() + "/nts/request_example.json"));
  return from_hex(j["request"].get<std::string>());
}

TEST(Wire, HeaderRoundTrip) {
  NtpHeader h;
  h.leap = 2;
  h.version = 3;
  h.mode = Mode::kServer;
  h.stratum = 2;
  h.poll = -3;
  h.precision = -24;
  h.root_delay = 0x00012345;
  h.root_dispersion = 0x00006789;
  h.refid = kiss_code("GPS\0");
  h.reference = 0x1111222233334444ull;
  h.origin = 0x5555666677778888ull;
  h.receive = 0x99990000aaaabbbbull;
  h.transmit = 0xccccddddeeeeffffull;
  std::array<std::uint8_t, kHeaderLen> buf{};
  ASSERT_TRUE(write_header(h, buf));
  EXPECT_EQ(buf[0], 2 << 6 | 3 << 3 | 4);
  EXPECT_EQ(buf[40], 0xcc);
  NtpHeader g;
  ASSERT_TRUE(parse_header(buf, g));
  EXPECT_EQ(g.leap, 2);
  EXPECT_EQ(g.version, 3);
  EXPECT_EQ(g.mode, Mode::kServer);
  EXPECT_EQ(g.poll, -3);
  EXPECT_EQ(g.precision, -24);
  EXPECT_EQ(g.root_delay, h.root_delay);
  EXPECT_EQ(g.refid, h.refid);
  EXPECT_EQ(g.origin, h.origin);
  EXPECT_EQ(g.receive, h.receive);
  EXPECT_EQ(g.transmit, h.transmit);
  std::array<std::uint8_t, 47> small{};
  EXPECT_FALSE(parse_header(small, g));
  EXPECT_FALSE(write_header(h, small));
}

TEST(Wire, ExampleRequestEfs) {
  const auto req = example_request();
  EfList efs;
  ASSERT_EQ(parse_efs(req, kHeaderLen, efs), EfStatus::kOk);
  ASSERT_EQ(efs.count, 3);
  EXPECT_EQ(efs.mac_len, 0);
  EXPECT_EQ(efs.ef[0].type, kEfUniqueId);
  EXPECT_EQ(efs.ef[0].len, 36);
  EXPECT_EQ(efs.ef[1].type, kEfCookie);
  EXPECT_EQ(efs.ef[1].offset, 84);
  EXPECT_EQ(efs.ef[1].body.size(), 100u);
  EXPECT_EQ(efs.ef[2].type, kEfAuthenticator);
  EXPECT_EQ(efs.ef[2].offset + efs.ef[2].len, static_cast<int>(req.size()));
  AuthBody ab;
  ASSERT_TRUE(parse_auth_body(efs.ef[2].body, ab));
  EXPECT_EQ(test::to_hex(ab.nonce), "7208a18a82f9a600130d32d05c9d74dd");
  EXPECT_EQ(test::to_hex(ab.ciphertext), "464470e598f324b731647dde6191623e");
}

std::vector<std::uint8_t> with_tail(std::vector<std::uint8_t> tail) {
  std::vector<std::uint8_t> p(kHeaderLen + tail.size(), 0);
  for (std::size_t i = 0; i < tail.size(); ++i) p[kHeaderLen + i] = tail[i];
  return p;
}

TEST(Wire, EfErrors) {
  EfList efs;
  // Length below 16 (RFC 7822 §3).
  auto p = with_tail({0x12, 0x34, 0x00, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                      0,    0,    0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_EQ(parse_efs(p, kHeaderLen, efs), EfStatus::kBadLength);
  // Not a multiple of 4.
  p = with_tail(std::vector<std::uint8_t>(32, 0));
  p[kHeaderLen + 3] = 30;
  EXPECT_EQ(parse_efs(p, kHeaderLen, efs), EfStatus::kBadLength);
  // Runs past the end.
  p[kHeaderLen + 3] = 36;
  EXPECT_EQ(parse_efs(p, kHeaderLen, efs), EfStatus::kTruncated);
  // Too short for even a header (but not a MAC length).
  p = with_tail({1, 2});
  EXPECT_EQ(parse_efs(p, kHeaderLen, efs), EfStatus::kTruncated);
  // kMaxEfs + 1 minimal fields.
  p = with_tail({});
  for (std::size_t i = 0; i <= kMaxEfs; ++i) {
    std::array<std::uint8_t, 16> ef{0x77, 0x77, 0x00, 0x10};
    p.insert(p.end(), ef.begin(), ef.end());
  }
  p.resize(p.size() + 16);  // keep the tail out of MAC lengths
  EXPECT_EQ(parse_efs(p, kHeaderLen, efs), EfStatus::kTooMany);
}

TEST(Wire, MacLengthsAreNotEfs) {
  for (std::size_t mac : {4u, 20u, 24u}) {
    auto p = with_tail(std::vector<std::uint8_t>(mac, 0));
    EfList efs;
    ASSERT_EQ(parse_efs(p, kHeaderLen, efs), EfStatus::kOk) << mac;
    EXPECT_EQ(efs.mac_len, mac);
    EXPECT_EQ(efs.count, 0);
  }
  // Inside an Authenticator's plaintext there is no MAC: 24 bytes is an EF.
  std::vector<std::uint8_t> plain(24, 0);
  plain[0] = 0x02;
  plain[1] = 0x04;
  plain[3] = 24;
  EfList efs;
  ASSERT_EQ(parse_efs(plain, 0, efs, false), EfStatus::kOk);
  EXPECT_EQ(efs.count, 1);
}

TEST(Wire, WriteEfPadsAndRoundTrips) {
  std::array<std::uint8_t, 64> out{};
  const std::array<std::uint8_t, 5> body{1, 2, 3, 4, 5};
  EXPECT_EQ(write_ef(0xabcd, body, out), 16u);  // minimum 16
  EXPECT_EQ(write_ef(0xabcd, body, out, 28), 28u);
  EXPECT_EQ(out[3], 28);
  EXPECT_EQ(out[4], 1);
  EXPECT_EQ(out[9], 0);
  EXPECT_EQ(write_ef(0xabcd, body, std::span(out).first(12)), 0u);
  EfList efs;
  ASSERT_EQ(parse_efs(std::span(out).first(28), 0, efs, false), EfStatus::kOk);
  ASSERT_EQ(efs.count, 1);
  EXPECT_EQ(efs.ef[0].type, 0xabcd);
  EXPECT_EQ(efs.ef[0].body.size(), 24u);
}

TEST(Wire, AuthBodyRules) {
  AuthBody ab;
  // nonce 16, ct 16.
  std::vector<std::uint8_t> b{0, 16, 0, 16};
  b.resize(4 + 32, 0xaa);
  EXPECT_TRUE(parse_auth_body(b, ab));
  EXPECT_EQ(ab.nonce.size(), 16u);
  EXPECT_EQ(ab.ciphertext.size(), 16u);
  // Ciphertext longer than the body.
  b[3] = 20;
  EXPECT_FALSE(parse_auth_body(b, ab));
  // Nonce of 0 bytes is never valid.
  b = {0, 0, 0, 16};
  b.resize(4 + 16 + 16, 0);
  EXPECT_FALSE(parse_auth_body(b, ab));
  // Nonce of 5 (padded to 8) needs 11 bytes of additional padding (RFC 8915 §5.6).
  b = {0, 5, 0, 16};
  b.resize(4 + 8 + 16, 0);
  EXPECT_FALSE(parse_auth_body(b, ab));
  b.resize(4 + 8 + 16 + 12, 0);
  EXPECT_TRUE(parse_auth_body(b, ab));
  EXPECT_EQ(ab.nonce.size(), 5u);
}

// parse_auth_body checks the padded lengths at once (dataplane/proto/src/
// reader.hpp); this reference reads the body field by field with the
// bounds-checked Reader, as it did before. Every verdict, span and
// reaches_16 must agree, over every length pair near the edges and every
// body size up to a little past what they need.
bool reference_auth_body(Bytes body, AuthBody& out, std::size_t n_req) {
  detail::Reader r(body);
  const std::size_t nonce_len = r.u16();
  const std::size_t ct_len = r.u16();
  if (!r.ok() || nonce_len == 0) return false;
  out.nonce = r.bytes(nonce_len);
  r.bytes(detail::pad4(nonce_len) - nonce_len);
  out.ciphertext = r.bytes(ct_len);
  r.bytes(detail::pad4(ct_len) - ct_len);
  if (!r.ok()) return false;
  if (nonce_len < n_req && r.left() < n_req - nonce_len) return false;
  out.reaches_16 = nonce_len >= kNonceLen || r.left() >= kNonceLen - nonce_len;
  return true;
}

TEST(Wire, AuthBodyMatchesFieldByFieldReader) {
  const std::size_t lens[] = {0, 1, 3, 4, 5, 11, 12, 13, 15, 16, 17, 20, 32, 33, 0xfffd, 0xffff};
  std::vector<std::uint8_t> b(80, 0x5a);
  std::size_t checked = 0;
  for (const std::size_t n : lens) {
    for (const std::size_t c : lens) {
      b[0] = static_cast<std::uint8_t>(n >> 8);
      b[1] = static_cast<std::uint8_t>(n);
      b[2] = static_cast<std::uint8_t>(c >> 8);
      b[3] = static_cast<std::uint8_t>(c);
      for (std::size_t size = 0; size <= b.size(); ++size) {
        for (const std::size_t n_req : {std::size_t{12}, std::size_t{16}}) {
          AuthBody got, want;
          const Bytes body(b.data(), size);
          const bool ok = parse_auth_body(body, got, n_req);
          ASSERT_EQ(ok, reference_auth_body(body, want, n_req)) << n << " " << c << " " << size;
          ++checked;
          if (!ok) continue;
          EXPECT_EQ(got.nonce.data(), want.nonce.data());
          EXPECT_EQ(got.nonce.size(), want.nonce.size());
          EXPECT_EQ(got.ciphertext.data(), want.ciphertext.data());
          EXPECT_EQ(got.ciphertext.size(), want.ciphertext.size());
          EXPECT_EQ(got.reaches_16, want.reaches_16);
        }
      }
    }
  }
  EXPECT_EQ(checked, 16u * 16u * 81u * 2u);
}

TEST(Wire, NtpDiffWraps) {
  EXPECT_EQ(ntp_diff(5, 10), -5);
  EXPECT_EQ(ntp_diff(2, 0xffffffffffffffffull), 3);
  EXPECT_DOUBLE_EQ(ntp_seconds(std::int64_t{3} << 31), 1.5);
}

}  // namespace
}  // namespace ntsd::proto
