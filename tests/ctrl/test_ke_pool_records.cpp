// NTS pool records (draft-ietf-ntp-nts-keyexchange-pool-00 with ntpd-rs 1.9's
// code points) against every byte vector of ntpd-rs 1.9's record.rs and
// messages.rs tests (tests/vectors/ntpd-rs/nts_pool.json), then the rules
// ntsd adds on top of them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "ntsd/ke/records.hpp"
#include "test_util.hpp"

using namespace ntsd::ke;
using ntsd::test::from_hex;
using ntsd::test::to_hex;
using json = nlohmann::json;

namespace {

const json& vectors() {
  static const json j =
      json::parse(ntsd::test::read_file(ntsd::test::vectors_dir() + "/ntpd-rs/nts_pool.json"));
  return j;
}

std::vector<std::uint16_t> u16s(Bytes list) {
  std::vector<std::uint16_t> v;
  for (std::size_t i = 0; i < list.size() / 2; ++i) v.push_back(u16_at(list, i));
  return v;
}

std::string str(Bytes b) { return {b.begin(), b.end()}; }

std::vector<std::uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

}  // namespace

TEST(KePoolVectors, TheFileHoldsEveryVector) {
  const auto& v = vectors();
  EXPECT_EQ(v["source"]["tag"], "v1.9.0");
  EXPECT_EQ(v["records"].size(), 66u);
  EXPECT_EQ(v["record_serializations"].size(), 20u);
  EXPECT_EQ(v["requests"].size(), 58u);
  EXPECT_EQ(v["responses"].size(), 23u);
  EXPECT_EQ(v["message_serializations"].size(), 22u);
}

// record.rs: each record parses (or not) as ntpd-rs says. A vector ntpd-rs
// refuses is either cut short (our reader waits for more) or has a body its
// type forbids.
TEST(KePoolVectors, RecordsParseAsNtpdRs) {
  for (const auto& v : vectors()["records"]) {
    SCOPED_TRACE(v["test"].get<std::string>() + " " + v["hex"].get<std::string>());
    auto b = from_hex(v["hex"]);
    Bytes in = b;
    Record r;
    auto st = read_record(in, r);
    if (v["ntpd_rs"] == "err") {
      EXPECT_TRUE(st == ReadStatus::kNeedMore || !record_body_valid(r));
      continue;
    }
    ASSERT_EQ(st, ReadStatus::kRecord);
    EXPECT_TRUE(record_body_valid(r));
    const auto& e = v["record"];
    EXPECT_EQ(r.type, e["type"].get<int>());
    EXPECT_EQ(r.critical, e["critical"].get<bool>());
    EXPECT_EQ(to_hex(r.body), e["body"].get<std::string>());
  }
}

// record.rs serialisations: our builders give the same bytes.
TEST(KePoolVectors, RecordsSerialiseAsNtpdRs) {
  for (const auto& v : vectors()["record_serializations"]) {
    SCOPED_TRACE(v["test"].get<std::string>());
    const auto& e = v["record"];
    std::vector<std::uint8_t> out;
    ASSERT_TRUE(append_record(out, e["critical"], e["type"].get<std::uint16_t>(), from_hex(e["body"])));
    EXPECT_EQ(to_hex(out), v["hex"].get<std::string>());
  }
  // The builders that set the critical bit themselves.
  std::vector<std::uint8_t> keep = build_support_response(nullptr, nullptr, true);
  EXPECT_EQ(to_hex(keep), "0008000080000000");  // Keep Alive is not critical
}

