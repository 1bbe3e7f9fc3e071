// The master-key file: how cookie master keys reach the responders
// (docs/keys.md). ntsd-ke writes it (mode 0600, temp file + fsync + atomic
// rename), ntsd polls it and swaps its KeyRing when it changes.
//
// Two formats, detected from the first line on read:
//
//  ntsd (ours):
//    NTSD-KEYS 1
//    rotated <unix seconds when the current key became current>
//    <id %08X> <hex key> <aead> <previous|current|future> <created unix seconds>
//    ... one line per key, oldest first, future last
//
//  chrony 4.3 (`ntsdumpdir/ntskeys`, read back from a running chronyd):
//    NKS0
//    <aead> <seconds since the last rotation, %.1f>
//    <id %08X> <hex key>      x4: two previous (oldest first), current, future
//  chrony >= 4.4 (nts_ke_server.c save_keys/load_keys): each key names its
//  algorithm, so AES-SIV and AES-128-GCM-SIV master keys can coexist:
//    NKS1
//    <seconds since the last rotation, %.1f>
//    <id %08X> <hex key> <aead>   x4, same order
//  chrony needs exactly 4 keys whose ids are consecutive modulo 4 (the low two
//  bits are chrony's slot index). Both are read; NKS0 is written while all
//  four keys are AEAD 15 (chrony 4.3 reads nothing else), NKS1 otherwise.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ntsd/crypto/keyring.hpp"

namespace ntsd::keys {

enum class Format : std::uint8_t { kNtsd, kChrony };

struct StoredKey {
  crypto::MasterKey mk;
  std::int64_t created = 0;  // unix seconds
};

// The persisted state of the master keys.
struct KeySet {
  std::vector<StoredKey> previous;  // newest first
  StoredKey current;
  StoredKey future;
  std::int64_t rotated_at = 0;  // unix seconds when `current` became current
};

// Text that holds key material in hex: wiped (OPENSSL_cleanse) when it is
// destroyed, so that the key file's text does not outlive its use in freed
// heap memory (issue 20, item 5). Copying it into a plain std::string
// defeats that: move it, or read it where it is.
class SecretText : public std::string {
 public:
  SecretText() = default;
  SecretText(SecretText&&) noexcept = default;
  SecretText& operator=(SecretText&&) noexcept = default;
  SecretText(const SecretText&) = delete;
  SecretText& operator=(const SecretText&) = delete;
  ~SecretText();
};

// Text of the file in `format`. `now` gives chrony's "age" field. chrony's
// format holds two previous keys: fails (nullopt) if `set` has fewer.
std::optional<SecretText> serialize(const KeySet& set, Format format, std::int64_t now,
                                    std::string& error);
// Parses either format (detected from the header line). Works on views of
// `text` and copies no key text.
std::optional<KeySet> parse(std::string_view text, std::int64_t now, std::string& error,
                            Format* detected = nullptr);

// Writes `path` atomically with mode 0600: temp file in the same directory,
// fsync, rename over `path`, fsync of the directory.
bool save(const std::string& path, const KeySet& set, Format format, std::int64_t now,
          std::string& error);
std::optional<KeySet> load(const std::string& path, std::int64_t now, std::string& error,
                           Format* detected = nullptr);

// The KeyRing the responders use: current, previous (newest first), future.
std::optional<crypto::KeyRing> to_ring(const KeySet& set, std::string& error);

// Reads either format from `path` and builds the ring. Used by ntsd's key
// watcher. Reads the wall clock only for chrony's age field (not needed for
// the ring).
std::optional<crypto::KeyRing> load_ring(const std::string& path, std::string& error);

}  // namespace ntsd::keys
