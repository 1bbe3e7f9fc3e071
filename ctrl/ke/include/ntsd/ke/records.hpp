// NTS-KE records (RFC 8915 §4): a sans-IO codec used by the server, the
// client and the fuzzer. No sockets, no TLS, no clock.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-----------------------------+-------------------------------+
//   |C|         Record Type         |          Body Length          |
//   +-+-----------------------------+-------------------------------+
//   .                      Record Body (Body Length)                .
//
// A message is a sequence of records ending with End of Message (§4.1.1).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ntsd::ke {

using Bytes = std::span<const std::uint8_t>;

inline constexpr std::uint16_t kCriticalBit = 0x8000;
inline constexpr std::size_t kRecordHeaderLen = 4;
inline constexpr std::uint16_t kNextProtocolNtpv4 = 0;
inline constexpr const char* kAlpn = "ntske/1";
// RFC 8915 §5.1: the exporter label; the context is built by exporter_context().
inline constexpr const char* kExporterLabel = "EXPORTER-network-time-security";

enum RecordType : std::uint16_t {
  kEndOfMessage = 0,
  kNextProtocol = 1,
  kError = 2,
  kWarning = 3,
  kAeadAlgorithm = 4,
  kNewCookie = 5,
  kNtpv4Server = 6,
  kNtpv4Port = 7,
  // "Compliant AES-128-GCM-SIV Exporter Context" (IANA, defined by chrony):
  // empty, non-critical. See exporter_aead().
  kCompliantGcmSivExport = 1024,
  // NTS pool (draft-ietf-ntp-nts-keyexchange-pool-00, whose text still has
  // placeholders 0x4000-0x4006): the code points ntpd-rs 1.9 and
  // pendulum-project/nts-pool use ("early allocation"). docs/pool.md.
  kKeepAlive = 8,                // not critical, empty
  kSupportedNextProtocols = 9,   // critical; request empty, response u16 ids
  kSupportedAlgorithms = 10,     // critical; response (u16 id, u16 key length) pairs
  kFixedKeyRequest = 12,         // critical; C2S || S2C
  kNtpServerDeny = 13,           // not critical; a server name
  kAuthenticationToken = 14,     // not critical; the pool's token
};

// RFC 8915 §4.1.3.
enum class ErrorCode : std::uint16_t {
  kUnrecognizedCritical = 0,
  kBadRequest = 1,
  kInternalServerError = 2,
};

struct Record {
  bool critical = false;
  std::uint16_t type = 0;
  Bytes body;
};

enum class ReadStatus : std::uint8_t { kRecord, kNeedMore };

// Reads the record at the front of `in`; on kRecord advances `in` past it.
ReadStatus read_record(Bytes& in, Record& out) noexcept;

// The body rules per record type, as ntpd-rs 1.9's NtsRecord::parse has
// them: u16 lists (1, 4, 9) of even length, (id, key length) pairs (10) in
// multiples of 4, Error/Warning/Port exactly 2 bytes, a Fixed Key Request of
// two equal halves; any body for the rest (End of Message, Keep Alive and
// unknown records too). The message parsers add their own rules on top.
bool record_body_valid(const Record& r) noexcept;

// Appends one record. False if the body exceeds 65535 bytes.
bool append_record(std::vector<std::uint8_t>& out, bool critical, std::uint16_t type, Bytes body);
bool append_u16_record(std::vector<std::uint8_t>& out, bool critical, std::uint16_t type,
                       std::span<const std::uint16_t> values);

// The 5-byte exporter context of RFC 8915 §5.1: protocol id, AEAD id, 0 (C2S) or 1 (S2C).
std::array<std::uint8_t, 5> exporter_context(std::uint16_t aead, bool s2c) noexcept;

inline constexpr std::uint16_t kAeadGcmSiv = 30;  // AEAD_AES_128_GCM_SIV
inline constexpr std::uint16_t kAeadSivCmac256 = 15;

