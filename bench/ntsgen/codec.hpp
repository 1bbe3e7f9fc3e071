// What ntsgen puts on the wire and how it checks what comes back. A codec
// builds a burst of requests into transport buffers (each tagged through the
// Tracker) and verifies a burst of responses. Plain NTP and NTS implement it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "stats.hpp"
#include "tracker.hpp"

namespace ntsgen {

struct TxBuf {
  std::uint8_t* data = nullptr;  // room for Codec::max_request_len() bytes
  std::uint16_t len = 0;         // set by the codec
};

struct RxPkt {
  const std::uint8_t* data = nullptr;
  std::uint16_t len = 0;
  std::uint64_t rx_ns = 0;  // receive time on the same clock as the send time
};

class Codec {
 public:
  virtual ~Codec() = default;
  virtual std::size_t max_request_len() const noexcept = 0;
  virtual void build(std::span<TxBuf> bufs, std::uint64_t now_ns, Tracker& tr, Counters& c) noexcept = 0;
  // Verifies every response; valid ones record their latency in `lat`.
  virtual void verify(std::span<const RxPkt> pkts, Tracker& tr, Counters& c, Histogram& lat) noexcept = 0;
};

std::unique_ptr<Codec> make_ntp_codec();

// ---- NTPv4 header helpers (RFC 5905 §7.3) -----------------------------------
inline constexpr std::size_t kNtpHeaderLen = 48;
inline constexpr std::size_t kOriginOff = 24;
inline constexpr std::size_t kTransmitOff = 40;

inline std::uint64_t load_be64(const std::uint8_t* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}
inline void store_be64(std::uint8_t* p, std::uint64_t v) noexcept {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<std::uint8_t>(v);
}
inline std::uint16_t load_be16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}
inline void store_be16(std::uint8_t* p, std::uint16_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}

// Writes a client (mode 3) NTPv4 header whose transmit timestamp is `tag`.
void write_client_header(std::uint8_t* p, std::uint64_t tag) noexcept;

// Classifies the fixed header of a response. kOk means a well-formed server
// (mode 4) NTPv4 response that is not a Kiss-o'-Death.
enum class HeaderClass : std::uint8_t { kOk, kMalformed, kKod, kNtsNak };
HeaderClass classify_header(std::span<const std::uint8_t> pkt) noexcept;

}  // namespace ntsgen
