#include "classify.hpp"

namespace ntsd::proto::detail {

namespace {

Reason ef_reason(EfStatus s) noexcept {
  switch (s) {
    case EfStatus::kOk:
      break;
    case EfStatus::kBadLength:
      return Reason::kBadEfLength;
    case EfStatus::kTruncated:
      return Reason::kEfTruncated;
    case EfStatus::kTooMany:
      return Reason::kTooManyEfs;
  }
  return Reason::kEfTruncated;
}

bool is_nts_ef(std::uint16_t t) noexcept {
  return t == kEfUniqueId || t == kEfCookie || t == kEfPlaceholder || t == kEfAuthenticator;
}

// Walks the EFs of an NTPv4 request and applies RFC 8915 §5.7's rules.
Reason classify_efs(Bytes req, const EfList& efs, Parsed& p) noexcept {
  const Ef* uid = nullptr;
  const Ef* cookie = nullptr;
  const Ef* auth = nullptr;
  std::size_t placeholders = 0;
  std::size_t placeholder_len = 0;
  bool placeholder_mismatch = false;
  for (std::size_t i = 0; i < efs.count; ++i) {
    const Ef& e = efs.ef[i];
    if (!is_nts_ef(e.type)) continue;  // RFC 7822 §3: unknown EFs are ignored
    p.nts = true;
    // RFC 8915 §5.6: nothing after the Authenticator is authenticated, so an
    // NTS field there can never be trusted.
    if (auth != nullptr) return Reason::kAuthNotLast;
    switch (e.type) {
      case kEfUniqueId:
        if (uid != nullptr) return Reason::kDuplicateUid;
        uid = &e;
        break;
      case kEfCookie:
        if (cookie != nullptr) return Reason::kMultipleCookies;
        cookie = &e;
        break;
      case kEfPlaceholder:
        if (placeholders > 0 && e.body.size() != placeholder_len) placeholder_mismatch = true;
        placeholder_len = e.body.size();
        ++placeholders;
        break;
      default:
        auth = &e;
        break;
    }
  }
  if (!p.nts) return Reason::kOkPlain;
  if (uid == nullptr) return Reason::kMissingUid;
  if (uid->body.size() < kMinUniqueIdLen) return Reason::kShortUid;
  if (cookie == nullptr) return Reason::kMissingCookie;
  // RFC 8915 §5.5: a placeholder's body must be exactly as long as the cookie.
  if (placeholders > 0 && (placeholder_mismatch || placeholder_len != cookie->body.size()))
    return Reason::kPlaceholderLength;
  if (auth == nullptr) return Reason::kAuthMissing;
  if (!parse_auth_body(auth->body, p.auth) || p.auth.ciphertext.size() < crypto::kSivTagLen)
    return Reason::kAuthMalformed;
  p.uid = *uid;
  p.cookie = cookie->body;
  p.auth_offset = auth->offset;
  const std::size_t wanted = 1 + placeholders;
  p.new_cookies = static_cast<std::uint8_t>(wanted < kMaxNewCookies ? wanted : kMaxNewCookies);
  (void)req;
  return Reason::kOkNts;
}

}  // namespace

Reason classify(Bytes req, Parsed& p) noexcept {
  p.nts = false;
  if (req.size() < kHeaderLen) return Reason::kTooShort;
  if (req.size() > kMaxPacketLen) return Reason::kTooLong;
  parse_header(req, p.hdr);
  // RFC 5905 §9.2: only client requests get an answer; never answer a response.
  if (p.hdr.mode != Mode::kClient) return Reason::kNotClientMode;
  if (p.hdr.version < 1 || p.hdr.version > 4) return Reason::kBadVersion;
  const std::size_t rest = req.size() - kHeaderLen;
  if (p.hdr.version < 4) {
    // No EFs before NTPv4 (RFC 7822); a trailing MAC is symmetric-key auth.
    if (rest == 4 || rest == 20 || rest == 24) return Reason::kMacUnsupported;
    return Reason::kOkPlain;
  }
  if (rest == 0) return Reason::kOkPlain;  // the common plain request: nothing to walk
  EfList efs;
  const EfStatus st = parse_efs(req, kHeaderLen, efs);
  if (st != EfStatus::kOk) return ef_reason(st);
  if (efs.mac_len != 0) return Reason::kMacUnsupported;
  return classify_efs(req, efs, p);
}

}  // namespace ntsd::proto::detail