// messages.rs Request::parse vectors through parse_pool_request.
TEST(KePoolVectors, RequestsClassifyAsNtpdRs) {
  int checked = 0;
  for (const auto& v : vectors()["requests"]) {
    SCOPED_TRACE(v["test"].get<std::string>() + " #" + std::to_string(v["index"].get<int>()));
    auto b = from_hex(v["hex"]);
    auto p = parse_pool_request(b, 4096);
    const auto& e = v["ntsd"];
    const std::string kind = e["kind"];
    ++checked;
    if (kind == "error") {
      ASSERT_EQ(p.kind, PoolRequest::Kind::kError);
      EXPECT_EQ(static_cast<int>(p.error), e["error"].get<int>());
      EXPECT_EQ(v["ntpd_rs"], "err");
      continue;
    }
    if (kind == "need_more") {
      EXPECT_EQ(p.kind, PoolRequest::Kind::kNeedMore);  // no End of Message yet
      continue;
    }
    if (kind == "key_exchange") {
      ASSERT_EQ(p.kind, PoolRequest::Kind::kKeyExchange);
      EXPECT_EQ(u16s(p.protocols), e["protocols"].get<std::vector<std::uint16_t>>());
      EXPECT_EQ(u16s(p.aeads), e["aeads"].get<std::vector<std::uint16_t>>());
    } else if (kind == "fixed_key") {
      ASSERT_EQ(p.kind, PoolRequest::Kind::kFixedKey);
      EXPECT_EQ(u16s(p.protocols), e["protocols"].get<std::vector<std::uint16_t>>());
      EXPECT_EQ(u16s(p.aeads), e["aeads"].get<std::vector<std::uint16_t>>());
      EXPECT_EQ(to_hex(p.fixed_key), e["c2s"].get<std::string>() + e["s2c"].get<std::string>());
      EXPECT_EQ(p.keep_alive, e["keep_alive"].get<bool>());
    } else {
      ASSERT_EQ(kind, "support");
      ASSERT_EQ(p.kind, PoolRequest::Kind::kSupport);
      EXPECT_EQ(p.wants_algorithms, e["wants_algorithms"].get<bool>());
      EXPECT_EQ(p.wants_protocols, e["wants_protocols"].get<bool>());
      EXPECT_EQ(p.keep_alive, e["keep_alive"].get<bool>());
    }
    if (e.contains("token")) {
      EXPECT_TRUE(p.has_token);
      EXPECT_EQ(str(p.token), e["token"].get<std::string>());
    }
    std::vector<std::string> denied;
    for (auto d : p.denied) denied.push_back(str(d));
    EXPECT_EQ(denied, e.value("denied", std::vector<std::string>{}));
    // ntpd-rs accepts these too, except where the key length or AEAD is
    // for the time source to refuse (ours: Error 1 from the source).
    EXPECT_EQ(v["ntpd_rs"], e.contains("source_error") ? "err" : "ok");
  }
  EXPECT_EQ(checked, 58);
}

// messages.rs KeyExchangeResponse::parse vectors through parse_response_records.
TEST(KePoolVectors, ResponsesParseAsNtpdRs) {
  for (const auto& v : vectors()["responses"]) {
    SCOPED_TRACE(v["test"].get<std::string>() + " #" + std::to_string(v["index"].get<int>()));
    auto b = from_hex(v["hex"]);
    auto r = parse_response_records(b, 4096);
    const auto& e = v["ntsd"];
    const std::string st = e["status"];
    if (st == "malformed") {
      EXPECT_EQ(r.status, Response::Status::kMalformed);
      EXPECT_EQ(v["ntpd_rs"], "err");
    } else if (st == "need_more") {
      EXPECT_EQ(r.status, Response::Status::kNeedMore);
    } else if (st == "error") {
      ASSERT_EQ(r.status, Response::Status::kErrorRecord);
      EXPECT_EQ(r.error, e["error"].get<int>());
    } else {
      ASSERT_EQ(r.status, Response::Status::kOk) << r.why;
      if (e.value("protocol_empty", false)) {
        EXPECT_FALSE(r.next_protocol);
        EXPECT_EQ(parse_response(b).why, "server did not accept NTPv4");
        continue;
      }
      EXPECT_EQ(*r.next_protocol, e["protocol"].get<int>());
      if (e.value("aead_empty", false)) {
        EXPECT_TRUE(r.aead_empty);
        EXPECT_EQ(parse_response(b).why, "server supports none of our AEADs");
        continue;
      }
      EXPECT_EQ(*r.aead, e["aead"].get<int>());
      std::vector<std::string> cookies;
      for (const auto& c : r.cookies) cookies.push_back(to_hex(c));
      EXPECT_EQ(cookies, e["cookies"].get<std::vector<std::string>>());
      EXPECT_EQ(r.server, e.value("server", std::string()));
      if (e.contains("port")) EXPECT_EQ(*r.port, e["port"].get<int>());
      else EXPECT_FALSE(r.port);
      EXPECT_EQ(r.keep_alive, e["keep_alive"].get<bool>());
      EXPECT_EQ(v["ntpd_rs"], "ok");
    }
  }
}

