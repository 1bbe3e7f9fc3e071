// The interleaved-mode table (see table.hpp for the rules and why).
#include "ntsd/xleave/table.hpp"

#include <cstdlib>
#include <cstring>

namespace ntsd::xleave {
namespace {

std::uint64_t be64(const std::uint8_t* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}

// Domain bytes of the keyed hash, apart from the limiter's 4 and 6.
constexpr std::uint8_t kDomain4 = 0x14, kDomain6 = 0x16;

}  // namespace

const char* miss_name(Miss m) noexcept {
  switch (m) {
    case Miss::kNone: return "none";
    case Miss::kUnknown: return "unknown";
    case Miss::kAmbiguous: return "ambiguous";
    case Miss::kNoTx: return "no_tx_timestamp";
    case Miss::kCount: break;
  }
  return "invalid";
}

const char* check_entries(std::size_t n) noexcept {
  if (n < Table::kMinEntries || n > Table::kMaxEntries || (n & (n - 1)) != 0)
    return "must be a power of two between 4 and 16777216";
  return "";
}

void Table::Deleter::operator()(Entry* e) const noexcept { std::free(e); }

Table::Table(std::size_t entries, const limit::Secret& secret)
    : secret_(secret), mask_(entries - 1), bucket_mask_(entries / kWays - 1) {
  if (*check_entries(entries) != '\0') std::abort();  // callers check first
  void* mem = std::aligned_alloc(64, bytes(entries));
  if (mem == nullptr) std::abort();  // at start only
  std::memset(mem, 0, bytes(entries));
  table_.reset(static_cast<Entry*>(mem));
}

Table::~Table() = default;

std::uint64_t Table::tag(const Address& a) const noexcept {
  const std::uint8_t* b = a.bytes.data();
  const std::uint64_t h = a.v6 ? limit::keyed_hash(secret_, be64(b), be64(b + 8), kDomain6)
                               : limit::keyed_hash(secret_, be64(b) & 0xffffffff00000000ull, 0, kDomain4);
  return h == 0 ? 1 : h;
}

Table::Taken Table::take(std::uint64_t tag, std::uint16_t port, NtpTime origin) noexcept {
  Entry* hit = nullptr;
  bool ambiguous = false;
  Entry* b = bucket(tag, origin);
  for (std::size_t i = 0; i < kWays && hit == nullptr; ++i) {
    Entry& e = b[i];
    if (e.tag != tag || e.rx != origin) continue;
    if ((e.flags & kDead) == 0 && ((e.flags & kShared) == 0 || e.port == port)) {
      hit = &e;
    } else {
      ambiguous = true;
    }
  }
  if (hit == nullptr) {
    // A twin saved after the first (save()) is only found from its port.
    Entry* t = twin_bucket(tag, origin, port);
    for (std::size_t i = 0; i < kWays && hit == nullptr; ++i) {
      Entry& e = t[i];
      if (e.tag != tag || e.rx != origin || e.port != port) continue;
      if ((e.flags & kDead) == 0) {
        hit = &e;
      } else {
        ambiguous = true;
      }
    }
  }
  if (hit == nullptr) return {ambiguous ? Miss::kAmbiguous : Miss::kUnknown, 0};
  const NtpTime tx = hit->tx;
  hit->tag = 0;  // used: never served twice
  if (tx == 0) return {Miss::kNoTx, 0};
  return {Miss::kNone, tx};
}

// A free way, else the way with the oldest receive timestamp.
Table::Entry* Table::victim(Entry* b, NtpTime rx) noexcept {
  Entry* v = nullptr;
  for (std::size_t i = 0; i < kWays; ++i) {
    Entry& e = b[i];
    if (e.tag == 0) return &e;
    if (v == nullptr || static_cast<std::int64_t>(rx - e.rx) > static_cast<std::int64_t>(rx - v->rx)) v = &e;
  }
  return v;
}

Ticket Table::save(std::uint64_t tag, std::uint16_t port, NtpTime rx) noexcept {
  // Another response to this address carried the same receive timestamp
  // (one burst, one software T2; several clients behind one address): the
  // port must tell them apart. The first stays where lookups go first; the
  // others go to their port's twin bucket and are marked shared, so that
  // only a request from that port gets their TX time. The same port twice:
  // nobody can tell which response the client kept, so neither is served.
  Entry* b = bucket(tag, rx);
  bool twin = false;
  for (std::size_t i = 0; i < kWays; ++i) {
    Entry& e = b[i];
    if (e.tag != tag || e.rx != rx) continue;
    twin = true;
    if (e.port == port) {
      e.flags |= kDead;
      return kNoTicket;
    }
    e.flags |= kShared;
  }
  Entry* target = b;
  if (twin) {
    target = twin_bucket(tag, rx, port);
    for (std::size_t i = 0; i < kWays; ++i) {
      Entry& e = target[i];
      if (e.tag == tag && e.rx == rx && e.port == port) {
        e.flags |= kDead;
        return kNoTicket;
      }
    }
  }
  Entry* v = victim(target, rx);
  if (v->tag != 0) ++counters_.evictions;
  ++counters_.saves;
  if (++serial_ == 0) serial_ = 1;
  *v = Entry{tag, rx, 0, serial_, port, static_cast<std::uint8_t>(twin ? kShared : 0), 0};
  const auto index = static_cast<std::uint64_t>(v - table_.get());
  return std::uint64_t{serial_} << 32 | index;
}

bool Table::set_tx(Ticket t, NtpTime tx) noexcept {
  const std::size_t index = static_cast<std::size_t>(t & 0xffffffffu);
  const auto serial = static_cast<std::uint32_t>(t >> 32);
  if (t == kNoTicket || index > mask_) return false;
  Entry& e = table_[index];
  const NtpTime after = tx - e.rx;  // modular: "before" wraps to a huge value
  if (e.tag == 0 || e.serial != serial || (after > kMaxTxAfter && -after > kMaxTxBefore) || tx == 0) {
    ++counters_.tx_rejected;
    return false;
  }
  e.tx = tx;
  ++counters_.tx_set;
  return true;
}

}  // namespace ntsd::xleave
