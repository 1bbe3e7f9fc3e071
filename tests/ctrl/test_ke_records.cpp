// The sans-IO NTS-KE record codec: every request outcome of RFC 8915 §4.
#include <gtest/gtest.h>

#include "ntsd/ke/records.hpp"

using namespace ntsd::ke;
using Kind = RequestVerdict::Kind;

namespace {

const std::vector<std::uint16_t> kOurs = {15, 17};

struct Msg {
  std::vector<std::uint8_t> b;
  Msg& rec(bool crit, std::uint16_t type, std::vector<std::uint16_t> vals) {
    append_u16_record(b, crit, type, vals);
    return *this;
  }
  Msg& raw(bool crit, std::uint16_t type, std::vector<std::uint8_t> body) {
    append_record(b, crit, type, body);
    return *this;
  }
  Msg& np() { return rec(true, kNextProtocol, {0}); }
  Msg& aead(std::vector<std::uint16_t> v) { return rec(false, kAeadAlgorithm, v); }
  Msg& eom() { return raw(true, kEndOfMessage, {}); }
};

RequestVerdict eval(const Msg& m, std::size_t max = 1024) { return evaluate_request(m.b, kOurs, max); }

void expect_error(const Msg& m, ErrorCode code, const char* what) {
  auto v = eval(m);
  EXPECT_EQ(v.kind, Kind::kError) << what;
  EXPECT_EQ(v.error, code) << what;
}

}  // namespace

TEST(KeRecords, ReadRecordIsBoundsChecked) {
  std::vector<std::uint8_t> b = {0x80, 0x01, 0x00, 0x02, 0x00};
  Bytes in = b;
  Record r;
  EXPECT_EQ(read_record(in, r), ReadStatus::kNeedMore);  // body cut short
  b.push_back(0x00);
  in = b;
  ASSERT_EQ(read_record(in, r), ReadStatus::kRecord);
  EXPECT_TRUE(r.critical);
  EXPECT_EQ(r.type, kNextProtocol);
  EXPECT_EQ(r.body.size(), 2u);
  EXPECT_TRUE(in.empty());
}

TEST(KeRecords, AValidRequestNegotiatesTheClientsFirstSupportedAead) {
  auto v = eval(Msg().np().aead({16, 17, 15}).eom());
  EXPECT_EQ(v.kind, Kind::kAccept);
  EXPECT_EQ(v.aead, 17);
  // Suggested server/port records from a client are allowed (§4.1.7, §4.1.8).
  v = eval(Msg().np().aead({15}).raw(false, kNtpv4Server, {'x'}).rec(false, kNtpv4Port, {123}).eom());
  EXPECT_EQ(v.kind, Kind::kAccept);
  EXPECT_EQ(v.aead, 15);
  // Unknown non-critical records are ignored (§4).
  v = eval(Msg().np().raw(false, 0x1234, {1, 2, 3}).aead({15}).eom());
  EXPECT_EQ(v.kind, Kind::kAccept);
}

TEST(KeRecords, NoCommonAeadGivesAnEmptyAeadRecord) {
  EXPECT_EQ(eval(Msg().np().aead({1, 2}).eom()).kind, Kind::kNoAead);
  auto resp = parse_response(build_no_aead_response());
  EXPECT_EQ(resp.status, Response::Status::kMalformed);
  EXPECT_EQ(resp.why, "server supports none of our AEADs");
}

TEST(KeRecords, PartialRequestsWaitForMore) {
  auto full = Msg().np().aead({15}).eom().b;
  for (std::size_t n = 0; n < full.size(); ++n) {
    auto v = evaluate_request({full.data(), n}, kOurs, 1024);
    EXPECT_EQ(v.kind, Kind::kNeedMore) << n;
  }
}

TEST(KeRecords, UnrecognisedCriticalRecordIsError0) {
  expect_error(Msg().np().raw(true, 0x1234, {}).aead({15}).eom(), ErrorCode::kUnrecognizedCritical,
               "unknown critical");
}

