#include "output.hpp"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>

namespace ntsgen {

static double us(std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

void print_progress(std::FILE* f, const StepResult& s) {
  std::fprintf(f, "\r step %u  offered %.0f/s  sent %llu  valid %llu  invalid %llu  nak %llu  p99 %.0f us   ",
               s.step, s.offered_rate, static_cast<unsigned long long>(s.c.sent),
               static_cast<unsigned long long>(s.c.valid),
               static_cast<unsigned long long>(s.c.invalid_total()),
               static_cast<unsigned long long>(s.c.nak), us(s.latency.quantile(0.99)));
  std::fflush(f);
}

// The interleaved share and the T3 offsets of one step.
static void print_xleave(std::FILE* f, const RunInfo& info, const XleaveStats& x) {
  if (info.interleaved)
    std::fprintf(f, "     interleaved %.2f%% of answers after warm-up (%llu interleaved, %llu basic, %llu warm-up)\n",
                 x.share_pct(), static_cast<unsigned long long>(x.interleaved), static_cast<unsigned long long>(x.basic),
                 static_cast<unsigned long long>(x.warmup));
  const auto line = [&](const char* what, const SignedHistogram& h) {
    if (h.count() == 0) return;
    std::fprintf(f, "     T4-T3 %-11s n=%llu  min %.2f  p50 %.2f  p99 %.2f  max %.2f us\n", what,
                 static_cast<unsigned long long>(h.count()), static_cast<double>(h.min()) / 1000.0,
                 static_cast<double>(h.quantile(0.5)) / 1000.0, static_cast<double>(h.quantile(0.99)) / 1000.0,
                 static_cast<double>(h.max()) / 1000.0);
  };
  line("basic", x.t3_basic);
  line("interleaved", x.t3_interleaved);
}

void print_table(std::FILE* f, const RunInfo& info, const RunResult& r) {
  std::fprintf(f, "\nntsgen %s over %s", info.mode.c_str(), info.transport.c_str());
  if (info.mode == "nts") std::fprintf(f, ", %u sessions, %u placeholders", info.sessions, info.placeholders);
  std::fprintf(f, "\n%4s %11s %11s %11s %10s %7s %8s %6s %5s %9s %9s %9s %9s\n", "step", "offered/s",
               "sent/s", "valid/s", "sent", "lost%", "invalid%", "NAK", "KoD", "p50 us", "p99 us",
               "p999 us", "max us");
  for (const auto& s : r.steps) {
    std::fprintf(f, "%4u %11.0f %11.0f %11.0f %10llu %7.2f %8.2f %6llu %5llu %9.1f %9.1f %9.1f %9.1f\n",
                 s.step, s.offered_rate, s.sent_rate(), s.valid_rate(),
                 static_cast<unsigned long long>(s.c.sent), s.lost_pct(), s.invalid_pct(),
                 static_cast<unsigned long long>(s.c.nak), static_cast<unsigned long long>(s.c.kod),
                 us(s.latency.quantile(0.5)), us(s.latency.quantile(0.99)),
                 us(s.latency.quantile(0.999)), us(s.latency.max()));
    if (s.c.invalid_total()) {
      std::fprintf(f, "     invalid by reason:");
      for (std::size_t i = 0; i < kInvalidReasons; ++i) {
        if (s.c.invalid[i])
          std::fprintf(f, " %s=%llu", invalid_name(static_cast<Invalid>(i)).data(),
                       static_cast<unsigned long long>(s.c.invalid[i]));
      }
      std::fprintf(f, "\n");
    }
    if (info.verify_every > 1)
      std::fprintf(f, "     fully verified %llu of %llu valid (one request in %u picked; the rest matched and checked)\n",
                   static_cast<unsigned long long>(s.c.verified), static_cast<unsigned long long>(s.c.valid),
                   info.verify_every);
    if (info.offsets) print_xleave(f, info, s.x);
    if (s.attempt > 1) std::fprintf(f, "     (attempt %u of step %u)\n", s.attempt, s.step);
  }
  if (r.knee >= 0) {
    const auto& k = r.steps[static_cast<std::size_t>(r.knee)];
    std::fprintf(f, "knee: step %u, %.0f valid responses/s at %.0f offered/s (threshold %.2f%% not valid)\n",
                 k.step, k.valid_rate(), k.offered_rate, info.threshold);
  } else {
    std::fprintf(f, "knee: none (no step stayed within %.2f%% not valid)\n", info.threshold);
  }
  if (r.cookie_reuses) std::fprintf(f, "cookies reused (a jar ran dry: loss, or more requests in flight per session than cookies): %llu\n",
                                    static_cast<unsigned long long>(r.cookie_reuses));
}

std::string to_json(const RunInfo& info, const RunResult& r) {
  nlohmann::json j;
  j["mode"] = info.mode;
  j["transport"] = info.transport;
  j["sessions"] = info.sessions;
  j["placeholders"] = info.placeholders;
  j["threshold_pct"] = info.threshold;
  j["knee"] = r.knee;
  j["interleaved_requests"] = info.interleaved;
  j["cookie_reuses"] = r.cookie_reuses;
  j["verify_every"] = info.verify_every;
  auto& steps = j["steps"] = nlohmann::json::array();
  for (const auto& s : r.steps) {
    nlohmann::json inv;
    for (std::size_t i = 0; i < kInvalidReasons; ++i)
      inv[std::string(invalid_name(static_cast<Invalid>(i)))] = s.c.invalid[i];
    steps.push_back({{"step", s.step}, {"attempt", s.attempt}, {"offered_rate", s.offered_rate}, {"duration_s", s.duration_s},
                     {"sent", s.c.sent}, {"send_errors", s.c.send_errors}, {"valid", s.c.valid}, {"verified", s.c.verified},
                     {"invalid", s.c.invalid_total()}, {"invalid_by_reason", inv}, {"nak", s.c.nak},
                     {"kod", s.c.kod}, {"lost", s.c.lost}, {"stale", s.c.stale},
                     {"sent_rate", s.sent_rate()}, {"cpu_s", s.cpu_s}, {"sent_per_cpu_s", s.sent_per_cpu_s()},
                     {"busy_s", s.busy_s}, {"busy_pct", s.busy_pct()}, {"sent_per_busy_s", s.sent_per_busy_s()}, {"valid_rate", s.valid_rate()},
                     {"lost_pct", s.lost_pct()}, {"invalid_pct", s.invalid_pct()},
                     {"latency_ns", {{"p50", s.latency.quantile(0.5)}, {"p99", s.latency.quantile(0.99)},
                                     {"p999", s.latency.quantile(0.999)}, {"max", s.latency.max()},
                                     {"count", s.latency.count()}}}});
    if (info.offsets) {
      const auto offs = [](const SignedHistogram& h) {
        return nlohmann::json{{"count", h.count()}, {"min", h.min()}, {"p50", h.quantile(0.5)},
                              {"p99", h.quantile(0.99)}, {"max", h.max()}};
      };
      steps.back()["interleaved"] = {{"interleaved", s.x.interleaved}, {"basic", s.x.basic},
                                     {"warmup", s.x.warmup}, {"share_pct", s.x.share_pct()}};
      steps.back()["t3_offset_ns"] = {{"basic", offs(s.x.t3_basic)}, {"interleaved", offs(s.x.t3_interleaved)}};
    }
  }
  return j.dump(1);
}

bool write_plot(const std::string& png, const RunResult& r, std::string& err) {
  const std::string hist = png + ".latency.dat", thr = png + ".throughput.dat", gp = png + ".gp";
  {
    // Latency of the knee step (or the last step): bucket lower edge in us, count.
    Histogram all;
    const auto& s = r.steps.at(r.knee >= 0 ? static_cast<std::size_t>(r.knee) : r.steps.size() - 1);
    all.merge(s.latency);
    std::ofstream h(hist);
    for (std::size_t i = 0; i < Histogram::kBuckets; ++i)
      if (all.bucket_count(i)) h << us(Histogram::lower_edge(i)) << ' ' << all.bucket_count(i) << '\n';
    std::ofstream t(thr);
    for (const auto& st : r.steps) t << st.offered_rate << ' ' << st.valid_rate() << ' ' << st.sent_rate() << '\n';
    std::ofstream g(gp);
    g << "set terminal pngcairo size 1200,500 noenhanced\nset output '" << png << "'\n"
      << "set multiplot layout 1,2\n"
      << "set title 'latency of valid responses (knee step)'\nset xlabel 'us'\nset ylabel 'responses'\n"
      << "set logscale x\nplot '" << hist << "' using 1:2 with impulses lw 2 title ''\n"
      << "unset logscale x\nset title 'throughput vs offered load'\nset xlabel 'offered requests/s'\n"
      << "set ylabel 'per second'\nset key left top\n"
      << "plot '" << thr << "' using 1:2 with linespoints title 'valid responses/s', '" << thr
      << "' using 1:3 with linespoints title 'sent/s', x with lines dt 2 title 'ideal'\n"
      << "unset multiplot\n";
  }
  const std::string cmd = "gnuplot '" + gp + "' 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    err = "gnuplot failed (is gnuplot installed?)";
    return false;
  }
  return true;
}

}  // namespace ntsgen
