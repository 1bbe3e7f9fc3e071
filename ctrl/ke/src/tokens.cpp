#include "ntsd/ke/tokens.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace ntsd::ke {
namespace {

std::array<std::uint8_t, 32> sha256(const std::uint8_t* p, std::size_t n) {
  std::array<std::uint8_t, 32> d{};
  unsigned int len = 0;
  if (EVP_Digest(p, n, d.data(), &len, EVP_sha256(), nullptr) != 1) d.fill(0);
  return d;
}

// Reads a small file through one descriptor: the permission check and the
// read see the same inode.
bool read_private_file(const std::string& path, std::string& text, std::string& error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    error = path + ": not a regular file";
    return false;
  }
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(st.st_mode & 0777));
    error = path + ": mode " + mode + " lets group or others at it; tokens are secrets (chmod 600)";
    return false;
  }
  if (st.st_size > 1 << 20) {
    ::close(fd);
    error = path + ": larger than 1 MiB";
    return false;
  }
  text.resize(static_cast<std::size_t>(st.st_size));
  std::size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::read(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  ::close(fd);
  text.resize(off);
  return true;
}

}  // namespace

bool read_token_file(const std::string& path, std::vector<std::string>& tokens, std::string& error) {
  std::string text;
  tokens.clear();
  if (!read_private_file(path, text, error)) return false;
  std::size_t pos = 0;
  int lineno = 0;
  bool ok = true;
  while (pos < text.size() && ok) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string_view line(text.data() + pos, nl - pos);
    pos = nl + 1;
    ++lineno;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    const std::string where = path + ": line " + std::to_string(lineno) + ": ";
    if (line.size() > kMaxTokenLen) {
      error = where + "token longer than " + std::to_string(kMaxTokenLen) + " characters";
      ok = false;
      break;
    }
    for (char c : line)
      if (c < 0x21 || c > 0x7e) {
        error = where + "a token may only hold printable ASCII characters without spaces";
        ok = false;
        break;
      }
    if (ok) tokens.emplace_back(line);
  }
  OPENSSL_cleanse(text.data(), text.size());
  if (ok && tokens.empty()) {
    error = path + ": no token in the file";
    ok = false;
  }
  if (!ok) {
    for (auto& t : tokens) OPENSSL_cleanse(t.data(), t.size());
    tokens.clear();
  }
  return ok;
}

std::shared_ptr<const PoolTokens> PoolTokens::from(const std::vector<std::string>& tokens) {
  auto t = std::make_shared<PoolTokens>();
  for (const auto& s : tokens)
    t->digests_.push_back(sha256(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
  return t;
}

std::shared_ptr<const PoolTokens> PoolTokens::load(const std::string& path, std::string& error) {
  std::vector<std::string> tokens;
  if (!read_token_file(path, tokens, error)) return nullptr;
  auto t = from(tokens);
  for (auto& s : tokens) OPENSSL_cleanse(s.data(), s.size());
  return t;
}

bool PoolTokens::accepts(std::span<const std::uint8_t> token) const noexcept {
  // Hashing first makes the comparison independent of the token's length too.
  const auto d = sha256(token.data(), token.size());
  int match = 0;
  for (const auto& mine : digests_) match |= CRYPTO_memcmp(mine.data(), d.data(), d.size()) == 0;
  return match != 0 && !token.empty();
}

}  // namespace ntsd::ke
