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
};

std::vector<std::uint8_t> build_response(const ResponseParams& p);
std::vector<std::uint8_t> build_no_aead_response();
std::vector<std::uint8_t> build_error(ErrorCode code);

// ---- Client side --------------------------------------------------------

// Next Protocol, AEAD Algorithm (our order), and record 1024 (empty,
// non-critical) if 30 is among `aeads`, as chrony >= 4.6 does.
std::vector<std::uint8_t> build_request(std::span<const std::uint16_t> aeads);

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
};

Response parse_response(Bytes received, std::size_t max_bytes = 65536);

const char* error_name(std::uint16_t code) noexcept;

}  // namespace ntsd::ke
