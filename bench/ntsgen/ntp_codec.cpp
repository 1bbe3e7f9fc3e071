// Plain NTPv4 client requests: 48 bytes, the transmit timestamp carries the
// tag (RFC 5905 §8: the server echoes it as the origin timestamp, and a
// client must discard a response whose origin does not match — "bogus").
#include <cstring>

#include "codec.hpp"

namespace ntsgen {

void write_client_header(std::uint8_t* p, std::uint64_t tag) noexcept {
  std::memset(p, 0, kNtpHeaderLen);
  p[0] = 0x23;  // LI 0, VN 4, mode 3 (client)
  p[2] = 6;     // poll 64 s: what a real client at minpoll would say
  p[3] = 0xec;  // precision 2^-20
  store_be64(p + kTransmitOff, tag);
}

HeaderClass classify_header(std::span<const std::uint8_t> pkt) noexcept {
  if (pkt.size() < kNtpHeaderLen) return HeaderClass::kMalformed;
  const std::uint8_t vn = (pkt[0] >> 3) & 7, mode = pkt[0] & 7;
  if (vn != 4 || mode != 4) return HeaderClass::kMalformed;
  if (pkt[1] == 0) {
    // RFC 5905 §7.4: stratum 0 is a Kiss-o'-Death; the kiss code is the refid.
    // RFC 8915 §5.7: "NTSN" is the NTS NAK.
    if (std::memcmp(pkt.data() + 12, "NTSN", 4) == 0) return HeaderClass::kNtsNak;
    return HeaderClass::kKod;
  }
  return HeaderClass::kOk;
}

namespace {

class NtpCodec final : public Codec {
 public:
  std::size_t max_request_len() const noexcept override { return kNtpHeaderLen; }

  void build(std::span<TxBuf> bufs, std::uint64_t now_ns, Tracker& tr, Counters& c) noexcept override {
    for (auto& b : bufs) {
      const std::uint64_t tag = tr.issue(now_ns, 0, c, b.client);
      write_client_header(b.data, tag);
      std::uint64_t origin = 0, receive = 0;
      request_fields(tr.slot_of(tag), tag, origin, receive);
      store_be64(b.data + kOriginOff, origin);
      store_be64(b.data + kReceiveOff, receive);
      b.len = kNtpHeaderLen;
    }
  }

  void verify(std::span<const RxPkt> pkts, Tracker& tr, Counters& c, Histogram& lat) noexcept override {
    for (const auto& p : pkts) one(p, tr, c, lat);
  }

 private:
  void one(const RxPkt& p, Tracker& tr, Counters& c, Histogram& lat) noexcept {
    const std::span<const std::uint8_t> pkt(p.data, p.len);
    const HeaderClass hc = classify_header(pkt);
    if (hc == HeaderClass::kMalformed) return c.add_invalid(Invalid::kMalformed);
    Slot* s = nullptr;
    bool interleaved = false;
    switch (lookup_origin(tr, load_be64(pkt.data() + kOriginOff), s, interleaved)) {
      case Tracker::Match::kForeign: return c.add_invalid(Invalid::kUnmatched);
      case Tracker::Match::kStale: ++c.stale; return;
      case Tracker::Match::kDuplicate: return c.add_invalid(Invalid::kDuplicate);
      case Tracker::Match::kLive: break;
    }
    tr.finish(*s);
    if (hc == HeaderClass::kOk && load_be64(pkt.data() + kTransmitOff) == 0) {
      // RFC 5905 §8: a server response with a zero transmit timestamp is bogus.
      return c.add_invalid(Invalid::kMalformed);
    }
    if (hc == HeaderClass::kOk) {
      if (!answered(*s, pkt, interleaved, p.rx_real_ns)) return c.add_invalid(Invalid::kInterleavedT3);
      ++c.valid;
      ++c.verified;  // nothing more to verify in plain NTP
      lat.record(p.rx_ns > s->tx_ns ? p.rx_ns - s->tx_ns : 0);
    } else if (hc == HeaderClass::kNtsNak) {
      ++c.nak;
    } else {
      ++c.kod;
    }
  }
};

}  // namespace

std::unique_ptr<Codec> make_ntp_codec() { return std::make_unique<NtpCodec>(); }

}  // namespace ntsgen
