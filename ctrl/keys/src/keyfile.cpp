#include "ntsd/keys/keyfile.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace ntsd::keys {
namespace {

constexpr std::string_view kNtsdHeader = "NTSD-KEYS 1";
constexpr std::string_view kChronyV0 = "NKS0";
constexpr std::string_view kChronyV1 = "NKS1";
constexpr int kChronyKeys = 4;  // chrony's MAX_SERVER_KEYS

// Key material never leaves the buffer it was read into or written from
// (issue 20, item 5): parsing works on views into it, serialising appends to
// one buffer reserved up front, and both buffers are wiped before they are
// freed. Copies into short-lived heap strings would leave the hex text in
// freed memory, where a later heap read bug or a core dump could find it.
std::vector<std::string_view> split_ws(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    std::size_t s = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > s) out.push_back(line.substr(s, i - s));
  }
  return out;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

bool parse_u32_hex(std::string_view s, std::uint32_t& out) {
  if (s.empty() || s.size() > 8) return false;
  std::uint32_t v = 0;
  for (char c : s) {
    int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
    if (d < 0) return false;
    v = v << 4 | static_cast<std::uint32_t>(d);
  }
  out = v;
  return true;
}

bool parse_i64(std::string_view s, std::int64_t& out) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return false;
  out = v;
  return true;
}

// An AEAD id field; 0 (no such AEAD) when it is not a number in range.
std::uint16_t parse_aead(std::string_view s) {
  std::int64_t v = 0;
  return parse_i64(s, v) && v > 0 && v <= 0xFFFF ? static_cast<std::uint16_t>(v) : 0;
}

std::optional<crypto::MasterKey> parse_key(std::string_view id_hex, std::string_view key_hex,
                                           std::optional<std::uint16_t> aead, std::string& why) {
  crypto::MasterKey mk;
  if (!parse_u32_hex(id_hex, mk.id)) {
    why = "bad key id '" + std::string(id_hex.substr(0, 8)) + "'";
    return std::nullopt;
  }
  if (key_hex.size() % 2 || key_hex.size() > 2 * crypto::kMaxSivKeyLen) {
    why = "bad key length";
    return std::nullopt;
  }
  std::uint8_t buf[crypto::kMaxSivKeyLen];
  std::size_t n = key_hex.size() / 2;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t b;
    if (!parse_u32_hex(key_hex.substr(2 * i, 2), b)) {
      why = "bad hex in key";
      return std::nullopt;
    }
    buf[i] = static_cast<std::uint8_t>(b);
  }
  auto key = crypto::SivKey::from_bytes({buf, n});
  OPENSSL_cleanse(buf, sizeof buf);
  if (!key || (aead && static_cast<std::uint16_t>(key->aead()) != *aead)) {
    why = "key length does not match AEAD";
    return std::nullopt;
  }
  mk.key = *key;
  return mk;
}

// Appends the hex of `b` to `out`, which has room reserved (no reallocation
// may leave a copy behind).
void append_hex_upper(std::string& out, crypto::Bytes b) {
  static const char* d = "0123456789ABCDEF";
  for (auto c : b) {
    out += d[c >> 4];
    out += d[c & 15];
  }
}

// "<id> <hex key>", appended to `out`.
void append_key_line(std::string& out, const StoredKey& k) {
  char id[16];
  std::snprintf(id, sizeof id, "%08" PRIX32 " ", k.mk.id);
  out += id;
  append_hex_upper(out, k.mk.key.bytes());
}

// chrony reads keys oldest first: two previous, current, future.
std::optional<KeySet> parse_chrony(const std::vector<std::string_view>& lines, bool v0, std::int64_t now,
                                   std::string& error) {
  if (lines.size() < 2 + kChronyKeys) {
    error = "chrony key file: expected 4 keys";
    return std::nullopt;
  }
  auto head = split_ws(lines[1]);
  std::optional<std::uint16_t> aead;
  double age = 0;
  // The age is no secret: a short copy for sscanf is fine.
  if (head.size() != (v0 ? 2u : 1u) || head.back().size() > 32 ||
      std::sscanf(std::string(head.back()).c_str(), "%lf", &age) != 1) {
    error = "chrony key file: bad line 2";
    return std::nullopt;
  }
  if (v0) aead = parse_aead(head[0]);
  std::vector<crypto::MasterKey> keys;
  for (int i = 0; i < kChronyKeys; ++i) {
    auto w = split_ws(lines[2 + i]);
    std::string why;
    if (w.size() != (v0 ? 2u : 3u)) {
      error = "chrony key file line " + std::to_string(3 + i) + ": expected id and key";
      return std::nullopt;
    }
    if (!v0) aead = parse_aead(w[2]);
    auto mk = parse_key(w[0], w[1], aead, why);
    if (!mk) {
      error = "chrony key file line " + std::to_string(3 + i) + ": " + why;
      return std::nullopt;
    }
    if (i > 0 && (mk->id - keys.back().id) % kChronyKeys != 1) {
      error = "chrony key file: key ids are not consecutive modulo 4";
      return std::nullopt;
    }
    keys.push_back(*mk);
  }
  KeySet set;
  set.rotated_at = now - static_cast<std::int64_t>(age < 0 ? 0 : age);
  set.previous = {{keys[1], set.rotated_at}, {keys[0], set.rotated_at}};
  set.current = {keys[2], set.rotated_at};
  set.future = {keys[3], set.rotated_at};
  return set;
}

