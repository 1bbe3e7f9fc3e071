#include "ntsd/ke/records.hpp"

namespace ntsd::ke {
namespace {

std::uint16_t be16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}

void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

// Records a client must never send (§4.1.3, §4.1.4, §4.1.6): chrony and the
// RFC treat them as a bad request.
bool server_only(std::uint16_t type) noexcept {
  return type == kError || type == kWarning || type == kNewCookie;
}

// Server Deny records kept per request; more are ignored (the request size
// bound limits them anyway).
constexpr std::size_t kMaxDenied = 64;

}  // namespace

ReadStatus read_record(Bytes& in, Record& out) noexcept {
  if (in.size() < kRecordHeaderLen) return ReadStatus::kNeedMore;
  std::uint16_t t = be16(in.data());
  std::size_t len = be16(in.data() + 2);
  if (in.size() < kRecordHeaderLen + len) return ReadStatus::kNeedMore;
  out.critical = (t & kCriticalBit) != 0;
  out.type = static_cast<std::uint16_t>(t & ~kCriticalBit);
  out.body = in.subspan(kRecordHeaderLen, len);
  in = in.subspan(kRecordHeaderLen + len);
  return ReadStatus::kRecord;
}

MessageStatus scan_message(Bytes received, std::size_t max_bytes) noexcept {
  if (received.size() > max_bytes) return MessageStatus::kTooLong;
  Bytes in = received;
  Record r;
  while (read_record(in, r) == ReadStatus::kRecord)
    if (r.type == kEndOfMessage) return MessageStatus::kComplete;
  return received.size() >= max_bytes ? MessageStatus::kTooLong : MessageStatus::kNeedMore;
}

bool record_body_valid(const Record& r) noexcept {
  switch (r.type) {
    case kNextProtocol:
    case kAeadAlgorithm:
    case kSupportedNextProtocols:
    case kFixedKeyRequest: return r.body.size() % 2 == 0;
    case kSupportedAlgorithms: return r.body.size() % 4 == 0;
    case kError:
    case kWarning:
    case kNtpv4Port: return r.body.size() == 2;
    default: return true;
  }
}

bool append_record(std::vector<std::uint8_t>& out, bool critical, std::uint16_t type, Bytes body) {
  if (body.size() > 0xFFFF) return false;
  put16(out, static_cast<std::uint16_t>(type | (critical ? kCriticalBit : 0)));
  put16(out, static_cast<std::uint16_t>(body.size()));
  out.insert(out.end(), body.begin(), body.end());
  return true;
}

bool append_u16_record(std::vector<std::uint8_t>& out, bool critical, std::uint16_t type,
                       std::span<const std::uint16_t> values) {
  std::vector<std::uint8_t> body;
  for (auto v : values) put16(body, v);
  return append_record(out, critical, type, body);
}

std::array<std::uint8_t, 5> exporter_context(std::uint16_t aead, bool s2c) noexcept {
  return {0, static_cast<std::uint8_t>(kNextProtocolNtpv4), static_cast<std::uint8_t>(aead >> 8),
          static_cast<std::uint8_t>(aead), static_cast<std::uint8_t>(s2c ? 1 : 0)};
}

