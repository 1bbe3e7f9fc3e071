// Per-client rate limiting for the responder (RFC 5905 §7.4 RATE kiss,
// RFC 8915 §5.7 for NTS), sans-IO: address + receive time in, a decision out.
//
// One Limiter per worker, its table allocated once in the constructor; a
// check() is one keyed hash and one 64-byte bucket (4 ways), with no
// allocation, lock or syscall.
//
// Rate: GCRA (the "virtual scheduling" form of a token bucket). Each entry
// keeps one theoretical arrival time TAT. With T = 2^interval s and a burst
// of B requests, a request at `now` is within the limit iff
// max(TAT, now) - now <= (B - 1) * T, and then TAT = max(TAT, now) + T. An
// idle client thus gets B requests at once and one per T on average after
// that, like chrony's `ratelimit interval/burst`.
//
// Leak: of the requests over the limit, 1 in 2^leak (random, per worker PRNG)
// is answered anyway (kLeak), so that a client behind a NAT, or one whose
// address an attacker spoofs, is slowed down but never starved (chrony's
// `leak`). leak = 0 disables leaking.
//
// Keys: the source address, IPv4 masked to ipv4_prefix bits (default /32),
// IPv6 to ipv6_prefix bits (default /64: one end site usually gets a /64 and
// can pick any address in it). IPv4-mapped IPv6 addresses count as IPv4.
// The key is hashed with SipHash-1-3 under a per-process random key, so that
// an attacker cannot choose addresses that land in one bucket.
//
// Table full / collisions: the bucket is chosen by the hash; the entry is
// identified by the full 64-bit hash (a false match needs a 64-bit collision
// under an unknown key). A new client takes a free way, else evicts the way
// with the smallest TAT: the client furthest from its limit (an entry whose
// TAT is in the past holds no state worth keeping). Heavy senders, whose TAT
// runs ahead of now, are the last to go. An evicted client starts again with
// a full burst: under table pressure the limiter errs towards answering,
// never towards refusing a client it has not seen misbehave.
//
// Clock: `now` is the request's receive time (NTP 32.32, the T2 the worker
// already has). Differences are taken modulo 2^64, so the 2036 era wrap is
// harmless. If the clock steps back so far that an entry's TAT lies beyond
// what the rules allow (more than B * T + 1 s ahead), the entry is reset instead of
// refusing the client until the clock catches up.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

namespace ntsd::limit {

// chrony's defaults: interval 3 (8 s), burst 8, leak 2 (1 in 4).
struct Params {
  int interval = 3;  // log2 of the mean seconds between answered requests, -10..12
  int burst = 8;     // requests an idle client may send at once, 1..256
  int leak = 2;      // answer 1 in 2^leak over-limit requests; 0 = never, 0..8
  int ipv4_prefix = 32;
  int ipv6_prefix = 64;
  std::size_t table_size = 65536;  // entries, a power of two >= 4 (16 bytes each)
};

// What makes a table unpredictable: the SipHash key and the leak PRNG seed.
struct Secret {
  std::uint64_t k0 = 0, k1 = 0, seed = 1;
  // From getrandom(2); called once at start, never per packet.
  static Secret random() noexcept;
};

// SipHash-1-3 of the 17-byte message w0 || w1 || domain under s's key: the
// keyed hash behind the limiter's buckets, shared with the interleaved-mode
// table (dataplane/xleave) so that there is one implementation.
std::uint64_t keyed_hash(const Secret& s, std::uint64_t w0, std::uint64_t w1, std::uint8_t domain) noexcept;

// A client key: an address masked to its prefix. Build it with from_ip4 /
// from_ip6 (or from the raw bytes of a packet header).
struct Address {
  std::array<std::uint8_t, 16> bytes{};
  bool v6 = false;
  static Address from_ip4(std::span<const std::uint8_t, 4> a) noexcept {
    Address r;
    r.set_ip4(a);
    return r;
  }
  // IPv4-mapped (::ffff:a.b.c.d) becomes IPv4.
  static Address from_ip6(std::span<const std::uint8_t, 16> a) noexcept {
    Address r;
    r.set_ip6(a);
    return r;
  }
  // The same in place, for the per-request path (the DPDK worker writes
  // the address straight into its request slot). A returned Address went
  // through a stack temporary: zeroed and written in 4- and 8-byte stores,
  // then loaded back whole by the copy into the slot, which no store can
  // forward: a stall per request, ~20 % of the worker's poll loop under
  // perf. Here each byte range is written once, in stores as wide as the
  // limiter's and the interleaved table's loads of it (hash, tag).
  void set_ip4(std::span<const std::uint8_t, 4> a) noexcept {
    std::uint32_t v;
    std::memcpy(&v, a.data(), 4);
    const std::uint64_t lo = v, hi = 0;
    std::memcpy(bytes.data(), &lo, 8);
    std::memcpy(bytes.data() + 8, &hi, 8);
    v6 = false;
  }
  void set_ip6(std::span<const std::uint8_t, 16> a) noexcept {
    static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(a.data(), kMapped, sizeof kMapped) == 0) return set_ip4(a.subspan<12, 4>());
    std::memcpy(bytes.data(), a.data(), 16);
    v6 = true;
  }
};