// The AEAD id that goes into the exporter context for the negotiated `aead`
// (chrony nts_ke_server.c prepare_response, nts_ke_client.c handle_message):
// with AES-128-GCM-SIV both sides put 15 there, for compatibility with
// chrony 4.4-4.5, unless the client sent the Compliant AES-128-GCM-SIV
// Exporter Context record (1024) and the server echoed it; then 30.
constexpr std::uint16_t exporter_aead(std::uint16_t aead, bool compliant) noexcept {
  return aead == kAeadGcmSiv && !compliant ? kAeadSivCmac256 : aead;
}

// Where one message ends: kComplete once an End of Message record arrived
// (bytes after it are part of what the parser sees), kTooLong when
// `max_bytes` is exceeded or reached without one (RFC 8915 §4 lets a peer
// bound its resources), else kNeedMore.
enum class MessageStatus : std::uint8_t { kNeedMore, kComplete, kTooLong };
MessageStatus scan_message(Bytes received, std::size_t max_bytes) noexcept;

// ---- Server side --------------------------------------------------------

struct RequestVerdict {
  enum class Kind : std::uint8_t {
    kNeedMore,  // no End of Message yet and under the size bound
    kAccept,    // answer with cookies; `aead` is the negotiated AEAD
    kNoAead,    // NTPv4 offered but no common AEAD: empty AEAD record (§4.1.5)
    kError,     // answer with an Error record carrying `error`, then close
  };
  Kind kind = Kind::kNeedMore;
  ErrorCode error = ErrorCode::kBadRequest;
  std::uint16_t aead = 0;
  // The client sent record 1024 (it derives AEAD-30 keys with id 30).
  bool compliant_gcm_siv = false;
};

// Evaluates the bytes a client sent so far. `supported` is our AEAD list (the
// client's order decides, §4.1.5: the first of its list we support). A
// request that reaches `max_bytes` without End of Message is a bad request.
RequestVerdict evaluate_request(Bytes received, std::span<const std::uint16_t> supported,
                                std::size_t max_bytes) noexcept;

struct ResponseParams {
  std::uint16_t aead = 15;
  // Echo record 1024 (only with aead 30 and a client that sent it).
  bool compliant_gcm_siv = false;
  std::span<const std::vector<std::uint8_t>> cookies;
  std::string server;       // "" = no NTPv4 Server record
  std::uint16_t port = 0;   // 0 = no NTPv4 Port record
  std::uint16_t protocol = kNextProtocolNtpv4;
  bool keep_alive = false;  // a Keep Alive record before End of Message (pool)
};

std::vector<std::uint8_t> build_response(const ResponseParams& p);
std::vector<std::uint8_t> build_no_aead_response();
std::vector<std::uint8_t> build_error(ErrorCode code);

// ---- Client side --------------------------------------------------------

// Next Protocol, AEAD Algorithm (our order), record 1024 (empty,
// non-critical) if 30 is among `aeads` and `compliant`, as chrony >= 4.6
// does (chrony 4.4-4.5 send none); `denied`: NTP Server Deny records (pool
// draft), one per name.
std::vector<std::uint8_t> build_request(std::span<const std::uint16_t> aeads,
                                        std::span<const std::string> denied = {}, bool compliant = true);

struct Response {
  enum class Status : std::uint8_t {
    kNeedMore,
    kOk,
    kErrorRecord,  // the server sent Error `error`
    kMalformed,    // `why` says what
  };
  Status status = Status::kNeedMore;
  std::uint16_t error = 0;
  std::optional<std::uint16_t> next_protocol;
  std::optional<std::uint16_t> aead;  // engaged but absent means empty AEAD record
  bool aead_empty = false;
  std::vector<std::vector<std::uint8_t>> cookies;
  std::string server;
  std::optional<std::uint16_t> port;
  std::vector<std::uint16_t> warnings;
  bool compliant_gcm_siv = false;  // the server echoed record 1024
  std::string why;
  bool keep_alive = false;  // the server sent Keep Alive (pool draft)
};

// A client's parse: NTPv4 with an AEAD and at least one cookie, else kMalformed.
Response parse_response(Bytes received, std::size_t max_bytes = 65536);
// The records only, as a pool relays them: any one next protocol, a
// non-empty or empty AEAD record, cookies optional. kOk means the message is
// well formed up to End of Message (ntpd-rs KeyExchangeResponse::parse).
Response parse_response_records(Bytes received, std::size_t max_bytes);

