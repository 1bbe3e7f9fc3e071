// ntsd_config: the TOML subset and the typed, strict Config (docs/configuration.md).
#include <gtest/gtest.h>

#include "ntsd/config/config.hpp"
#include "ntsd/config/toml.hpp"

using namespace ntsd::config;

namespace {

std::string error_of(const std::string& text) {
  std::string err;
  auto cfg = parse_config(text, err);
  EXPECT_FALSE(cfg.has_value()) << text;
  return err;
}

}  // namespace

TEST(Toml, ParsesEveryValueKind) {
  std::string err;
  auto doc = parse_toml(
      "# top comment\n"
      "[t]\n"
      "s = \"a\\\"b\\\\c\" # trailing\n"
      "l = 'C:\\x'\n"
      "i = -1_000\n"
      "f = 2.5e1\n"
      "b = true\n"
      "as = [\"x\", 'y']\n"
      "ai = [15, 17,]\n"
      "e = []\n",
      err);
  ASSERT_TRUE(doc) << err;
  const auto& t = doc->at("t").values;
  EXPECT_EQ(t.at("s").str, "a\"b\\c");
  EXPECT_EQ(t.at("l").str, "C:\\x");
  EXPECT_EQ(t.at("i").integer, -1000);
  EXPECT_DOUBLE_EQ(t.at("f").flt, 25.0);
  EXPECT_TRUE(t.at("b").boolean);
  ASSERT_EQ(t.at("as").array.size(), 2u);
  EXPECT_EQ(t.at("as").array[1].str, "y");
  ASSERT_EQ(t.at("ai").array.size(), 2u);
  EXPECT_EQ(t.at("ai").array[1].integer, 17);
  EXPECT_TRUE(t.at("e").array.empty());
  EXPECT_EQ(t.at("i").line, 5);
}

TEST(Toml, SyntaxErrorsCarryTheLineNumber) {
  // toml++'s own words after the line (tests/ctrl/test_toml.cpp compares it
  // with the subset parser it replaced).
  struct Case {
    const char* text;
    const char* want;
  } cases[] = {
      {"[a]\nx = \"open\n", "line 2: Error while parsing string"},
      {"[a]\nx = 1\nx = 2\n", "line 3: Error while parsing key-value pair: cannot redefine existing integer 'x'"},
      {"[a]\n[a]\n", "line 2: Error while parsing table header: cannot redefine existing table 'a'"},
      {"x = 1\n", "line 1: key 'x' outside any [table]"},
      {"[a]\nx = [1,\n2\n", "line 3: Error while parsing array"},
      {"[a]\nx = [1 2]\n", "line 2: Error while parsing array: expected comma or closing ']'"},
      {"[a]\nx = 12abc\n", "line 2: Error while parsing decimal integer"},
      {"[a]\nx = 1 2\n", "line 2: Error while parsing key-value pair"},
      {"[a]\nx = \"\\q\"\n", "line 2: Error while parsing string: unknown escape sequence '\\q'"},
      {"[a]\nx = 99999999999999999999\n", "line 2: Error while parsing decimal integer: '99999999999999999999' is not representable in 64 bits"},
      {"[a]\njunk\n", "line 2: Error while parsing key-value pair: expected '='"},
  };
  for (const auto& c : cases) {
    std::string err;
    EXPECT_FALSE(parse_toml(c.text, err)) << c.text;
    EXPECT_NE(err.find(c.want), std::string::npos) << "got: " << err << " want: " << c.want;
  }
}

