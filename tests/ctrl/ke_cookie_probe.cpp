// ke_cookie_probe: a helper of the e2e scripts (tests/e2e/ke_*.sh).
//
//   ke_cookie_probe fetch HOST:PORT CA_FILE OUT [AEADS]
//                                                 NTS-KE offering AEADS ("30,15";
//                                                 default 15), write the cookies
//                                                 and the exported keys to OUT (hex)
//   ke_cookie_probe open KEY_FILE IN              open every cookie of IN with the
//                                                 master keys of KEY_FILE (ntsd or
//                                                 chrony format) using crypto's
//                                                 open_cookie; check the keys inside
//   ke_cookie_probe layout KEY_FILE IN            which AD layout opens the cookies:
//                                                 AD=[nonce] or AD=["",nonce]
//
// Exit status 0 when every cookie opens (fetch: when NTS-KE succeeded).
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "ntsd/crypto/cookie.hpp"
#include "ntsd/ke/client.hpp"
#include "ntsd/keys/keyfile.hpp"

using namespace ntsd;

namespace {

std::string hex(crypto::Bytes b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (auto c : b) s += {d[c >> 4], d[c & 15]};
  return s;
}

std::vector<std::uint8_t> unhex(const std::string& s) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < s.size(); i += 2) out.push_back(static_cast<std::uint8_t>(std::stoi(s.substr(i, 2), nullptr, 16)));
  return out;
}

struct Fetched {
  std::string c2s, s2c;
  std::vector<std::vector<std::uint8_t>> cookies;
};

// File: "c2s HEX", "s2c HEX", then "cookie HEX" lines.
bool read_fetched(const char* path, Fetched& f) {
  std::ifstream in(path);
  std::string tag, value;
  while (in >> tag >> value) {
    if (tag == "c2s") f.c2s = value;
    else if (tag == "s2c") f.s2c = value;
    else if (tag == "cookie") f.cookies.push_back(unhex(value));
  }
  return !f.cookies.empty();
}

// AD = ["", nonce]: an empty associated-data component before the nonce, as
// nettle's/GnuTLS's S2V produces when called with a zero-length AD buffer.
bool open_empty_ad(const crypto::KeyRing& ring, crypto::Bytes cookie) {
  if (cookie.size() < crypto::kCookieHeaderLen + crypto::kSivTagLen) return false;
  std::uint32_t id = static_cast<std::uint32_t>(cookie[0]) << 24 | cookie[1] << 16 | cookie[2] << 8 | cookie[3];
  const crypto::MasterKey* mk = ring.find(id);
  // The AD question is AES-SIV's (S2V components); a GCM-SIV master key has
  // one AAD string, and open_cookie alone decides.
  if (!mk || mk->aead() == crypto::AeadId::kAesGcmSiv128) return false;
  std::uint8_t plain[crypto::kMaxCookiePlainLen];
  auto ct = cookie.subspan(crypto::kCookieHeaderLen);
  if (ct.size() - crypto::kSivTagLen > sizeof plain) return false;
  crypto::SivOp op;
  op.key = &mk->key;
  op.ad[0] = {};
  op.ad[1] = cookie.subspan(crypto::kCookieKeyIdLen, crypto::kCookieNonceLen);
  op.ad_count = 2;
  op.in = ct;
  op.out = {plain, ct.size() - crypto::kSivTagLen};
  return crypto::make_scalar_engine()->open_one(op) == crypto::SivStatus::kOk;
}

int fetch(const char* target, const char* ca, const char* out, const char* aeads) {
  ke::ClientOptions o;
  if (!ke::split_host_port(target, o.host, o.port)) return 1;
  o.ca_file = ca;
  o.aeads.clear();
  std::stringstream list(aeads);
  for (std::string id; std::getline(list, id, ',');) o.aeads.push_back(static_cast<std::uint16_t>(std::stoi(id)));
  auto r = ke::run_ke(o);
  if (r.error != ke::KeError::kOk) {
    std::printf("ke error: %s\n", r.message.c_str());
    return 2;
  }
  std::ofstream f(out);
  f << "c2s " << hex(r.c2s.bytes()) << "\ns2c " << hex(r.s2c.bytes()) << "\n";
  for (const auto& c : r.cookies) f << "cookie " << hex(c) << "\n";
  std::printf("fetched %zu cookies of %zu bytes, AEAD %u%s\n", r.cookies.size(),
              r.cookies.front().size(), r.aead, r.compliant_gcm_siv ? " (record 1024)" : "");
  return 0;
}

int open(const char* keyfile, const char* in, bool layout) {
  Fetched f;
  if (!read_fetched(in, f)) return 1;
  std::string err;
  auto ring = keys::load_ring(keyfile, err);
  if (!ring) {
    std::printf("key file error: %s\n", err.c_str());
    return 3;
  }
  auto eng = crypto::make_scalar_engine();
  std::size_t opened = 0, match = 0, empty_ad = 0;
  for (const auto& c : f.cookies) {
    crypto::CookieKeys ck;
    if (crypto::open_cookie(*eng, *ring, c, ck) == crypto::CookieStatus::kOk) {
      ++opened;
      if (hex(ck.c2s.bytes()) == f.c2s && hex(ck.s2c.bytes()) == f.s2c) ++match;
    }
    if (layout && open_empty_ad(*ring, c)) ++empty_ad;
  }
  std::printf("opened %zu/%zu with crypto::open_cookie (keys match %zu)\n", opened, f.cookies.size(), match);
  if (!layout) return opened == f.cookies.size() && match == opened ? 0 : 4;
  std::printf("AD=[\"\",nonce] opens %zu/%zu\n", empty_ad, f.cookies.size());
  if (match == f.cookies.size()) std::printf("layout: matches crypto::open_cookie\n");
  if (empty_ad == f.cookies.size()) std::printf("layout: AD=[\"\",nonce]\n");
  return match == f.cookies.size() || empty_ad == f.cookies.size() ? 0 : 4;
}

}  // namespace

int main(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "fetch" && (argc == 5 || argc == 6))
    return fetch(argv[2], argv[3], argv[4], argc == 6 ? argv[5] : "15");
  if (cmd == "open" && argc == 4) return open(argv[2], argv[3], false);
  if (cmd == "layout" && argc == 4) return open(argv[2], argv[3], true);
  std::fprintf(stderr,
               "usage: ke_cookie_probe fetch HOST:PORT CA OUT [AEADS] | open KEYS IN | layout KEYS IN\n");
  return 1;
}
