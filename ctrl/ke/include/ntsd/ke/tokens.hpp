// NTS pool authentication tokens (draft-ietf-ntp-nts-keyexchange-pool-00,
// record 14 "Authentication Token"; ntpd-rs 1.9 "accepted-pool-
// authentication-tokens"). A time source accepts Support and Fixed Key
// requests only with one of its tokens; the pool sends one per time source.
//
// Token files hold one token per line (blank lines and lines starting with
// '#' are skipped; surrounding spaces are trimmed). A token is 1 to 256
// printable ASCII characters without spaces. A file that its group or others
// may read or write is refused, and no error message ever contains a token.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace ntsd::ke {

inline constexpr std::size_t kMaxTokenLen = 256;

// Reads the tokens of `path`. False with `error` set (naming the path and the
// line, never the token) if the file is missing, too open, empty or bad.
bool read_token_file(const std::string& path, std::vector<std::string>& tokens, std::string& error);

// The tokens a time source accepts, kept as SHA-256 digests.
class PoolTokens {
 public:
  static std::shared_ptr<const PoolTokens> load(const std::string& path, std::string& error);
  static std::shared_ptr<const PoolTokens> from(const std::vector<std::string>& tokens);
  // True if `token` is one of ours. Every stored digest is compared with
  // CRYPTO_memcmp and none is skipped, so the time taken does not depend on
  // the token's content or on which token matched.
  bool accepts(std::span<const std::uint8_t> token) const noexcept;
  std::size_t size() const noexcept { return digests_.size(); }

 private:
  std::vector<std::array<std::uint8_t, 32>> digests_;
};

// Where a server gets the current tokens (reloaded on SIGHUP); null = none.
using TokenSource = std::function<std::shared_ptr<const PoolTokens>()>;

}  // namespace ntsd::ke
