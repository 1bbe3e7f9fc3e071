// Fast-key-erasure generator: see ntsd/crypto/fke_random.hpp for the design
// and the security argument. The VAES kernel is mb::vaes::fke_fill
// (mb_vaes.cpp); the fallback is OpenSSL's AES-128-ECB of the same blocks.
#include "ntsd/crypto/fke_random.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "aes_cipher.hpp"
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

// Counter block i: the 128-bit little-endian integer i.
void put_counter(std::uint8_t* p, std::uint64_t i) noexcept {
  for (int b = 0; b < 8; ++b) p[b] = static_cast<std::uint8_t>(i >> (8 * b));
  std::memset(p + 8, 0, 8);
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
    ctx_ = EVP_CIPHER_CTX_new();
    const EVP_CIPHER* ecb = aes_cipher(AesMode::kEcb, 16);
    if (ctx_ == nullptr || ecb == nullptr ||
        EVP_EncryptInit_ex(ctx_, ecb, nullptr, nullptr, nullptr) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx_, 0) != 1)
      die("no OpenSSL AES-128-ECB");
  }
  std::memcpy(rk_[0], key.data(), 16);
  set_key();
}

FkeRandom::~FkeRandom() {
  secure_wipe(rk_, sizeof rk_);
  EVP_CIPHER_CTX_free(ctx_);  // cleanses the schedule it holds
}

void FkeRandom::set_key() noexcept {
  if (vaes_) {
    mb::vaes::fke_schedule(rk_);
  } else if (EVP_EncryptInit_ex(ctx_, nullptr, nullptr, rk_[0], nullptr) != 1) {
    // Re-keying in place overwrites the old schedule in the context.
    die("AES-128-ECB key setup failed");
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

// The VAES kernel's blocks through EVP: counter blocks written into `out`
// and encrypted in place (ECB, padding off), the partial last block and the
// next key through a 32-byte stack buffer wiped after.
void FkeRandom::fill_openssl(std::uint8_t* out, std::size_t n) noexcept {
  constexpr std::size_t kChunk = 4096;  // blocks per EVP call: an int length
  const std::size_t full = n / 16;
  int len = 0;
  for (std::size_t j = 0; j < full; j += kChunk) {
    const std::size_t m = std::min(kChunk, full - j);
    std::uint8_t* p = out + 16 * j;
    for (std::size_t b = 0; b < m; ++b) put_counter(p + 16 * b, j + b + 1);
    if (EVP_EncryptUpdate(ctx_, p, &len, p, static_cast<int>(16 * m)) != 1)
      die("AES-128-ECB failed");
  }
  alignas(16) std::uint8_t last[32];  // E(K, 0): the next key; E(K, full + 1)
  const std::size_t rem = n % 16;
  put_counter(last, 0);
  put_counter(last + 16, full + 1);
  if (EVP_EncryptUpdate(ctx_, last, &len, last, rem != 0 ? 32 : 16) != 1)
    die("AES-128-ECB failed");
  std::memcpy(out + 16 * full, last + 16, rem);
  std::memcpy(rk_[0], last, 16);
  secure_wipe(last, sizeof last);
  set_key();  // key erasure: K's schedule is overwritten by the next key's
}

void FkeRandom::key_for_test(std::span<std::uint8_t, 16> out) const noexcept {
  std::memcpy(out.data(), rk_[0], 16);
}

}  // namespace ntsd::crypto
