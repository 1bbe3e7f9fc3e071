#include "ntsd/clock/leap_file.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace ntsd::clock {

std::string utc_date(UnixNs t) {
  const time_t s = static_cast<time_t>(t / kNsPerSec);
  tm tmv{};
  gmtime_r(&s, &tmv);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tmv);
  return buf;
}

std::string utc_time(UnixNs t) {
  const time_t s = static_cast<time_t>(t / kNsPerSec);
  tm tmv{};
  gmtime_r(&s, &tmv);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tmv);
  return buf;
}

LeapFile::LeapFile(std::string path, LeapTableRef& out, LogFn log)
    : path_(std::move(path)), out_(out), log_(std::move(log)) {}

void LeapFile::report(const std::string& msg) {
  if (msg == last_msg_) return;  // each state once, not every poll
  last_msg_ = msg;
  if (log_) log_(msg);
}

bool LeapFile::changed() {
  struct stat st {};
  if (path_.empty() || ::stat(path_.c_str(), &st) != 0) {
    const bool was = mtime_ != -2;
    mtime_ = -2;  // "missing", so that its return is a change
    return was;
  }
  const std::int64_t m = static_cast<std::int64_t>(st.st_mtim.tv_sec) * kNsPerSec + st.st_mtim.tv_nsec;
  if (m == mtime_ && st.st_size == size_ && st.st_ino == ino_) return false;
  mtime_ = m;
  size_ = st.st_size;
  ino_ = st.st_ino;
  return true;
}

void LeapFile::load(UnixNs now_utc) {
  std::string err;
  auto t = path_.empty() ? std::nullopt : LeapTable::load(path_, err);
  if (path_.empty()) err = "no leap_seconds_file configured";
  if (t) {
    table_ = std::make_shared<const LeapTable>(std::move(*t));
    status_.loaded = true;
    status_.error.clear();
    status_.expires = table_->expires();
    const LeapEntry* next = table_->next_leap(table_->utc_to_tai(now_utc));
    report("leap-second file " + path_ + " loaded: TAI-UTC " + std::to_string(table_->offset_at_utc(now_utc)) +
           " s now" +
           (next ? ", next leap second ending at " + utc_time(next->utc) + " (TAI-UTC " +
                       std::to_string(next->offset_s) + " s)"
                 : ", no leap second announced") +
           (table_->expires() ? ", valid until " + utc_date(table_->expires()) : ", no expiry date") +
           (table_->hash_checked() ? ", hash checked" : ", no hash line to check"));
  } else if (table_) {
    // A damaged or vanished replacement: the table already in force stays
    // right for every leap it lists, so keep it and say so.
    status_.error = err;
    report("WARNING: leap-second file reload failed (" + err + "); keeping the table loaded before");
  } else {
    status_.loaded = false;
    status_.expires = 0;
    status_.error = err;
  }
}

void LeapFile::poll(UnixNs now_utc, int kernel_tai) {
  if (first_ || changed()) {
    if (first_) changed();  // record the identity
    first_ = false;
    load(now_utc);
  }
  if (status_.loaded) {
    status_.kernel_fallback = false;
    out_.set(table_);
    status_.expired = table_->expired(now_utc);
    if (status_.expired)
      report("WARNING: leap-second file " + path_ + " expired on " + utc_date(table_->expires()) +
             ": a leap second announced after that date is unknown to ntsd; update tzdata "
             "(ntsd_leap_file_expired = 1)");
    return;
  }
  status_.expired = false;
  if (kernel_tai > 0) {
    if (!status_.kernel_fallback || fallback_tai_ != kernel_tai)
      out_.set(std::make_shared<const LeapTable>(LeapTable::fixed(kernel_tai)));
    status_.kernel_fallback = true;
    fallback_tai_ = kernel_tai;
    report("WARNING: leap-second file unusable (" + status_.error + "); using the kernel's TAI-UTC of " +
           std::to_string(kernel_tai) + " s, with no leap second known in advance");
  } else {
    status_.kernel_fallback = false;
    out_.set(nullptr);
    report("WARNING: leap-second file unusable (" + status_.error +
           ") and the kernel has no TAI offset: TAI-UTC is unknown, no leap second will be announced from "
           "the file, and a TAI clock source cannot be served");
  }
}

}  // namespace ntsd::clock
