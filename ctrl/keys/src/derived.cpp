#include "ntsd/keys/derived.hpp"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ntsd::keys {
namespace {

constexpr char kSalt[] = "ntsd derived cookie keys v1";
constexpr char kInfoLabel[] = "ntsd-cookie-key";
constexpr char kFingerprintInfo[] = "ntsd fleet secret fingerprint";
constexpr std::uint32_t kPeriodMask = 0x0FFFFFFF;

std::span<const std::uint8_t> ascii(const char* s) {
  return {reinterpret_cast<const std::uint8_t*>(s), std::strlen(s)};
}

void put_be(std::uint8_t* p, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i, v >>= 8) p[i] = static_cast<std::uint8_t>(v);
}

std::string utc(std::int64_t t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string mode_octal(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

}  // namespace

std::string check_params(const DerivedParams& p) {
  if (p.period_s < kMinPeriodS) return "period_s must be at least " + std::to_string(kMinPeriodS);
  if (p.past < 1) return "past must be at least 1";
  if (p.future < 0) return "future must not be negative";
  // The ring holds current + previous + future: 8 keys.
  if (1 + p.past + p.future > static_cast<int>(crypto::KeyRing::kCapacity))
    return "past + future must be at most " + std::to_string(crypto::KeyRing::kCapacity - 1);
  if (crypto::aead_key_len(static_cast<crypto::AeadId>(p.aead)) == 0)
    return "AEAD " + std::to_string(p.aead) + " cannot seal cookies in this build";
  return "";
}

FleetSecret::~FleetSecret() {
  if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
}

std::optional<FleetSecret> FleetSecret::from_bytes(std::span<const std::uint8_t> b, std::string& error) {
  if (b.size() < kMinSecretBytes) {
    error = "holds " + std::to_string(b.size()) + " bytes; a fleet secret needs at least " +
            std::to_string(kMinSecretBytes) + " (e.g. head -c 32 /dev/urandom)";
    return std::nullopt;
  }
  if (b.size() > kMaxSecretBytes) {
    error = "holds " + std::to_string(b.size()) + " bytes; a fleet secret is at most " +
            std::to_string(kMaxSecretBytes) + " (is it the right file?)";
    return std::nullopt;
  }
  FleetSecret s;
  s.bytes_.assign(b.begin(), b.end());
  return s;
}

std::optional<FleetSecret> FleetSecret::load(const std::string& path, std::string& error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  struct stat st{};
  std::optional<FleetSecret> out;
  std::array<std::uint8_t, kMaxSecretBytes + 1> buf{};
  std::size_t got = 0;
  std::string why;
  if (::fstat(fd, &st) != 0) {
    why = std::strerror(errno);
  } else if (!S_ISREG(st.st_mode)) {
    why = "not a regular file";
  } else if ((st.st_mode & 077) != 0 || (st.st_mode & 0400) == 0) {
    // The secret opens every cookie of the fleet, past and future: only its
    // owner may read it.
    why = "mode " + mode_octal(st.st_mode) + ", must be 0600 (or 0400): chmod 600 " + path;
  } else {
    for (;;) {
      const ssize_t n = ::read(fd, buf.data() + got, buf.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        why = std::strerror(errno);
        break;
      }
      got += static_cast<std::size_t>(n);
      if (n == 0 || got == buf.size()) break;
    }
    if (why.empty()) out = from_bytes({buf.data(), got}, why);
  }
  OPENSSL_cleanse(buf.data(), buf.size());
  ::close(fd);
  if (!out) error = path + ": " + why;
  return out;
}

std::string FleetSecret::fingerprint() const {
  std::array<std::uint8_t, 4> fp{};
  if (!hkdf_sha256(bytes_, ascii(kSalt), ascii(kFingerprintInfo), fp)) return "?";
  char hex[9];
  std::snprintf(hex, sizeof hex, "%02x%02x%02x%02x", fp[0], fp[1], fp[2], fp[3]);
  return hex;
}

bool hkdf_sha256(std::span<const std::uint8_t> ikm, std::span<const std::uint8_t> salt,
                 std::span<const std::uint8_t> info, std::span<std::uint8_t> out) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) return false;
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (ctx == nullptr) return false;
  char digest[] = "SHA256";
  // OSSL_PARAM wants non-const pointers; HKDF only reads them.
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<std::uint8_t*>(ikm.data()), ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<std::uint8_t*>(salt.data()), salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<std::uint8_t*>(info.data()), info.size()),
      OSSL_PARAM_construct_end()};
  const bool ok = !out.empty() && EVP_KDF_derive(ctx, out.data(), out.size(), params) == 1;
  EVP_KDF_CTX_free(ctx);
  return ok;
}