TEST(Config, EmptyFileGivesTheDocumentedDefaults) {
  std::string err;
  auto cfg = parse_config("", err);
  ASSERT_TRUE(cfg) << err;
  EXPECT_EQ(cfg->server.stratum, 1);
  EXPECT_EQ(cfg->server.refid, "GPS");
  EXPECT_EQ(cfg->server.precision, -20);
  EXPECT_EQ(cfg->server.leap, Leap::kAuto);
  EXPECT_EQ(cfg->server.clock, "system");
  EXPECT_EQ(cfg->server.max_clock_offset_ms, 100);
  EXPECT_EQ(cfg->server.root_delay_us, 0);
  EXPECT_EQ(cfg->server.root_dispersion_us, 10);
  EXPECT_EQ(cfg->server.local_stratum, 0);
  EXPECT_EQ(cfg->server.leap_seconds_file, "/usr/share/zoneinfo/leap-seconds.list");
  EXPECT_EQ(cfg->server.phc_timescale, PhcTimescale::kTai);
  EXPECT_EQ(cfg->server.max_root_dispersion_ms, 100);
  EXPECT_EQ(cfg->server.lock_status_file, "");
  EXPECT_EQ(cfg->server.lock_max_age_s, 10);
  EXPECT_EQ(cfg->server.holdover_s, 3600);
  EXPECT_EQ(cfg->server.dispersion_rate_ppm, 15.0);
  EXPECT_EQ(cfg->dataplane.rx_timestamp_max_offset_us, 10000);
  EXPECT_EQ(cfg->ke.listen, (std::vector<std::string>{"0.0.0.0", "::"}));
  EXPECT_EQ(cfg->ke.port, 4460);
  EXPECT_EQ(cfg->ke.threads, 0);
  EXPECT_EQ(cfg->ke.max_connections, 1024);
  EXPECT_EQ(cfg->ke.handshake_timeout_ms, 2000);
  EXPECT_EQ(cfg->ke.max_request_bytes, 1024);
  EXPECT_EQ(cfg->ke.ntp_server, "");
  EXPECT_EQ(cfg->ke.ntp_port, 123);
  EXPECT_EQ(cfg->ke.aeads, (std::vector<std::uint16_t>{30, 15, 17}));
  EXPECT_EQ(cfg->ke.cookies, 8);
  EXPECT_EQ(cfg->keys.file, "/var/lib/ntsd/ntskeys");
  EXPECT_EQ(cfg->keys.format, KeyFormat::kNtsd);
  EXPECT_EQ(cfg->keys.rotation_interval_s, 14400);
  EXPECT_EQ(cfg->keys.previous, 6);
  EXPECT_EQ(cfg->keys.aead, 0);  // the format's default:
  EXPECT_EQ(master_key_aead(cfg->keys), 30);
  EXPECT_EQ(cfg->dataplane.backend, Backend::kDpdk);
  EXPECT_EQ(cfg->dataplane.workers, 1);
  EXPECT_EQ(cfg->dataplane.burst, 32);
  EXPECT_TRUE(cfg->dataplane.eal_args.empty());
  EXPECT_EQ(cfg->dataplane.listen, (std::vector<std::string>{"0.0.0.0:123", "[::]:123"}));
  EXPECT_EQ(cfg->dataplane.keys_poll_ms, 100);
  EXPECT_EQ(cfg->dataplane.rx_desc, 1024);
  EXPECT_EQ(cfg->dataplane.tx_desc, 1024);
  EXPECT_EQ(cfg->dataplane.mbufs, 0);
  EXPECT_EQ(cfg->dataplane.rx_timestamps, RxTimestamps::kAuto);
  EXPECT_EQ(cfg->metrics.listen, "127.0.0.1:9123");
}

TEST(Config, ReadsAFullFile) {
  std::string err;
  auto cfg = parse_config(R"(
[server]
stratum = 2
refid = "PPS"
leap = "insert"
clock = "phc:/dev/ptp0"
[ke]
listen = ["127.0.0.1"]
port = 14460
cert = "/etc/ntsd/cert.pem"
key = "/etc/ntsd/key.pem"
threads = 2
ntp_server = "time.example"
ntp_port = 1123
aeads = [17, 15]
[keys]
file = "/tmp/k"
format = "chrony"
previous = 2
rotation_interval_s = 3600
[dataplane]
backend = "socket"
eal_args = ["-l", "0-1"]
ports = ["net_af_packet0,iface=veth0"]
addresses = ["192.0.2.1", "2001:db8::1"]
mbufs = 65535
[metrics]
listen = ""
)",
                          err);
  ASSERT_TRUE(cfg) << err;
  EXPECT_EQ(cfg->server.stratum, 2);
  EXPECT_EQ(cfg->server.refid, "PPS");
  EXPECT_EQ(cfg->server.leap, Leap::kInsert);
  EXPECT_EQ(cfg->server.clock, "phc:/dev/ptp0");
  EXPECT_EQ(cfg->ke.listen, (std::vector<std::string>{"127.0.0.1"}));
  EXPECT_EQ(cfg->ke.port, 14460);
  EXPECT_EQ(cfg->ke.threads, 2);
  EXPECT_EQ(cfg->ke.ntp_server, "time.example");
  EXPECT_EQ(cfg->ke.ntp_port, 1123);
  EXPECT_EQ(cfg->ke.aeads, (std::vector<std::uint16_t>{17, 15}));
  EXPECT_EQ(cfg->keys.format, KeyFormat::kChrony);
  EXPECT_EQ(cfg->keys.rotation_interval_s, 3600);
  EXPECT_EQ(cfg->dataplane.backend, Backend::kSocket);
  EXPECT_EQ(cfg->dataplane.eal_args.size(), 2u);
  EXPECT_EQ(cfg->dataplane.addresses[1], "2001:db8::1");
  EXPECT_EQ(cfg->dataplane.mbufs, 65535);
  EXPECT_EQ(cfg->metrics.listen, "");
}

