// The rate-limit gate a worker puts in front of the protocol core: one
// decision per request, before any crypto is spent on it.
//
//   within the limit, or leaked  -> the core (leaks are counted)
//   over, plain NTP request      -> Server::kiss(): a 48-byte RATE
//                                   Kiss-o'-Death (RFC 5905 §7.4), never
//                                   longer than the request
//   over, NTS (or unparsable EFs) -> dropped silently and counted. An NTS
//                                   client acts only on authenticated
//                                   responses and ignores an unauthenticated
//                                   RATE (RFC 8915 §5.7: the only
//                                   unauthenticated kiss it heeds is the NTS
//                                   NAK, which echoes its UID); an
//                                   authenticated RATE would cost the cookie
//                                   and AEAD work the limit exists to save.
// Disabled ([ratelimit] enabled = false) it holds no table and admits all.
#pragma once

#include <memory>

#include "ntsd/limit/limiter.hpp"
#include "ntsd/proto/server.hpp"
#include "ntsd/runtime/runtime.hpp"
#include "ntsd/runtime/stats.hpp"

namespace ntsd::runtime {

enum class Admit : std::uint8_t { kCore, kKiss, kDrop };

class RateGate {
 public:
  RateGate(const Shared& s, WorkerStats& stats)
      : limiter_(s.ratelimit ? std::make_unique<limit::Limiter>(s.ratelimit_params, s.ratelimit_secret) : nullptr),
        stats_(stats) {}

  Admit admit(const limit::Address& client, proto::NtpTime rx, proto::Bytes req) noexcept {
    if (!limiter_) return Admit::kCore;
    switch (limiter_->check(client, rx)) {
      case limit::Decision::kAllow: return Admit::kCore;
      case limit::Decision::kLeak: bump(stats_.ratelimit_leaked); return Admit::kCore;
      case limit::Decision::kLimit: break;
    }
    if (limit::is_plain_request(req)) return Admit::kKiss;  // counted once the kiss is built
    bump(stats_.ratelimit_dropped);
    return Admit::kDrop;
  }

  // After Server::kiss(): counts the kisses actually sent.
  void kissed(const proto::Outcome& o) noexcept {
    if (o.verdict == proto::Verdict::kKod) bump(stats_.ratelimit_kod);
  }

  // Once per burst: publish the table's eviction count.
  void sync() noexcept {
    if (limiter_) stats_.ratelimit_evictions.store(limiter_->counters().evictions, std::memory_order_relaxed);
  }

 private:
  std::unique_ptr<limit::Limiter> limiter_;
  WorkerStats& stats_;
};

}  // namespace ntsd::runtime