std::int64_t period_of(std::int64_t unix_s, std::int64_t period_s) {
  std::int64_t q = unix_s / period_s;
  if (unix_s % period_s != 0 && unix_s < 0) --q;  // floor, not truncation
  return q;
}

std::uint32_t derived_key_id(std::uint16_t aead, std::int64_t n) {
  std::uint32_t tag = 0xF;
  if (aead == 15) tag = 1;
  if (aead == 17) tag = 2;
  if (aead == 30) tag = 3;
  return tag << 28 | (static_cast<std::uint32_t>(static_cast<std::uint64_t>(n)) & kPeriodMask);
}

bool derive_key_bytes(std::span<const std::uint8_t> secret, std::uint16_t aead, std::int64_t period_s,
                      std::int64_t n, std::span<std::uint8_t> out) {
  constexpr std::size_t kLabel = sizeof kInfoLabel - 1;
  std::array<std::uint8_t, kLabel + 2 + 8 + 8> info{};
  std::memcpy(info.data(), kInfoLabel, kLabel);
  put_be(info.data() + kLabel, aead, 2);
  put_be(info.data() + kLabel + 2, static_cast<std::uint64_t>(period_s), 8);
  put_be(info.data() + kLabel + 10, static_cast<std::uint64_t>(n), 8);
  return hkdf_sha256(secret, ascii(kSalt), info, out);
}

std::optional<crypto::MasterKey> derived_key(const FleetSecret& s, const DerivedParams& p, std::int64_t n,
                                             std::string& error) {
  const std::size_t len = crypto::aead_key_len(static_cast<crypto::AeadId>(p.aead));
  std::array<std::uint8_t, crypto::kMaxSivKeyLen> buf{};
  if (len == 0 || len > buf.size()) {
    error = "AEAD " + std::to_string(p.aead) + " cannot seal cookies in this build";
    return std::nullopt;
  }
  std::optional<crypto::SivKey> key;
  if (derive_key_bytes(s.bytes(), p.aead, p.period_s, n, {buf.data(), len}))
    key = crypto::SivKey::from_bytes({buf.data(), len});
  OPENSSL_cleanse(buf.data(), buf.size());
  if (!key) {
    error = "HKDF-SHA256 failed (OpenSSL)";
    return std::nullopt;
  }
  crypto::MasterKey mk;
  mk.id = derived_key_id(p.aead, n);
  mk.key = *key;
  return mk;
}

std::optional<crypto::KeyRing> derived_ring(const FleetSecret& s, const DerivedParams& p, std::int64_t n,
                                            std::string& error) {
  auto current = derived_key(s, p, n, error);
  if (!current) return std::nullopt;
  // Previous keys newest first; future keys past the first go with them
  // (KeyRing looks keys up by id; only the nearest future key is "future").
  std::vector<crypto::MasterKey> others;
  for (int i = 1; i <= p.past; ++i) {
    auto k = derived_key(s, p, n - i, error);
    if (!k) return std::nullopt;
    others.push_back(*k);
  }
  std::optional<crypto::MasterKey> future;
  for (int i = 1; i <= p.future; ++i) {
    auto k = derived_key(s, p, n + i, error);
    if (!k) return std::nullopt;
    if (i == 1) future = *k;
    else others.push_back(*k);
  }
  auto ring = crypto::KeyRing::make(*current, others, future);
  if (!ring) error = "derived key ring refused (duplicate id)";
  return ring;
}