enum class Decision : std::uint8_t {
  kAllow,  // within the limit
  kLeak,   // over the limit, answered anyway (1 in 2^leak)
  kLimit,  // over the limit: RATE kiss (plain) or silence (NTS)
};

struct Counters {
  std::uint64_t allowed = 0, leaked = 0, limited = 0;
  std::uint64_t inserts = 0;    // new clients that took a free way
  std::uint64_t evictions = 0;  // new clients that replaced another
};

class Limiter {
 public:
  // Allocates the table (table_size * 16 bytes). `p` must pass check().
  Limiter(const Params& p, const Secret& s);
  ~Limiter();
  Limiter(const Limiter&) = delete;
  Limiter& operator=(const Limiter&) = delete;

  Decision check(const Address& a, std::uint64_t now_ntp) noexcept;
  const Counters& counters() const noexcept { return counters_; }
  const Params& params() const noexcept { return p_; }

  // For tests: the 64-bit keyed hash of a masked address (0 is never returned).
  std::uint64_t hash(const Address& a) const noexcept;

  struct Entry {
    std::uint64_t tag;  // hash of the key; 0 = free
    std::uint64_t tat;  // theoretical arrival time, NTP 32.32
  };
  static constexpr std::size_t kWays = 4;  // one 64-byte cache line per bucket
  static constexpr std::size_t kMinTable = kWays;
  static constexpr std::size_t kMaxTable = std::size_t{1} << 24;

 private:
  Entry& find_or_insert(std::uint64_t tag, std::uint64_t now) noexcept;
  bool leak() noexcept;

  Params p_;
  Secret s_;
  std::uint64_t period_;   // T in NTP 32.32 units
  std::uint64_t tau_;      // (B - 1) * T
  std::size_t bucket_mask_;
  std::uint64_t mask4_;                 // ipv4_prefix over the address in the top 32 bits
  std::array<std::uint64_t, 2> mask6_;  // ipv6_prefix over the two big-endian words
  struct Deleter {
    void operator()(Entry* e) const noexcept;
  };
  std::unique_ptr<Entry[], Deleter> table_;
  std::uint64_t rng_;
  Counters counters_{};
};

// "" if the parameters are usable, else why not (for config errors).
const char* check(const Params& p) noexcept;

// True for a plain NTP request: at least a header, and either no extension
// fields or only well-formed (RFC 7822 §3) non-NTS ones. Only these get a
// RATE kiss when over the limit. A request with an NTS extension field
// (RFC 8915 §5.3-§5.6: Unique Identifier, Cookie, Placeholder,
// Authenticator), or whose extension area does not parse, is dropped
// silently instead: an NTS client ignores an unauthenticated RATE (RFC 8915
// §5.7) and an authenticated one would cost the very crypto being limited.
// Bounds-checked; any length is safe.
bool is_plain_request(std::span<const std::uint8_t> ntp) noexcept;

}  // namespace ntsd::limit