RequestVerdict evaluate_request(Bytes received, std::span<const std::uint16_t> supported,
                                std::size_t max_bytes) noexcept {
  RequestVerdict v;
  auto error = [&](ErrorCode c) {
    v.kind = RequestVerdict::Kind::kError;
    v.error = c;
    return v;
  };
  if (received.size() > max_bytes) return error(ErrorCode::kBadRequest);
  int next_protocol_records = 0, aead_records = 0;
  bool ntpv4 = false, unknown_critical = false;
  std::optional<std::uint16_t> aead;
  Bytes in = received;
  Record r;
  for (;;) {
    if (read_record(in, r) == ReadStatus::kNeedMore) {
      // Oversized request or trickle: §4 lets the server bound its resources.
      if (received.size() >= max_bytes) return error(ErrorCode::kBadRequest);
      return v;  // kNeedMore
    }
    if (r.type == kEndOfMessage) break;
    switch (r.type) {
      case kNextProtocol:
        // §4.1.2: the critical bit MUST be set; the body is a list of u16.
        if (!r.critical || r.body.empty() || r.body.size() % 2) return error(ErrorCode::kBadRequest);
        ++next_protocol_records;
        for (std::size_t i = 0; i < r.body.size(); i += 2)
          if (be16(r.body.data() + i) == kNextProtocolNtpv4) ntpv4 = true;
        break;
      case kAeadAlgorithm:
        if (r.body.empty() || r.body.size() % 2) return error(ErrorCode::kBadRequest);
        ++aead_records;
        // §4.1.5: honour the client's preference order.
        for (std::size_t i = 0; i < r.body.size() && !aead; i += 2) {
          std::uint16_t id = be16(r.body.data() + i);
          for (auto s : supported)
            if (s == id) aead = id;
        }
        break;
      case kNtpv4Server:
      case kNtpv4Port:
        break;  // §4.1.7/§4.1.8: a client may suggest; we answer with ours.
      case kCompliantGcmSivExport:
        // chrony's process_request: a non-empty body is a bad request.
        if (!r.body.empty()) return error(ErrorCode::kBadRequest);
        v.compliant_gcm_siv = true;
        break;
      default:
        if (server_only(r.type)) return error(ErrorCode::kBadRequest);
        // §4.1: an unrecognised critical record is Error 0; keep reading so a
        // malformed message still gets Error 1 first (chrony does the same).
        if (r.critical) unknown_critical = true;
    }
  }
  if (r.body.size() != 0 || !in.empty()) return error(ErrorCode::kBadRequest);
  if (unknown_critical) return error(ErrorCode::kUnrecognizedCritical);
  // §4.1.2: exactly one Next Protocol record; we only speak NTPv4.
  if (next_protocol_records != 1 || !ntpv4) return error(ErrorCode::kBadRequest);
  // §4.1.5: exactly one AEAD record when NTPv4 is negotiated.
  if (aead_records != 1) return error(ErrorCode::kBadRequest);
  if (!aead) {
    v.kind = RequestVerdict::Kind::kNoAead;
    return v;
  }
  v.kind = RequestVerdict::Kind::kAccept;
  v.aead = *aead;
  return v;
}

std::vector<std::uint8_t> build_response(const ResponseParams& p) {
  std::vector<std::uint8_t> out;
  append_u16_record(out, true, kNextProtocol, {&p.protocol, 1});
  append_u16_record(out, true, kAeadAlgorithm, {&p.aead, 1});
  if (p.aead == kAeadGcmSiv && p.compliant_gcm_siv)
    append_record(out, false, kCompliantGcmSivExport, {});
  for (const auto& c : p.cookies) append_record(out, false, kNewCookie, c);
  if (!p.server.empty())
    append_record(out, true, kNtpv4Server,
                  {reinterpret_cast<const std::uint8_t*>(p.server.data()), p.server.size()});
  if (p.port != 0) append_u16_record(out, true, kNtpv4Port, {&p.port, 1});
  // Pool draft: Keep Alive (not critical) just before End of Message, as ntpd-rs.
  if (p.keep_alive) append_record(out, false, kKeepAlive, {});
  append_record(out, true, kEndOfMessage, {});
  return out;
}

std::vector<std::uint8_t> build_no_aead_response() {
  std::vector<std::uint8_t> out;
  const std::uint16_t proto = kNextProtocolNtpv4;
  append_u16_record(out, true, kNextProtocol, {&proto, 1});
  append_record(out, true, kAeadAlgorithm, {});
  append_record(out, true, kEndOfMessage, {});
  return out;
}

std::vector<std::uint8_t> build_error(ErrorCode code) {
  std::vector<std::uint8_t> out;
  const auto c = static_cast<std::uint16_t>(code);
  append_u16_record(out, true, kError, {&c, 1});
  append_record(out, true, kEndOfMessage, {});
  return out;
}

std::vector<std::uint8_t> build_request(std::span<const std::uint16_t> aeads,
                                        std::span<const std::string> denied, bool compliant) {
  std::vector<std::uint8_t> out;
  const std::uint16_t proto = kNextProtocolNtpv4;
  append_u16_record(out, true, kNextProtocol, {&proto, 1});
  append_u16_record(out, true, kAeadAlgorithm, aeads);
  for (auto a : aeads) {
    if (a != kAeadGcmSiv || !compliant) continue;
    append_record(out, false, kCompliantGcmSivExport, {});
    break;
  }
  // Pool draft "NTP Server Deny": not critical, so a server without pool
  // support ignores it (ntpd-rs Request::serialize puts it after the AEAD).
  for (const auto& d : denied)
    append_record(out, false, kNtpServerDeny, {reinterpret_cast<const std::uint8_t*>(d.data()), d.size()});
  append_record(out, true, kEndOfMessage, {});
  return out;
}

