// Shared by the NTS pool tests (tests/ctrl/test_ke_pool_source.cpp,
// tests/pool/): a throwaway PKI, token files, an ntsd-ke time source in
// process, and a raw NTS-KE client stream that sends any bytes.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ntsd/ke/client.hpp"
#include "ntsd/ke/records.hpp"
#include "ntsd/ke/server.hpp"
#include "ntsd/ke/tokens.hpp"
#include "ntsd/keys/manager.hpp"

namespace ntsd::test {

// A CA and, per name, a P-256 certificate for DNS:name, 127.0.0.1 and ::1.
class Pki {
 public:
  Pki() {
    char tmpl[] = "/tmp/ntsd_pool_test.XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    run("openssl ecparam -name prime256v1 -genkey -noout -out ca.key && "
        "openssl req -x509 -new -key ca.key -sha256 -days 2 -subj /CN=test-ca -out ca.pem");
  }
  ~Pki() { std::system(("rm -rf " + dir_).c_str()); }
  Pki(const Pki&) = delete;
  Pki& operator=(const Pki&) = delete;

  void cert(const std::string& name) {
    run("openssl ecparam -name prime256v1 -genkey -noout -out " + name + ".key && "
        "openssl req -new -key " + name + ".key -subj /CN=" + name + " -out " + name + ".csr && "
        "printf 'subjectAltName=DNS:" + name + ",IP:127.0.0.1,IP:::1\\n' >" + name + ".ext && "
        "openssl x509 -req -in " + name + ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile " +
        name + ".ext -out " + name + ".crt && cat " + name + ".crt ca.pem >" + name + ".pem");
  }
  std::string ca() const { return dir_ + "/ca.pem"; }
  std::string pem(const std::string& n) const { return dir_ + "/" + n + ".pem"; }
  std::string key(const std::string& n) const { return dir_ + "/" + n + ".key"; }
  const std::string& dir() const { return dir_; }

  // A file under dir() with `text` and `mode`.
  std::string file(const std::string& name, const std::string& text, mode_t mode = 0600) const {
    std::string p = dir_ + "/" + name;
    std::ofstream(p, std::ios::trunc) << text;
    ::chmod(p.c_str(), mode);
    return p;
  }

 private:
  void run(const std::string& cmd) {
    std::string full = "cd " + dir_ + " && (" + cmd + ") >/dev/null 2>&1";
    if (std::system(full.c_str()) != 0) std::abort();
  }
  std::string dir_;
};

// ntsd-ke's server with the time-source handler, on 127.0.0.1, port 0.
struct TimeSource {
  keys::KeyManager km;
  std::shared_ptr<const ke::PoolTokens> tokens;
  ke::KeServer server;
  TimeSource(const Pki& pki, const std::string& name, std::vector<std::string> accepted,
             ke::ServerOptions o = {})
      : km(pki.dir() + "/keys-" + name + "-" + std::to_string(counter()), keys::Format::kNtsd, {}),
        tokens(accepted.empty() ? nullptr : ke::PoolTokens::from(accepted)),
        server(adjust(std::move(o), pki, name, this), [this] { return km.ring(); }) {
    std::string err;
    if (!km.start(1000, err) || !server.start(err)) std::abort();
  }
  static int counter() {
    static int n = 0;
    return ++n;
  }
  static ke::ServerOptions adjust(ke::ServerOptions o, const Pki& pki, const std::string& name, TimeSource* self) {
    o.listen = {"127.0.0.1"};
    o.port = 0;
    o.cert = pki.pem(name);
    o.key = pki.key(name);
    if (o.threads == 0) o.threads = 1;
    o.pool_tokens = [self] { return self->tokens; };
    return o;
  }
  std::uint16_t port() const { return server.port(); }
};

// A raw NTS-KE connection (the library client, any bytes).
struct RawStream {
  std::unique_ptr<ke::KeConnector> conn;
  std::unique_ptr<ke::KeStream> s;
  RawStream(const std::string& ca, std::uint16_t port) : conn(std::make_unique<ke::KeConnector>(ca)) {
    ke::ClientOptions o;
    o.host = "127.0.0.1";
    o.port = port;
    ke::KeResult err;
    s = conn->connect(o, deadline(), err);
  }
  static ke::KeStream::Clock::time_point deadline() {
    return ke::KeStream::Clock::now() + std::chrono::seconds(3);
  }
  // Sends `msg`, returns the reply (empty if none came).
  std::vector<std::uint8_t> ask(const std::vector<std::uint8_t>& msg, ke::KeStream::Read* how = nullptr) {
    std::string why;
    bool any = false;
    std::vector<std::uint8_t> in;
    if (!s->send(msg, deadline(), why, any)) return in;
    auto r = s->read_message(in, 65536, deadline());
    if (how) *how = r;
    return in;
  }
  // True when the server closed the connection (EOF within `ms`).
  bool closed_by_peer(int ms = 2000) {
    std::vector<std::uint8_t> in;
    auto r = s->read_message(in, 65536, ke::KeStream::Clock::now() + std::chrono::milliseconds(ms));
    return r == ke::KeStream::Read::kClosed || r == ke::KeStream::Read::kError;
  }
};

inline bool eventually(const std::function<bool()>& f, int ms = 3000) {
  for (int i = 0; i < ms / 10; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return f();
}

}  // namespace ntsd::test
