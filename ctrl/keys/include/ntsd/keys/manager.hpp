// The master keys of a running ntsd-ke: loads the key file (or creates it),
// catches up on rotations missed while stopped, rotates on schedule, writes
// the file for the responders after every change, and hands the NTS-KE
// threads the current ring.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "ntsd/crypto/keyring.hpp"
#include "ntsd/keys/keyfile.hpp"
#include "ntsd/keys/rotation.hpp"

namespace ntsd::keys {

class KeyManager {
 public:
  KeyManager(std::string path, Format format, RotationParams params, RandomFn rnd = system_random());

  // Loads or creates the key file at `now` and saves it. False on error.
  bool start(std::int64_t now, std::string& error);
  // Rotates if due (possibly several times) and saves. Returns the number of
  // rotations (0 if none was due), -1 on error.
  int tick(std::int64_t now, std::string& error);

  // The ring NTS-KE seals cookies with. Never null after start().
  std::shared_ptr<const crypto::KeyRing> ring() const;
  std::int64_t next_rotation() const;

 private:
  bool publish(std::int64_t now, std::string& error);

  std::string path_;
  Format format_;
  RotationParams params_;
  RandomFn rnd_;
  KeySet set_;
  bool unpublished_ = false;
  mutable std::mutex mu_;
  std::shared_ptr<const crypto::KeyRing> ring_;
};

}  // namespace ntsd::keys
