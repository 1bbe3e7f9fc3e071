// Fuzz: RFC 7822 EF parser round trip. parse → serialise → parse must give
// the same fields and the same bytes; the header round-trips too.
#include <cstdlib>
#include <cstring>
#include <vector>

#include "ntsd/proto/wire.hpp"

using namespace ntsd::proto;

namespace {
void require(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::uint8_t> in(data, data + size);  // exact-size copy for ASan
  if (size >= kHeaderLen) {
    NtpHeader h;
    require(parse_header(in, h));
    std::vector<std::uint8_t> hb(kHeaderLen);
    require(write_header(h, hb));
    require(std::memcmp(hb.data(), in.data(), kHeaderLen) == 0);
  }
  for (bool allow_mac : {false, true}) {
    EfList a;
    if (parse_efs(in, 0, a, allow_mac) != EfStatus::kOk) continue;
    std::vector<std::uint8_t> out(size);
    std::size_t pos = 0;
    for (std::size_t i = 0; i < a.count; ++i) {
      const Ef& e = a.ef[i];
      require(e.offset == pos && e.len >= kMinEfLen && e.len % 4 == 0);
      const std::size_t w = write_ef(e.type, e.body, std::span(out).subspan(pos), e.len);
      require(w == e.len);
      pos += w;
      AuthBody ab;
      if (e.type == kEfAuthenticator && parse_auth_body(e.body, ab)) {
        require(ab.nonce.data() >= e.body.data() &&
                ab.ciphertext.data() + ab.ciphertext.size() <= e.body.data() + e.body.size());
      }
    }
    require(pos + a.mac_len == size);
    for (std::size_t i = pos; i < size; ++i) out[i] = in[i];  // the MAC, if any
    require(out == in);
    EfList b;
    require(parse_efs(out, 0, b, allow_mac) == EfStatus::kOk);
    require(b.count == a.count && b.mac_len == a.mac_len);
    for (std::size_t i = 0; i < a.count; ++i) {
      require(a.ef[i].type == b.ef[i].type && a.ef[i].offset == b.ef[i].offset &&
              a.ef[i].len == b.ef[i].len);
      require(std::memcmp(a.ef[i].body.data(), b.ef[i].body.data(), a.ef[i].body.size()) == 0);
    }
  }
  return 0;
}