// messages.rs serialisations: request, Fixed Key Request, support request,
// key exchange response, support response, no-overlap and error responses.
TEST(KePoolVectors, MessagesSerialiseAsNtpdRs) {
  int n = 0;
  for (const auto& v : vectors()["message_serializations"]) {
    SCOPED_TRACE(v["test"].get<std::string>() + " #" + std::to_string(v["index"].get<int>()));
    const auto& e = v["ntsd"];
    const std::string build = e["build"];
    std::vector<std::uint8_t> out;
    if (build == "error") {
      out = build_error(static_cast<ErrorCode>(e["code"].get<int>()));
    } else if (build == "request") {
      auto aeads = e["aeads"].get<std::vector<std::uint16_t>>();
      auto deny = e["deny"].get<std::vector<std::string>>();
      out = build_request(aeads, deny);
    } else if (build == "fixed_key_request") {
      out = build_fixed_key_request(e["token"].get<std::string>(), from_hex(e["c2s"]), from_hex(e["s2c"]),
                                    e["protocol"], e["aead"], e["keep_alive"]);
    } else if (build == "support_request") {
      out = build_support_request(e["token"].get<std::string>(), e["protocols"], e["algorithms"], e["keep_alive"]);
    } else if (build == "response") {
      std::vector<std::vector<std::uint8_t>> cookies;
      for (const auto& c : e["cookies"]) cookies.push_back(from_hex(c));
      ResponseParams p;
      p.protocol = e["protocol"];
      p.aead = e["aead"];
      p.cookies = cookies;
      p.server = e["server"];
      p.port = e["port"];
      p.keep_alive = e["keep_alive"];
      out = build_response(p);
    } else if (build == "support_response") {
      std::vector<AlgorithmDescription> algs;
      std::vector<std::uint16_t> protos;
      if (!e["algorithms"].is_null())
        for (const auto& a : e["algorithms"]) algs.push_back({a[0], a[1]});
      if (!e["protocols"].is_null()) protos = e["protocols"].get<std::vector<std::uint16_t>>();
      out = build_support_response(e["algorithms"].is_null() ? nullptr : &algs,
                                   e["protocols"].is_null() ? nullptr : &protos, e["keep_alive"]);
    } else if (build == "no_aead_response") {
      out = build_no_aead_response();
    } else {
      ASSERT_EQ(build, "no_protocol_response");
      out = build_no_protocol_response();
    }
    EXPECT_EQ(to_hex(out), v["hex"].get<std::string>());
    ++n;
  }
  EXPECT_EQ(n, 22);
}

// ---- ntsd's own rules on top of the vectors -----------------------------

namespace {

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
  Msg& token(const std::string& t = "tok") { return raw(false, kAuthenticationToken, bytes_of(t)); }
  Msg& np() { return rec(true, kNextProtocol, {0}); }
  Msg& aead(std::vector<std::uint16_t> v) { return rec(true, kAeadAlgorithm, v); }
  Msg& fixed(std::size_t n) { return raw(true, kFixedKeyRequest, std::vector<std::uint8_t>(n, 7)); }
  Msg& eom() { return raw(true, kEndOfMessage, {}); }
};

