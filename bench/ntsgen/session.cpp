#include "session.hpp"

#include <algorithm>
#include <cstring>

namespace ntsgen {

bool CookieJar::put(ntsd::crypto::Bytes cookie) noexcept {
  if (cookie.empty() || cookie.size() > kMaxCookie) return false;
  std::size_t at;
  if (count_ == kMax) {  // full: overwrite the oldest
    at = head_;
    head_ = (head_ + 1) % kMax;
  } else {
    at = (head_ + count_) % kMax;
    ++count_;
  }
  std::memcpy(buf_[at].data(), cookie.data(), cookie.size());
  len_[at] = static_cast<std::uint16_t>(cookie.size());
  return true;
}

std::size_t CookieJar::longest() const noexcept {
  std::size_t m = 0;
  for (std::size_t i = 0; i < count_; ++i) m = std::max<std::size_t>(m, len_[(head_ + i) % kMax]);
  return m;
}

ntsd::crypto::Bytes CookieJar::take() noexcept {
  if (count_ == 0) {
    if (last_ == kMax) return {};
    ++reuses_;
    return {buf_[last_].data(), len_[last_]};
  }
  last_ = head_;
  head_ = (head_ + 1) % kMax;
  --count_;
  return {buf_[last_].data(), len_[last_]};
}

}  // namespace ntsgen
