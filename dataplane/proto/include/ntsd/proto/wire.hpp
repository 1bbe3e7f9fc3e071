// NTP wire format: the 48-byte header (RFC 5905 §7.3) and extension fields
// (RFC 7822), parsed with a bounds-checked reader over std::span. Nothing here
// casts a struct onto packet memory: every field is read byte by byte.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |LI | VN  |Mode |    Stratum    |     Poll      |   Precision   |  0
//   |                          Root Delay (16.16)                   |  4
//   |                       Root Dispersion (16.16)                 |  8
//   |                          Reference ID                         | 12
//   |                     Reference Timestamp (64)                  | 16
//   |                      Origin Timestamp (64)                    | 24
//   |                      Receive Timestamp (64)                   | 32
//   |                      Transmit Timestamp (64)                  | 40
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Field Type (16)              |  Length (16, whole EF, ≥ 16)  | 48..
//   |  Value, padded to a multiple of 4 bytes ...                   |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace ntsd::proto {

using Bytes = std::span<const std::uint8_t>;
using MutBytes = std::span<std::uint8_t>;

// NTP 32.32 fixed point: seconds since 1900 (era-relative) in the high 32 bits
// (RFC 5905 §6). Differences are taken modulo 2^64 and read as signed.
using NtpTime = std::uint64_t;

inline constexpr std::size_t kHeaderLen = 48;
// Largest request the core looks at. Anything longer is dropped (too_long):
// NTS requests are a few hundred bytes and larger ones would only buy an
// attacker more work per packet.
inline constexpr std::size_t kMaxPacketLen = 1280;

enum class Mode : std::uint8_t {
  kReserved = 0,
  kSymActive = 1,
  kSymPassive = 2,
  kClient = 3,
  kServer = 4,
  kBroadcast = 5,
  kControl = 6,
  kPrivate = 7,
};

// The header as values (RFC 5905 §7.3).
struct NtpHeader {
  std::uint8_t leap = 0;     // 2 bits
  std::uint8_t version = 4;  // 3 bits
  Mode mode = Mode::kClient;
  std::uint8_t stratum = 0;
  std::int8_t poll = 0;
  std::int8_t precision = 0;
  std::uint32_t root_delay = 0;       // NTP short format 16.16
  std::uint32_t root_dispersion = 0;  // NTP short format 16.16
  std::uint32_t refid = 0;            // or the kiss code when stratum == 0
  NtpTime reference = 0;
  NtpTime origin = 0;
  NtpTime receive = 0;
  NtpTime transmit = 0;
};

// False if `pkt` is shorter than 48 bytes.
bool parse_header(Bytes pkt, NtpHeader& h) noexcept;
// Writes 48 bytes; false if `out` is shorter.
bool write_header(const NtpHeader& h, MutBytes out) noexcept;

// Kiss codes are four ASCII letters stored big endian in the refid (RFC 5905 §7.4).
constexpr std::uint32_t kiss_code(const char (&s)[5]) noexcept {
  return static_cast<std::uint32_t>(static_cast<std::uint8_t>(s[0])) << 24 |
         static_cast<std::uint32_t>(static_cast<std::uint8_t>(s[1])) << 16 |
         static_cast<std::uint32_t>(static_cast<std::uint8_t>(s[2])) << 8 |
         static_cast<std::uint32_t>(static_cast<std::uint8_t>(s[3]));
}
inline constexpr std::uint32_t kKissNtsNak = kiss_code("NTSN");  // RFC 8915 §5.7
inline constexpr std::uint32_t kKissRate = kiss_code("RATE");    // RFC 5905 §7.4

// ---- Extension fields (RFC 7822) ------------------------------------------

// NTS extension field types (RFC 8915 §5.3–§5.6, IANA registry).
enum : std::uint16_t {
  kEfUniqueId = 0x0104,
  kEfCookie = 0x0204,
  kEfPlaceholder = 0x0304,
  kEfAuthenticator = 0x0404,
};

inline constexpr std::size_t kEfHeaderLen = 4;
inline constexpr std::size_t kMinEfLen = 16;      // RFC 7822 §3
inline constexpr std::size_t kMinLastEfLen = 28;  // RFC 7822 §7.5, with no MAC after it
inline constexpr std::size_t kMaxEfs = 24;        // more than this is dropped (too_many_efs)

// One EF inside a packet: `offset` is where its type field starts, `len` is the
// whole field (header + value + padding), `body` the value with its padding.
struct Ef {
  std::uint16_t type = 0;
  std::uint16_t offset = 0;
  std::uint16_t len = 0;
  Bytes body;
};