std::optional<KeySet> parse_ntsd(const std::vector<std::string_view>& lines, std::string& error) {
  KeySet set;
  auto rot = lines.size() > 1 ? split_ws(lines[1]) : std::vector<std::string_view>{};
  if (rot.size() != 2 || rot[0] != "rotated" || !parse_i64(rot[1], set.rotated_at)) {
    error = "line 2: expected 'rotated <unix seconds>'";
    return std::nullopt;
  }
  int currents = 0, futures = 0;
  for (std::size_t i = 2; i < lines.size(); ++i) {
    auto w = split_ws(lines[i]);
    if (w.empty()) continue;
    auto fail = [&](const std::string& why) {
      error = "line " + std::to_string(i + 1) + ": " + why;
      return std::nullopt;
    };
    std::int64_t aead = 0, created = 0;
    if (w.size() != 5 || !parse_i64(w[2], aead) || !parse_i64(w[4], created))
      return fail("expected '<id> <key> <aead> <role> <created>'");
    std::string why;
    auto mk = parse_key(w[0], w[1], static_cast<std::uint16_t>(aead), why);
    if (!mk) return fail(why);
    StoredKey sk{*mk, created};
    if (w[3] == "previous") {
      if (currents) return fail("previous keys must come before the current key");
      set.previous.insert(set.previous.begin(), sk);  // file is oldest first
    } else if (w[3] == "current") {
      ++currents;
      set.current = sk;
    } else if (w[3] == "future") {
      ++futures;
      set.future = sk;
    } else {
      return fail("unknown role '" + std::string(w[3].substr(0, 16)) + "'");
    }
  }
  if (currents != 1 || futures != 1) {
    error = "need exactly one current and one future key";
    return std::nullopt;
  }
  if (set.previous.size() > crypto::KeyRing::kMaxPrevious) {
    error = "too many previous keys (at most " + std::to_string(crypto::KeyRing::kMaxPrevious) + ")";
    return std::nullopt;
  }
  return set;
}

bool write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    s.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

SecretText::~SecretText() {
  // Also what lies between size() and capacity() (resize does not reallocate).
  resize(capacity());
  OPENSSL_cleanse(data(), size());
}

std::optional<SecretText> serialize(const KeySet& set, Format format, std::int64_t now,
                                    std::string& error) {
  // Every line fits 8 + 1 + 2 * 64 (key) + 1 + 5 + 1 + 8 + 1 + 20 + 1 bytes.
  constexpr std::size_t kMaxLine = 8 + 1 + 2 * crypto::kMaxSivKeyLen + 40;
  SecretText o;
  o.reserve(64 + (set.previous.size() + 2) * kMaxLine);
  const std::size_t reserved = o.capacity();
  if (format == Format::kChrony) {
    if (set.previous.size() < 2) {
      error = "chrony's key file needs two previous keys";
      return std::nullopt;
    }
    // chrony's order: two previous keys (oldest first), current, future.
    const StoredKey* keys[] = {&set.previous[1], &set.previous[0], &set.current, &set.future};
    // NKS0 (one AEAD for all keys, on line 2) while every key is AES-SIV-CMAC-256:
    // chrony 4.3 reads only that; chrony >= 4.4 reads it too. Otherwise NKS1,
    // chrony 4.4's format, with each key's AEAD (GCM-SIV master keys: 30).
    bool v0 = true;
    for (const StoredKey* k : keys) v0 = v0 && k->mk.aead() == crypto::AeadId::kSivCmac256;
    char head[64];
    double age = static_cast<double>(now - set.rotated_at);
    if (v0) {
      std::snprintf(head, sizeof head, "%u %.1f", 15u, age < 0 ? 0.0 : age);
    } else {
      std::snprintf(head, sizeof head, "%.1f", age < 0 ? 0.0 : age);
    }
    (o += (v0 ? kChronyV0 : kChronyV1)) += "\n";
    (o += head) += "\n";
    for (const StoredKey* k : keys) {
      append_key_line(o, *k);
      if (!v0) (o += " ") += std::to_string(static_cast<unsigned>(k->mk.aead()));
      o += "\n";
    }
  } else {
    (o += kNtsdHeader) += "\nrotated " + std::to_string(set.rotated_at) + "\n";
    auto line = [&](const StoredKey& k, const char* role) {
      append_key_line(o, k);
      char tail[64];
      std::snprintf(tail, sizeof tail, " %u %s %lld\n", static_cast<unsigned>(k.mk.key.aead()), role,
                    static_cast<long long>(k.created));
      o += tail;
    };
    for (auto it = set.previous.rbegin(); it != set.previous.rend(); ++it) line(*it, "previous");
    line(set.current, "current");
    line(set.future, "future");
  }
  if (o.capacity() != reserved) {
    // Cannot happen with the bound above; if it ever did, a copy was freed.
    error = "internal: key file text outgrew its buffer";
    return std::nullopt;
  }
  return o;
}

