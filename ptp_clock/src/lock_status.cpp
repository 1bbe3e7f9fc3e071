#include "ntsd/clock/lock_status.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ntsd::clock {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

LockReading invalid(int line, const std::string& why) {
  LockReading r;
  r.state = LockReading::State::kInvalid;
  r.why = "line " + std::to_string(line) + ": " + why;
  return r;
}

}  // namespace

const char* to_string(LockReading::State s) noexcept {
  switch (s) {
    case LockReading::State::kLocked: return "locked";
    case LockReading::State::kUnlocked: return "unlocked";
    case LockReading::State::kMissing: return "missing";
    case LockReading::State::kInvalid: return "invalid";
  }
  return "?";
}

LockReading parse_lock_status(std::string_view text) {
  bool have_locked = false, have_error = false, have_updated = false, locked = false;
  std::int64_t error_ns = 0;
  UnixNs updated = 0;
  int line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) return invalid(line_no, "expected key = value");
    const std::string_view key = trim(line.substr(0, eq)), val = trim(line.substr(eq + 1));
    if (key == "locked") {
      if (val != "true" && val != "false") return invalid(line_no, "locked must be true or false");
      locked = val == "true";
      have_locked = true;
    } else if (key == "error_ns") {
      const auto r = std::from_chars(val.data(), val.data() + val.size(), error_ns);
      if (r.ec != std::errc() || r.ptr != val.data() + val.size() || error_ns < 0)
        return invalid(line_no, "error_ns must be an integer >= 0");
      have_error = true;
    } else if (key == "updated") {
      // Unix seconds with up to 9 fraction digits, read exactly.
      const std::size_t dot = val.find('.');
      const std::string_view whole = val.substr(0, dot);
      const std::string_view frac = dot == std::string_view::npos ? std::string_view() : val.substr(dot + 1);
      std::int64_t sec = 0, ns = 0;
      const auto r = std::from_chars(whole.data(), whole.data() + whole.size(), sec);
      bool ok = r.ec == std::errc() && r.ptr == whole.data() + whole.size() && sec > 0 && sec < 9'000'000'000 &&
                frac.size() <= 9 && (dot == std::string_view::npos || !frac.empty());
      for (std::size_t i = 0; ok && i < 9; ++i) {
        if (i < frac.size() && (frac[i] < '0' || frac[i] > '9')) ok = false;
        ns = ns * 10 + (i < frac.size() ? frac[i] - '0' : 0);
      }
      if (!ok) return invalid(line_no, "updated must be Unix seconds");
      updated = sec * kNsPerSec + ns;
      have_updated = true;
    } else {
      return invalid(line_no, "unknown key \"" + std::string(key) + "\"");
    }
  }
  if (!have_locked || !have_error || !have_updated)
    return invalid(line_no, "locked, error_ns and updated are all required");
  LockReading r;
  r.state = locked ? LockReading::State::kLocked : LockReading::State::kUnlocked;
  r.error_ns = error_ns;
  r.updated = updated;
  return r;
}

LockReading read_lock_status(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    LockReading r;
    r.why = path + ": " + std::strerror(errno);
    return r;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  LockReading r = parse_lock_status(ss.str().substr(0, 4096));
  if (r.state == LockReading::State::kInvalid) r.why = path + ": " + r.why;
  return r;
}

}  // namespace ntsd::clock
