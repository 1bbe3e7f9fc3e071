// Human and machine output of ntsgen: the live progress line (stderr), the
// per-step table, --json, and --plot (gnuplot: latency histogram and valid
// responses/s against offered load).
#pragma once

#include <cstdio>
#include <string>

#include "runner.hpp"

namespace ntsgen {

struct RunInfo {
  std::string mode;       // "ntp" or "nts"
  std::string transport;  // Transport::describe()
  unsigned sessions = 0;
  unsigned placeholders = 0;
  double threshold = 0;
  bool interleaved = false;  // --interleaved
  bool offsets = false;      // T3 offsets were measured
  unsigned verify_every = 1; // NTS: one response in N fully verified
};

void print_progress(std::FILE* f, const StepResult& s);
void print_table(std::FILE* f, const RunInfo& info, const RunResult& r);
std::string to_json(const RunInfo& info, const RunResult& r);
// Writes data files next to `png` and runs gnuplot; false (with err) on failure.
bool write_plot(const std::string& png, const RunResult& r, std::string& err);

}  // namespace ntsgen
