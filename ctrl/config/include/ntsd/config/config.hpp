// The configuration of ntsd and ntsd-ke: one TOML file for both processes.
// Every key, its default and its meaning is in docs/configuration.md.
//
// Loading is strict: an unknown table or key, a value of the wrong type or out
// of range is an error that names the key ("[ke] port: ...") and the reason, so
// that a typo never silently falls back to a default.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ntsd::config {

enum class Leap : std::uint8_t { kAuto, kNone, kInsert, kDelete };
enum class KeyFormat : std::uint8_t { kNtsd, kChrony };
// Where the cookie master keys come from (docs/keys.md): kFile = ntsd-ke
// makes and rotates them and hands them to ntsd in [keys] file; kDerived =
// every host derives them from [keys] secret_file and the UTC period.
enum class KeyMode : std::uint8_t { kFile, kDerived };
enum class Backend : std::uint8_t { kDpdk, kSocket };
// Where the DPDK backend takes a request's receive timestamp T2 from
// (docs/dataplane.md, "T2"): kAuto = the mbuf RX timestamp dynfield mapped
// through the NIC clock (rte_eth_read_clock) where the port has both, else
// software; kSoftware = always the TSC read after rx_burst; kUnixUs/kUnixNs =
// the dynfield already counts us/ns since the UNIX epoch on the system
// clock's timescale (net_pcap's live capture: the kernel's receive time).
enum class RxTimestamps : std::uint8_t { kAuto, kSoftware, kUnixUs, kUnixNs };
// What a PHC counts (docs/operations.md, "Timescale and leap seconds"):
// PTP (ptp4l, ts2phc by default) keeps it on TAI; phc2sys -r or a UTC-mode
// ts2phc keeps it on UTC.
enum class PhcTimescale : std::uint8_t { kTai, kUtc };
// Where the DPDK backend sends frames for this host that are not its own
// work (TCP, ICMP beyond echo, ARP/ND for other addresses: docs/dataplane.md,
// "Exception path"): kNone = dropped; kTap / kVirtioUser = a kernel
// interface (net_tap, or virtio_user on /dev/vhost-net) that holds the same
// addresses; kIsolate = rte_flow isolate mode, the kernel driver keeps
// everything but UDP 123 to our addresses (mlx5's bifurcated driver).
enum class Exception : std::uint8_t { kNone, kTap, kVirtioUser, kIsolate };

struct ServerConfig {
  int stratum = 1;
  std::string refid = "GPS";
  int precision = -20;
  Leap leap = Leap::kAuto;
  std::string clock = "system";  // "system" | "phc:/dev/ptpN" | "dpdk"
  std::int64_t max_clock_offset_ms = 100;
  std::int64_t root_delay_us = 0;
  std::int64_t root_dispersion_us = 10;  // the base root dispersion
  // chrony's "local stratum N": 0 = off; else an unsynchronised system
  // clock is served at this stratum with refid LOCL.
  int local_stratum = 0;
  std::string leap_seconds_file = "/usr/share/zoneinfo/leap-seconds.list";  // "" = none
  PhcTimescale phc_timescale = PhcTimescale::kTai;
  // Leap 3 above this root dispersion (incl. the kernel's maxerror).
  std::int64_t max_root_dispersion_ms = 100;
  // Reference lock ("" = not tracked), its staleness bound, the holdover
  // after a lost lock, and how fast dispersion grows since the last lock.
  std::string lock_status_file;
  std::int64_t lock_max_age_s = 10;
  std::int64_t holdover_s = 3600;
  double dispersion_rate_ppm = 15;  // RFC 5905 §11.2 PHI
  // Interleaved mode (RFC 9769): answer clients that ask for it with the
  // actual TX time of their previous response. The table holds one entry
  // (32 bytes) per interleaved client per worker; a power of two.
  bool interleaved = true;
  std::int64_t interleaved_table_size = 65536;
};

struct KeConfig {
  std::vector<std::string> listen = {"0.0.0.0", "::"};
  int port = 4460;
  std::string cert;
  std::string key;
  int threads = 0;  // 0 = one per core
  int max_connections = 1024;
  int handshake_timeout_ms = 2000;
  // Connection-slot protection (docs/configuration.md [ke], issue 20).
  int first_byte_timeout_ms = 300;
  int max_connections_per_source = 32;  // 0 = no per-source bound
  // New connections per source over time, chrony's ntsratelimit
  // (docs/configuration.md): off by default; on a public server, on.
  bool ratelimit = false;
  int ratelimit_interval = 6;
  int ratelimit_burst = 8;
  int ratelimit_leak = 2;
  int source_ipv4_prefix = 32;
  int source_ipv6_prefix = 64;
  int max_request_bytes = 1024;
  std::string ntp_server;  // "" = send no NTPv4 Server record
  int ntp_port = 123;      // a Port record is sent only if != 123
  std::vector<std::uint16_t> aeads = {30, 15, 17};
  int cookies = 8;
  // NTS pool time source (docs/pool.md): tokens of the pools that may send
  // Support and Fixed Key requests ("" = none), and the connections they may
  // keep open with Keep Alive.
  std::string pool_tokens_file;
  int pool_keepalive_connections = 64;
  int pool_idle_timeout_ms = 60000;
};