Response parse_response_records(Bytes received, std::size_t max_bytes) {
  Response resp;
  auto bad = [&](const std::string& why) {
    resp.status = Response::Status::kMalformed;
    resp.why = why;
    return resp;
  };
  bool protocol_empty = false, have_server = false;
  Bytes in = received;
  Record r;
  for (;;) {
    if (read_record(in, r) == ReadStatus::kNeedMore) {
      if (received.size() >= max_bytes) return bad("response too long");
      return resp;
    }
    if (r.type == kEndOfMessage) break;
    switch (r.type) {
      case kNextProtocol:
        // §4.1.2: one protocol, or an empty record when there is none in common.
        if (resp.next_protocol || protocol_empty || r.body.size() > 2 || r.body.size() == 1)
          return bad("bad Next Protocol record");
        if (r.body.empty()) protocol_empty = true;
        else resp.next_protocol = be16(r.body.data());
        break;
      case kError:
        if (r.body.size() != 2) return bad("bad Error record");
        resp.status = Response::Status::kErrorRecord;
        resp.error = be16(r.body.data());
        return resp;
      case kWarning:
        if (r.body.size() != 2) return bad("bad Warning record");
        resp.warnings.push_back(be16(r.body.data()));
        break;
      case kAeadAlgorithm:
        if (resp.aead || resp.aead_empty) return bad("two AEAD records");
        if (r.body.empty()) {
          resp.aead_empty = true;
        } else if (r.body.size() != 2) {
          return bad("bad AEAD record");
        } else {
          resp.aead = be16(r.body.data());
        }
        break;
      case kNewCookie:
        resp.cookies.emplace_back(r.body.begin(), r.body.end());
        break;
      case kNtpv4Server:
        // ntpd-rs and nts-pool refuse a second Server or Port record.
        if (have_server) return bad("two NTPv4 Server records");
        have_server = true;
        resp.server.assign(r.body.begin(), r.body.end());
        break;
      case kNtpv4Port:
        if (resp.port) return bad("two NTPv4 Port records");
        if (r.body.size() != 2) return bad("bad Port record");
        resp.port = be16(r.body.data());
        break;
      case kCompliantGcmSivExport:
        // chrony's process_response refuses a non-empty one.
        if (!r.body.empty()) return bad("non-empty Compliant AES-128-GCM-SIV Exporter record");
        resp.compliant_gcm_siv = true;
        break;
      case kKeepAlive:
        resp.keep_alive = true;  // pool draft: a client ignores any body
        break;
      case kSupportedNextProtocols:
      case kSupportedAlgorithms:
      case kFixedKeyRequest:
      case kNtpServerDeny:
        // Client-only pool records (ntpd-rs KeyExchangeResponse::parse: Invalid).
        return bad("pool request record " + std::to_string(r.type) + " in a response");
      default:
        if (r.critical) return bad("unrecognised critical record " + std::to_string(r.type));
    }
  }
  if (!r.body.empty() || !in.empty()) return bad("data after End of Message");
  if (!resp.next_protocol && !protocol_empty) return bad("no Next Protocol record");
  if (resp.next_protocol && !resp.aead && !resp.aead_empty) return bad("no AEAD record");
  resp.status = Response::Status::kOk;
  return resp;
}

Response parse_response(Bytes received, std::size_t max_bytes) {
  Response resp = parse_response_records(received, max_bytes);
  if (resp.status != Response::Status::kOk) return resp;
  auto bad = [&](const std::string& why) {
    resp.status = Response::Status::kMalformed;
    resp.why = why;
    return resp;
  };
  if (!resp.next_protocol || *resp.next_protocol != kNextProtocolNtpv4)
    return bad("server did not accept NTPv4");
  if (resp.aead_empty) return bad("server supports none of our AEADs");
  if (!resp.aead) return bad("no AEAD record");
  if (resp.cookies.empty()) return bad("no cookies");
  return resp;
}

const char* error_name(std::uint16_t code) noexcept {
  switch (code) {
    case 0: return "unrecognized critical record";
    case 1: return "bad request";
    case 2: return "internal server error";
  }
  return "unknown error";
}

// ---- NTS pool -----------------------------------------------------------

std::uint16_t u16_at(Bytes list, std::size_t i) noexcept { return be16(list.data() + 2 * i); }

std::array<std::uint8_t, 5> exporter_context(std::uint16_t protocol, std::uint16_t aead,
                                             bool s2c) noexcept {
  return {static_cast<std::uint8_t>(protocol >> 8), static_cast<std::uint8_t>(protocol),
          static_cast<std::uint8_t>(aead >> 8), static_cast<std::uint8_t>(aead),
          static_cast<std::uint8_t>(s2c ? 1 : 0)};
}