const char* error_name(std::uint16_t code) noexcept;

// ---- NTS pool (draft-ietf-ntp-nts-keyexchange-pool-00, ntpd-rs 1.9) -----
//
// One request classified the way ntpd-rs 1.9 does (ntp-proto/src/nts/
// messages.rs, Request::parse): a support query, a Fixed Key Request, or an
// ordinary RFC 8915 key exchange (which may carry Server Deny records).
// Spans point into the parsed bytes.
struct PoolRequest {
  enum class Kind : std::uint8_t {
    kNeedMore,     // no End of Message yet and under the size bound
    kKeyExchange,  // RFC 8915: Next Protocol + AEAD (+ Deny, Keep Alive ignored)
    kSupport,      // 9 and/or 10 with a token, no 1/4/12
    kFixedKey,     // 12 with a token, 1 and 4
    kError,        // answer Error `error`, then close
  };
  Kind kind = Kind::kNeedMore;
  ErrorCode error = ErrorCode::kBadRequest;
  Bytes protocols;   // Next Protocol body: u16 ids (use u16_at)
  Bytes aeads;       // AEAD body: u16 ids
  Bytes fixed_key;   // C2S || S2C
  Bytes token;       // Authentication Token body (never log it)
  bool has_token = false;
  bool keep_alive = false;
  bool wants_protocols = false;
  bool wants_algorithms = false;
  // Record 1024 (Compliant AES-128-GCM-SIV Exporter Context): keys for
  // AEAD 30 are exported with id 30, else 15 (exporter_aead).
  bool compliant_gcm_siv = false;
  std::vector<Bytes> denied;  // NTP Server Deny bodies, in order
};

// Parses what a client sent so far. Error 1 for anything malformed (a
// duplicate record, a server-only record, a support query mixed with Next
// Protocol / AEAD / Fixed Key, a pool record without its token...), then
// Error 0 for an unrecognised critical record, as evaluate_request does.
PoolRequest parse_pool_request(Bytes received, std::size_t max_bytes);

// The u16 at index i of a list body (bounds are the caller's: i < size/2).
std::uint16_t u16_at(Bytes list, std::size_t i) noexcept;

struct AlgorithmDescription {
  std::uint16_t id = 0;
  std::uint16_t key_length = 0;
  bool operator==(const AlgorithmDescription&) const = default;
};

// A time source's answer to a support query (records 10 and/or 9).
struct SupportResponse {
  enum class Status : std::uint8_t { kNeedMore, kOk, kErrorRecord, kMalformed };
  Status status = Status::kNeedMore;
  std::uint16_t error = 0;
  bool has_protocols = false, has_algorithms = false;
  std::vector<std::uint16_t> protocols;
  std::vector<AlgorithmDescription> algorithms;
  bool keep_alive = false;
  std::string why;
};
SupportResponse parse_support_response(Bytes received, std::size_t max_bytes);

// Pool -> time source requests (the record order ntpd-rs serialises).
std::vector<std::uint8_t> build_support_request(std::string_view token, bool protocols,
                                                bool algorithms, bool keep_alive);
std::vector<std::uint8_t> build_fixed_key_request(std::string_view token, Bytes c2s, Bytes s2c,
                                                  std::uint16_t protocol, std::uint16_t aead,
                                                  bool keep_alive);
// Time source -> pool: algorithms (10) first, then protocols (9), as ntpd-rs.
std::vector<std::uint8_t> build_support_response(const std::vector<AlgorithmDescription>* algorithms,
                                                 const std::vector<std::uint16_t>* protocols,
                                                 bool keep_alive);
// RFC 8915 §4.1.2: no protocol in common gives an empty Next Protocol record.
std::vector<std::uint8_t> build_no_protocol_response();

// RFC 8915 §5.1 exporter context for any next protocol.
std::array<std::uint8_t, 5> exporter_context(std::uint16_t protocol, std::uint16_t aead,
                                             bool s2c) noexcept;

}  // namespace ntsd::ke
