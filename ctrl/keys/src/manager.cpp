#include "ntsd/keys/manager.hpp"

#include <sys/stat.h>

namespace ntsd::keys {

KeyManager::KeyManager(std::string path, Format format, RotationParams params, RandomFn rnd)
    : path_(std::move(path)), format_(format), params_(params), rnd_(std::move(rnd)) {
  params_.fill_previous = params_.fill_previous || format_ == Format::kChrony;
}

bool KeyManager::start(std::int64_t now, std::string& error) {
  struct stat st{};
  if (::stat(path_.c_str(), &st) == 0) {
    // Keys survive a restart: cookies issued before it still open.
    auto loaded = load(path_, now, error);
    if (!loaded) return false;
    set_ = std::move(*loaded);
    if (catch_up(set_, params_, now, rnd_) < 0) {
      error = "random source failed";
      return false;
    }
  } else {
    auto fresh = generate(params_, now, rnd_);
    if (!fresh) {
      error = "random source failed";
      return false;
    }
    set_ = std::move(*fresh);
  }
  return publish(now, error);
}

int KeyManager::tick(std::int64_t now, std::string& error) {
  int n = catch_up(set_, params_, now, rnd_);
  if (n < 0) {
    error = "random source failed";
    return -1;
  }
  // A failed save (disk full, permissions) is retried on every tick until it
  // works; the ring NTS-KE uses only moves on once the file is written.
  if ((n > 0 || unpublished_) && !publish(now, error)) {
    unpublished_ = true;
    return -1;
  }
  unpublished_ = false;
  return n;
}

bool KeyManager::publish(std::int64_t now, std::string& error) {
  // Write the file first: the responders must hold the new future key
  // before NTS-KE seals anything with it (one interval later).
  if (!save(path_, set_, format_, now, error)) return false;
  auto ring = to_ring(set_, error);
  if (!ring) return false;
  auto p = std::make_shared<const crypto::KeyRing>(*ring);
  std::lock_guard lock(mu_);
  ring_ = std::move(p);
  return true;
}

std::shared_ptr<const crypto::KeyRing> KeyManager::ring() const {
  std::lock_guard lock(mu_);
  return ring_;
}

std::int64_t KeyManager::next_rotation() const { return keys::next_rotation(set_, params_); }

}  // namespace ntsd::keys
