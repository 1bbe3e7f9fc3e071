// The load loop: one thread sends on the pacer's schedule, receives and
// verifies in the same loop (as DPDK l3fwd does: no locks, no queues between
// threads), and ends every step with a drain so that late responses are not
// miscounted as lost. A ramp multiplies the rate each step and stops at the
// first step whose loss (plus invalid) exceeds the threshold.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "codec.hpp"
#include "stats.hpp"
#include "tracker.hpp"
#include "transport.hpp"

namespace ntsgen {

struct RunOptions {
  double rate = 1000;          // requests/s of the first (or only) step
  double factor = 1;           // ramp factor (> 1 makes a ramp)
  unsigned max_steps = 1;
  double step_seconds = 1;     // 0: bounded by count only
  std::uint64_t count = 0;     // requests per step (0: bounded by time only)
  double loss_threshold = 1.0; // percent of sent not answered validly that ends a ramp
  double drain_seconds = 0.25; // wait for stragglers after each step
  std::size_t burst = 32;
  // Runs of a step over the threshold before the ramp ends (1 = no retry).
  // For hosts whose cores are taken away now and then (a shared VM): one
  // stall longer than the server's RX ring lasts fails a step at any rate.
  // Every attempt is reported, so a retried step shows.
  unsigned attempts = 1;
  // Set (e.g. by SIGINT) to end the current step early and stop the run; the
  // steps so far are still reported.
  const std::atomic<bool>* stop = nullptr;
  // Interleaved mode / T3 offsets (interleave.hpp): its per-step stats go
  // into StepResult::x. Null: none.
  Interleaver* interleaver = nullptr;
};

struct RunResult {
  std::vector<StepResult> steps;
  int knee = -1;  // index of the last step within the threshold, -1 if none
  std::uint64_t cookie_reuses = 0;
};

// Called about twice a second with the running counters of the current step.
using ProgressFn = std::function<void(const StepResult& so_far)>;

RunResult run_load(Transport& t, Codec& codec, Tracker& tr, const RunOptions& opt,
                   const ProgressFn& progress);

// Whether a step stayed within the threshold: at most threshold_pct of the
// requests sent or refused by the transport (send errors) went without a
// valid response (lost, invalid, NAK or KoD).
bool within_threshold(const StepResult& s, double threshold_pct) noexcept;

}  // namespace ntsgen
