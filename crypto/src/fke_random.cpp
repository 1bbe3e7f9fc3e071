// Fast-key-erasure generator: see ntsd/crypto/fke_random.hpp for the design
// and the security argument. The VAES kernel is mb::vaes::fke_fill
// (mb_vaes.cpp); the fallback is OpenSSL's AES-128-CTR, the same keystream.
#include "ntsd/crypto/fke_random.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "mb_vaes.hpp"
#include "ntsd/crypto/siv.hpp"

namespace ntsd::crypto {
namespace {

bool rand_bytes(std::uint8_t* out, std::size_t n) {
  return RAND_bytes(out, static_cast<int>(n)) == 1;
}

[[noreturn]] void die(const char* why) {
  // No randomness (or no cipher) means no safe nonces: stop rather than
  // answer with predictable ones.
  std::fprintf(stderr, "ntsd: random generator: %s, aborting\n", why);
  std::abort();
}

}  // namespace

bool FkeRandom::cpu_has_vaes() noexcept { return mb::vaes::cpu_supported(); }

FkeRandom::FkeRandom() noexcept {
  std::uint8_t key[16];
  if (!rand_bytes(key, sizeof key)) die("RAND_bytes failed");
  entropy_ = rand_bytes;
  reseed_calls_ = kReseedCalls;
  init(key, Backend::kBest);
  secure_wipe(key, sizeof key);
}

FkeRandom::FkeRandom(ForTestsOnly, std::span<const std::uint8_t, 16> key, Backend backend,
                     std::uint32_t reseed_calls, Entropy entropy) noexcept {
  entropy_ = entropy;
  reseed_calls_ = entropy != nullptr ? reseed_calls : 0;
  init(key, backend);
}

void FkeRandom::init(std::span<const std::uint8_t, 16> key, Backend backend) noexcept {
  vaes_ = backend != Backend::kOpenSsl && cpu_has_vaes();
  if (backend == Backend::kVaes && !vaes_) die("VAES requested on a CPU without it");
  if (!vaes_) {
    // Fetched once per process (OpenSSL 3: no provider lookup per init).
    static EVP_CIPHER* const kCtr = EVP_CIPHER_fetch(nullptr, "AES-128-CTR", nullptr);
    ctx_ = EVP_CIPHER_CTX_new();
    if (ctx_ == nullptr || kCtr == nullptr ||
        EVP_EncryptInit_ex(ctx_, kCtr, nullptr, nullptr, nullptr) != 1)
      die("no OpenSSL AES-128-CTR");
  }
  std::memcpy(rk_[0], key.data(), 16);
  set_key();
}

FkeRandom::~FkeRandom() {
  secure_wipe(rk_, sizeof rk_);
  EVP_CIPHER_CTX_free(ctx_);  // cleanses the schedule it holds
}

void FkeRandom::set_key() noexcept {
  static constexpr std::uint8_t kIv0[16] = {};  // the keystream starts at block 0
  if (vaes_) {
    mb::vaes::fke_schedule(rk_);
  } else if (EVP_EncryptInit_ex(ctx_, nullptr, nullptr, rk_[0], kIv0) != 1) {
    // Re-keying in place overwrites the old schedule in the context.
    die("AES-128-CTR key setup failed");
  }
}

// K ^= 16 fresh bytes: uniform if either side is (see the header).
void FkeRandom::reseed() noexcept {
  std::uint8_t fresh[16];
  if (!entropy_(fresh, sizeof fresh)) die("RAND_bytes failed");
  for (std::size_t i = 0; i < 16; ++i) rk_[0][i] ^= fresh[i];
  secure_wipe(fresh, sizeof fresh);
  set_key();
  calls_ = 0;
  bytes_ = 0;
}

void FkeRandom::fill(std::span<std::uint8_t> out) noexcept {
  if (reseed_calls_ != 0 && (++calls_ >= reseed_calls_ || bytes_ >= kReseedBytes)) reseed();
  bytes_ += out.size();
  if (vaes_)
    mb::vaes::fke_fill(rk_, out.data(), out.size());
  else
    fill_openssl(out.data(), out.size());
}

// The VAES kernel's blocks through EVP AES-128-CTR from IV 0: block 0 (the
// next key) into a stack buffer, then the whole blocks of `out` (zeroed, so
// the output is the keystream itself), then the partial last block through
// the stack buffer, so that the context ends on a block boundary and holds
// no unused keystream; the buffer is wiped after.
void FkeRandom::fill_openssl(std::uint8_t* out, std::size_t n) noexcept {
  constexpr std::size_t kChunk = std::size_t{1} << 30;  // an int length per EVP call
  alignas(16) std::uint8_t next[16] = {};
  alignas(16) std::uint8_t last[16] = {};
  int len = 0;
  bool ok = EVP_EncryptUpdate(ctx_, next, &len, next, 16) == 1;
  const std::size_t whole = n - n % 16;
  std::memset(out, 0, whole);
  for (std::size_t off = 0; ok && off < whole; off += kChunk) {
    const int m = static_cast<int>(std::min(kChunk, whole - off));
    ok = EVP_EncryptUpdate(ctx_, out + off, &len, out + off, m) == 1;
  }
  if (ok && whole != n) {
    ok = EVP_EncryptUpdate(ctx_, last, &len, last, 16) == 1;
    std::memcpy(out + whole, last, n - whole);
  }
  if (!ok) die("AES-128-CTR failed");
  std::memcpy(rk_[0], next, 16);
  secure_wipe(next, sizeof next);
  secure_wipe(last, sizeof last);
  set_key();  // key erasure: K's schedule is overwritten by the next key's
}

void FkeRandom::key_for_test(std::span<std::uint8_t, 16> out) const noexcept {
  std::memcpy(out.data(), rk_[0], 16);
}

}  // namespace ntsd::crypto