PoolRequest parse(const Msg& m) { return parse_pool_request(m.b, 1024); }

}  // namespace

TEST(KePoolRecords, EveryBadPoolRequestHasItsError) {
  auto err = [](const Msg& m, int code, const char* what) {
    auto p = parse(m);
    EXPECT_EQ(p.kind, PoolRequest::Kind::kError) << what;
    EXPECT_EQ(static_cast<int>(p.error), code) << what;
    EXPECT_TRUE(p.denied.empty()) << what;
  };
  err(Msg().token().token().raw(true, kSupportedAlgorithms, {}).eom(), 1, "two tokens");
  err(Msg().token().raw(true, kSupportedAlgorithms, {}).fixed(64).eom(), 1, "support + fixed key");
  err(Msg().token().raw(true, kSupportedNextProtocols, {}).np().eom(), 1, "support + next protocol");
  err(Msg().token().raw(true, kSupportedNextProtocols, {}).aead({15}).eom(), 1, "support + AEAD");
  err(Msg().token().fixed(63).np().aead({15}).eom(), 1, "odd fixed key");
  err(Msg().token().fixed(64).fixed(64).np().aead({15}).eom(), 1, "two fixed keys");
  err(Msg().fixed(64).np().aead({15}).eom(), 1, "fixed key without token");
  err(Msg().token().fixed(64).aead({15}).eom(), 1, "fixed key without next protocol");
  err(Msg().token().fixed(64).np().eom(), 1, "fixed key without AEAD");
  err(Msg().token().fixed(64).np().aead({15, 17}).eom(), 1, "fixed key with several AEADs");
  err(Msg().token().fixed(64).rec(true, kNextProtocol, {0, 1}).aead({15}).eom(), 1,
      "fixed key with several protocols");
  err(Msg().token().raw(true, kSupportedAlgorithms, {}).raw(true, 0x3333, {}).eom(), 0, "unknown critical");
  err(Msg().token().raw(true, kSupportedAlgorithms, {}).raw(true, kEndOfMessage, {1}), 1, "EOM with a body");
  err(Msg().token().raw(true, kSupportedAlgorithms, {}).eom().eom(), 1, "data after EOM");
  err(Msg().np().aead({30}).raw(false, kCompliantGcmSivExport, {1}).eom(), 1, "record 1024 with a body");
  // Malformed beats unknown critical, as in evaluate_request.
  err(Msg().raw(true, 0x3333, {}).token().token().raw(true, kSupportedAlgorithms, {}).eom(), 1,
      "malformed first");
}

// A pool user's record 1024 decides the AEAD-30 exporter context (the pool
// exports the user's keys itself, ctrl/pool/pool.cpp).
TEST(KePoolRecords, UserKeyExchangeRemembersRecord1024) {
  auto p = parse(Msg().np().aead({30, 15}).raw(false, kCompliantGcmSivExport, {}).eom());
  ASSERT_EQ(p.kind, PoolRequest::Kind::kKeyExchange);
  EXPECT_TRUE(p.compliant_gcm_siv);
  p = parse(Msg().np().aead({30, 15}).eom());
  ASSERT_EQ(p.kind, PoolRequest::Kind::kKeyExchange);
  EXPECT_FALSE(p.compliant_gcm_siv);
}

TEST(KePoolRecords, CriticalBitsOfKnownPoolRecordsDoNotMatter) {
  // ntpd-rs parses its known records whatever the critical bit says.
  auto p = parse(Msg().token().raw(false, kSupportedAlgorithms, {}).raw(true, kKeepAlive, {1, 2}).eom());
  EXPECT_EQ(p.kind, PoolRequest::Kind::kSupport);
  EXPECT_TRUE(p.keep_alive);  // a body on Keep Alive is ignored (draft)
  p = parse(Msg().np().aead({15}).raw(true, kNtpServerDeny, bytes_of("x")).eom());
  EXPECT_EQ(p.kind, PoolRequest::Kind::kKeyExchange);
  ASSERT_EQ(p.denied.size(), 1u);
}