bool DerivedSchedule::update(Clocks now) {
  const std::int64_t P = p_.period_s;
  if (!started_) {
    started_ = true;
    anchor_wall_ = now.wall;
    anchor_mono_ = now.mono;
    st_.period = period_of(now.wall, P);
    st_.period_start = st_.period * P;
    note("derived keys: period " + std::to_string(st_.period) + " (" + utc(st_.period_start) + " + " +
         std::to_string(P) + " s) from the wall clock at start, accepting " + std::to_string(p_.past) +
         " past and " + std::to_string(p_.future) + " future period(s)");
    return true;
  }
  const std::int64_t trusted = anchor_wall_ + (now.mono - anchor_mono_);
  const std::int64_t offset = now.wall - trusted;
  if (std::llabs(offset) < kSlewLimitS) {
    // A slew, or a small step: the trusted timeline follows the wall clock.
    anchor_wall_ = now.wall;
    anchor_mono_ = now.mono;
  }
  const std::int64_t n_trusted = period_of(trusted, P);
  const std::int64_t n_wall = period_of(now.wall, P);
  const bool in_window = n_wall >= n_trusted - p_.past && n_wall <= n_trusted + p_.future;
  st_.offset_s = std::llabs(offset) < kSlewLimitS ? 0 : offset;
  if (!in_window && !st_.held) {
    ++st_.holds;
    note("derived keys: HOLD: the wall clock (" + utc(now.wall) + ") is " + std::to_string(offset) +
         " s from the time carried on the monotonic clock since start (" + utc(trusted) + "), period " +
         std::to_string(n_wall) + " against " + std::to_string(n_trusted) +
         ", outside the window of " + std::to_string(p_.past) + " past and " + std::to_string(p_.future) +
         " future; keys follow the monotonic clock until the wall clock comes back, or an operator "
         "resyncs (ntsd-ke: SIGUSR1; or a restart)");
  } else if (in_window && st_.held) {
    note("derived keys: the wall clock is back within the window (" + std::to_string(offset) +
         " s from the monotonic timeline): following it again");
  } else if (in_window && std::llabs(offset - logged_offset_) >= kSlewLimitS) {
    note("derived keys: the wall clock stepped; it is " + std::to_string(offset) +
         " s from the monotonic timeline, within the accepted window: following it");
    logged_offset_ = offset;
  }
  st_.held = !in_window;
  const std::int64_t n = st_.held ? n_trusted : n_wall;
  if (n == st_.period) return false;
  st_.period = n;
  st_.period_start = n * P;
  ++st_.changes;
  return true;
}

void DerivedSchedule::resync(Clocks now) {
  note("derived keys: resync: the wall clock (" + utc(now.wall) + ") becomes the trusted timeline");
  anchor_wall_ = now.wall;
  anchor_mono_ = now.mono;
  logged_offset_ = 0;
}

DerivedKeys::DerivedKeys(FleetSecret secret, const DerivedParams& p, LogFn log)
    : secret_(std::move(secret)), p_(p), sched_(p, std::move(log)) {}

bool DerivedKeys::start(Clocks now, std::string& error) {
  if (std::string why = check_params(p_); !why.empty()) {
    error = why;
    return false;
  }
  sched_.update(now);
  return rebuild(error);
}

int DerivedKeys::tick(Clocks now, std::string& error) {
  bool changed = false;
  {
    std::lock_guard lock(mu_);
    changed = sched_.update(now);
  }
  if (!changed) return 0;
  return rebuild(error) ? 1 : -1;
}

bool DerivedKeys::rebuild(std::string& error) {
  std::int64_t n = 0;
  {
    std::lock_guard lock(mu_);
    n = sched_.status().period;
  }
  auto ring = derived_ring(secret_, p_, n, error);
  if (!ring) return false;
  auto p = std::make_shared<const crypto::KeyRing>(*ring);
  std::lock_guard lock(mu_);
  ring_ = std::move(p);
  return true;
}

void DerivedKeys::resync(Clocks now) {
  std::lock_guard lock(mu_);
  sched_.resync(now);
}

std::shared_ptr<const crypto::KeyRing> DerivedKeys::ring() const {
  std::lock_guard lock(mu_);
  return ring_;
}

DerivedStatus DerivedKeys::status() const {
  std::lock_guard lock(mu_);
  return sched_.status();
}

const char* test_wall_offset_file() noexcept {
  const char* f = std::getenv("NTSD_TEST_WALL_OFFSET_FILE");
  return f != nullptr && *f != '\0' ? f : nullptr;
}

std::int64_t test_wall_offset() noexcept {
  const char* f = test_wall_offset_file();
  if (f == nullptr) return 0;
  std::FILE* fp = std::fopen(f, "r");
  if (fp == nullptr) return 0;
  long long v = 0;
  if (std::fscanf(fp, "%lld", &v) != 1) v = 0;
  std::fclose(fp);
  return v;
}

std::unique_ptr<DerivedKeys> open_derived(const std::string& secret_file, const DerivedParams& p, LogFn log,
                                          std::string& error) {
  auto secret = FleetSecret::load(secret_file, error);
  if (!secret) {
    error = "[keys] secret_file: " + error;
    return nullptr;
  }
  if (std::string why = check_params(p); !why.empty()) {
    error = "[keys] " + why;
    return nullptr;
  }
  return std::make_unique<DerivedKeys>(std::move(*secret), p, std::move(log));
}

}  // namespace ntsd::keys
