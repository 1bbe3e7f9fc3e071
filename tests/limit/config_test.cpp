// The [ratelimit] table of the shared TOML config: defaults (off, chrony's
// numbers), every key, strict errors that name the key.
#include <gtest/gtest.h>

#include "ntsd/config/config.hpp"
#include "ntsd/limit/limiter.hpp"

using namespace ntsd;

namespace {

std::string error_of(const std::string& text) {
  std::string err;
  auto cfg = config::parse_config(text, err);
  EXPECT_FALSE(cfg.has_value()) << text;
  return err;
}

}  // namespace

TEST(RateLimitConfig, OffByDefaultWithChronysNumbers) {
  std::string err;
  auto cfg = config::parse_config("[server]\nstratum = 1\n", err);
  ASSERT_TRUE(cfg) << err;
  const auto& r = cfg->ratelimit;
  EXPECT_FALSE(r.enabled);
  EXPECT_EQ(r.interval, 3);
  EXPECT_EQ(r.burst, 8);
  EXPECT_EQ(r.leak, 2);
  EXPECT_EQ(r.ipv4_prefix, 32);
  EXPECT_EQ(r.ipv6_prefix, 64);
  EXPECT_EQ(r.table_size, 65536);
  // The defaults are valid limiter parameters.
  limit::Params p;
  EXPECT_STREQ(limit::check(p), "");
  EXPECT_EQ(p.interval, r.interval);
  EXPECT_EQ(p.burst, r.burst);
  EXPECT_EQ(p.leak, r.leak);
  EXPECT_EQ(static_cast<std::int64_t>(p.table_size), r.table_size);
}

TEST(RateLimitConfig, ReadsEveryKey) {
  std::string err;
  auto cfg = config::parse_config(
      "[ratelimit]\n"
      "enabled = true\n"
      "interval = -2\n"
      "burst = 4\n"
      "leak = 0\n"
      "ipv4_prefix = 24\n"
      "ipv6_prefix = 56\n"
      "table_size = 1024\n",
      err);
  ASSERT_TRUE(cfg) << err;
  const auto& r = cfg->ratelimit;
  EXPECT_TRUE(r.enabled);
  EXPECT_EQ(r.interval, -2);
  EXPECT_EQ(r.burst, 4);
  EXPECT_EQ(r.leak, 0);
  EXPECT_EQ(r.ipv4_prefix, 24);
  EXPECT_EQ(r.ipv6_prefix, 56);
  EXPECT_EQ(r.table_size, 1024);
}

TEST(RateLimitConfig, ErrorsNameTheKey) {
  EXPECT_EQ(error_of("[ratelimit]\nenabled = 1\n"), "line 2: [ratelimit] enabled: must be a boolean, not a integer");
  EXPECT_EQ(error_of("[ratelimit]\nburst = 0\n"), "line 2: [ratelimit] burst: must be between 1 and 256 (got 0)");
  EXPECT_EQ(error_of("[ratelimit]\ninterval = 13\n"),
            "line 2: [ratelimit] interval: must be between -10 and 12 (got 13)");
  EXPECT_EQ(error_of("[ratelimit]\nipv6_prefix = 129\n"),
            "line 2: [ratelimit] ipv6_prefix: must be between 1 and 128 (got 129)");
  EXPECT_EQ(error_of("[ratelimit]\ntable_size = 1000\n"),
            "line 2: [ratelimit] table_size: must be a power of two (got 1000)");
  EXPECT_EQ(error_of("[ratelimit]\nrate = 3\n"), "line 2: [ratelimit] rate: unknown key");
  EXPECT_EQ(error_of("[rate_limit]\nenabled = true\n"), "line 1: [rate_limit]: unknown table");
}
