// Derived cookie keys for a fleet (`[keys] mode = "derived"`, docs/keys.md
// "Derived keys"): every host that holds the same secret computes the same
// master key for the same period of UTC time, so NTS-KE on one host and the
// responders on any other open each other's cookies with no key file to copy
// and no live state to share. The idea is facebook/time's NTS
// DerivedKeystore (HKDF-SHA256 of one fleet master per key id); the
// derivation, the window and the clock guard below are ntsd's own.
//
// Derivation (RFC 5869 HKDF-SHA256, OpenSSL 3.0's EVP_KDF "HKDF"), pinned by
// tests/vectors/ntsd/derived_keys.json:
//   key(n) = HKDF(IKM = secret, salt = "ntsd derived cookie keys v1",
//                 info = "ntsd-cookie-key" || BE16(aead) || BE64(period_s) || BE64(n),
//                 L = the AEAD's key length)
//   id(n)  = tag(aead) << 28 | (n mod 2^28)       tag: 15 -> 1, 17 -> 2, 30 -> 3
// where n = floor(UTC seconds / period_s) is the rotation period. The AEAD and
// the period length are in the info, so hosts configured differently never
// share a key by accident (their cookies NAK instead of opening under a key
// of another span). Ids count periods: consecutive keys are consecutive in
// the low bits (chrony's slot rule, KeyRing's buckets) and never repeat
// within 2^28 periods (`period_s` >= 60: beyond the year 2400).
//
// The ring of period n: current = key(n), previous = key(n-1) .. key(n-past),
// future = key(n+1) .. key(n+future).
//
// The clock guard (issue 20 item 1, issue 16): the period follows the wall
// clock, which is what lets hosts agree without talking, but a wrong wall
// clock must not switch it silently by more than the accepted window. A
// running process keeps a trusted timeline: the wall clock at start carried
// forward on a monotonic clock (CLOCK_BOOTTIME), following the wall clock's
// slow corrections (< 60 s between two ticks) but not its steps. When the
// period of the wall clock leaves [n_trusted - past, n_trusted + future], the
// period of the trusted timeline is used instead ("held"), logged and counted;
// when the wall clock comes back into the window, it is followed again. Only
// an operator's resync (ntsd-ke: SIGUSR1; either daemon: a restart) makes a
// stepped wall clock the trusted timeline.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ntsd/crypto/keyring.hpp"
#include "ntsd/keys/manager.hpp"

namespace ntsd::keys {

struct DerivedParams {
  std::int64_t period_s = 86400;  // one UTC day, as facebook/time
  int past = 2;                   // a cookie opens for >= past * period_s (48 h)
  int future = 1;                 // hosts whose clocks differ by < future * period_s agree
  std::uint16_t aead = 15;
};

constexpr std::size_t kMinSecretBytes = 32;
constexpr std::size_t kMaxSecretBytes = 4096;
constexpr std::int64_t kMinPeriodS = 60;
// A wall-clock change smaller than this between two ticks is a slew (or a
// small step) and moves the trusted timeline with it.
constexpr std::int64_t kSlewLimitS = 60;

// Why `p` cannot work ("" if it can): period, window, ring capacity, AEAD.
std::string check_params(const DerivedParams& p);

// The fleet secret: the whole content of `secret_file`, verbatim. Wiped
// when destroyed; move-only.
class FleetSecret {
 public:
  FleetSecret(FleetSecret&&) noexcept = default;
  FleetSecret& operator=(FleetSecret&&) noexcept = default;
  FleetSecret(const FleetSecret&) = delete;
  FleetSecret& operator=(const FleetSecret&) = delete;
  ~FleetSecret();

  // A regular file (symlinks followed), mode 0600 or 0400 (nothing for group
  // or others), kMinSecretBytes..kMaxSecretBytes long. Else nullopt and
  // `error` says which rule failed.
  static std::optional<FleetSecret> load(const std::string& path, std::string& error);
  static std::optional<FleetSecret> from_bytes(std::span<const std::uint8_t> b, std::string& error);

  std::span<const std::uint8_t> bytes() const { return bytes_; }
  // 8 hex digits that name the secret without revealing it (an HKDF output
  // under its own label), for the log and the metrics: hosts that print the
  // same fingerprint hold the same secret.
  std::string fingerprint() const;

