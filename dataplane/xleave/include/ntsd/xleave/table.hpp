// The interleaved-mode table (RFC 9769 §2): per worker, which receive
// timestamp this server sent a client and when that response actually left,
// so that the client's next request can be answered with the true T3.
//
// Keys: an entry is one response, named by the client's address and the
// receive timestamp the response carried. RFC 9769 §2 lets a server keep the
// timestamps per address but not per port ("clients are allowed to send
// requests from different ports": chrony opens a new socket, and so a new
// port, for every request), so a lookup asks for (address, origin). The
// receive timestamp is what makes the key unique per response: chrony's
// client log keys on it alone; keying on the address as well means an origin
// copied from another client's traffic never matches (docs/protocol.md,
// "Interleaved mode"). Two clients behind one address whose requests share a
// receive timestamp (one burst, one software T2) are told apart by the port
// they sent from: the first such response stays in its bucket, the others go
// to a bucket that also depends on their port, where only a request from
// that port looks; where even the port does not tell them apart the entry is
// dead and both get basic answers.
//
// Layout: entries of 32 bytes in buckets of 4 ways (two cache lines); the
// bucket is picked by a keyed hash (SipHash-1-3, limit::keyed_hash) of the
// address mixed with the receive timestamp, so a client's successive entries
// spread over the table and nobody can aim addresses at one bucket. A save
// takes a free way, else replaces the way with the oldest receive timestamp
// (an eviction, counted). A take frees the entry it found: one response's TX
// time is never served twice (chrony disables a timestamp once used).
//
// Cost: one keyed hash per request that looks interleaved (computed once by
// tag()), then a 4-way scan per take and per save. No allocation, lock or
// syscall after the constructor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "ntsd/limit/limiter.hpp"

namespace ntsd::xleave {

using Address = limit::Address;
using NtpTime = std::uint64_t;  // NTP 32.32, as on the wire

// Why a request that looked interleaved got a basic answer. A closed set;
// miss_name() gives the metric labels.
enum class Miss : std::uint8_t {
  kNone,       // no miss: interleaved answer
  kUnknown,    // no entry for (address, origin): the client's first interleaved
               // request, an evicted or already used entry, or an origin this
               // address was never sent (spoofed, or another client's)
  kAmbiguous,  // responses to this address shared the receive timestamp and
               // the port does not say which one this client got
  kNoTx,       // the entry exists but no TX timestamp was captured for it
  kCount,
};
inline constexpr std::size_t kMissCount = static_cast<std::size_t>(Miss::kCount);
const char* miss_name(Miss m) noexcept;

// Names the entry a response's TX timestamp belongs to: the entry's index and
// the serial number of the save that filled it, so a TX timestamp that
// arrives after the entry was reused is dropped. 0 = none.
using Ticket = std::uint64_t;
inline constexpr Ticket kNoTicket = 0;

struct Counters {
  std::uint64_t saves = 0;
  std::uint64_t evictions = 0;    // saves that replaced a live entry
  std::uint64_t tx_set = 0;       // TX timestamps stored
  std::uint64_t tx_rejected = 0;  // TX timestamps dropped: entry gone, or implausible
};

class Table {
 public:
  static constexpr std::size_t kWays = 4;
  static constexpr std::size_t kMinEntries = kWays;
  static constexpr std::size_t kMaxEntries = std::size_t{1} << 24;
  // A TX timestamp more than this before the response's receive timestamp,
  // or more than kMaxTxAfter after it, is on another timescale (a step, a
  // misattributed kernel timestamp): stored, it would be a wrong answer.
  static constexpr NtpTime kMaxTxBefore = NtpTime{1} << 22;  // ~1 ms
  static constexpr NtpTime kMaxTxAfter = NtpTime{1} << 32;   // 1 s