// [keys] aead: by default the smallest cookies every key sharer opens
// (docs/keys.md): AES-128-GCM-SIV for ntsd's file, AES-SIV for chrony's
// (chrony 4.3 opens only AES-SIV cookies); either may be set explicitly.
TEST(Config, MasterKeyAeadDefaultsByFormat) {
  std::string err;
  auto c = parse_config("[keys]\nformat = \"chrony\"\nprevious = 2\n", err);
  ASSERT_TRUE(c) << err;
  EXPECT_EQ(master_key_aead(c->keys), 15);
  c = parse_config("[keys]\nformat = \"chrony\"\nprevious = 2\naead = 30\n", err);
  ASSERT_TRUE(c) << err;
  EXPECT_EQ(master_key_aead(c->keys), 30);
  c = parse_config("[keys]\naead = 15\n", err);
  ASSERT_TRUE(c) << err;
  EXPECT_EQ(master_key_aead(c->keys), 15);
  c = parse_config("[ke]\naeads = [30]\n", err);
  ASSERT_TRUE(c) << err;
  EXPECT_EQ(c->ke.aeads, (std::vector<std::uint16_t>{30}));
}

TEST(Config, RxTimestampsTakesEachValue) {
  const std::pair<const char*, RxTimestamps> cases[] = {{"auto", RxTimestamps::kAuto},
                                                        {"software", RxTimestamps::kSoftware},
                                                        {"unix-us", RxTimestamps::kUnixUs},
                                                        {"unix-ns", RxTimestamps::kUnixNs}};
  for (const auto& [text, want] : cases) {
    std::string err;
    auto cfg = parse_config(std::string("[dataplane]\nrx_timestamps = \"") + text + "\"\n", err);
    ASSERT_TRUE(cfg) << text << ": " << err;
    EXPECT_EQ(cfg->dataplane.rx_timestamps, want) << text;
    EXPECT_STREQ(to_string(cfg->dataplane.rx_timestamps), text);  // the log names the value as written
  }
}

TEST(Config, TimescaleLockAndLocalReferenceKeys) {
  std::string err;
  auto cfg = parse_config(R"(
[server]
clock = "phc:/dev/ptp1"
phc_timescale = "utc"
leap_seconds_file = "/etc/ntsd/leap-seconds.list"
local_stratum = 10
max_root_dispersion_ms = 5
lock_status_file = "/run/ntsd/lock"
lock_max_age_s = 3
holdover_s = 600
dispersion_rate_ppm = 0.05
[dataplane]
rx_timestamp_max_offset_us = 2000
)",
                          err);
  ASSERT_TRUE(cfg) << err;
  EXPECT_EQ(cfg->server.phc_timescale, PhcTimescale::kUtc);
  EXPECT_EQ(cfg->server.leap_seconds_file, "/etc/ntsd/leap-seconds.list");
  EXPECT_EQ(cfg->server.local_stratum, 10);
  EXPECT_EQ(cfg->server.max_root_dispersion_ms, 5);
  EXPECT_EQ(cfg->server.lock_status_file, "/run/ntsd/lock");
  EXPECT_EQ(cfg->server.lock_max_age_s, 3);
  EXPECT_EQ(cfg->server.holdover_s, 600);
  EXPECT_DOUBLE_EQ(cfg->server.dispersion_rate_ppm, 0.05);
  EXPECT_EQ(cfg->dataplane.rx_timestamp_max_offset_us, 2000);
  EXPECT_TRUE(parse_config("[server]\ndispersion_rate_ppm = 15\n", err)) << err;
}

