// The rate limiter (see limiter.hpp for the rules and why).
#include "ntsd/limit/limiter.hpp"

#include <sys/random.h>

#include <cstdlib>
#include <cstring>
#include <new>

namespace ntsd::limit {
namespace {

constexpr std::uint64_t kStepSlack = std::uint64_t{1} << 32;  // 1 s in NTP 32.32

constexpr std::uint64_t rotl(std::uint64_t x, int b) noexcept { return x << b | x >> (64 - b); }

struct Sip {
  std::uint64_t v0, v1, v2, v3;
  void round() noexcept {
    v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);
    v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;
    v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;
    v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);
  }
  void block(std::uint64_t m) noexcept {  // SipHash-1-3: one compression round
    v3 ^= m;
    round();
    v0 ^= m;
  }
};

// SipHash-1-3 (Aumasson & Bernstein) of the 17-byte message w0 || w1 ||
// domain, where the domain byte keeps IPv4 and IPv6 keys apart.
std::uint64_t siphash13(const Secret& s, std::uint64_t w0, std::uint64_t w1, std::uint8_t domain) noexcept {
  Sip h{s.k0 ^ 0x736f6d6570736575ull, s.k1 ^ 0x646f72616e646f6dull, s.k0 ^ 0x6c7967656e657261ull,
        s.k1 ^ 0x7465646279746573ull};
  h.block(w0);
  h.block(w1);
  h.block(std::uint64_t{17} << 56 | domain);
  h.v2 ^= 0xff;
  h.round();
  h.round();
  h.round();
  return h.v0 ^ h.v1 ^ h.v2 ^ h.v3;
}

std::uint64_t be64(const std::uint8_t* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];  // compiles to one load + bswap
  return v;
}

// The first `bits` of a 128-bit big-endian value, as two words.
std::array<std::uint64_t, 2> prefix_mask(int bits) noexcept {
  auto word = [](int n) -> std::uint64_t { return n <= 0 ? 0 : n >= 64 ? ~0ull : ~0ull << (64 - n); };
  return {word(bits), word(bits - 64)};
}

}  // namespace

Secret Secret::random() noexcept {
  Secret s;
  std::uint64_t w[3] = {0, 0, 0};
  std::size_t got = 0;
  auto* p = reinterpret_cast<std::uint8_t*>(w);
  while (got < sizeof w) {
    const ssize_t r = ::getrandom(p + got, sizeof w - got, 0);
    if (r <= 0) break;  // only before the pool is seeded, which blocks instead
    got += static_cast<std::size_t>(r);
  }
  s.k0 = w[0];
  s.k1 = w[1];
  s.seed = w[2] | 1;  // xorshift state must not be 0
  return s;
}

std::uint64_t keyed_hash(const Secret& s, std::uint64_t w0, std::uint64_t w1, std::uint8_t domain) noexcept {
  return siphash13(s, w0, w1, domain);
}

const char* check(const Params& p) noexcept {
  if (p.interval < -10 || p.interval > 12) return "interval must be between -10 and 12";
  if (p.burst < 1 || p.burst > 256) return "burst must be between 1 and 256";
  if (p.leak < 0 || p.leak > 8) return "leak must be between 0 and 8";
  if (p.ipv4_prefix < 1 || p.ipv4_prefix > 32) return "ipv4_prefix must be between 1 and 32";
  if (p.ipv6_prefix < 1 || p.ipv6_prefix > 128) return "ipv6_prefix must be between 1 and 128";
  if (p.table_size < Limiter::kMinTable || p.table_size > Limiter::kMaxTable || (p.table_size & (p.table_size - 1)) != 0)
    return "table_size must be a power of two between 4 and 16777216";
  return "";
}

void Limiter::Deleter::operator()(Entry* e) const noexcept { std::free(e); }

Limiter::Limiter(const Params& p, const Secret& s)
    : p_(p), s_(s), period_(std::uint64_t{1} << (32 + p.interval)),
      tau_(static_cast<std::uint64_t>(p.burst - 1) << (32 + p.interval)),
      bucket_mask_(p.table_size / kWays - 1), mask4_(prefix_mask(p.ipv4_prefix)[0]),
      mask6_(prefix_mask(p.ipv6_prefix)), rng_(s.seed | 1) {
  const std::size_t bytes = p.table_size * sizeof(Entry);
  void* mem = std::aligned_alloc(64, bytes);
  if (mem == nullptr) std::abort();  // at start only: no table, no limiter
  std::memset(mem, 0, bytes);
  table_.reset(static_cast<Entry*>(mem));
}

Limiter::~Limiter() = default;

std::uint64_t Limiter::hash(const Address& a) const noexcept {
  const std::uint8_t* b = a.bytes.data();
  std::uint64_t h;
  if (a.v6) {
    h = siphash13(s_, be64(b) & mask6_[0], be64(b + 8) & mask6_[1], 6);
  } else {
    const std::uint64_t v4 = std::uint64_t{b[0]} << 56 | std::uint64_t{b[1]} << 48 | std::uint64_t{b[2]} << 40 |
                             std::uint64_t{b[3]} << 32;
    h = siphash13(s_, v4 & mask4_, 0, 4);
  }
  return h == 0 ? 1 : h;
}

Limiter::Entry& Limiter::find_or_insert(std::uint64_t tag, std::uint64_t now) noexcept {
  Entry* b = &table_[(tag & bucket_mask_) * kWays];
  Entry* victim = nullptr;
  for (std::size_t i = 0; i < kWays; ++i) {
    if (b[i].tag == tag) return b[i];
    if (b[i].tag == 0) {
      if (victim == nullptr || victim->tag != 0) victim = &b[i];
    } else if (victim == nullptr ||
               (victim->tag != 0 && static_cast<std::int64_t>(b[i].tat - now) <
                                        static_cast<std::int64_t>(victim->tat - now))) {
      victim = &b[i];
    }
  }
  ++(victim->tag == 0 ? counters_.inserts : counters_.evictions);
  *victim = Entry{tag, now};  // a new client starts with a full burst
  return *victim;
}

bool Limiter::leak() noexcept {
  if (p_.leak == 0) return false;
  // xorshift64*: statistically fine for a coin flip, not a secret.
  rng_ ^= rng_ >> 12;
  rng_ ^= rng_ << 25;
  rng_ ^= rng_ >> 27;
  const std::uint64_t r = rng_ * 0x2545F4914F6CDD1Dull;
  return r >> (64 - p_.leak) == 0;
}

Decision Limiter::check(const Address& a, std::uint64_t now) noexcept {
  Entry& e = find_or_insert(hash(a), now);
  auto ahead = static_cast<std::int64_t>(e.tat - now);
  // In the past: the bucket is full. More than 1 s further ahead than the
  // rules can put it (tau + T): the clock stepped back; start over rather
  // than refuse the client until the clock catches up.
  if (ahead < 0 || static_cast<std::uint64_t>(ahead) > tau_ + period_ + kStepSlack) ahead = 0;
  if (static_cast<std::uint64_t>(ahead) <= tau_) {
    e.tat = now + static_cast<std::uint64_t>(ahead) + period_;
    ++counters_.allowed;
    return Decision::kAllow;
  }
  if (leak()) {
    ++counters_.leaked;
    return Decision::kLeak;
  }
  ++counters_.limited;
  return Decision::kLimit;
}

}  // namespace ntsd::limit