// ntsd-pool, the NTS pool's NTS-KE front end ([pool], docs/pool.md). Its
// users' side is configured in [ke] like ntsd-ke's.
struct PoolConfig {
  std::string ca_file;           // CAs for the time sources' certificates; "" = system store
  int workers = 16;              // threads that talk to the time sources
  int queue = 1024;              // user requests waiting for a worker; beyond: Error 2
  int timeout_ms = 1500;         // one exchange with a time source, connect included
  int connections = 4;           // idle kept-alive connections kept per time source
  int idle_ms = 30000;           // an idle connection older than this is closed
  int support_refresh_s = 60;    // re-ask a healthy time source what it supports
  int retry_min_ms = 1000;       // first retry after a failure, doubling...
  int retry_max_ms = 60000;      // ...up to this
};

// One [[backend]]: a time source behind the pool.
struct BackendConfig {
  std::string name;        // TLS name, and the NTP server named when it sends none
  std::string address;     // where to connect ("" = name)
  int port = 4460;
  std::string token_file;  // our token for it (mode 0600)
  int weight = 1;
  bool ipv4 = true, ipv6 = true;  // `families`: which users it serves
  // NTPv4 Server names it answers with, if not `name` (Server Deny matches
  // these; the pool also learns them from its answers).
  std::vector<std::string> ntp_servers;
};

struct KeysConfig {
  std::string file = "/var/lib/ntsd/ntskeys";
  KeyFormat format = KeyFormat::kNtsd;
  std::int64_t rotation_interval_s = 14400;
  int previous = 6;
  // AEAD of the master keys; 0 = the default of the format (master_key_aead).
  std::uint16_t aead = 0;
  // mode = "derived" (docs/keys.md "Derived keys"); file, format,
  // rotation_interval_s and previous are then unused.
  KeyMode mode = KeyMode::kFile;
  std::string secret_file;         // required with mode = "derived"
  std::int64_t period_s = 86400;   // UTC periods of this length
  int past_periods = 2;            // a cookie opens >= past_periods * period_s
  int future_periods = 1;          // tolerated clock skew between hosts
};

// The master-key AEAD `keys` asks for: its `aead`, or by default the one that
// makes the smallest cookies every server sharing the keys can open
// (docs/keys.md): 30 (AES-128-GCM-SIV) for ntsd's own format, 15
// (AES-SIV-CMAC-256) for chrony's, which chrony 4.3 shares and which only
// opens AES-SIV cookies.
inline std::uint16_t master_key_aead(const KeysConfig& keys) {
  if (keys.aead != 0) return keys.aead;
  return keys.format == KeyFormat::kChrony ? 15 : 30;
}

struct DataplaneConfig {
  Backend backend = Backend::kDpdk;
  int workers = 1;
  int burst = 32;
  std::vector<std::string> eal_args;
  std::vector<std::string> ports;
  std::vector<std::string> addresses;
  std::vector<std::string> listen = {"0.0.0.0:123", "[::]:123"};
  int keys_poll_ms = 100;
  int rx_desc = 1024;
  int tx_desc = 1024;
  // Size of the DPDK mbuf pool; 0 = sized from the ports, queues and
  // descriptors (docs/configuration.md).
  int mbufs = 0;
  RxTimestamps rx_timestamps = RxTimestamps::kAuto;
  // A hardware T2 further than this before (or more than 100 us after) the
  // software T2 of its burst is on another timescale: discarded, counted,
  // replaced by the software T2.
  std::int64_t rx_timestamp_max_offset_us = 10000;
  Exception exception = Exception::kNone;
  // The kernel interface of the exception path (tap / virtio_user).
  std::string exception_iface = "ntsd0";
  // 802.1Q VLAN ID of the ports' traffic (0 = untagged).
  int vlan = 0;
};

// Per-client rate limiting in ntsd (docs/configuration.md [ratelimit]);
// chrony's `ratelimit` defaults, off by default as in chrony.
struct RateLimitConfig {
  bool enabled = false;
  int interval = 3;  // log2 s: one request per 2^interval s on average
  int burst = 8;
  int leak = 2;  // answer 1 in 2^leak over-limit requests; 0 = none
  int ipv4_prefix = 32;
  int ipv6_prefix = 64;
  std::int64_t table_size = 65536;  // entries per worker, a power of two
};

struct MetricsConfig {
  std::string listen = "127.0.0.1:9123";     // ntsd; "" = off
  std::string ke_listen = "127.0.0.1:9124";  // ntsd-ke; "" = off
  std::string pool_listen = "127.0.0.1:9125";  // ntsd-pool; "" = off
};

struct Config {
  ServerConfig server;
  KeConfig ke;
  KeysConfig keys;
  DataplaneConfig dataplane;
  MetricsConfig metrics;
  RateLimitConfig ratelimit;
  PoolConfig pool;
  std::vector<BackendConfig> backends;
};

// Parses configuration text. On failure returns nullopt and sets `error`,
// e.g. "line 4: [ke] port: must be between 1 and 65535 (got 70000)".
std::optional<Config> parse_config(std::string_view text, std::string& error);
// Reads and parses a file; errors are prefixed with the path.
std::optional<Config> load_config(const std::string& path, std::string& error);

const char* to_string(Leap v) noexcept;
const char* to_string(KeyFormat v) noexcept;
const char* to_string(KeyMode v) noexcept;
const char* to_string(Backend v) noexcept;
const char* to_string(RxTimestamps v) noexcept;
const char* to_string(PhcTimescale v) noexcept;
const char* to_string(Exception v) noexcept;

}  // namespace ntsd::config
