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
    // Each disappearance once: logged, and counted if a ring is in use.
    if (!missing_logged_) {
      const bool have = rcu_.generation() > 0;
      log("key file " + path_ + ": " + std::strerror(errno) +
          (have ? " (keeping the key ring loaded before)" : " (NTS requests get an NTS NAK until it appears)"));
      if (have) gauges_.key_reload_errors.fetch_add(1);
    }
    missing_logged_ = true;
    seen_ = false;  // whatever comes back is loaded
    return false;
  }
  missing_logged_ = false;
  // ctime too: a chmod (e.g. the file made unreadable, or readable again)
  // changes nothing else, and must be tried like any other change.
  if (seen_ && st.st_dev == dev_ && st.st_ino == ino_ && st.st_size == size_ &&
      st.st_mtim.tv_sec == mtime_.tv_sec && st.st_mtim.tv_nsec == mtime_.tv_nsec &&
      st.st_ctim.tv_sec == ctime_.tv_sec && st.st_ctim.tv_nsec == ctime_.tv_nsec)
    return false;
  seen_ = true;
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  size_ = st.st_size;
  mtime_ = st.st_mtim;
  ctime_ = st.st_ctim;
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
