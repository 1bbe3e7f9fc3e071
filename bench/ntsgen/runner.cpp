#include "runner.hpp"

#include <algorithm>
#include <ctime>

#include "pacing.hpp"

namespace ntsgen {

bool within_threshold(const StepResult& s, double threshold_pct) noexcept {
  // Anything but a verified response counts against the step: lost, invalid,
  // NAK and KoD alike (a server that NAKs everything has no knee). So do
  // requests the transport refused: a memif or ring port pushes back when
  // the server stops draining it, where a NIC would drop on the wire, and
  // without this a saturated server would look loss-free.
  const std::uint64_t tried = s.c.sent + s.c.send_errors;
  if (tried == 0 || s.c.valid > s.c.sent) return false;
  const double bad = 100.0 * static_cast<double>(tried - s.c.valid) / static_cast<double>(tried);
  return bad <= threshold_pct;
}

namespace {

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Requests the codec built but the transport did not take never left: end
// them now so they count as send errors, not as lost.
void retire_unsent(std::span<TxBuf> bufs, std::size_t sent, Tracker& tr, Counters& c) {
  std::size_t seen = 0;
  for (auto& b : bufs) {
    if (b.len == 0) continue;
    if (seen++ < sent) continue;
    Slot* s = nullptr;
    if (tr.lookup(load_be64(b.data + kTransmitOff), s) == Tracker::Match::kLive) tr.finish(*s);
    ++c.send_errors;
  }
}

bool stop_requested(const RunOptions& opt) noexcept { return opt.stop && opt.stop->load(std::memory_order_relaxed); }

// Returns how many datagrams it handled.
std::size_t receive(Transport& t, Codec& codec, Tracker& tr, StepResult& r, std::size_t burst) {
  std::size_t got = 0;
  for (int i = 0; i < 4; ++i) {  // bounded, so sending never starves
    auto rx = t.recv(burst * 2);
    if (rx.empty()) break;
    codec.verify(rx, tr, r.c, r.latency);
    got += rx.size();
  }
  return got;
}

StepResult run_step(Transport& t, Codec& codec, Tracker& tr, const RunOptions& opt, unsigned step,
                    const ProgressFn& progress) {
  StepResult r;
  r.step = step;
  r.offered_rate = ramp_rate(opt.rate, opt.factor, step);
  tr.begin_step(static_cast<std::uint8_t>(step));
  if (opt.interleaver) opt.interleaver->begin_step();
  const auto dur = static_cast<std::uint64_t>(opt.step_seconds * 1e9);
  const std::uint64_t t0 = t.now_ns();
  const double cpu0 = thread_cpu_s();
  Pacer pacer(r.offered_rate, opt.count, dur, t0);
  std::uint64_t now = t0, next_report = t0 + 500'000'000, busy_ns = 0;
  while (!pacer.done(now) && !stop_requested(opt)) {
    bool did = false;
    if (const std::uint64_t n = pacer.due(now, opt.burst)) {
      did = true;
      auto bufs = t.tx_buffers(n, codec.max_request_len());
      codec.build(bufs, now, tr, r.c);
      const std::size_t sent = t.send(bufs);
      retire_unsent(bufs, sent, tr, r.c);
      r.c.sent += sent;
      pacer.sent(bufs.size());
    }
    did |= receive(t, codec, tr, r, opt.burst) > 0;
    const std::uint64_t after = t.now_ns();
    if (did) busy_ns += after - now;
    now = after;
    if (progress && now >= next_report) {
      r.duration_s = static_cast<double>(now - t0) / 1e9;
      progress(r);
      next_report = now + 500'000'000;
    }
  }
  r.duration_s = static_cast<double>(now - t0) / 1e9;
  r.busy_s = static_cast<double>(busy_ns) / 1e9;
  r.cpu_s = thread_cpu_s() - cpu0;
  const std::uint64_t drain_end = now + static_cast<std::uint64_t>(opt.drain_seconds * 1e9);
  while (tr.live() > 0 && t.now_ns() < drain_end) receive(t, codec, tr, r, opt.burst);
  r.c.lost += tr.expire_all();
  if (opt.interleaver) r.x = opt.interleaver->step();
  return r;
}

}  // namespace

RunResult run_load(Transport& t, Codec& codec, Tracker& tr, const RunOptions& opt,
                   const ProgressFn& progress) {
  RunResult res;
  const unsigned steps = opt.max_steps ? std::min(opt.max_steps, 255u) : 1;
  for (unsigned i = 0; i < steps; ++i) {
    bool ok = false;
    for (unsigned a = 1; !ok && a <= std::max(opt.attempts, 1u) && !(a > 1 && stop_requested(opt)); ++a) {
      res.steps.push_back(run_step(t, codec, tr, opt, i, progress));
      res.steps.back().attempt = a;
      ok = within_threshold(res.steps.back(), opt.loss_threshold);
    }
    if (ok) res.knee = static_cast<int>(res.steps.size() - 1);
    if (!ok && opt.factor > 1) break;  // a ramp ends at the first step over the threshold
    if (stop_requested(opt)) break;
  }
  return res;
}

}  // namespace ntsgen
