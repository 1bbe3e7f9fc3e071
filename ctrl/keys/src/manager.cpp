#include "ntsd/keys/manager.hpp"

#include <sys/stat.h>

#include <cstdlib>

namespace ntsd::keys {
namespace {

// A wall-clock step smaller than this is not worth a log line.
constexpr std::int64_t kStepLogThreshold = 60;

}  // namespace

KeyManager::KeyManager(std::string path, Format format, RotationParams params, RandomFn rnd, LogFn log)
    : path_(std::move(path)), format_(format), params_(params), rnd_(std::move(rnd)), log_(std::move(log)) {
  params_.fill_previous = params_.fill_previous || format_ == Format::kChrony;
}

bool KeyManager::start(Clocks now, std::string& error) {
  wall_minus_mono_ = now.wall - now.mono;
  struct stat st{};
  if (::stat(path_.c_str(), &st) != 0) {
    auto fresh = generate(params_, now.wall, rnd_);
    if (!fresh) {
      error = "random source failed";
      return false;
    }
    set_ = std::move(*fresh);
    next_due_ = now.mono + params_.interval_s;
    return publish(now.wall, error);
  }
  // Keys survive a restart: cookies issued before it still open.
  auto loaded = load(path_, now.wall, error);
  if (!loaded) return false;
  set_ = std::move(*loaded);
  const StartPlan plan = plan_start(set_, params_, now.wall);
  if (plan.clamped_by > 0)
    note("key file " + path_ + ": its current key became current " + std::to_string(plan.clamped_by) +
         " s in the future (a wall clock that was wrong then, or is now); taking now instead");
  next_due_ = now.mono + plan.wait_s;
  if (plan.rotate) {
    note("key rotation overdue by " + std::to_string(plan.overdue_s) +
         " s (downtime, or a wall clock that was or is wrong): one rotation now, then one per interval; "
         "`ntsd-ke --rotate-now` or SIGUSR1 rotates more");
    return rotate(now, error);
  }
  return publish(now.wall, error);
}

int KeyManager::tick(Clocks now, std::string& error) {
  const std::int64_t step = (now.wall - now.mono) - wall_minus_mono_;
  if (std::llabs(step) >= kStepLogThreshold) {
    note("the wall clock moved " + std::to_string(step) +
         " s against the monotonic clock; key rotation follows the monotonic clock");
    wall_minus_mono_ = now.wall - now.mono;
  }
  if (now.mono >= next_due_) {
    if (!rotate(now, error)) return -1;
    return 1;
  }
  // A failed save (disk full, permissions) is retried on every tick until it
  // works; the ring NTS-KE uses only moves on once the file is written.
  if (unpublished_ && !publish(now.wall, error)) return -1;
  return 0;
}

bool KeyManager::rotate_now(Clocks now, std::string& error) { return rotate(now, error); }

bool KeyManager::rotate(Clocks now, std::string& error) {
  if (!rotate_once(set_, params_, now.wall, rnd_)) {
    error = "random source failed";
    return false;
  }
  // One interval from this rotation. Normally that keeps the grid (tick
  // comes within a second of the due time); after a suspend or a stalled
  // process it starts afresh rather than catching up with a burst.
  next_due_ = now.mono + params_.interval_s;
  return publish(now.wall, error);
}

bool KeyManager::publish(std::int64_t wall, std::string& error) {
  // Write the file first: the responders must hold the new future key
  // before NTS-KE seals anything with it (one interval later).
  unpublished_ = true;
  if (!save(path_, set_, format_, wall, error)) return false;
  auto ring = to_ring(set_, error);
  if (!ring) return false;
  auto p = std::make_shared<const crypto::KeyRing>(*ring);
  std::lock_guard lock(mu_);
  ring_ = std::move(p);
  unpublished_ = false;
  return true;
}

std::shared_ptr<const crypto::KeyRing> KeyManager::ring() const {
  std::lock_guard lock(mu_);
  return ring_;
}

}  // namespace ntsd::keys