TEST(KeRecords, BadRequestsAreError1) {
  expect_error(Msg().aead({15}).eom(), ErrorCode::kBadRequest, "no next protocol");
  expect_error(Msg().rec(true, kNextProtocol, {1}).aead({15}).eom(), ErrorCode::kBadRequest,
               "no acceptable protocol");
  expect_error(Msg().rec(false, kNextProtocol, {0}).aead({15}).eom(), ErrorCode::kBadRequest,
               "next protocol not critical");
  expect_error(Msg().np().np().aead({15}).eom(), ErrorCode::kBadRequest, "two next protocol records");
  expect_error(Msg().raw(true, kNextProtocol, {0}).aead({15}).eom(), ErrorCode::kBadRequest,
               "odd next protocol body");
  expect_error(Msg().raw(true, kNextProtocol, {}).aead({15}).eom(), ErrorCode::kBadRequest,
               "empty next protocol body");
  expect_error(Msg().np().eom(), ErrorCode::kBadRequest, "no AEAD record");
  expect_error(Msg().np().aead({15}).aead({15}).eom(), ErrorCode::kBadRequest, "two AEAD records");
  expect_error(Msg().np().raw(false, kAeadAlgorithm, {0, 15, 1}).eom(), ErrorCode::kBadRequest,
               "odd AEAD body");
  expect_error(Msg().np().aead({15}).rec(true, kError, {0}).eom(), ErrorCode::kBadRequest, "Error from client");
  expect_error(Msg().np().aead({15}).rec(true, kWarning, {0}).eom(), ErrorCode::kBadRequest,
               "Warning from client");
  expect_error(Msg().np().aead({15}).raw(false, kNewCookie, {1}).eom(), ErrorCode::kBadRequest,
               "cookie from client");
  expect_error(Msg().np().aead({15}).raw(true, kEndOfMessage, {0}), ErrorCode::kBadRequest, "EOM with body");
  expect_error(Msg().np().aead({15}).eom().np(), ErrorCode::kBadRequest, "data after EOM");
  // Malformed records come first: Error 1 even with an unknown critical record.
  expect_error(Msg().raw(true, 0x1234, {}).raw(true, kNextProtocol, {0}).aead({15}).eom(),
               ErrorCode::kBadRequest, "malformed beats unknown critical");
}

TEST(KeRecords, OversizedRequestIsError1) {
  Msg m;
  m.np().raw(false, 0x1234, std::vector<std::uint8_t>(2000, 0)).aead({15}).eom();
  auto v = eval(m, 1024);
  EXPECT_EQ(v.kind, Kind::kError);
  EXPECT_EQ(v.error, ErrorCode::kBadRequest);
  // Also when the bound is reached before the record is complete.
  v = evaluate_request({m.b.data(), 1024}, kOurs, 1024);
  EXPECT_EQ(v.kind, Kind::kError);
  v = evaluate_request({m.b.data(), 1023}, kOurs, 1024);
  EXPECT_EQ(v.kind, Kind::kNeedMore);
}

TEST(KeRecords, ResponseRoundTrips) {
  std::vector<std::vector<std::uint8_t>> cookies(8, std::vector<std::uint8_t>(100, 0xab));
  ResponseParams p;
  p.aead = 17;
  p.cookies = cookies;
  p.server = "ntp.example";
  p.port = 1123;
  auto resp = parse_response(build_response(p));
  ASSERT_EQ(resp.status, Response::Status::kOk) << resp.why;
  EXPECT_EQ(*resp.aead, 17);
  EXPECT_EQ(resp.cookies, cookies);
  EXPECT_EQ(resp.server, "ntp.example");
  EXPECT_EQ(*resp.port, 1123);
  // Without server/port no such records are sent.
  p.server.clear();
  p.port = 0;
  resp = parse_response(build_response(p));
  EXPECT_TRUE(resp.server.empty());
  EXPECT_FALSE(resp.port);
  // The client's request is one the server accepts.
  const std::uint16_t a[] = {15};
  EXPECT_EQ(evaluate_request(build_request(a), kOurs, 1024).kind, Kind::kAccept);
}

TEST(KeRecords, ErrorResponsesAndBadResponses) {
  auto r = parse_response(build_error(ErrorCode::kBadRequest));
  EXPECT_EQ(r.status, Response::Status::kErrorRecord);
  EXPECT_EQ(r.error, 1);
  Msg no_cookies;
  no_cookies.np().rec(true, kAeadAlgorithm, {15}).eom();
  EXPECT_EQ(parse_response(no_cookies.b).why, "no cookies");
  Msg crit;
  crit.np().rec(true, kAeadAlgorithm, {15}).raw(true, 0x4321, {}).eom();
  EXPECT_EQ(parse_response(crit.b).status, Response::Status::kMalformed);
  Msg other_proto;
  other_proto.rec(true, kNextProtocol, {5}).rec(true, kAeadAlgorithm, {15}).raw(false, kNewCookie, {1}).eom();
  EXPECT_EQ(parse_response(other_proto.b).why, "server did not accept NTPv4");
  EXPECT_EQ(parse_response(std::vector<std::uint8_t>{0x80, 0x01}).status, Response::Status::kNeedMore);
}

