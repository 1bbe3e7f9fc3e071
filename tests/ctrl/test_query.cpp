// ntsd::query_main (`ntsgen query` / `ntsd-query`): argument handling and exit
// codes against an in-process ntsd-ke. The full NTS exchange against real
// servers is tests/e2e/ke_client_peers.sh.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "ntsd/ke/query.hpp"
#include "ntsd/ke/server.hpp"
#include "ntsd/keys/manager.hpp"

using namespace ntsd;

namespace {

int run(std::vector<std::string> args) {
  args.insert(args.begin(), "query");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return query_main(static_cast<int>(args.size()), argv.data());
}

// A UDP port with a bound socket that never answers.
struct SilentUdp {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  std::uint16_t port = 0;
  SilentUdp() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t l = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &l);
    port = ntohs(a.sin_port);
  }
  ~SilentUdp() { ::close(fd); }
};

}  // namespace

TEST(Query, ExitCodes) {
  char tmpl[] = "/tmp/ntsd_query_test.XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  std::string cert = dir + "/c.pem", key = dir + "/k.pem";
  ASSERT_EQ(std::system(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
                         "-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 -keyout " + key +
                         " -out " + cert + " 2>/dev/null").c_str()),
            0);
  SilentUdp ntp;
  keys::KeyManager km(dir + "/ntskeys", keys::Format::kNtsd, {});
  std::string err;
  ASSERT_TRUE(km.start(0, err)) << err;
  ke::ServerOptions o;
  o.listen = {"127.0.0.1"};
  o.port = 0;
  o.cert = cert;
  o.key = key;
  o.threads = 1;
  o.ntp_port = ntp.port;  // NTP goes to a port that never answers
  ke::KeServer server(o, [&] { return km.ring(); });
  ASSERT_TRUE(server.start(err)) << err;
  std::string target = "127.0.0.1:" + std::to_string(server.port());

  EXPECT_EQ(run({}), 1);
  EXPECT_EQ(run({target, "--bogus"}), 1);
  EXPECT_EQ(run({target, "--timeout", "0"}), 1);
  EXPECT_EQ(run({"127.0.0.1:99999"}), 1);
  EXPECT_EQ(run({target, "--ca", cert, "--ke-only"}), 0);
  EXPECT_EQ(run({target, "--ca", cert, "--ke-only", "--aead", "17,15"}), 0);
  EXPECT_EQ(run({target, "--ke-only"}), 2);  // not trusted by the system store
  EXPECT_EQ(run({target, "--ca", cert, "--timeout", "300"}), 3);  // NTS-KE ok, no NTP answer
  server.stop();
  std::system(("rm -rf " + dir).c_str());
}
