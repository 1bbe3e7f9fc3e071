#include "classify.hpp"

#include "reader.hpp"

namespace ntsd::proto::detail {

namespace {

bool is_nts_ef(std::uint16_t t) noexcept {
  return t == kEfUniqueId || t == kEfCookie || t == kEfPlaceholder || t == kEfAuthenticator;
}

// RFC 8915 §5.7's rules over the NTS EFs of a request, fed one EF at a time
// during the single RFC 7822 walk. A structural error anywhere in the walk
// (bad length, truncation, too many EFs, a MAC) outranks a rule broken
// earlier, so the first broken rule is remembered and only reported once the
// walk has finished cleanly.
class NtsRules {
 public:
  void add(const Ef& e) noexcept {
    // RFC 7822 §3: unknown EFs are ignored. Once a rule is broken, the
    // rest only matters to the walk.
    if (broken_ != Reason::kOkNts || !is_nts_ef(e.type)) return;
    nts_ = true;
    // RFC 8915 §5.6: nothing after the Authenticator is authenticated, so an
    // NTS field there can never be trusted.
    if (has_auth_) {
      broken_ = Reason::kAuthNotLast;
      return;
    }
    switch (e.type) {
      case kEfUniqueId:
        if (has_uid_) broken_ = Reason::kDuplicateUid;
        uid_offset_ = e.offset;
        uid_len_ = e.len;
        has_uid_ = true;
        break;
      case kEfCookie:
        if (has_cookie_) broken_ = Reason::kMultipleCookies;
        cookie_ = e.body;
        has_cookie_ = true;
        break;
      case kEfPlaceholder:
        if (placeholders_ > 0 && e.body.size() != placeholder_len_) placeholder_mismatch_ = true;
        placeholder_len_ = e.body.size();
        ++placeholders_;
        break;
      default:
        auth_body_ = e.body;
        auth_offset_ = e.offset;
        has_auth_ = true;
        break;
    }
  }

  Reason finish(Parsed& p) const noexcept {
    if (broken_ != Reason::kOkNts) return broken_;
    if (!nts_) return Reason::kOkPlain;
    if (!has_uid_) return Reason::kMissingUid;
    if (uid_len_ - kEfHeaderLen < kMinUniqueIdLen) return Reason::kShortUid;
    if (!has_cookie_) return Reason::kMissingCookie;
    // RFC 8915 §5.5: a placeholder's body must be exactly as long as the cookie.
    if (placeholders_ > 0 && (placeholder_mismatch_ || placeholder_len_ != cookie_.size()))
      return Reason::kPlaceholderLength;
    if (!has_auth_) return Reason::kAuthMissing;
    // RFC 8915 §5.6: N_REQ is 16 for AES-SIV and 12 for AES-128-GCM-SIV,
    // whose only nonce length is 12; the AEAD is known once the cookie is
    // open, so a 12-byte nonce is let through here without padding to 16 and
    // the server checks reaches_16 for an AES-SIV session (server.cpp).
    if (!detail::parse_auth_body(auth_body_, p.auth, crypto::kGcmSivNonceLen) ||
        (p.auth.nonce.size() != crypto::kGcmSivNonceLen && !p.auth.reaches_16) ||
        p.auth.ciphertext.size() < crypto::kSivTagLen)
      return Reason::kAuthMalformed;
    p.uid_offset = uid_offset_;
    p.uid_len = uid_len_;
    p.cookie = cookie_;
    p.auth_offset = auth_offset_;
    const std::size_t wanted = 1 + placeholders_;
    p.new_cookies = static_cast<std::uint8_t>(wanted < kMaxNewCookies ? wanted : kMaxNewCookies);
    return Reason::kOkNts;
  }

 private:
  // Scalars and spans, no Ef copies: a copied struct built from narrow stores
  // and read back wide stalled on store forwarding, and clearing whole Efs
  // up front cost a rep stos per packet.
  std::uint16_t uid_offset_ = 0;
  std::uint16_t uid_len_ = 0;
  std::uint16_t auth_offset_ = 0;
  Bytes cookie_;
  Bytes auth_body_;
  bool has_uid_ = false;
  bool has_cookie_ = false;
  bool has_auth_ = false;
  std::size_t placeholders_ = 0;
  std::size_t placeholder_len_ = 0;
  bool placeholder_mismatch_ = false;
  bool nts_ = false;
  Reason broken_ = Reason::kOkNts;  // kOkNts: no rule broken so far
};

// Walks the EFs of an NTPv4 request (RFC 7822) and applies RFC 8915 §5.7's
// rules in the same pass: only the UID, cookie and authenticator are kept,
// so there is no per-packet list of every EF to clear and fill.
Reason classify_efs(Bytes req, Parsed& p) noexcept {
  std::size_t pos = kHeaderLen;
  std::size_t count = 0;
  NtsRules rules;
  for (;;) {
    Ef e;
    switch (next_ef(req, pos, true, e)) {
      case EfStep::kEnd:
        return rules.finish(p);
      case EfStep::kMac:
        return Reason::kMacUnsupported;  // RFC 5905 §7.3 symmetric-key MAC: not served
      case EfStep::kBadLength:
        return Reason::kBadEfLength;
      case EfStep::kTruncated:
        return Reason::kEfTruncated;
      case EfStep::kEf:
        break;
    }
    if (count++ == kMaxEfs) return Reason::kTooManyEfs;
    rules.add(e);
  }
}

}  // namespace

Reason classify(Bytes req, Parsed& p) noexcept {
  if (req.size() < kHeaderLen) return Reason::kTooShort;
  if (req.size() > kMaxPacketLen) return Reason::kTooLong;
  const std::uint8_t* h = req.data();  // ≥ 48 bytes, checked above
  p.hdr.version = (h[0] >> 3) & 7;
  p.hdr.mode = static_cast<Mode>(h[0] & 7);
  p.hdr.poll = static_cast<std::int8_t>(h[2]);
  p.hdr.transmit = get64(h + 40);
  p.hdr.origin = get64(h + 24);
  p.hdr.receive = get64(h + 32);
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
  return classify_efs(req, p);
}

}  // namespace ntsd::proto::detail