 private:
  FleetSecret() = default;
  std::vector<std::uint8_t> bytes_;
};

// RFC 5869 HKDF-SHA256 through OpenSSL's EVP_KDF. False on failure.
bool hkdf_sha256(std::span<const std::uint8_t> ikm, std::span<const std::uint8_t> salt,
                 std::span<const std::uint8_t> info, std::span<std::uint8_t> out);

// floor(unix_s / period_s), also for times before 1970.
std::int64_t period_of(std::int64_t unix_s, std::int64_t period_s);
std::uint32_t derived_key_id(std::uint16_t aead, std::int64_t n);
// The key bytes of period n: out.size() must be the AEAD's key length.
bool derive_key_bytes(std::span<const std::uint8_t> secret, std::uint16_t aead, std::int64_t period_s,
                      std::int64_t n, std::span<std::uint8_t> out);
std::optional<crypto::MasterKey> derived_key(const FleetSecret& s, const DerivedParams& p, std::int64_t n,
                                             std::string& error);
std::optional<crypto::KeyRing> derived_ring(const FleetSecret& s, const DerivedParams& p, std::int64_t n,
                                            std::string& error);

// What the schedule decided, for the log and the metrics.
struct DerivedStatus {
  std::int64_t period = 0;        // whose key seals
  std::int64_t period_start = 0;  // UNIX seconds, on the schedule's timeline
  bool held = false;              // the wall clock is outside the window
  std::uint64_t holds = 0;        // times a hold began
  std::int64_t offset_s = 0;      // wall clock minus the trusted timeline
  std::uint64_t changes = 0;      // period changes since start
};

// The period in use, from the wall and monotonic clocks (see the guard above).
class DerivedSchedule {
 public:
  DerivedSchedule(const DerivedParams& p, LogFn log = {}) : p_(p), log_(std::move(log)) {}
  // Returns true when the period in use changed (always on the first call).
  bool update(Clocks now);
  // The operator's resync: the wall clock now becomes the trusted timeline.
  void resync(Clocks now);
  const DerivedStatus& status() const { return st_; }

 private:
  void note(const std::string& s) const {
    if (log_) log_(s);
  }
  DerivedParams p_;
  LogFn log_;
  bool started_ = false;
  std::int64_t anchor_wall_ = 0, anchor_mono_ = 0;  // the trusted timeline
  std::int64_t logged_offset_ = 0;
  DerivedStatus st_;
};

// What ntsd-ke and ntsd run: the secret, the schedule, and the ring of the
// period in use, rebuilt when it changes.
class DerivedKeys {
 public:
  DerivedKeys(FleetSecret secret, const DerivedParams& p, LogFn log = {});
  bool start(Clocks now, std::string& error);
  // 1 after a new ring, 0 if the period did not change, -1 on error (the
  // previous ring stays).
  int tick(Clocks now, std::string& error);
  void resync(Clocks now);
  std::shared_ptr<const crypto::KeyRing> ring() const;
  DerivedStatus status() const;
  std::string fingerprint() const { return secret_.fingerprint(); }

 private:
  bool rebuild(std::string& error);
  FleetSecret secret_;
  DerivedParams p_;
  DerivedSchedule sched_;
  mutable std::mutex mu_;
  std::shared_ptr<const crypto::KeyRing> ring_;
};

// [keys] mode = "derived" as both daemons start it: the secret file (mode
// 0600, >= 32 bytes) and the window `p`. nullptr and `error` (naming the
// [keys] key at fault) if either is wrong.
std::unique_ptr<DerivedKeys> open_derived(const std::string& secret_file, const DerivedParams& p, LogFn log,
                                          std::string& error);

// Test seam (docs/operations.md "Test seams"; never for service): the
// environment variable NTSD_TEST_WALL_OFFSET_FILE names a file holding a
// signed number of seconds that the daemons add to the wall clock they give
// the derived-key schedule. Re-read at every call, so an e2e test can put a
// host's clock near a period boundary or step it. nullptr / 0 when unset.
const char* test_wall_offset_file() noexcept;
std::int64_t test_wall_offset() noexcept;

}  // namespace ntsd::keys