PoolRequest parse_pool_request(Bytes received, std::size_t max_bytes) {
  PoolRequest p;
  auto error = [&p](ErrorCode c) {
    p.kind = PoolRequest::Kind::kError;
    p.error = c;
    p.denied.clear();
    return std::move(p);
  };
  if (received.size() > max_bytes) return error(ErrorCode::kBadRequest);
  bool np = false, aead = false, fixed = false, unknown_critical = false;
  Bytes in = received;
  Record r;
  for (;;) {
    if (read_record(in, r) == ReadStatus::kNeedMore) {
      if (received.size() >= max_bytes) return error(ErrorCode::kBadRequest);
      return PoolRequest{};  // kNeedMore
    }
    if (r.type == kEndOfMessage) break;
    switch (r.type) {
      case kNextProtocol:
        // RFC 8915 §4.1.2: critical, a non-empty list of u16, once.
        if (np || !r.critical || r.body.empty() || r.body.size() % 2) return error(ErrorCode::kBadRequest);
        np = true;
        p.protocols = r.body;
        break;
      case kAeadAlgorithm:
        if (aead || r.body.empty() || r.body.size() % 2) return error(ErrorCode::kBadRequest);
        aead = true;
        p.aeads = r.body;
        break;
      case kFixedKeyRequest:
        // C2S || S2C: two halves of one length (the AEAD's key length is
        // checked by whoever knows the AEAD).
        if (fixed || r.body.size() % 2) return error(ErrorCode::kBadRequest);
        fixed = true;
        p.fixed_key = r.body;
        break;
      case kSupportedNextProtocols:
        // Pool draft: a client body is ignored; ntpd-rs refuses a repeat.
        if (p.wants_protocols) return error(ErrorCode::kBadRequest);
        p.wants_protocols = true;
        break;
      case kSupportedAlgorithms:
        if (p.wants_algorithms) return error(ErrorCode::kBadRequest);
        p.wants_algorithms = true;
        break;
      case kAuthenticationToken:
        if (p.has_token) return error(ErrorCode::kBadRequest);
        p.has_token = true;
        p.token = r.body;
        break;
      case kNtpServerDeny:
        if (p.denied.size() < kMaxDenied) p.denied.push_back(r.body);
        break;
      case kKeepAlive:
        p.keep_alive = true;  // pool draft: the server ignores any body
        break;
      case kCompliantGcmSivExport:
        // As in evaluate_request: chrony's process_request refuses a body.
        if (!r.body.empty()) return error(ErrorCode::kBadRequest);
        p.compliant_gcm_siv = true;
        break;
      case kNtpv4Server:
      case kNtpv4Port:
        break;  // §4.1.7/§4.1.8: a client may suggest; we answer with ours.
      default:
        if (server_only(r.type)) return error(ErrorCode::kBadRequest);
        if (r.critical) unknown_critical = true;
    }
  }
  if (r.body.size() != 0 || !in.empty()) return error(ErrorCode::kBadRequest);
  if (unknown_critical) return error(ErrorCode::kUnrecognizedCritical);
  // Classification as ntpd-rs 1.9's Request::parse.
  if (p.wants_protocols || p.wants_algorithms) {
    // A support query negotiates nothing (draft: "MUST NOT negotiate").
    if (!p.has_token || fixed || np || aead) return error(ErrorCode::kBadRequest);
    p.kind = PoolRequest::Kind::kSupport;
  } else if (fixed) {
    // Exactly one protocol and one AEAD (draft "Fixed Key Request").
    if (!p.has_token || !np || !aead || p.protocols.size() != 2 || p.aeads.size() != 2)
      return error(ErrorCode::kBadRequest);
    p.kind = PoolRequest::Kind::kFixedKey;
  } else {
    if (!np || !aead) return error(ErrorCode::kBadRequest);
    p.kind = PoolRequest::Kind::kKeyExchange;
  }
  return p;
}

