#include "ntsd/runtime/key_watcher.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "ntsd/keys/keyfile.hpp"
#include "ntsd/runtime/runtime.hpp"

namespace ntsd::runtime {

KeyWatcher::KeyWatcher(std::string path, KeyRingRcu& rcu, Gauges& gauges)
    : path_(std::move(path)), rcu_(rcu), gauges_(gauges) {}

bool KeyWatcher::poll() {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    if (!missing_logged_)
      log("key file " + path_ + ": " + std::strerror(errno) + " (NTS requests get an NTS NAK until it appears)");
    missing_logged_ = true;
    return false;
  }
  missing_logged_ = false;
  if (seen_ && st.st_dev == dev_ && st.st_ino == ino_ && st.st_size == size_ &&
      st.st_mtim.tv_sec == mtime_.tv_sec && st.st_mtim.tv_nsec == mtime_.tv_nsec)
    return false;
  seen_ = true;
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  size_ = st.st_size;
  mtime_ = st.st_mtim;
  std::string err;
  auto ring = keys::load_ring(path_, err);
  if (!ring) {
    gauges_.key_reload_errors.fetch_add(1);
    log("key file " + path_ + " not loaded, keeping the previous key ring: " + err);
    return false;
  }
  char id[16];
  std::snprintf(id, sizeof id, "%08X", ring->current().id);
  rcu_.publish(std::make_unique<const crypto::KeyRing>(*ring));
  gauges_.key_reloads.fetch_add(1);
  gauges_.keyring_generation.store(rcu_.generation());
  log("key ring generation " + std::to_string(rcu_.generation()) + " from " + path_ + ": " +
      std::to_string(ring->size()) + " keys, current " + id);
  return true;
}

}  // namespace ntsd::runtime