TEST(KePoolRecords, ManyDenyRecordsAreBounded) {
  Msg m;
  m.np().aead({15});
  for (int i = 0; i < 100; ++i) m.raw(false, kNtpServerDeny, bytes_of("n" + std::to_string(i)));
  m.eom();
  auto p = parse_pool_request(m.b, 4096);
  ASSERT_EQ(p.kind, PoolRequest::Kind::kKeyExchange);
  EXPECT_EQ(p.denied.size(), 64u);
}

TEST(KePoolRecords, PartialAndOversizedRequests) {
  auto full = Msg().token().fixed(64).np().aead({15}).eom().b;
  for (std::size_t n = 0; n < full.size(); ++n)
    EXPECT_EQ(parse_pool_request({full.data(), n}, 1024).kind, PoolRequest::Kind::kNeedMore) << n;
  EXPECT_EQ(parse_pool_request(full, full.size() - 1).kind, PoolRequest::Kind::kError);
  EXPECT_EQ(scan_message(full, 1024), MessageStatus::kComplete);
  EXPECT_EQ(scan_message({full.data(), full.size() - 1}, 1024), MessageStatus::kNeedMore);
  EXPECT_EQ(scan_message({full.data(), full.size() - 1}, full.size() - 1), MessageStatus::kTooLong);
}

TEST(KePoolRecords, SupportAnswersParse) {
  std::vector<AlgorithmDescription> algs = {{15, 32}, {17, 64}};
  std::vector<std::uint16_t> protos = {0};
  auto s = parse_support_response(build_support_response(&algs, &protos, true), 4096);
  ASSERT_EQ(s.status, SupportResponse::Status::kOk) << s.why;
  EXPECT_EQ(s.algorithms, algs);
  EXPECT_EQ(s.protocols, protos);
  EXPECT_TRUE(s.keep_alive);
  EXPECT_EQ(parse_support_response(build_error(ErrorCode::kBadRequest), 4096).status,
            SupportResponse::Status::kErrorRecord);
  Msg odd;
  odd.raw(true, kSupportedAlgorithms, {0, 15, 0}).eom();
  EXPECT_EQ(parse_support_response(odd.b, 4096).status, SupportResponse::Status::kMalformed);
  Msg cookie;
  cookie.raw(false, kNewCookie, {1}).eom();
  EXPECT_EQ(parse_support_response(cookie.b, 4096).status, SupportResponse::Status::kMalformed);
  Msg twice;
  twice.rec(true, kSupportedNextProtocols, {0}).rec(true, kSupportedNextProtocols, {0}).eom();
  EXPECT_EQ(parse_support_response(twice.b, 4096).status, SupportResponse::Status::kMalformed);
}

TEST(KePoolRecords, ClientRequestCarriesDenyRecordsAfterTheAead) {
  const std::uint16_t a[] = {15};
  const std::string deny[] = {"a.example", "b.example"};
  auto req = build_request(a, deny);
  auto p = parse_pool_request(req, 1024);
  ASSERT_EQ(p.kind, PoolRequest::Kind::kKeyExchange);
  ASSERT_EQ(p.denied.size(), 2u);
  EXPECT_EQ(str(p.denied[1]), "b.example");
  // An RFC 8915 server that knows nothing of pools still accepts it (13 is
  // not critical).
  const std::vector<std::uint16_t> ours = {15, 17};
  EXPECT_EQ(evaluate_request(req, ours, 1024).kind, RequestVerdict::Kind::kAccept);
}

TEST(KePoolRecords, ExporterContextCarriesTheProtocol) {
  EXPECT_EQ((std::array<std::uint8_t, 5>{0x80, 0x01, 0, 17, 1}), exporter_context(0x8001, 17, true));
  EXPECT_EQ(exporter_context(0, 15, false), exporter_context(15, false));
}
