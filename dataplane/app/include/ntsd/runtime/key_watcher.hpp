// The control-thread side of the key hand-off: watches the key file that
// ntsd-ke writes atomically (temp file + rename), and on any change of inode,
// mtime, ctime or size loads it and publishes a new immutable KeyRing
// snapshot. A file that fails to load, or disappears, leaves the previous
// ring in place (logged with the reason, and counted in
// ntsd_key_reload_errors_total): a half-configured rotation, a damaged or
// deleted file never takes keys away.
#pragma once

#include <sys/stat.h>

#include <string>

#include "ntsd/runtime/keyring_rcu.hpp"
#include "ntsd/runtime/stats.hpp"

namespace ntsd::runtime {

class KeyWatcher {
 public:
  KeyWatcher(std::string path, KeyRingRcu& rcu, Gauges& gauges);
  // stat() the file; reload if it changed. Returns true if a new ring was published.
  bool poll();

 private:
  std::string path_;
  KeyRingRcu& rcu_;
  Gauges& gauges_;
  bool seen_ = false;
  bool missing_logged_ = false;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  timespec mtime_{};
  timespec ctime_{};
  off_t size_ = -1;
};

}  // namespace ntsd::runtime
