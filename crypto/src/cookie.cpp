// NTS cookies (RFC 8915 §6) in chrony's layout; see cookie.hpp for the diagram.
// The in-place forms (set_open_op, keys_from_plain, set_seal_op) are inline in
// cookie.hpp; the work-based forms here are built on them.
#include "ntsd/crypto/cookie.hpp"

#include <cstring>

namespace ntsd::crypto {

CookieWork::~CookieWork() {
  secure_wipe(plain.data(), plain.size());
}

CookieStatus prepare_open(const KeyRing& ring, Bytes cookie, CookieWork& work) noexcept {
  work.op = SivOp{};
  return set_open_op(ring, cookie, work.plain.data(), work.op);
}

CookieStatus finish_open(SivStatus st, CookieWork& work, CookieKeys& keys) noexcept {
  CookieStatus result = CookieStatus::kOk;
  if (st == SivStatus::kAuthFail) {
    result = CookieStatus::kAuthFail;
  } else if (st != SivStatus::kOk ||
             !keys_from_plain(Bytes(work.plain.data(), work.op.out.size()), keys)) {
    result = CookieStatus::kMalformed;  // prepare_open failed or was not called
  }
  // Session keys must not linger in scratch that the next burst reuses.
  secure_wipe(work.plain.data(), work.plain.size());
  work.op = SivOp{};
  return result;
}

bool prepare_seal(const MasterKey& mk, const CookieKeys& keys, Bytes nonce, MutBytes out,
                  CookieWork& work) noexcept {
  work.op = SivOp{};
  const std::size_t klen = keys.c2s.size();
  if (klen == 0 || keys.s2c.size() != klen) return false;
  std::memcpy(work.plain.data(), keys.c2s.bytes().data(), klen);
  std::memcpy(work.plain.data() + klen, keys.s2c.bytes().data(), klen);
  if (set_seal_op(mk, Bytes(work.plain.data(), 2 * klen), nonce, out, work.op)) return true;
  secure_wipe(work.plain.data(), 2 * klen);
  return false;
}

CookieStatus open_cookie(SivEngine& eng, const KeyRing& ring, Bytes cookie,
                         CookieKeys& keys) noexcept {
  CookieWork work;
  const CookieStatus st = prepare_open(ring, cookie, work);
  if (st != CookieStatus::kOk) return st;
  return finish_open(eng.open_one(work.op), work, keys);
}

bool seal_cookie(SivEngine& eng, const MasterKey& mk, const CookieKeys& keys, Bytes nonce,
                 MutBytes out) noexcept {
  CookieWork work;
  if (!prepare_seal(mk, keys, nonce, out, work)) return false;
  return eng.seal_one(work.op) == SivStatus::kOk;
}

}  // namespace ntsd::crypto
