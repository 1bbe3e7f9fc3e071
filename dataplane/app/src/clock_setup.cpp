#include "clock_setup.hpp"

#include <cstdlib>
#include <thread>

#include "ntsd/clock/phc_clock.hpp"
#include "ntsd/clock/synthetic_phc.hpp"
#include "ntsd/runtime/runtime.hpp"

namespace ntsd::app {

// clock = "dpdk": the NIC clock exists only once the DPDK backend has
// started its ports, which comes after the server clock is built; this
// stands in for it until then (reads fail: unhealthy, leap 3).
class LateSource final : public clock::ClockSource {
 public:
  void set(std::unique_ptr<clock::ClockSource> s) { s_ = std::move(s); }
  const std::string& name() const noexcept override { return s_ ? s_->name() : name_; }
  clock::Reading read() noexcept override { return s_ ? s_->read() : clock::Reading{}; }
  const std::string& last_error() const noexcept override { return s_ ? s_->last_error() : error_; }
  clock::Timescale timescale() const noexcept override { return s_ ? s_->timescale() : clock::Timescale::kUtc; }

 private:
  std::unique_ptr<clock::ClockSource> s_;
  std::string name_ = "dpdk";
  std::string error_ = "the DPDK ports are not started yet";
};

namespace {

clock::Timescale phc_scale(const config::ServerConfig& s) {
  return s.phc_timescale == config::PhcTimescale::kUtc ? clock::Timescale::kUtc : clock::Timescale::kTai;
}

std::unique_ptr<clock::ClockSource> make_source(const config::Config& cfg, const clock::LeapTableRef& leaps,
                                                std::string& error) {
  const std::string& spec = cfg.server.clock;
  if (spec == "system") return std::make_unique<clock::SystemClock>();
  if (spec == "dpdk") {
    if (cfg.dataplane.backend != config::Backend::kDpdk) {
      error = "clock = \"dpdk\" reads the NIC clock of a DPDK port: it needs [dataplane] backend = \"dpdk\"";
      return nullptr;
    }
    return std::make_unique<LateSource>();
  }
  if (spec == "sim:tai" || spec == "sim:utc") {
    runtime::log("TEST SEAM: clock = \"" + spec + "\" is a simulated PHC that follows the system clock; never for service");
    const char* control = std::getenv("NTSD_TEST_SIM_PHC");
    if (control != nullptr && *control != '\0')
      runtime::log(std::string("TEST SEAM: the simulated PHC obeys ") + control + " (unreadable, step_ns=N)");
    return std::make_unique<clock::SyntheticPhc>(spec == "sim:tai" ? clock::Timescale::kTai : clock::Timescale::kUtc,
                                                 leaps, control ? control : "");
  }
  if (spec.rfind("phc:", 0) == 0) {
    auto phc = std::make_unique<clock::PhcClock>(spec.substr(4), phc_scale(cfg.server));
    if (!phc->ok()) {
      error = "clock " + spec + ": " + phc->last_error();
      return nullptr;
    }
    return phc;
  }
  error = "clock '" + spec + "' is not available (use system, phc:/dev/ptpN or dpdk)";
  return nullptr;
}

clock::ServerClockConfig clock_config(const config::ServerConfig& s) {
  clock::ServerClockConfig c;
  c.stratum = static_cast<std::uint8_t>(s.stratum);
  c.precision = static_cast<std::int8_t>(s.precision);
  // RFC 5905 §7.3: for stratum 1 the refid is a left-justified ASCII code.
  std::uint32_t id = 0;
  for (std::size_t i = 0; i < 4; ++i)
    id = id << 8 | (i < s.refid.size() ? static_cast<std::uint8_t>(s.refid[i]) : 0);
  c.refid = id;
  switch (s.leap) {
    case config::Leap::kAuto: c.leap = clock::LeapMode::kAuto; break;
    case config::Leap::kNone: c.leap = clock::LeapMode::kNone; break;
    case config::Leap::kInsert: c.leap = clock::LeapMode::kInsert; break;
    case config::Leap::kDelete: c.leap = clock::LeapMode::kDelete; break;
  }
  c.max_offset_ns = s.clock == "system" ? 0 : s.max_clock_offset_ms * 1'000'000;
  c.check_kernel_sync = s.clock == "system";
  c.local_stratum = static_cast<std::uint8_t>(s.local_stratum);
  c.root_delay_ns = s.root_delay_us * 1000;
  c.root_dispersion_ns = s.root_dispersion_us * 1000;
  c.max_root_dispersion_ns = s.max_root_dispersion_ms * 1'000'000;
  c.lock_max_age_ns = s.lock_max_age_s * clock::kNsPerSec;
  c.holdover_ns = s.holdover_s * clock::kNsPerSec;
  c.dispersion_rate_ppm = s.dispersion_rate_ppm;
  return c;
}

// The kernel's clock state: adjtimex, or the test seam's file.
clock::KernelTimeFn kernel_source() {
  if (const char* f = std::getenv("NTSD_TEST_ADJTIMEX"); f != nullptr && *f != '\0') {
    runtime::log(std::string("TEST SEAM: the kernel's clock state is read from ") + f + ", not from adjtimex");
    const std::string path = f;
    return [path] { return clock::read_kernel_time_file(path); };
  }
  return clock::read_kernel_time;
}

}  // namespace

std::unique_ptr<ClockStack> ClockStack::create(const config::Config& cfg, std::string& error) {
  std::unique_ptr<ClockStack> s(new ClockStack);
  s->cfg_ = &cfg;
  s->kernel_ = kernel_source();
  const auto ccfg = clock_config(cfg.server);
  const clock::KernelTime k = s->kernel_();
  if ((ccfg.check_kernel_sync || ccfg.leap == clock::LeapMode::kAuto) && !k.ok) {
    error = "cannot read the kernel's clock state (" + k.describe() + "): ntsd needs adjtimex(2) read access for " +
            (ccfg.check_kernel_sync ? std::string("clock = \"system\"") : std::string("leap = \"auto\"")) +
            " (a seccomp filter such as systemd's ProtectClock=yes denies it; see packaging/systemd)";
    return nullptr;
  }
  s->leap_file_ = std::make_unique<clock::LeapFile>(cfg.server.leap_seconds_file, s->leaps_,
                                                    [](const std::string& m) { runtime::log(m); });
  s->leap_file_->poll(clock::system_now(), k.ok ? k.tai : 0);
  s->source_ = make_source(cfg, s->leaps_, error);
  if (!s->source_) return nullptr;
  s->late_ = dynamic_cast<LateSource*>(s->source_.get());
  s->cal_ = std::make_unique<clock::Calibrator>(*s->source_, s->ticks_, s->tsc_, clock::CalibratorConfig{}, &s->leaps_);
  clock::LockStatusFn lock;
  if (!cfg.server.lock_status_file.empty()) {
    const std::string path = cfg.server.lock_status_file;
    lock = [path] { return clock::read_lock_status(path); };
  }
  s->sclock_ = std::make_unique<clock::ServerClock>(ccfg, *s->cal_, *s->source_,
                                                    [](const std::string& m) { runtime::log(m); }, s->kernel_,
                                                    &s->leaps_, std::move(lock));
  if (ccfg.local_stratum != 0)
    runtime::log("local_stratum = " + std::to_string(ccfg.local_stratum) +
                 ": if the kernel says the system clock is unsynchronised, it is served anyway as a local reference "
                 "(refid LOCL)");
  if (!cfg.server.lock_status_file.empty())
    runtime::log("reference lock from " + cfg.server.lock_status_file + ": stale after " +
                 std::to_string(cfg.server.lock_max_age_s) + " s, holdover " + std::to_string(cfg.server.holdover_s) +
                 " s, dispersion growing " + std::to_string(cfg.server.dispersion_rate_ppm) + " ppm since the last lock");
  return s;
}

std::function<std::unique_ptr<clock::ClockSource>()> ClockStack::reference_factory() const {
  const config::Config* cfg = cfg_;
  const clock::LeapTableRef* leaps = &leaps_;
  return [cfg, leaps]() -> std::unique_ptr<clock::ClockSource> {
    const std::string& spec = cfg->server.clock;
    if (spec.rfind("phc:", 0) == 0) return std::make_unique<clock::PhcClock>(spec.substr(4), phc_scale(cfg->server));
    if (spec == "sim:tai" || spec == "sim:utc")
      return std::make_unique<clock::SyntheticPhc>(spec == "sim:tai" ? clock::Timescale::kTai : clock::Timescale::kUtc,
                                                   *leaps);
    return std::make_unique<clock::SystemClock>();  // system, and the NIC clock's own reference
  };
}

void ClockStack::set_nic_source(std::unique_ptr<clock::ClockSource> s) { late_->set(std::move(s)); }

void ClockStack::calibrate() {
  for (int i = 0; i < 3; ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    sclock_->poll();
  }
}

void ClockStack::poll(runtime::Metrics& m) {
  const clock::KernelTime k = kernel_();
  leap_file_->poll(clock::system_now(), k.ok ? k.tai : 0);
  sclock_->poll();
  update_gauges(m);
}

void ClockStack::update_gauges(runtime::Metrics& m) {
  constexpr auto r = std::memory_order_relaxed;
  const clock::ClockStatus& st = sclock_->status();
  const clock::ServerStateWord w = sclock_->state();
  const clock::UnixNs now = clock::system_now();
  auto secs = [](std::int64_t ns) { return static_cast<double>(ns) * 1e-9; };
  runtime::ClockGauges& g = m.clock();
  m.gauges().clock_healthy = st.healthy ? 1 : 0;
  m.gauges().leap = static_cast<int>(w.leap);
  if (was_healthy_ && !st.healthy) g.unhealthy_transitions.fetch_add(1, r);
  was_healthy_ = st.healthy;
  g.stratum.store(w.stratum, r);
  g.local_reference.store(st.local ? 1 : 0, r);
  g.root_dispersion_s.store(secs(st.root_dispersion_ns), r);
  g.source_offset_s.store(secs(st.source_offset_ns), r);
  g.fit_residual_s.store(secs(st.fit_residual_ns), r);
  g.last_read_age_s.store(st.last_good_read ? secs(now - st.last_good_read) : -1.0, r);
  g.kernel_checked.store(st.kernel_checked ? 1 : 0, r);
  g.kernel_unsynchronised.store(st.kernel_checked && st.kernel.ok && st.kernel.unsynchronised() ? 1 : 0, r);
  g.kernel_maxerror_s.store(static_cast<double>(st.kernel.maxerror_us) * 1e-6, r);
  g.kernel_esterror_s.store(static_cast<double>(st.kernel.esterror_us) * 1e-6, r);
  g.kernel_tai_s.store(st.kernel.tai, r);
  g.kernel_tai_mismatches.store(st.kernel_tai_mismatches, r);
  const auto table = leaps_.get();
  g.tai_offset_s.store(table ? table->offset_at_utc(now) : 0, r);
  const auto* next = table ? table->next_leap(table->utc_to_tai(now)) : nullptr;
  g.next_leap_s.store(next ? secs(next->utc) : 0.0, r);
  const clock::LeapFile::Status& lf = leap_file_->status();
  g.leap_file_loaded.store(lf.loaded ? 1 : 0, r);
  g.leap_file_expired.store(lf.expired ? 1 : 0, r);
  g.leap_file_expiry_s.store(secs(lf.expires), r);
  g.lock_tracked.store(st.lock_tracked ? 1 : 0, r);
  g.lock_locked.store(st.lock_tracked && st.lock_state == clock::LockReading::State::kLocked && !st.lock_stale, r);
  g.since_lock_s.store(st.last_lock ? secs(now - st.last_lock) : -1.0, r);
}

}  // namespace ntsd::app
