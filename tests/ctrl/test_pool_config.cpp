// The NTS pool's configuration: [ke] pool keys for ntsd-ke, [pool] and the
// [[backend]] array of tables for ntsd-pool (docs/pool.md).
#include <gtest/gtest.h>

#include "ntsd/config/config.hpp"
#include "ntsd/config/toml.hpp"

using namespace ntsd::config;

namespace {

std::string error_of(const std::string& text) {
  std::string err;
  auto c = parse_config(text, err);
  EXPECT_FALSE(c) << text;
  return err;
}

}  // namespace

TEST(PoolConfig, DefaultsAndAFullFile) {
  std::string err;
  auto c = parse_config("[ke]\ncert = \"c\"\n", err);
  ASSERT_TRUE(c) << err;
  EXPECT_EQ(c->ke.pool_tokens_file, "");
  EXPECT_EQ(c->ke.pool_keepalive_connections, 64);
  EXPECT_EQ(c->ke.pool_idle_timeout_ms, 60000);
  EXPECT_EQ(c->pool.workers, 16);
  EXPECT_TRUE(c->backends.empty());

  c = parse_config(R"([ke]
pool_tokens_file = "/etc/ntsd/pool-tokens"
pool_keepalive_connections = 8
pool_idle_timeout_ms = 5000

[pool]
ca_file = "/etc/ssl/sources.pem"
workers = 4
timeout_ms = 900
connections = 2
retry_min_ms = 100
retry_max_ms = 800

[[backend]]
name = "a.example"
token_file = "/etc/ntsd/a.token"

[[backend]]  # a comment
name = "b.example"
address = "192.0.2.7"
port = 4461
token_file = "/etc/ntsd/b.token"
weight = 3
families = ["ipv6"]
ntp_servers = ["ntp.b.example"]
)",
                   err);
  ASSERT_TRUE(c) << err;
  EXPECT_EQ(c->ke.pool_tokens_file, "/etc/ntsd/pool-tokens");
  EXPECT_EQ(c->ke.pool_keepalive_connections, 8);
  EXPECT_EQ(c->pool.ca_file, "/etc/ssl/sources.pem");
  EXPECT_EQ(c->pool.timeout_ms, 900);
  ASSERT_EQ(c->backends.size(), 2u);
  EXPECT_EQ(c->backends[0].name, "a.example");
  EXPECT_EQ(c->backends[0].address, "");
  EXPECT_EQ(c->backends[0].port, 4460);
  EXPECT_TRUE(c->backends[0].ipv4 && c->backends[0].ipv6);
  EXPECT_EQ(c->backends[1].address, "192.0.2.7");
  EXPECT_EQ(c->backends[1].port, 4461);
  EXPECT_EQ(c->backends[1].weight, 3);
  EXPECT_FALSE(c->backends[1].ipv4);
  EXPECT_TRUE(c->backends[1].ipv6);
  EXPECT_EQ(c->backends[1].ntp_servers, std::vector<std::string>{"ntp.b.example"});
}

TEST(PoolConfig, EveryMistakeNamesItsKey) {
  EXPECT_NE(error_of("[[backend]]\ntoken_file = \"t\"\n").find("[backend #1] name: is required"),
            std::string::npos);
  EXPECT_NE(error_of("[[backend]]\nname = \"a\"\n").find("token_file: is required"), std::string::npos);
  EXPECT_NE(error_of("[[backend]]\nname = \"a b\"\ntoken_file = \"t\"\n").find("name: must be printable"),
            std::string::npos);
  EXPECT_NE(error_of("[[backend]]\nname = \"a\"\ntoken_file = \"t\"\nweight = 0\n").find("weight: must be between"),
            std::string::npos);
  EXPECT_NE(error_of("[[backend]]\nname = \"a\"\ntoken_file = \"t\"\nfamilies = [\"ipx\"]\n").find("families"),
            std::string::npos);
  EXPECT_NE(error_of("[[backend]]\nname = \"a\"\ntoken_file = \"t\"\ncolour = 1\n").find("colour: unknown key"),
            std::string::npos);
  EXPECT_NE(error_of("[[backend]]\nname = \"a\"\ntoken_file = \"t\"\n[[backend]]\nname = \"a\"\ntoken_file = \"u\"\n")
                .find("appears twice"),
            std::string::npos);
  EXPECT_NE(error_of("[backend]\nname = \"a\"\n").find("write each time source as [[backend]]"), std::string::npos);
  EXPECT_NE(error_of("[[pool]]\nworkers = 2\n").find("must be a single [pool] table"), std::string::npos);
  EXPECT_NE(error_of("[pool]\nretry_min_ms = 500\nretry_max_ms = 100\n").find("retry_max_ms"), std::string::npos);
  EXPECT_NE(error_of("[ke]\npool_idle_timeout_ms = 5\n").find("pool_idle_timeout_ms"), std::string::npos);
}

TEST(PoolConfig, TomlArraysOfTablesAreStrict) {
  std::string err;
  EXPECT_FALSE(parse_toml("[[b]\n", err));
  EXPECT_FALSE(parse_toml("[[b]] x\n", err));
  EXPECT_FALSE(parse_toml("[b]\n[[b]]\n", err));
  EXPECT_NE(err.find("line 2: "), std::string::npos) << err;
  EXPECT_FALSE(parse_toml("[[b]]\n[b]\n", err));
  EXPECT_NE(err.find("line 2: "), std::string::npos) << err;
  auto d = parse_toml("[[b]]\nx = 1\n[[b]]\nx = 2\n[c]\ny = 3\n", err);
  ASSERT_TRUE(d) << err;
  ASSERT_EQ(d->at("b").array.size(), 2u);
  EXPECT_EQ(d->at("b").array[1].values.at("x").integer, 2);
  EXPECT_EQ(d->at("c").values.at("y").integer, 3);
  // The same key in two elements is fine; twice in one is not.
  EXPECT_FALSE(parse_toml("[[b]]\nx = 1\nx = 2\n", err));
}