  struct Entry {
    std::uint64_t tag;     // keyed hash of the client address; 0 = free
    NtpTime rx;            // the receive timestamp the response carried
    NtpTime tx;            // when it actually left; 0 = not captured
    std::uint32_t serial;  // of the save that filled it (tickets check it)
    std::uint16_t port;    // the client's source port then
    std::uint8_t flags;
    std::uint8_t pad;
  };
  static_assert(sizeof(Entry) == 32);

  // Allocates and zeroes `entries` * 32 bytes (check_entries(entries) must
  // pass). The secret keys the hash; draw it once per process.
  Table(std::size_t entries, const limit::Secret& secret);
  ~Table();
  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;

  // The keyed hash of a client address (never 0): once per request.
  std::uint64_t tag(const Address& a) const noexcept;

  // Starts loading the bucket of (tag, rx) into the cache, for a take or a
  // save a few microseconds later (the core prefetches both buckets of a
  // request before its crypto phases: the table is larger than the caches
  // and a client's entry is cold by the time it comes back).
  void prefetch(std::uint64_t tag, NtpTime rx) const noexcept {
    const Entry* b = bucket_of(tag, rx);
    __builtin_prefetch(b, 1);
    __builtin_prefetch(b + 2, 1);  // buckets are two cache lines
  }

  struct Taken {
    Miss miss = Miss::kUnknown;
    NtpTime tx = 0;  // with kNone: the TX time of the response that carried `origin`
  };
  // The entry of the response this client's request points at with its
  // origin timestamp (RFC 9769 §2). Found or not, the entry is gone afterwards.
  Taken take(std::uint64_t tag, std::uint16_t port, NtpTime origin) noexcept;

  // Records that a response carrying receive timestamp `rx` goes to the
  // client; its TX timestamp follows with set_tx(ticket, ...).
  Ticket save(std::uint64_t tag, std::uint16_t port, NtpTime rx) noexcept;

  // The response named by `t` left at `tx`. False (and counted) if the entry
  // was reused since, or tx is implausible for its receive timestamp.
  bool set_tx(Ticket t, NtpTime tx) noexcept;
  // A response's TX time was dropped by the caller (too uncertain): counted
  // with the rejected ones; its entry keeps no TX time.
  void reject_tx() noexcept { ++counters_.tx_rejected; }

  const Counters& counters() const noexcept { return counters_; }
  std::size_t entries() const noexcept { return mask_ + 1; }
  static constexpr std::size_t bytes(std::size_t entries) noexcept { return entries * sizeof(Entry); }

 private:
  enum : std::uint8_t { kShared = 1, kDead = 2 };
  const Entry* bucket_of(std::uint64_t tag, NtpTime rx) const noexcept {
    // The tag is already a keyed hash; mixing in rx with a multiply spreads
    // a client's successive entries (Fibonacci hashing, high bits).
    const std::uint64_t h = (tag ^ rx) * 0x9E3779B97F4A7C15ull;
    return &table_[((h >> 32) & bucket_mask_) * kWays];
  }
  Entry* bucket(std::uint64_t tag, NtpTime rx) noexcept { return const_cast<Entry*>(bucket_of(tag, rx)); }
  // Where twins after the first go: a bucket that also depends on the port.
  Entry* twin_bucket(std::uint64_t tag, NtpTime rx, std::uint16_t port) noexcept {
    return bucket(tag ^ (std::uint64_t{port} + 1) * 0xC2B2AE3D27D4EB4Full, rx);
  }
  Entry* victim(Entry* bucket, NtpTime rx) noexcept;

  limit::Secret secret_;
  std::size_t mask_;         // entries - 1
  std::size_t bucket_mask_;  // buckets - 1
  std::uint32_t serial_ = 0;
  struct Deleter {
    void operator()(Entry* e) const noexcept;
  };
  std::unique_ptr<Entry[], Deleter> table_;
  Counters counters_{};
};

// "" if `entries` is usable, else why not (for config errors).
const char* check_entries(std::size_t entries) noexcept;

}  // namespace ntsd::xleave