TEST(Config, KeRateLimitKeys) {
  std::string err;
  auto cfg = parse_config("[ke]\nratelimit = true\nratelimit_interval = 0\nratelimit_burst = 16\nratelimit_leak = 0\n", err);
  ASSERT_TRUE(cfg) << err;
  EXPECT_TRUE(cfg->ke.ratelimit);
  EXPECT_EQ(cfg->ke.ratelimit_interval, 0);
  EXPECT_EQ(cfg->ke.ratelimit_burst, 16);
  EXPECT_EQ(cfg->ke.ratelimit_leak, 0);
  auto d = parse_config("", err);
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->ke.ratelimit);
  EXPECT_EQ(d->ke.ratelimit_interval, 6);  // chrony's ntsratelimit defaults
  EXPECT_EQ(d->ke.ratelimit_burst, 8);
  EXPECT_EQ(d->ke.ratelimit_leak, 2);
  EXPECT_NE(error_of("[ke]\nratelimit_burst = 0\n").find("[ke] ratelimit_burst: must be between 1 and 256"),
            std::string::npos);
}

TEST(Config, UnknownKeysAndTablesAreNamed) {
  EXPECT_EQ(error_of("[ke]\nprot = 1\n"), "line 2: [ke] prot: unknown key");
  EXPECT_EQ(error_of("[kee]\n"), "line 1: [kee]: unknown table");
}

TEST(Config, BadValuesNameTheKeyAndTheReason) {
  struct Case {
    const char* text;
    const char* want;
  } cases[] = {
      {"[ke]\nport = 70000\n", "line 2: [ke] port: must be between 1 and 65535 (got 70000)"},
      {"[ke]\nport = \"4460\"\n", "line 2: [ke] port: must be a integer, not a string"},
      {"[ke]\naeads = [15, 16]\n", "[ke] aeads: unsupported AEAD 16"},
      {"[ke]\naeads = []\n", "[ke] aeads: must list at least one AEAD"},
      {"[ke]\naeads = [\"15\"]\n", "[ke] aeads: must be an array of integers"},
      {"[ke]\ncookies = 0\n", "[ke] cookies: must be between 1 and 64"},
      {"[server]\nrefid = \"TOOLONG\"\n", "[server] refid: must be 1 to 4 characters"},
      {"[server]\nleap = \"maybe\"\n", "[server] leap: must be one of \"auto\", \"none\", \"insert\", \"delete\""},
      {"[server]\nclock = \"phc\"\n", "[server] clock: must be \"system\""},
      {"[server]\nstratum = 16\n", "[server] stratum: must be between 1 and 15"},
      {"[server]\nlocal_stratum = 16\n", "[server] local_stratum: must be between 0 and 15"},
      {"[server]\nphc_timescale = \"gps\"\n", "[server] phc_timescale: must be one of \"tai\", \"utc\""},
      {"[server]\ndispersion_rate_ppm = \"15\"\n", "[server] dispersion_rate_ppm: must be a number"},
      {"[server]\ndispersion_rate_ppm = -1\n", "[server] dispersion_rate_ppm: must be between"},
      {"[server]\nmax_root_dispersion_ms = 0\n", "[server] max_root_dispersion_ms: must be between 1"},
      {"[server]\nroot_dispersion_us = 200000\n", "[server] root_dispersion_us: must be below max_root_dispersion_ms"},
      {"[dataplane]\nrx_timestamp_max_offset_us = 0\n", "[dataplane] rx_timestamp_max_offset_us: must be between 1"},
      {"[keys]\nformat = \"xml\"\n", "[keys] format: must be one of \"ntsd\", \"chrony\""},
      {"[keys]\naead = 16\n", "[keys] aead: must be 15, 17 or 30"},
      {"[keys]\nformat = \"chrony\"\nprevious = 2\naead = 17\n",
       "[keys] aead: must be 15 or 30 with format = \"chrony\""},
      {"[keys]\nprevious = 7\n", "[keys] previous: must be between 1 and 6"},
      {"[keys]\nformat = \"chrony\"\n", "[keys] previous: must be 2 with format = \"chrony\""},
      {"[keys]\nrotation_interval_s = 0\n", "[keys] rotation_interval_s: must be between 1"},
      {"[dataplane]\nbackend = \"xdp\"\n", "[dataplane] backend: must be one of \"dpdk\", \"socket\""},
      {"[dataplane]\nrx_timestamps = \"unix-ms\"\n",
       "line 2: [dataplane] rx_timestamps: must be one of \"auto\", \"software\", \"unix-us\", \"unix-ns\" (got \"unix-ms\")"},
      {"[dataplane]\nrx_timestamps = true\n", "[dataplane] rx_timestamps: must be a string"},
      {"[dataplane]\nports = [1]\n", "[dataplane] ports: must be an array of strings"},
      {"[dataplane]\nworkers = true\n", "[dataplane] workers: must be a integer, not a boolean"},
      {"[metrics]\nlisten = 9123\n", "[metrics] listen: must be a string"},
  };
  for (const auto& c : cases) {
    std::string err = error_of(c.text);
    EXPECT_NE(err.find(c.want), std::string::npos) << "got: " << err << "\nwant: " << c.want;
  }
}

