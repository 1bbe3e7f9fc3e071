// Op validation shared by every AES-SIV engine (see siv.hpp).
#include <cstdint>

#include "ntsd/crypto/siv.hpp"

namespace ntsd::crypto {
namespace {

// Compares addresses as integers: relational operators on pointers into
// different objects are unspecified in C++.
bool overlaps(Bytes a, MutBytes b) noexcept {
  if (a.empty() || b.empty()) return false;
  const auto a0 = reinterpret_cast<std::uintptr_t>(a.data());
  const auto b0 = reinterpret_cast<std::uintptr_t>(b.data());
  return a0 < b0 + b.size() && b0 < a0 + a.size();
}

SivStatus validate_common(const SivOp& op) noexcept {
  if (op.key == nullptr || op.key->empty()) return SivStatus::kBadInput;
  if (op.ad_count > kMaxAdComponents) return SivStatus::kBadInput;
  // S2V reads the AD after open has written `out`, and CTR streams in to out:
  // an overlap would silently change the result, so it is refused.
  if (overlaps(op.in, op.out)) return SivStatus::kBadInput;
  for (std::size_t i = 0; i < op.ad_count; ++i)
    if (overlaps(op.ad[i], op.out)) return SivStatus::kBadInput;
  return SivStatus::kOk;
}

}  // namespace

SivStatus validate_seal_op(const SivOp& op) noexcept {
  if (const auto st = validate_common(op); st != SivStatus::kOk) return st;
  if (op.in.size() > kMaxSivMessage || op.out.size() != op.in.size() + kSivTagLen)
    return SivStatus::kBadLength;
  return SivStatus::kOk;
}

SivStatus validate_open_op(const SivOp& op) noexcept {
  if (const auto st = validate_common(op); st != SivStatus::kOk) return st;
  if (op.in.size() < kSivTagLen || op.in.size() - kSivTagLen > kMaxSivMessage ||
      op.out.size() != op.in.size() - kSivTagLen)
    return SivStatus::kBadLength;
  return SivStatus::kOk;
}

}  // namespace ntsd::crypto
