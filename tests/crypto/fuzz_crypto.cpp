// libFuzzer target for ntsd_crypto. Each input is used three ways:
//  1. opened as a cookie against a fixed key ring,
//  2. opened as SIV || ciphertext under a fixed key, with AD taken from it,
//  3. sealed and reopened as a plaintext, and its CMAC streamed in pieces.
// It must never crash, and a random input must never authenticate: forging a
// 128-bit SIV by chance has probability 2^-128, so kOk from (1) or (2) means
// the tag check is broken.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "ntsd/crypto/cmac.hpp"
#include "ntsd/crypto/cookie.hpp"

namespace {

using namespace ntsd::crypto;

struct Fixture {
  std::unique_ptr<SivEngine> eng = make_scalar_engine();
  SivKey key;
  KeyRing ring;
  Fixture() {
    std::uint8_t k[64];
    for (int i = 0; i < 64; ++i) k[i] = static_cast<std::uint8_t>(i * 7 + 3);
    key = *SivKey::from_bytes(Bytes(k, 32));
    MasterKey cur{0x00000001, *SivKey::from_bytes(Bytes(k, 32))};
    MasterKey prev[2] = {{0x00000002, *SivKey::from_bytes(Bytes(k, 64))},
                         {0x01020304, *SivKey::from_bytes(Bytes(k + 16, 32))}};
    ring = *KeyRing::make(cur, prev, std::nullopt);
  }
};

void check(bool ok) {
  if (!ok) std::abort();
}

void open_as_cookie(Fixture& f, Bytes data) {
  CookieKeys keys;
  const CookieStatus st = open_cookie(*f.eng, f.ring, data, keys);
  check(st != CookieStatus::kOk);
  check(keys.c2s.empty() && keys.s2c.empty());
}

void open_as_ciphertext(Fixture& f, Bytes data) {
  if (data.empty()) return;
  // First byte picks how much of the rest is AD; the remainder is SIV || C.
  const std::size_t ad_len = data[0] % (data.size());
  const Bytes ad = data.subspan(1, ad_len > data.size() - 1 ? data.size() - 1 : ad_len);
  const Bytes in = data.subspan(1 + ad.size());
  std::vector<std::uint8_t> out(in.size() >= kSivTagLen ? in.size() - kSivTagLen : 0, 0xAA);
  SivOp op;
  op.key = &f.key;
  op.ad[0] = ad;
  op.ad_count = 1;
  op.in = in;
  op.out = out;
  const SivStatus st = f.eng->open_one(op);
  if (in.size() < kSivTagLen) {
    check(st == SivStatus::kBadLength);
    return;
  }
  check(st == SivStatus::kAuthFail);
  for (auto b : out) check(b == 0);
}

void round_trip(Fixture& f, Bytes data) {
  std::vector<std::uint8_t> sealed(data.size() + kSivTagLen), opened(data.size());
  const std::uint8_t nonce[16] = {1, 2, 3};
  check(f.eng->seal_one(make_aead_op(f.key, data.first(data.size() / 3), nonce, data, sealed)) ==
        SivStatus::kOk);
  check(f.eng->open_one(make_aead_op(f.key, data.first(data.size() / 3), nonce, sealed, opened)) ==
        SivStatus::kOk);
  check(opened.size() == data.size() &&
        (data.empty() || std::memcmp(opened.data(), data.data(), data.size()) == 0));

  // Streaming CMAC in pieces whose sizes come from the data equals one shot.
  Cmac mac;
  check(mac.set_key(f.key.mac_key()));
  Block one{}, streamed{};
  mac.compute(data, one);
  std::size_t off = 0;
  while (off < data.size()) {
    const std::size_t step = 1 + data[off] % 40;
    const std::size_t n = step < data.size() - off ? step : data.size() - off;
    mac.update(data.subspan(off, n));
    off += n;
  }
  mac.final(streamed);
  check(one == streamed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture f;
  const Bytes in(data, size);
  open_as_cookie(f, in);
  open_as_ciphertext(f, in);
  if (size <= 4096) round_trip(f, in);
  return 0;
}