TEST(KeRecords, ExporterContextIsRfc8915) {
  // §5.1: protocol id 0 (2 bytes) || AEAD id (2 bytes) || 0x00 C2S / 0x01 S2C.
  auto c2s = exporter_context(15, false);
  auto s2c = exporter_context(15, true);
  EXPECT_EQ((std::array<std::uint8_t, 5>{0, 0, 0, 15, 0}), c2s);
  EXPECT_EQ((std::array<std::uint8_t, 5>{0, 0, 0, 15, 1}), s2c);
  EXPECT_STREQ(kExporterLabel, "EXPORTER-network-time-security");
}

// AEAD 30 and record 1024 ("Compliant AES-128-GCM-SIV Exporter Context",
// chrony's nts_ke.h): the client's order decides (RFC 8915 §4.1.5), the
// record is empty and non-critical, a non-empty one is a bad request (chrony's
// process_request), and the exporter id is 15 unless both sides had it.
TEST(KeRecords, GcmSivNegotiationAndRecord1024) {
  const std::vector<std::uint16_t> ours = {30, 15, 17};
  auto v = evaluate_request(Msg().np().aead({30, 15}).raw(false, kCompliantGcmSivExport, {}).eom().b,
                            ours, 1024);
  EXPECT_EQ(v.kind, Kind::kAccept);
  EXPECT_EQ(v.aead, 30);
  EXPECT_TRUE(v.compliant_gcm_siv);
  // The client's order, not ours: a chrony 4.3 client offers 15 only; a
  // client preferring 15 gets 15 even though 30 is first in our list.
  v = evaluate_request(Msg().np().aead({15, 30}).eom().b, ours, 1024);
  EXPECT_EQ(v.aead, 15);
  EXPECT_FALSE(v.compliant_gcm_siv);
  // 30 offered but not configured: the next of the client's list.
  v = evaluate_request(Msg().np().aead({30, 15}).raw(false, kCompliantGcmSivExport, {}).eom().b,
                       kOurs, 1024);
  EXPECT_EQ(v.aead, 15);
  // A critical 1024 is recognised too; a non-empty one is Error 1.
  v = evaluate_request(Msg().np().aead({30}).raw(true, kCompliantGcmSivExport, {}).eom().b, ours,
                       1024);
  EXPECT_EQ(v.kind, Kind::kAccept);
  EXPECT_TRUE(v.compliant_gcm_siv);
  v = evaluate_request(Msg().np().aead({30}).raw(false, kCompliantGcmSivExport, {0}).eom().b, ours,
                       1024);
  EXPECT_EQ(v.kind, Kind::kError);
  EXPECT_EQ(v.error, ErrorCode::kBadRequest);

  // Our request: 1024 (empty, non-critical) after the AEAD record when 30 is offered.
  const std::uint16_t both[] = {30, 15};
  const auto req = build_request(both);
  Bytes in = req;
  Record r;
  std::vector<std::pair<std::uint16_t, bool>> types;
  while (read_record(in, r) == ReadStatus::kRecord) {
    types.emplace_back(r.type, r.critical);
    if (r.type == kCompliantGcmSivExport) {
      EXPECT_TRUE(r.body.empty());
    }
  }
  ASSERT_EQ(types.size(), 4u);
  EXPECT_EQ(types[2], (std::pair<std::uint16_t, bool>{kCompliantGcmSivExport, false}));
  const std::uint16_t only15[] = {15};
  EXPECT_EQ(build_request(only15).size(), 4u + 2 + 4 + 2 + 4);  // no 1024

  // The response echoes 1024 only for AEAD 30 and a client that sent it.
  std::vector<std::vector<std::uint8_t>> cookies(2, std::vector<std::uint8_t>(64, 1));
  ResponseParams p;
  p.aead = 30;
  p.cookies = cookies;
  p.compliant_gcm_siv = true;
  auto resp = parse_response(build_response(p));
  ASSERT_EQ(resp.status, Response::Status::kOk) << resp.why;
  EXPECT_TRUE(resp.compliant_gcm_siv);
  p.compliant_gcm_siv = false;
  EXPECT_FALSE(parse_response(build_response(p)).compliant_gcm_siv);
  p.aead = 15;
  p.compliant_gcm_siv = true;
  EXPECT_FALSE(parse_response(build_response(p)).compliant_gcm_siv);
  Msg bad;
  bad.np().rec(true, kAeadAlgorithm, {30}).raw(false, kCompliantGcmSivExport, {1}).raw(false, kNewCookie, {1}).eom();
  EXPECT_EQ(parse_response(bad.b).status, Response::Status::kMalformed);

  // chrony's exporter trap: 15 in the context for AEAD 30 without the record.
  EXPECT_EQ(exporter_aead(30, false), 15);
  EXPECT_EQ(exporter_aead(30, true), 30);
  EXPECT_EQ(exporter_aead(15, true), 15);
  EXPECT_EQ(exporter_aead(17, false), 17);
}
