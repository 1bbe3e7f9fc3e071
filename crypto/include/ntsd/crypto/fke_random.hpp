// A fast-key-erasure random generator (D. J. Bernstein, "Fast-key-erasure
// random-number generators", 2017) on AES-128: the workers' source of nonces.
//
// State: one AES-128 key K (kept with its expanded schedule). A call
// fill(out) of n bytes takes the AES-128-CTR keystream under K from IV 0
// (NIST SP 800-38A: block i is AES_K(i), i a 128-bit big-endian integer):
//   next key  = AES_K(0),
//   out       = the first n bytes of AES_K(1) || AES_K(2) || ...,
// then replaces K (and its schedule) with the next key before it returns. With VAES (AVX-512) the
// blocks are encrypted 16 at a time (4 zmm registers, the 11 round keys in
// registers) straight into `out`: no buffer, nothing to copy or wipe after.
//
// Why this is a safe nonce source (docs/benchmarks.md and docs/protocol.md
// "Random bytes"):
// - What the bytes are for: the nonces of new cookies (RFC 8915 §6) and of
//   the response's Authenticator EF (§5.6, §5.7). Nonces travel in the clear;
//   they must be unique and unpredictable, never secret. AES-SIV (RFC 5297)
//   is nonce-misuse resistant: a repeated nonce would only reveal that two
//   messages under one key were equal, and these never are (each cookie and
//   response differs), so even a failure here would not expose a key.
// - Uniqueness and unpredictability: within one call the output is AES-128 in
//   counter mode under a uniformly random key, so its blocks are distinct
//   (AES is a permutation and the counters are) and indistinguishable from
//   random up to the PRP/PRF switching bound q^2 / 2^129 for q blocks under
//   one key; a call here is at most a few hundred blocks (a burst's nonces),
//   and the key changes every call, so the bound is ~2^-110 per call, and the
//   2^64 counter space is never near. Across calls each key is an AES output
//   under the previous key, independent of everything handed out.
// - Forward secrecy by erasure: once fill() returns, the key and round keys
//   that produced its bytes are overwritten by the next key, which is itself
//   an AES output the caller never saw. Someone who reads the process memory
//   later cannot recompute past nonces. The VAES kernel copies K's schedule
//   from the object into registers and writes no other copy (no stack: the
//   next key is computed after the output loop, see mb_vaes.cpp); the
//   OpenSSL fallback re-keys its context in place. Registers are not wiped,
//   as in the crypto engines and OpenSSL.
// - Reseeding: K comes from RAND_bytes (OpenSSL's DRBG, seeded by the OS) at
//   construction, and every kReseedCalls calls or kReseedBytes bytes,
//   whichever comes first, 16 fresh RAND_bytes bytes are XORed into K. The
//   XOR keeps K uniform if either side is, so a state that leaked (a core
//   dump, a debugger) stops predicting nonces after the next reseed. Each
//   reseed costs one RAND_bytes call (~1500 TSC cycles); at 1024 calls that
//   is ~1.5 cycles a call, ~0.05 a request at burst 32, and a busy worker
//   (6 M requests/s, ~190 k calls/s) reseeds every ~5 ms; an idle one at
//   least every 1024 calls. A failed RAND_bytes aborts the process: no
//   randomness, no nonces.
//
// Without VAES (mb::vaes::cpu_supported() false) the same keystream comes
// from OpenSSL's EVP AES-128-CTR (AES-NI where the CPU has it) over the
// zeroed output: the same bytes bit for bit, so the backend never changes
// what a key produces, only the speed (docs/benchmarks.md: it costs about
// what the old 16 KiB RAND_bytes buffer did).
//
// One object belongs to one thread (one per worker). Not a byte stream: a
// call rekeys, so fill(a) then fill(b) does not give the bytes of fill(a + b);
// random bytes need not be reproducible, and tests that compare a burst with
// single requests use a seeded stream (tests/proto).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

struct evp_cipher_ctx_st;  // OpenSSL's EVP_CIPHER_CTX, kept out of this header

namespace ntsd::crypto {

class FkeRandom {
 public:
  enum class Backend : std::uint8_t {
    kBest,     // VAES where the CPU has it, else OpenSSL
    kVaes,     // VAES (tests; only where cpu_has_vaes())
    kOpenSsl,  // OpenSSL EVP AES-128-CTR
  };
  // Fills `out` with n bytes; false on failure. Production: RAND_bytes.
  using Entropy = bool (*)(std::uint8_t* out, std::size_t n);

  static constexpr std::uint32_t kReseedCalls = 1024;
  static constexpr std::size_t kReseedBytes = std::size_t{1} << 20;

  // The production generator: key from RAND_bytes, best backend, reseeding.
  FkeRandom() noexcept;

  // Tests only: the given first key, the given backend, and reseeding every
  // `reseed_calls` calls (0: never) from `entropy` (may be deterministic).
  struct ForTestsOnly {};
  FkeRandom(ForTestsOnly, std::span<const std::uint8_t, 16> key, Backend backend,
            std::uint32_t reseed_calls = 0, Entropy entropy = nullptr) noexcept;

  ~FkeRandom();
  FkeRandom(const FkeRandom&) = delete;
  FkeRandom& operator=(const FkeRandom&) = delete;

  // out.size() bytes (any length, 0 included); rekeys on every call.
  void fill(std::span<std::uint8_t> out) noexcept;

  // Tests only: the key the next fill() will run under.
  void key_for_test(std::span<std::uint8_t, 16> out) const noexcept;
  bool uses_vaes() const noexcept { return vaes_; }

  // Whether this CPU runs the VAES generator.
  static bool cpu_has_vaes() noexcept;

 private:
  void init(std::span<const std::uint8_t, 16> key, Backend backend) noexcept;
  void reseed() noexcept;
  void set_key() noexcept;  // the schedule (VAES) or the EVP context from rk_[0]
  void fill_openssl(std::uint8_t* out, std::size_t n) noexcept;

  // Round keys 0..10 (round key 0 is K); the OpenSSL backend uses rk_[0]
  // only, its schedule lives in ctx_.
  alignas(64) std::uint8_t rk_[11][16] = {};
  evp_cipher_ctx_st* ctx_ = nullptr;
  Entropy entropy_ = nullptr;
  std::uint32_t reseed_calls_ = 0;  // 0: never
  std::uint32_t calls_ = 0;         // since the last reseed
  std::size_t bytes_ = 0;           // since the last reseed
  bool vaes_ = false;
};

}  // namespace ntsd::crypto
