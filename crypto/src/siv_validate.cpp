// Op validation shared by every AES-SIV engine: validate_seal_op and
// validate_open_op are inline in siv.hpp (each engine checks every op of a
// burst). What stays here are the compile-time facts those checks rely on.
#include <climits>

#include "ntsd/crypto/siv.hpp"

namespace ntsd::crypto {

// A message that passed validation has a length the AES primitives take as an int.
static_assert(kMaxSivMessage + kSivTagLen <= static_cast<std::size_t>(INT_MAX));
// S2V of RFC 5297 §2.4 allows at most 126 AD components.
static_assert(kMaxAdComponents <= 126);

}  // namespace ntsd::crypto
