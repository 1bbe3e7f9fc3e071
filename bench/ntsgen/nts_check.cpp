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
  // ignored (RFC 8915 §5.6). The walk is the protocol core's (ef_step, as in
  // parse_efs), so the framing verdicts are the full verification's.
  const std::uint8_t* uid = nullptr;
  const std::uint8_t* auth = nullptr;
  std::size_t uid_len = 0, auth_len = 0;
  std::size_t pos = kNtpHeaderLen;
  for (proto::Ef e; auth == nullptr;) {
    const proto::EfStep step = proto::ef_step(pkt, pos, true, e);
    if (step == proto::EfStep::kEnd || step == proto::EfStep::kMac) break;
    if (step != proto::EfStep::kEf) return QuickCheck::kMalformed;
    if (e.type == proto::kEfUniqueId) {
      if (uid != nullptr) return QuickCheck::kMalformed;
      uid = e.body.data();
      uid_len = e.body.size();
    } else if (e.type == proto::kEfAuthenticator) {
      auth = e.body.data();
      auth_len = e.body.size();
    }
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