SupportResponse parse_support_response(Bytes received, std::size_t max_bytes) {
  SupportResponse s;
  auto bad = [&](const std::string& why) {
    s.status = SupportResponse::Status::kMalformed;
    s.why = why;
    return s;
  };
  Bytes in = received;
  Record r;
  for (;;) {
    if (read_record(in, r) == ReadStatus::kNeedMore) {
      if (received.size() >= max_bytes) return bad("response too long");
      return s;
    }
    if (r.type == kEndOfMessage) break;
    switch (r.type) {
      case kSupportedNextProtocols:
        if (s.has_protocols || r.body.size() % 2) return bad("bad Supported Next Protocol List");
        s.has_protocols = true;
        for (std::size_t i = 0; i + 1 < r.body.size(); i += 2) s.protocols.push_back(be16(r.body.data() + i));
        break;
      case kSupportedAlgorithms:
        if (s.has_algorithms || r.body.size() % 4) return bad("bad Supported Algorithm List");
        s.has_algorithms = true;
        for (std::size_t i = 0; i + 3 < r.body.size(); i += 4)
          s.algorithms.push_back({be16(r.body.data() + i), be16(r.body.data() + i + 2)});
        break;
      case kKeepAlive:
        s.keep_alive = true;
        break;
      case kError:
        if (r.body.size() != 2) return bad("bad Error record");
        s.status = SupportResponse::Status::kErrorRecord;
        s.error = be16(r.body.data());
        return s;
      case kWarning:
        // nts-pool: an unknown warning fails the exchange.
        return bad("Warning record");
      case kNtpv4Server:
      case kNtpv4Port:
      case kAuthenticationToken:
        break;  // nts-pool ignores these in a support answer
      case kNextProtocol:
      case kAeadAlgorithm:
      case kNewCookie:
      case kFixedKeyRequest:
      case kNtpServerDeny:
        return bad("record " + std::to_string(r.type) + " in a support answer");
      default:
        if (r.critical) return bad("unrecognised critical record " + std::to_string(r.type));
    }
  }
  if (!r.body.empty() || !in.empty()) return bad("data after End of Message");
  s.status = SupportResponse::Status::kOk;
  return s;
}

namespace {

void append_token(std::vector<std::uint8_t>& out, std::string_view token) {
  append_record(out, false, kAuthenticationToken,
                {reinterpret_cast<const std::uint8_t*>(token.data()), token.size()});
}

}  // namespace

std::vector<std::uint8_t> build_support_request(std::string_view token, bool protocols,
                                                bool algorithms, bool keep_alive) {
  std::vector<std::uint8_t> out;
  append_token(out, token);
  if (protocols) append_record(out, true, kSupportedNextProtocols, {});
  if (algorithms) append_record(out, true, kSupportedAlgorithms, {});
  if (keep_alive) append_record(out, false, kKeepAlive, {});
  append_record(out, true, kEndOfMessage, {});
  return out;
}

std::vector<std::uint8_t> build_fixed_key_request(std::string_view token, Bytes c2s, Bytes s2c,
                                                  std::uint16_t protocol, std::uint16_t aead,
                                                  bool keep_alive) {
  std::vector<std::uint8_t> out;
  out.reserve(64 + c2s.size() + s2c.size() + token.size());
  append_token(out, token);
  // Written in place: no temporary copy of the user's keys to clean up.
  put16(out, static_cast<std::uint16_t>(kFixedKeyRequest | kCriticalBit));
  put16(out, static_cast<std::uint16_t>(c2s.size() + s2c.size()));
  out.insert(out.end(), c2s.begin(), c2s.end());
  out.insert(out.end(), s2c.begin(), s2c.end());
  append_u16_record(out, true, kNextProtocol, {&protocol, 1});
  append_u16_record(out, true, kAeadAlgorithm, {&aead, 1});
  if (keep_alive) append_record(out, false, kKeepAlive, {});
  append_record(out, true, kEndOfMessage, {});
  return out;
}

std::vector<std::uint8_t> build_support_response(const std::vector<AlgorithmDescription>* algorithms,
                                                 const std::vector<std::uint16_t>* protocols,
                                                 bool keep_alive) {
  std::vector<std::uint8_t> out;
  if (algorithms) {
    std::vector<std::uint16_t> flat;
    for (const auto& a : *algorithms) {
      flat.push_back(a.id);
      flat.push_back(a.key_length);
    }
    append_u16_record(out, true, kSupportedAlgorithms, flat);
  }
  if (protocols) append_u16_record(out, true, kSupportedNextProtocols, *protocols);
  if (keep_alive) append_record(out, false, kKeepAlive, {});
  append_record(out, true, kEndOfMessage, {});
  return out;
}

std::vector<std::uint8_t> build_no_protocol_response() {
  std::vector<std::uint8_t> out;
  append_record(out, true, kNextProtocol, {});
  append_record(out, true, kEndOfMessage, {});
  return out;
}

}  // namespace ntsd::ke
