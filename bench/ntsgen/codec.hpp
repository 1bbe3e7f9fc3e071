// What ntsgen puts on the wire and how it checks what comes back. A codec
// builds a burst of requests into transport buffers (each tagged through the
// Tracker) and verifies a burst of responses. Plain NTP and NTS implement it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "interleave.hpp"
#include "stats.hpp"
#include "tracker.hpp"

namespace ntsgen {

struct TxBuf {
  std::uint8_t* data = nullptr;  // room for Codec::max_request_len() bytes
  std::uint16_t len = 0;         // set by the codec
  std::uint32_t client = 0;      // set by the transport: who sends it (< Transport::clients())
};

struct RxPkt {
  const std::uint8_t* data = nullptr;
  std::uint16_t len = 0;
  std::uint64_t rx_ns = 0;  // receive time on the same clock as the send time
  // Receive time on the real-time clock (the kernel's RX timestamp where
  // the transport has it), for transmit-timestamp offsets; 0 = unknown.
  std::uint64_t rx_real_ns = 0;
};

class Codec {
 public:
  virtual ~Codec() = default;
  virtual std::size_t max_request_len() const noexcept = 0;
  virtual void build(std::span<TxBuf> bufs, std::uint64_t now_ns, Tracker& tr, Counters& c) noexcept = 0;
  // Verifies every response; valid ones record their latency in `lat`.
  virtual void verify(std::span<const RxPkt> pkts, Tracker& tr, Counters& c, Histogram& lat) noexcept = 0;

  // Interleaved requests and transmit-timestamp offsets (interleave.hpp);
  // null: basic requests, no offsets.
  void set_interleaver(Interleaver* x) noexcept { xleave_ = x; }

 protected:
  // Looks a response's origin up: our tag (a basic answer) or our receive
  // field (an interleaved answer, RFC 9769 §2; only when we sent them).
  Tracker::Match lookup_origin(Tracker& tr, std::uint64_t origin, Slot*& s, bool& interleaved) const noexcept;
  // A verified answer: false if its interleaved T3 is implausible.
  bool answered(const Slot& s, std::span<const std::uint8_t> pkt, bool interleaved, std::uint64_t rx_real_ns) noexcept;
  // The origin and receive fields of a request (0, 0 without interleaving).
  void request_fields(Slot& s, std::uint64_t tag, std::uint64_t& origin, std::uint64_t& receive) const noexcept;

  Interleaver* xleave_ = nullptr;
};

std::unique_ptr<Codec> make_ntp_codec();

// ---- NTPv4 header helpers (RFC 5905 §7.3) -----------------------------------
inline constexpr std::size_t kNtpHeaderLen = 48;
inline constexpr std::size_t kOriginOff = 24;
inline constexpr std::size_t kReceiveOff = 32;
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

// ---- Codec's interleaved-mode helpers -------------------------------------

inline Tracker::Match Codec::lookup_origin(Tracker& tr, std::uint64_t origin, Slot*& s, bool& interleaved) const noexcept {
  interleaved = false;
  const Tracker::Match m = tr.lookup(origin, s);
  if (m != Tracker::Match::kForeign || xleave_ == nullptr || !xleave_->interleaved()) return m;
  const Tracker::Match x = tr.lookup(Interleaver::receive_field(origin), s);
  if (x == Tracker::Match::kForeign) return m;
  interleaved = true;
  return x;
}

inline bool Codec::answered(const Slot& s, std::span<const std::uint8_t> pkt, bool interleaved,
                            std::uint64_t rx_real_ns) noexcept {
  if (xleave_ == nullptr) return true;
  return xleave_->answered(s.client, s.origin, interleaved, load_be64(pkt.data() + kReceiveOff),
                           load_be64(pkt.data() + kTransmitOff), rx_real_ns);
}

inline void Codec::request_fields(Slot& s, std::uint64_t tag, std::uint64_t& origin, std::uint64_t& receive) const noexcept {
  origin = receive = 0;
  if (xleave_ != nullptr) xleave_->fields(s.client, tag, origin, receive);
  s.origin = origin;
}

}  // namespace ntsgen