enum class EfStatus : std::uint8_t {
  kOk,
  kBadLength,  // length < 16 or not a multiple of 4 (RFC 7822 §3)
  kTruncated,  // length runs past the end of the packet
  kTooMany,    // more than kMaxEfs fields
};

struct EfList {
  std::array<Ef, kMaxEfs> ef{};
  std::uint8_t count = 0;
  // RFC 7822 §7.5: 4, 20 or 24 trailing bytes are a legacy MAC (or crypto-NAK),
  // not an EF. mac_len is 0 when there is none.
  std::uint16_t mac_len = 0;
};

// One step of the RFC 7822 extension-field walk, for a walk that stops
// early (at the Authenticator, say); parse_efs is the same walk to the end.
enum class EfStep : std::uint8_t {
  kEf,         // `e` is the next field; `pos` moved past it
  kEnd,        // no bytes left
  kMac,        // 4, 20 or 24 bytes left: a legacy MAC or crypto-NAK (RFC 7822 §7.5)
  kBadLength,  // length < 16 or not a multiple of 4 (RFC 7822 §3)
  kTruncated,  // the field runs past the end of the packet
};
EfStep ef_step(Bytes pkt, std::size_t& pos, bool allow_mac, Ef& e) noexcept;

// Parses the EFs of `pkt` starting at offset `from` (48 for NTPv4). With
// `allow_mac` false (the decrypted EFs inside an Authenticator) a trailing
// 4/20/24 bytes is parsed as an EF like any other.
EfStatus parse_efs(Bytes pkt, std::size_t from, EfList& efs, bool allow_mac = true) noexcept;

// Writes one EF with `body` padded with zeros to a multiple of 4 and at least
// to `min_len` total. Returns the bytes written, or 0 if `out` is too small or
// the EF would exceed 65532 bytes.
std::size_t write_ef(std::uint16_t type, Bytes body, MutBytes out,
                     std::size_t min_len = kMinEfLen) noexcept;

// ---- NTS Authenticator and Encrypted EF body (RFC 8915 §5.6) --------------
//
//   +-------------------------------+-------------------------------+
//   |        Nonce Length (16)      |     Ciphertext Length (16)    |
//   +-------------------------------+-------------------------------+
//   |                Nonce, padded to a multiple of 4               |
//   |             Ciphertext, padded to a multiple of 4             |
//   |                      Additional Padding                       |
//   +---------------------------------------------------------------+
//
// The ciphertext is the AEAD's output over the encrypted EFs: SIV (16) ||
// ciphertext for AES-SIV (AEAD 15/17), ciphertext || tag (16) for
// AES-128-GCM-SIV (AEAD 30). Additional padding must bring a nonce shorter
// than N_REQ = min(16, N_MAX) bytes up to N_REQ: N_MAX of AES-SIV is
// unbounded (N_REQ 16), GCM-SIV's is 12 (N_REQ 12, no padding after its
// 12-byte nonce, as chrony sends it).
inline constexpr std::size_t kNonceLen = 16;        // what ntsd itself sends with AES-SIV
inline constexpr std::size_t kMinUniqueIdLen = 32;  // RFC 8915 §5.3

struct AuthBody {
  Bytes nonce;
  Bytes ciphertext;
  // Whether the nonce and its padding reach 16 bytes (N_REQ of AES-SIV).
  // parse_auth_body with n_req 12 accepts a 12-byte nonce without padding;
  // the AEAD, known once the cookie is open, decides whether that is enough.
  bool reaches_16 = true;
};
// False if the lengths do not fit the body or the nonce and its additional
// padding are shorter than n_req (RFC 8915 §5.6).
bool parse_auth_body(Bytes body, AuthBody& out, std::size_t n_req = kNonceLen) noexcept;

// Length of the Authenticator EF carrying `nonce_len` nonce bytes and
// `ct_len` ciphertext bytes, with no additional padding (nonce_len ≥ N_REQ:
// 16 for AES-SIV, 12 for AES-128-GCM-SIV).
constexpr std::size_t auth_ef_len(std::size_t nonce_len, std::size_t ct_len) noexcept {
  return kEfHeaderLen + 4 + ((nonce_len + 3) & ~std::size_t{3}) + ((ct_len + 3) & ~std::size_t{3});
}

// Signed difference a - b of two NTP timestamps (RFC 5905 §6: era arithmetic).
constexpr std::int64_t ntp_diff(NtpTime a, NtpTime b) noexcept {
  return static_cast<std::int64_t>(a - b);
}
// Seconds as double from a signed 32.32 quantity.
constexpr double ntp_seconds(std::int64_t d) noexcept {
  return static_cast<double>(d) / 4294967296.0;
}

}  // namespace ntsd::proto
