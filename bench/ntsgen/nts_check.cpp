#include "nts_check.hpp"

#include <cstring>

#include "ntsd/proto/wire.hpp"

namespace ntsgen {

namespace proto = ntsd::proto;

QuickCheck quick_check_nts(std::span<const std::uint8_t> pkt, HeaderClass hc, const proto::PendingRequest& req,
                           std::size_t n_req) noexcept {
  if (hc == HeaderClass::kMalformed) return QuickCheck::kMalformed;
  // RFC 5905 §8: the origin must be our T1 (basic answer) or, in interleaved
  // mode, our receive field (RFC 9769 §2), as the full check has it.
  const std::uint64_t origin = load_be64(pkt.data() + kOriginOff);
  if (origin != req.t1 && (req.receive == 0 || origin != req.receive)) return QuickCheck::kOrigin;
  if (hc == HeaderClass::kKod) return QuickCheck::kKod;
  // EFs up to the Authenticator; what follows it is unauthenticated and
  // ignored (RFC 8915 §5.6). Framing as RFC 7822 §3 and parse_efs have it:
  // length >= 16, a multiple of 4, inside the packet.
  const std::uint8_t* uid = nullptr;
  const std::uint8_t* auth = nullptr;
  std::size_t uid_len = 0, auth_len = 0;
  for (std::size_t pos = kNtpHeaderLen; pos + proto::kEfHeaderLen <= pkt.size();) {
    const std::uint16_t type = load_be16(pkt.data() + pos), len = load_be16(pkt.data() + pos + 2);
    if (len < proto::kMinEfLen || len % 4 != 0 || len > pkt.size() - pos) return QuickCheck::kMalformed;
    const std::uint8_t* body = pkt.data() + pos + proto::kEfHeaderLen;
    if (type == proto::kEfUniqueId) {
      if (uid != nullptr) return QuickCheck::kMalformed;
      uid = body;
      uid_len = len - proto::kEfHeaderLen;
    } else if (type == proto::kEfAuthenticator) {
      auth = body;
      auth_len = len - proto::kEfHeaderLen;
      break;
    }
    pos += len;
  }
  // The UID EF's body is padded to a multiple of 4; ours is 32 bytes, so it
  // is exactly the UID.
  const bool uid_ok = uid != nullptr && uid_len == req.uid.size() && std::memcmp(uid, req.uid.data(), uid_len) == 0;
  if (hc == HeaderClass::kNtsNak) return uid_ok ? QuickCheck::kNak : QuickCheck::kUid;
  if (!uid_ok) return QuickCheck::kUid;
  if (auth == nullptr) return QuickCheck::kNoAuth;
  proto::AuthBody ab;
  if (!proto::parse_auth_body({auth, auth_len}, ab, n_req) || ab.ciphertext.size() < ntsd::crypto::kSivTagLen)
    return QuickCheck::kMalformed;
  return QuickCheck::kOk;
}

}  // namespace ntsgen