std::optional<KeySet> parse(std::string_view text, std::int64_t now, std::string& error,
                            Format* detected) {
  auto lines = lines_of(text);
  std::string_view first = lines.empty() ? std::string_view() : lines[0];
  if (!first.empty() && first.back() == '\r') first.remove_suffix(1);
  if (first == kChronyV0 || first == kChronyV1) {
    if (detected) *detected = Format::kChrony;
    return parse_chrony(lines, first == kChronyV0, now, error);
  }
  if (first == kNtsdHeader) {
    if (detected) *detected = Format::kNtsd;
    return parse_ntsd(lines, error);
  }
  // Never echo a line that might hold key material: only a comment (a
  // header of another format or version), and at most 40 characters of it.
  if (!first.empty() && first.front() == '#')
    error = "unknown key file format (header '" + std::string(first.substr(0, 40)) + "')";
  else
    error = "unknown key file format (no ntsd or chrony header line)";
  return std::nullopt;
}

bool save(const std::string& path, const KeySet& set, Format format, std::int64_t now,
          std::string& error) {
  auto text = serialize(set, format, now, error);
  if (!text) return false;
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    error = tmp + ": " + std::strerror(errno);
    return false;
  }
  // The umask may not clear group/other bits we never set, but an existing
  // temp file could carry wider ones.
  bool ok = ::fchmod(fd, 0600) == 0 && write_all(fd, *text) && ::fsync(fd) == 0;
  int saved = errno;
  ok = (::close(fd) == 0) && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    error = path + ": " + std::strerror(ok ? errno : saved);
    ::unlink(tmp.c_str());
    return false;
  }
  // Make the rename itself durable.
  std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  if (dir.empty()) dir = "/";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

std::optional<KeySet> load(const std::string& path, std::int64_t now, std::string& error,
                           Format* detected) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  // One buffer, read into directly and wiped after parsing: no partial
  // copies of the text are left behind (a key file is a few hundred bytes).
  constexpr std::size_t kMaxFile = 64 * 1024;
  SecretText text;
  text.resize(kMaxFile);
  std::size_t len = 0;
  while (len < kMaxFile) {
    ssize_t n = ::read(fd, text.data() + len, kMaxFile - len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += static_cast<std::size_t>(n);
  }
  ::close(fd);
  auto set = parse(std::string_view(text.data(), len), now, error, detected);
  if (!set) error = path + ": " + error;
  return set;
}

std::optional<crypto::KeyRing> to_ring(const KeySet& set, std::string& error) {
  std::vector<crypto::MasterKey> prev;
  for (const auto& p : set.previous) prev.push_back(p.mk);
  auto ring = crypto::KeyRing::make(set.current.mk, prev, set.future.mk);
  if (!ring) error = "key ids collide (duplicate ids in the key file?)";
  return ring;
}

std::optional<crypto::KeyRing> load_ring(const std::string& path, std::string& error) {
  auto set = load(path, static_cast<std::int64_t>(std::time(nullptr)), error);
  if (!set) return std::nullopt;
  auto ring = to_ring(*set, error);
  if (!ring) error = path + ": " + error;
  return ring;
}

}  // namespace ntsd::keys
