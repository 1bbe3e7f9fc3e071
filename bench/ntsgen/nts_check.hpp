// The cheap checks of an NTS response that is not fully verified (ntsgen
// --verify-every N > 1, docs/ntsgen.md): everything that ties the response to
// its request without the AEAD. A load generator that opened every
// Authenticator would spend most of its core on it (docs/benchmarks.md), so
// with N > 1 only one response in N is opened; the others must still be the
// server's answer to our request, in the shape RFC 8915 §5.7 gives it.
#pragma once

#include <cstdint>
#include <span>

#include "codec.hpp"
#include "ntsd/proto/client.hpp"

namespace ntsgen {

enum class QuickCheck : std::uint8_t {
  kOk,         // mode 4, origin ours, our UID echoed, an Authenticator present
  kNak,        // KoD NTSN echoing our UID (RFC 8915 §5.7)
  kKod,        // another Kiss-o'-Death (RFC 5905 §7.4)
  kMalformed,  // not NTPv4 mode 4, bad EF framing, two UIDs, bad Authenticator body
  kOrigin,     // origin is neither the request's T1 nor its receive field
  kUid,        // no Unique Identifier EF, or not the request's
  kNoAuth,     // no Authenticator EF (and not a NAK)
};

// `hc` is classify_header(pkt); `n_req` the session AEAD's nonce length
// (16 for AES-SIV, 12 for AES-128-GCM-SIV, RFC 8915 §5.6). Reads only the
// header and the EFs up to the Authenticator; the ciphertext is not touched.
QuickCheck quick_check_nts(std::span<const std::uint8_t> pkt, HeaderClass hc,
                           const ntsd::proto::PendingRequest& req, std::size_t n_req) noexcept;

}  // namespace ntsgen
