#include "ntsd/clock/leap_table.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace ntsd::clock {
namespace {

constexpr std::int64_t kDay = 86400;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Splits on blanks; at most `max` tokens (more is reported as max + 1).
std::vector<std::string_view> tokens(std::string_view s, std::size_t max) {
  std::vector<std::string_view> out;
  while (true) {
    s = trim(s);
    if (s.empty() || out.size() > max) return out;
    const std::size_t end = s.find_first_of(" \t");
    out.push_back(s.substr(0, end));
    if (end == std::string_view::npos) return out;
    s.remove_prefix(end);
  }
}

template <typename Int>
bool number(std::string_view s, Int& v) {
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// NTP seconds this parser accepts: era 0 up to 2^33 s (the year 2172), so
// that Unix nanoseconds stay far inside int64.
constexpr std::int64_t kMaxNtpSeconds = std::int64_t{1} << 33;

UnixNs ntp_to_unix_ns(std::int64_t ntp_s) { return (ntp_s - kNtpUnixDelta) * kNsPerSec; }

std::string sha1_hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), md, &n, EVP_sha1(), nullptr) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

}  // namespace

LeapTable LeapTable::fixed(std::int32_t offset_s) {
  LeapTable t;
  t.entries_.push_back({0, offset_s, static_cast<UnixNs>(offset_s) * kNsPerSec});
  return t;
}

std::optional<LeapTable> LeapTable::parse(std::string_view text, std::string& error) {
  LeapTable t;
  std::string hashed;        // the hash covers "#$" value, "#@" value, then each line's two numbers
  std::string upd, exp, want_hash;
  std::vector<std::pair<std::string, std::string>> data;
  int line_no = 0;
  auto fail = [&](const std::string& why) {
    error = "line " + std::to_string(line_no) + ": " + why;
    return std::nullopt;
  };
  while (!text.empty()) {
    ++line_no;
    const std::size_t nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty()) continue;
    if (line.starts_with("#$") || line.starts_with("#@")) {
      const auto tk = tokens(line.substr(2), 1);
      std::int64_t v = 0;
      if (tk.size() != 1 || !number(tk[0], v) || v <= kNtpUnixDelta || v > kMaxNtpSeconds)
        return fail("expected one NTP-seconds value after " + std::string(line.substr(0, 2)));
      (line[1] == '$' ? upd : exp) = std::string(tk[0]);
      (line[1] == '$' ? t.updated_ : t.expires_) = ntp_to_unix_ns(v);
      continue;
    }
    if (line.starts_with("#h")) {
      for (auto tk : tokens(line.substr(2), 16)) want_hash += std::string(tk);
      std::transform(want_hash.begin(), want_hash.end(), want_hash.begin(),
                     [](char c) { return static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c); });
      continue;
    }
    if (line.front() == '#') continue;
    const auto tk = tokens(line.substr(0, line.find('#')), 2);
    std::int64_t ntp = 0;
    std::int32_t off = 0;
    if (tk.size() != 2 || !number(tk[0], ntp) || !number(tk[1], off) || ntp <= 0 || ntp > kMaxNtpSeconds ||
        off < -1000 || off > 1000)
      return fail("expected \"NTP-seconds TAI-UTC\" (NTP era 0, |TAI-UTC| <= 1000 s)");
    LeapEntry e{ntp_to_unix_ns(ntp), off, 0};
    if (!t.entries_.empty()) {
      const LeapEntry& prev = t.entries_.back();
      if (e.utc <= prev.utc) return fail("times must increase");
      if (std::abs(off - prev.offset_s) != 1) return fail("TAI-UTC must change by one second per leap");
      e.boundary_tai = e.utc + std::min(prev.offset_s, off) * kNsPerSec;
    } else {
      e.boundary_tai = e.utc + off * kNsPerSec;
    }
    t.entries_.push_back(e);
    data.emplace_back(std::string(tk[0]), std::string(tk[1]));
  }
  if (t.entries_.empty()) {
    error = "no leap-second entries";
    return std::nullopt;
  }
  if (!want_hash.empty()) {
    hashed = upd + exp;
    for (const auto& [a, b] : data) hashed += a + b;
    if (sha1_hex(hashed) != want_hash) {
      error = "the #h SHA-1 hash does not match the data (damaged or edited file)";
      return std::nullopt;
    }
    t.hash_checked_ = true;
  }
  return t;
}

std::optional<LeapTable> LeapTable::load(const std::string& path, std::string& error) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    error = path + ": cannot open";
    return std::nullopt;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  auto t = parse(ss.str(), error);
  if (!t) error = path + ": " + error;
  return t;
}

std::int32_t LeapTable::offset_at_tai(UnixNs tai) const noexcept {
  if (entries_.empty()) return 0;
  std::int32_t off = entries_.front().offset_s;
  for (const LeapEntry& e : entries_) {
    if (e.boundary_tai > tai) break;
    off = e.offset_s;
  }
  return off;
}

std::int32_t LeapTable::offset_at_utc(UnixNs utc) const noexcept {
  if (entries_.empty()) return 0;
  std::int32_t off = entries_.front().offset_s;
  for (const LeapEntry& e : entries_) {
    if (e.utc > utc) break;
    off = e.offset_s;
  }
  return off;
}

UnixNs LeapTable::utc_to_tai(UnixNs utc, const UnixNs* hint_tai) const noexcept {
  const UnixNs base = utc + offset_at_utc(utc) * kNsPerSec;
  if (hint_tai == nullptr) return base;
  for (std::size_t i = 1; i < entries_.size(); ++i) {
    const LeapEntry& e = entries_[i];
    // An inserted second: UTC values in [U_i - 1 s, U_i) occur twice.
    if (e.offset_s > entries_[i - 1].offset_s && utc >= e.utc - kNsPerSec && utc < e.utc) {
      const UnixNs alt = utc + e.offset_s * kNsPerSec;
      return std::llabs(alt - *hint_tai) < std::llabs(base - *hint_tai) ? alt : base;
    }
  }
  return base;
}

const LeapEntry* LeapTable::next_leap(UnixNs tai) const noexcept {
  for (std::size_t i = 1; i < entries_.size(); ++i)
    if (entries_[i].boundary_tai > tai) return &entries_[i];
  return nullptr;
}

LeapStep LeapTable::step_after(UnixNs tai) const noexcept {
  LeapStep s;
  s.before_ns = s.after_ns = static_cast<std::int64_t>(offset_at_tai(tai)) * kNsPerSec;
  if (const LeapEntry* n = next_leap(tai)) {
    s.at_tai = n->boundary_tai;
    s.after_ns = static_cast<std::int64_t>(n->offset_s) * kNsPerSec;
  }
  return s;
}

int LeapTable::leap_indicator(UnixNs tai) const noexcept {
  for (std::size_t i = 1; i < entries_.size(); ++i) {
    const LeapEntry& e = entries_[i];
    const bool insert = e.offset_s > entries_[i - 1].offset_s;
    // An inserted second lasts from the boundary for one second on TAI.
    const UnixNs end = e.boundary_tai + (insert ? kNsPerSec : 0);
    if (tai >= e.boundary_tai - kDay * kNsPerSec && tai < end) return insert ? 1 : 2;
  }
  return 0;
}

}  // namespace ntsd::clock