TEST(Config, LoadConfigPrefixesThePath) {
  std::string err;
  EXPECT_FALSE(load_config("/nonexistent/ntsd.toml", err));
  EXPECT_EQ(err, "/nonexistent/ntsd.toml: cannot open");
}

// [server] interleaved and interleaved_table_size (issue 14, RFC 9769).
TEST(Config, InterleavedKeys) {
  std::string err;
  auto def = parse_config("", err);
  ASSERT_TRUE(def) << err;
  EXPECT_TRUE(def->server.interleaved);
  EXPECT_EQ(def->server.interleaved_table_size, 65536);
  auto cfg = parse_config("[server]\ninterleaved = false\ninterleaved_table_size = 1024\n", err);
  ASSERT_TRUE(cfg) << err;
  EXPECT_FALSE(cfg->server.interleaved);
  EXPECT_EQ(cfg->server.interleaved_table_size, 1024);
  const std::pair<const char*, const char*> bad[] = {
      {"[server]\ninterleaved = 1\n", "[server] interleaved: must be a boolean"},
      {"[server]\ninterleaved_table_size = 1000\n", "[server] interleaved_table_size: must be a power of two"},
      {"[server]\ninterleaved_table_size = 2\n", "[server] interleaved_table_size: must be between 4 and 16777216"},
      {"[server]\ninterleaved_table_size = 33554432\n", "[server] interleaved_table_size: must be between"},
  };
  for (const auto& [text, want] : bad) {
    EXPECT_FALSE(parse_config(text, err)) << text;
    EXPECT_NE(err.find(want), std::string::npos) << text << " -> " << err;
  }
}

// Issue 19: the exception path, the VLAN, and ntsd-ke's metrics endpoint.
TEST(Config, ExceptionVlanAndKeMetricsKeys) {
  std::string err;
  auto d = parse_config("", err);
  ASSERT_TRUE(d) << err;
  EXPECT_EQ(d->dataplane.exception, Exception::kNone);
  EXPECT_EQ(d->dataplane.exception_iface, "ntsd0");
  EXPECT_EQ(d->dataplane.vlan, 0);
  EXPECT_EQ(d->metrics.ke_listen, "127.0.0.1:9124");
  for (const auto& [text, want] : {std::pair{"none", Exception::kNone}, std::pair{"tap", Exception::kTap},
                                   std::pair{"virtio_user", Exception::kVirtioUser},
                                   std::pair{"isolate", Exception::kIsolate}}) {
    auto cfg = parse_config(std::string("[dataplane]\nexception = \"") + text + "\"\n", err);
    ASSERT_TRUE(cfg) << err;
    EXPECT_EQ(cfg->dataplane.exception, want) << text;
    EXPECT_STREQ(to_string(cfg->dataplane.exception), text);
  }
  auto c = parse_config("[dataplane]\nexception_iface = \"exc1\"\nvlan = 4094\n[metrics]\nke_listen = \"\"\n", err);
  ASSERT_TRUE(c) << err;
  EXPECT_EQ(c->dataplane.exception_iface, "exc1");
  EXPECT_EQ(c->dataplane.vlan, 4094);
  EXPECT_EQ(c->metrics.ke_listen, "");
  EXPECT_EQ(error_of("[dataplane]\nexception = \"kni\"\n"),
            "line 2: [dataplane] exception: must be one of \"none\", \"tap\", \"virtio_user\", \"isolate\" (got \"kni\")");
  EXPECT_EQ(error_of("[dataplane]\nvlan = 4095\n"), "line 2: [dataplane] vlan: must be between 0 and 4094 (got 4095)");
  EXPECT_EQ(error_of("[dataplane]\nexception_iface = \"a-very-long-name0\"\n"),
            "line 2: [dataplane] exception_iface: must be an interface name of 1 to 15 characters without spaces, "
            "'/', ',', '=' or ':'");
  EXPECT_NE(error_of("[dataplane]\nexception_iface = \"x,mac=1\"\n").find("exception_iface: must be"), std::string::npos);
}

