// OpenSSL AES ciphers for the scalar path, fetched once per process.
#pragma once

#include <openssl/evp.h>

#include <cstddef>

namespace ntsd::crypto {

enum class AesMode { kCbc, kEcb };

// AES-128/192/256 in `mode` for a 16/24/32-byte key, or null for any other
// length. OpenSSL 3's explicit fetch avoids a provider lookup on every init;
// the ciphers live as long as the process.
inline const EVP_CIPHER* aes_cipher(AesMode mode, std::size_t key_len) noexcept {
  static EVP_CIPHER* const kCbc[] = {EVP_CIPHER_fetch(nullptr, "AES-128-CBC", nullptr),
                                     EVP_CIPHER_fetch(nullptr, "AES-192-CBC", nullptr),
                                     EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr)};
  static EVP_CIPHER* const kEcb[] = {EVP_CIPHER_fetch(nullptr, "AES-128-ECB", nullptr),
                                     EVP_CIPHER_fetch(nullptr, "AES-192-ECB", nullptr),
                                     EVP_CIPHER_fetch(nullptr, "AES-256-ECB", nullptr)};
  if (key_len != 16 && key_len != 24 && key_len != 32) return nullptr;
  const std::size_t i = (key_len - 16) / 8;
  return mode == AesMode::kCbc ? kCbc[i] : kEcb[i];
}

}  // namespace ntsd::crypto
