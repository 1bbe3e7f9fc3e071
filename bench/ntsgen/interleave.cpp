#include "interleave.hpp"

namespace ntsgen {

void SignedHistogram::record(std::int64_t ns) noexcept {
  if (ns < 0) {
    neg_.record(static_cast<std::uint64_t>(-ns));
  } else {
    pos_.record(static_cast<std::uint64_t>(ns));
  }
}

void SignedHistogram::merge(const SignedHistogram& o) noexcept {
  neg_.merge(o.neg_);
  pos_.merge(o.pos_);
}

std::int64_t SignedHistogram::quantile(double q) const noexcept {
  const std::uint64_t n = count();
  if (n == 0) return 0;
  const double k = q * static_cast<double>(n);
  const auto nn = static_cast<double>(neg_.count());
  if (k <= nn && neg_.count() > 0) return -static_cast<std::int64_t>(neg_.quantile(1.0 - k / nn));
  if (pos_.count() == 0) return -static_cast<std::int64_t>(neg_.min());
  return static_cast<std::int64_t>(pos_.quantile((k - nn) / static_cast<double>(pos_.count())));
}

std::int64_t SignedHistogram::min() const noexcept {
  if (neg_.count()) return -static_cast<std::int64_t>(neg_.max());
  return static_cast<std::int64_t>(pos_.min());
}

std::int64_t SignedHistogram::max() const noexcept {
  if (pos_.count()) return static_cast<std::int64_t>(pos_.max());
  return -static_cast<std::int64_t>(neg_.min());
}

std::int64_t ntp_to_unix_ns(std::uint64_t ntp) noexcept {
  constexpr std::int64_t kUnixEpoch = 2208988800;  // 1970 - 1900 in seconds
  const auto s = static_cast<std::int64_t>(ntp >> 32) - kUnixEpoch;
  const auto f = static_cast<std::int64_t>(((ntp & 0xffffffffu) * 1'000'000'000ull) >> 32);
  return s * 1'000'000'000 + f;
}

Interleaver::Interleaver(std::size_t clients, bool interleaved)
    : clients_(clients ? clients : 1), interleaved_(interleaved) {}

void Interleaver::fields(std::uint32_t c, std::uint64_t tag, std::uint64_t& origin,
                         std::uint64_t& receive) const noexcept {
  origin = receive = 0;
  if (!interleaved_) return;
  origin = clients_[c % clients_.size()].server_rx;
  receive = receive_field(tag);
}

bool Interleaver::answered(std::uint32_t c, std::uint64_t origin, bool interleaved, std::uint64_t t2,
                           std::uint64_t t3, std::uint64_t rx_real_ns) noexcept {
  Client& k = clients_[c % clients_.size()];
  const std::int64_t t3_ns = ntp_to_unix_ns(t3);
  const auto t4_ns = static_cast<std::int64_t>(rx_real_ns);
  bool ok = true;
  if (interleaved) {
    ++step_.interleaved;
    // T3 belongs to the answer whose receive field this request sent as its
    // origin: known here unless answers crossed on the way.
    if (origin == k.server_rx && k.t4_ns != 0) {
      constexpr std::int64_t kSlack = 1'000'000;  // two clocks: the server's and ours
      ok = t3_ns >= k.t2_ns && t3_ns <= k.t4_ns + kSlack;
      if (ok) step_.t3_interleaved.record(k.t4_ns - t3_ns);
    }
  } else {
    ++(k.answers < 2 ? step_.warmup : step_.basic);
    if (t4_ns != 0) step_.t3_basic.record(t4_ns - t3_ns);
  }
  ++k.answers;
  k.server_rx = t2;
  k.t2_ns = ntp_to_unix_ns(t2);
  k.t4_ns = t4_ns;
  return ok;
}

}  // namespace ntsgen