// [ke] connection-slot protection (issue 20, item 2).
TEST(Config, KeSlotProtectionKeys) {
  std::string err;
  auto d = parse_config("", err);
  ASSERT_TRUE(d) << err;
  EXPECT_EQ(d->ke.first_byte_timeout_ms, 300);
  EXPECT_EQ(d->ke.max_connections_per_source, 32);
  EXPECT_EQ(d->ke.source_ipv4_prefix, 32);
  EXPECT_EQ(d->ke.source_ipv6_prefix, 64);
  auto cfg = parse_config(
      "[ke]\nfirst_byte_timeout_ms = 200\nmax_connections_per_source = 0\n"
      "source_ipv4_prefix = 24\nsource_ipv6_prefix = 48\n",
      err);
  ASSERT_TRUE(cfg) << err;
  EXPECT_EQ(cfg->ke.first_byte_timeout_ms, 200);
  EXPECT_EQ(cfg->ke.max_connections_per_source, 0);
  EXPECT_EQ(cfg->ke.source_ipv4_prefix, 24);
  EXPECT_EQ(cfg->ke.source_ipv6_prefix, 48);
  EXPECT_FALSE(parse_config("[ke]\nhandshake_timeout_ms = 500\nfirst_byte_timeout_ms = 600\n", err));
  EXPECT_NE(err.find("[ke] first_byte_timeout_ms: must not exceed handshake_timeout_ms"), std::string::npos) << err;
  EXPECT_FALSE(parse_config("[ke]\nsource_ipv6_prefix = 129\n", err));
  EXPECT_NE(err.find("[ke] source_ipv6_prefix"), std::string::npos) << err;
}

TEST(Config, DerivedKeys) {
  std::string err;
  auto cfg = parse_config("[keys]\nmode = \"derived\"\nsecret_file = \"/etc/ntsd/secret\"\nperiod_s = 3600\n"
                          "past_periods = 3\nfuture_periods = 2\n",
                          err);
  ASSERT_TRUE(cfg) << err;
  EXPECT_EQ(cfg->keys.mode, KeyMode::kDerived);
  EXPECT_EQ(cfg->keys.secret_file, "/etc/ntsd/secret");
  EXPECT_EQ(cfg->keys.period_s, 3600);
  EXPECT_EQ(cfg->keys.past_periods, 3);
  EXPECT_EQ(cfg->keys.future_periods, 2);
  auto def = parse_config("", err);
  ASSERT_TRUE(def);
  EXPECT_EQ(def->keys.mode, KeyMode::kFile);
  EXPECT_EQ(def->keys.period_s, 86400);
  EXPECT_EQ(def->keys.past_periods, 2);
  EXPECT_EQ(def->keys.future_periods, 1);
  EXPECT_EQ(error_of("[keys]\nmode = \"derived\"\n"),
            "[keys] secret_file: is required with mode = \"derived\"");
  EXPECT_EQ(error_of("[keys]\nmode = \"hkdf\"\n"),
            "line 2: [keys] mode: must be one of \"file\", \"derived\" (got \"hkdf\")");
  EXPECT_EQ(error_of("[keys]\nperiod_s = 59\n"), "line 2: [keys] period_s: must be between 60 and 31536000 (got 59)");
  EXPECT_EQ(error_of("[keys]\npast_periods = 6\nfuture_periods = 2\n"),
            "line 3: [keys] future_periods: past_periods + future_periods must be at most 7");
}
