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
  const std::uint16_t proto = kNextProtocolNtpv4;
  append_u16_record(out, true, kNextProtocol, {&proto, 1});
  append_u16_record(out, true, kAeadAlgorithm, {&p.aead, 1});
  if (p.aead == kAeadGcmSiv && p.compliant_gcm_siv)
    append_record(out, false, kCompliantGcmSivExport, {});
  for (const auto& c : p.cookies) append_record(out, false, kNewCookie, c);
  if (!p.server.empty())
    append_record(out, true, kNtpv4Server,
                  {reinterpret_cast<const std::uint8_t*>(p.server.data()), p.server.size()});
  if (p.port != 0) append_u16_record(out, true, kNtpv4Port, {&p.port, 1});
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

std::vector<std::uint8_t> build_request(std::span<const std::uint16_t> aeads) {
  std::vector<std::uint8_t> out;
  const std::uint16_t proto = kNextProtocolNtpv4;
  append_u16_record(out, true, kNextProtocol, {&proto, 1});
  append_u16_record(out, true, kAeadAlgorithm, aeads);
  for (auto a : aeads) {
    if (a != kAeadGcmSiv) continue;
    append_record(out, false, kCompliantGcmSivExport, {});
    break;
  }
  append_record(out, true, kEndOfMessage, {});
  return out;
}

Response parse_response(Bytes received, std::size_t max_bytes) {
  Response resp;
  auto bad = [&](const std::string& why) {
    resp.status = Response::Status::kMalformed;
    resp.why = why;
    return resp;
  };
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
        if (resp.next_protocol || r.body.size() != 2) return bad("bad Next Protocol record");
        resp.next_protocol = be16(r.body.data());
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
        resp.server.assign(r.body.begin(), r.body.end());
        break;
      case kNtpv4Port:
        if (r.body.size() != 2) return bad("bad Port record");
        resp.port = be16(r.body.data());
        break;
      case kCompliantGcmSivExport:
        // chrony's process_response refuses a non-empty one.
        if (!r.body.empty()) return bad("non-empty Compliant AES-128-GCM-SIV Exporter record");
        resp.compliant_gcm_siv = true;
        break;
      default:
        if (r.critical) return bad("unrecognised critical record " + std::to_string(r.type));
    }
  }
  if (!r.body.empty() || !in.empty()) return bad("data after End of Message");
  if (!resp.next_protocol || *resp.next_protocol != kNextProtocolNtpv4)
    return bad("server did not accept NTPv4");
  if (resp.aead_empty) return bad("server supports none of our AEADs");
  if (!resp.aead) return bad("no AEAD record");
  if (resp.cookies.empty()) return bad("no cookies");
  resp.status = Response::Status::kOk;
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

}  // namespace ntsd::ke
