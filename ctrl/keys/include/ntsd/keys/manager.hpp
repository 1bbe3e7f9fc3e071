// The master keys of a running ntsd-ke: loads the key file (or creates it),
// rotates on schedule, writes the file for the responders after every
// change, and hands the NTS-KE threads the current ring.
//
// Two clocks (issue 20, item 1). The rotation interval is measured on a
// monotonic clock (ntsd-ke: CLOCK_BOOTTIME, which also counts suspend), so
// a wall-clock step, forward or back, neither rotates early nor stalls
// rotation. The wall clock only stamps what is written to the file
// (`rotated`, `created`, chrony's age). A restart trusts the file's stamp
// only within bounds (rotation.hpp plan_start): a stamp in the future is
// clamped to now, and an overdue schedule gets one rotation, never a burst.
// No path retires more than one key per interval except an operator's
// rotate_now() (`ntsd-ke --rotate-now`, SIGUSR1).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "ntsd/crypto/keyring.hpp"
#include "ntsd/keys/keyfile.hpp"
#include "ntsd/keys/rotation.hpp"

namespace ntsd::keys {

// Seconds on both clocks: `wall` since the UNIX epoch, `mono` on any
// monotonic clock (only differences of it are used).
struct Clocks {
  std::int64_t wall = 0;
  std::int64_t mono = 0;
};

// Where KeyManager's remarks go (ntsd-ke: its log). May be empty.
using LogFn = std::function<void(const std::string&)>;

class KeyManager {
 public:
  KeyManager(std::string path, Format format, RotationParams params, RandomFn rnd = system_random(),
             LogFn log = {});

  // Loads or creates the key file and saves it; rotates once if the file
  // says a rotation is overdue. False on error.
  bool start(Clocks now, std::string& error);
  // Rotates if due (at most once per call and per interval) and saves.
  // Returns 1 after a rotation, 0 if none was due, -1 on error.
  int tick(Clocks now, std::string& error);
  // The operator's explicit rotation, whatever the schedule; the next one
  // follows a full interval later.
  bool rotate_now(Clocks now, std::string& error);

  // Tests that drive one clock: wall and monotonic time move together.
  bool start(std::int64_t now, std::string& error) { return start(Clocks{now, now}, error); }
  int tick(std::int64_t now, std::string& error) { return tick(Clocks{now, now}, error); }

  // The ring NTS-KE seals cookies with. Never null after start().
  std::shared_ptr<const crypto::KeyRing> ring() const;
  // When the next rotation is due, on the monotonic clock.
  std::int64_t next_rotation() const { return next_due_; }
  // When the current key became current, on the wall clock (the file's stamp).
  std::int64_t rotated_at() const { return set_.rotated_at; }

 private:
  bool rotate(Clocks now, std::string& error);
  bool publish(std::int64_t wall, std::string& error);
  void note(const std::string& s) const {
    if (log_) log_(s);
  }

  std::string path_;
  Format format_;
  RotationParams params_;
  RandomFn rnd_;
  LogFn log_;
  KeySet set_;
  std::int64_t next_due_ = 0;    // monotonic
  std::int64_t wall_minus_mono_ = 0;  // at start; a change means the wall clock stepped
  bool unpublished_ = false;
  mutable std::mutex mu_;
  std::shared_ptr<const crypto::KeyRing> ring_;
};

}  // namespace ntsd::keys
