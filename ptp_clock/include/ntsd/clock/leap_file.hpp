// Keeps the leap-second table in force ([server] leap_seconds_file, by
// default tzdata's /usr/share/zoneinfo/leap-seconds.list): loaded at start,
// reloaded when the file changes (checked with stat() at every clock poll, so
// a tzdata upgrade is picked up without a restart), and the kernel's TAI
// offset as a fallback where there is no usable file.
//
// A missing, damaged or expired file is never a silent default: each state
// change is logged once with the reason and the date, and status() feeds the
// metrics (docs/operations.md, "Timescale and leap seconds"). An expired
// file is still used (every leap it lists stays right); what it cannot know
// is a leap announced after its expiry.
#pragma once

#include <functional>
#include <string>

#include "ntsd/clock/leap_table.hpp"

namespace ntsd::clock {

class LeapFile {
 public:
  using LogFn = std::function<void(const std::string&)>;

  struct Status {
    bool loaded = false;         // the file parsed (hash checked where it has one)
    bool expired = false;        // past its "#@" date
    bool kernel_fallback = false;  // no file: the kernel's TAI offset is in force
    UnixNs expires = 0;          // Unix ns; 0 = not stated / no file
    std::string error;           // why the file is not loaded
  };

  LeapFile(std::string path, LeapTableRef& out, LogFn log);

  // Reloads the file if it changed and re-judges expiry at `now_utc`;
  // `kernel_tai` (adjtimex's tai, 0 = unknown) is the fallback.
  void poll(UnixNs now_utc, int kernel_tai);
  const Status& status() const noexcept { return status_; }
  const std::string& path() const noexcept { return path_; }

 private:
  bool changed();
  void load(UnixNs now_utc);
  void report(const std::string& msg);

  std::string path_;
  LeapTableRef& out_;
  LogFn log_;
  Status status_;
  std::shared_ptr<const LeapTable> table_;
  int fallback_tai_ = 0;
  bool first_ = true;
  // The file identity last loaded (mtime ns, size, inode).
  std::int64_t mtime_ = -1, size_ = -1;
  std::uint64_t ino_ = 0;
  std::string last_msg_;
};

// "2026-06-28" for a Unix-ns instant (UTC), for logs.
std::string utc_date(UnixNs t);
// "2026-06-28T00:00:00Z".
std::string utc_time(UnixNs t);

}  // namespace ntsd::clock
