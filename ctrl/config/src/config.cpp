#include "ntsd/config/config.hpp"

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "ntsd/config/toml.hpp"

namespace ntsd::config {
namespace {

using Type = TomlValue::Type;

// Reads the keys of one table into typed fields. The first error wins; keys
// never read are reported as unknown by finish().
class Section {
 public:
  Section(const std::string& name, const TomlTable* table, std::string& error)
      : name_(name), table_(table), error_(error) {}

  bool ok() const { return error_.empty(); }

  template <typename Int>
  void integer(const char* key, Int& dst, std::int64_t lo, std::int64_t hi) {
    const TomlValue* v = get(key, Type::kInteger);
    if (!v) return;
    if (v->integer < lo || v->integer > hi)
      return fail(*v, key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                               " (got " + std::to_string(v->integer) + ")");
    dst = static_cast<Int>(v->integer);
  }

  // A float or an integer.
  void number(const char* key, double& dst, double lo, double hi) {
    if (!ok() || !table_) return;
    used_.insert(key);
    const TomlValue* v = find(key);
    if (!v) return;
    double x = 0;
    if (v->type == Type::kFloat) x = v->flt;
    else if (v->type == Type::kInteger) x = static_cast<double>(v->integer);
    else return fail(*v, key, std::string("must be a number, not a ") + TomlValue::type_name(v->type));
    if (!(x >= lo && x <= hi)) {
      char why[96];
      std::snprintf(why, sizeof why, "must be between %g and %g (got %g)", lo, hi, x);
      return fail(*v, key, why);
    }
    dst = x;
  }

  void boolean(const char* key, bool& dst) {
    if (const TomlValue* v = get(key, Type::kBool)) dst = v->boolean;
  }

  void string(const char* key, std::string& dst) {
    if (const TomlValue* v = get(key, Type::kString)) dst = v->str;
  }

  template <typename Enum>
  void choice(const char* key, Enum& dst, std::initializer_list<std::pair<const char*, Enum>> opts) {
    const TomlValue* v = get(key, Type::kString);
    if (!v) return;
    std::string names;
    for (const auto& [n, e] : opts) {
      if (v->str == n) {
        dst = e;
        return;
      }
      names += names.empty() ? "" : ", ";
      names += std::string("\"") + n + "\"";
    }
    fail(*v, key, "must be one of " + names + " (got \"" + v->str + "\")");
  }

  void strings(const char* key, std::vector<std::string>& dst) {
    const TomlValue* v = get(key, Type::kArray);
    if (!v) return;
    std::vector<std::string> out;
    for (const auto& e : v->array) {
      if (e.type != Type::kString) return fail(*v, key, "must be an array of strings");
      out.push_back(e.str);
    }
    dst = std::move(out);
  }

  void integers(const char* key, std::vector<std::uint16_t>& dst, std::int64_t lo, std::int64_t hi) {
    const TomlValue* v = get(key, Type::kArray);
    if (!v) return;
    std::vector<std::uint16_t> out;
    for (const auto& e : v->array) {
      if (e.type != Type::kInteger) return fail(*v, key, "must be an array of integers");
      if (e.integer < lo || e.integer > hi)
        return fail(*v, key, "element " + std::to_string(e.integer) + " is not between " +
                                 std::to_string(lo) + " and " + std::to_string(hi));
      out.push_back(static_cast<std::uint16_t>(e.integer));
    }
    dst = std::move(out);
  }

  // A check on an already-read value; `why` is empty if it holds.
  void check(const char* key, const std::string& why) {
    if (!ok() || why.empty()) return;
    const TomlValue* v = table_ ? find(key) : nullptr;
    TomlValue dummy;
    fail(v ? *v : dummy, key, why);
  }

  void finish() {
    if (!ok() || !table_) return;
    for (const auto& [k, v] : table_->values) {
      if (!used_.count(k)) return fail(v, k.c_str(), "unknown key");
    }
  }

 private:
  const TomlValue* find(const char* key) const {
    auto it = table_->values.find(key);
    return it == table_->values.end() ? nullptr : &it->second;
  }

  const TomlValue* get(const char* key, Type want) {
    if (!ok() || !table_) return nullptr;
    used_.insert(key);
    const TomlValue* v = find(key);
    if (!v) return nullptr;
    if (v->type != want) {
      fail(*v, key, std::string("must be a ") + TomlValue::type_name(want) + ", not a " +
                        TomlValue::type_name(v->type));
      return nullptr;
    }
    return v;
  }

  void fail(const TomlValue& v, const char* key, const std::string& why) {
    if (!ok()) return;
    error_ = (v.line ? "line " + std::to_string(v.line) + ": " : std::string()) + "[" + name_ + "] " +
             key + ": " + why;
  }

  std::string name_;
  const TomlTable* table_;
  std::string& error_;
  std::set<std::string> used_;
};

std::string check_refid(const std::string& r) {
  if (r.empty() || r.size() > 4) return "must be 1 to 4 characters (got \"" + r + "\")";
  for (char c : r)
    if (c < 0x20 || c > 0x7e) return "must be printable ASCII";
  return "";
}

std::string check_clock(const std::string& c) {
  if (c == "system" || c == "dpdk") return "";
  if (c.starts_with("phc:/") && c.size() > 5) return "";
  // Test only (docs/operations.md, "Test seams"): a simulated PHC.
  if (c == "sim:tai" || c == "sim:utc") return "";
  return "must be \"system\", \"dpdk\" or \"phc:/dev/ptpN\" (got \"" + c + "\")";
}

std::string check_aeads(const std::vector<std::uint16_t>& a) {
  if (a.empty()) return "must list at least one AEAD";
  for (auto id : a)
    if (id != 15 && id != 17 && id != 30)
      return "unsupported AEAD " + std::to_string(id) + " (supported: 15, 17, 30)";
  return "";
}

void read_server(Section& s, ServerConfig& c) {
  s.integer("stratum", c.stratum, 1, 15);
  s.string("refid", c.refid);
  s.check("refid", check_refid(c.refid));
  s.integer("precision", c.precision, -32, 0);
  s.choice("leap", c.leap, {{"auto", Leap::kAuto}, {"none", Leap::kNone}, {"insert", Leap::kInsert},
                            {"delete", Leap::kDelete}});
  s.string("clock", c.clock);
  s.check("clock", check_clock(c.clock));
  s.integer("max_clock_offset_ms", c.max_clock_offset_ms, 0, 86400000);
  s.integer("root_delay_us", c.root_delay_us, 0, 16000000);
  s.integer("root_dispersion_us", c.root_dispersion_us, 0, 16000000);
  s.integer("local_stratum", c.local_stratum, 0, 15);
  s.string("leap_seconds_file", c.leap_seconds_file);
  s.choice("phc_timescale", c.phc_timescale, {{"tai", PhcTimescale::kTai}, {"utc", PhcTimescale::kUtc}});
  s.integer("max_root_dispersion_ms", c.max_root_dispersion_ms, 1, 16000);
  s.string("lock_status_file", c.lock_status_file);
  s.integer("lock_max_age_s", c.lock_max_age_s, 1, 86400);
  s.integer("holdover_s", c.holdover_s, 0, 30LL * 86400);
  s.number("dispersion_rate_ppm", c.dispersion_rate_ppm, 0, 500);
  s.boolean("interleaved", c.interleaved);
  // 32 bytes per entry (dataplane/xleave): 2^24 entries is 512 MiB per worker.
  s.integer("interleaved_table_size", c.interleaved_table_size, 4, std::int64_t{1} << 24);
  s.check("interleaved_table_size", (c.interleaved_table_size & (c.interleaved_table_size - 1)) != 0
                                        ? "must be a power of two (got " + std::to_string(c.interleaved_table_size) + ")"
                                        : "");
  s.check("root_dispersion_us", c.root_dispersion_us >= c.max_root_dispersion_ms * 1000
                                    ? "must be below max_root_dispersion_ms"
                                    : "");
}

void read_ke(Section& s, KeConfig& c) {
  s.strings("listen", c.listen);
  s.integer("port", c.port, 1, 65535);
  s.string("cert", c.cert);
  s.string("key", c.key);
  s.integer("threads", c.threads, 0, 1024);
  s.integer("max_connections", c.max_connections, 1, 1000000);
  s.integer("handshake_timeout_ms", c.handshake_timeout_ms, 10, 600000);
  s.integer("first_byte_timeout_ms", c.first_byte_timeout_ms, 10, 600000);
  s.check("first_byte_timeout_ms", c.first_byte_timeout_ms > c.handshake_timeout_ms
                                       ? "must not exceed handshake_timeout_ms"
                                       : "");
  s.integer("max_connections_per_source", c.max_connections_per_source, 0, 1000000);
  s.integer("source_ipv4_prefix", c.source_ipv4_prefix, 8, 32);
  s.integer("source_ipv6_prefix", c.source_ipv6_prefix, 16, 128);
  s.boolean("ratelimit", c.ratelimit);
  s.integer("ratelimit_interval", c.ratelimit_interval, -10, 12);  // as [ratelimit] interval
  s.integer("ratelimit_burst", c.ratelimit_burst, 1, 256);
  s.integer("ratelimit_leak", c.ratelimit_leak, 0, 8);
  // A request must fit Next Protocol + AEAD + End of Message (16 bytes) and
  // chrony's own bound on a message is 16 KiB.
  s.integer("max_request_bytes", c.max_request_bytes, 16, 65536);
  s.string("ntp_server", c.ntp_server);
  s.check("ntp_server", c.ntp_server.size() > 255 ? "must be at most 255 bytes" : "");
  s.integer("ntp_port", c.ntp_port, 1, 65535);
  s.integers("aeads", c.aeads, 0, 65535);
  s.check("aeads", check_aeads(c.aeads));
  // RFC 8915 §4: the server SHOULD send 8 cookies; a response must fit 64 KiB.
  s.integer("cookies", c.cookies, 1, 64);
  s.string("pool_tokens_file", c.pool_tokens_file);
  s.integer("pool_keepalive_connections", c.pool_keepalive_connections, 0, 1000000);
  s.integer("pool_idle_timeout_ms", c.pool_idle_timeout_ms, 100, 3600000);
}

void read_pool(Section& s, PoolConfig& c) {
  s.string("ca_file", c.ca_file);
  s.integer("workers", c.workers, 1, 1024);
  s.integer("queue", c.queue, 1, 1000000);
  s.integer("timeout_ms", c.timeout_ms, 10, 600000);
  s.integer("connections", c.connections, 0, 1024);
  s.integer("idle_ms", c.idle_ms, 100, 3600000);
  s.integer("support_refresh_s", c.support_refresh_s, 1, 86400);
  s.integer("retry_min_ms", c.retry_min_ms, 10, 3600000);
  s.integer("retry_max_ms", c.retry_max_ms, 10, 86400000);
  s.check("retry_max_ms", c.retry_max_ms < c.retry_min_ms ? "must not be below retry_min_ms" : "");
}

std::string check_host_name(const std::string& n) {
  if (n.empty()) return "is required";
  if (n.size() > 255) return "must be at most 255 characters";
  for (char ch : n)
    if (ch <= 0x20 || ch > 0x7e || ch == '"' || ch == '\\')
      return "must be printable ASCII without spaces, quotes or backslashes";
  return "";
}

void read_backend(Section& s, BackendConfig& c) {
  s.string("name", c.name);
  s.check("name", check_host_name(c.name));
  s.string("address", c.address);
  s.check("address", c.address.empty() ? "" : check_host_name(c.address));
  s.integer("port", c.port, 1, 65535);
  s.string("token_file", c.token_file);
  s.check("token_file", c.token_file.empty() ? "is required" : "");
  s.integer("weight", c.weight, 1, 1000);
  s.strings("ntp_servers", c.ntp_servers);
  for (const auto& n : c.ntp_servers) s.check("ntp_servers", check_host_name(n));
  std::vector<std::string> fam;
  s.strings("families", fam);
  if (!fam.empty()) c.ipv4 = c.ipv6 = false;
  for (const auto& f : fam) {
    if (f == "ipv4") c.ipv4 = true;
    else if (f == "ipv6") c.ipv6 = true;
    else s.check("families", "must list \"ipv4\" and/or \"ipv6\" (got \"" + f + "\")");
  }
}

void read_keys(Section& s, KeysConfig& c) {
  s.string("file", c.file);
  s.check("file", c.file.empty() ? "must not be empty" : "");
  s.choice("format", c.format, {{"ntsd", KeyFormat::kNtsd}, {"chrony", KeyFormat::kChrony}});
  s.integer("rotation_interval_s", c.rotation_interval_s, 1, 365LL * 86400);
  s.integer("previous", c.previous, 1, 6);  // crypto::KeyRing::kMaxPrevious
  s.integer("aead", c.aead, 0, 65535);
  s.check("aead", c.aead == 0 || c.aead == 15 || c.aead == 17 || c.aead == 30
                      ? ""
                      : "must be 15, 17 or 30");
  // chrony's file holds exactly current, future and two previous keys.
  s.check("previous", c.format == KeyFormat::kChrony && c.previous != 2
                          ? "must be 2 with format = \"chrony\" (its file holds 4 keys)"
                          : "");
  // chrony seals cookies with AES-SIV-CMAC-256 or (>= 4.4) AES-128-GCM-SIV keys.
  s.check("aead", c.format == KeyFormat::kChrony && c.aead == 17
                      ? "must be 15 or 30 with format = \"chrony\""
                      : "");
  // Derived keys (docs/keys.md): the secret file itself (mode 0600, >= 32
  // bytes) is checked by the daemons at start and by --check-config.
  s.choice("mode", c.mode, {{"file", KeyMode::kFile}, {"derived", KeyMode::kDerived}});
  s.string("secret_file", c.secret_file);
  s.check("secret_file", c.mode == KeyMode::kDerived && c.secret_file.empty()
                             ? "is required with mode = \"derived\""
                             : "");
  s.integer("period_s", c.period_s, 60, 365LL * 86400);
  s.integer("past_periods", c.past_periods, 1, 6);
  s.integer("future_periods", c.future_periods, 0, 2);
  // crypto::KeyRing holds 8 keys: the current one and 7 others.
  s.check("future_periods", c.past_periods + c.future_periods > 7 ? "past_periods + future_periods must be at most 7" : "");
}

void read_dataplane(Section& s, DataplaneConfig& c) {
  s.choice("backend", c.backend, {{"dpdk", Backend::kDpdk}, {"socket", Backend::kSocket}});
  s.integer("workers", c.workers, 1, 128);
  s.integer("burst", c.burst, 1, 512);
  s.strings("eal_args", c.eal_args);
  s.strings("ports", c.ports);
  s.strings("addresses", c.addresses);
  s.strings("listen", c.listen);
  s.integer("keys_poll_ms", c.keys_poll_ms, 1, 60000);
  s.integer("rx_desc", c.rx_desc, 64, 65536);
  s.integer("tx_desc", c.tx_desc, 64, 65536);
  s.integer("mbufs", c.mbufs, 0, 4194304);
  s.choice("rx_timestamps", c.rx_timestamps,
           {{"auto", RxTimestamps::kAuto}, {"software", RxTimestamps::kSoftware},
            {"unix-us", RxTimestamps::kUnixUs}, {"unix-ns", RxTimestamps::kUnixNs}});
  s.integer("rx_timestamp_max_offset_us", c.rx_timestamp_max_offset_us, 1, 10'000'000);
  s.choice("exception", c.exception,
           {{"none", Exception::kNone}, {"tap", Exception::kTap}, {"virtio_user", Exception::kVirtioUser},
            {"isolate", Exception::kIsolate}});
  s.string("exception_iface", c.exception_iface);
  // IFNAMSIZ is 16 with the terminating NUL.
  s.check("exception_iface", c.exception_iface.empty() || c.exception_iface.size() > 15 ||
                                     c.exception_iface.find_first_of(" /,=:") != std::string::npos
                                 ? "must be an interface name of 1 to 15 characters without spaces, '/', ',', '=' or ':'"
                                 : "");
  s.integer("vlan", c.vlan, 0, 4094);  // IEEE 802.1Q: 0 = untagged, 4095 reserved
}

void read_metrics(Section& s, MetricsConfig& c) {
  s.string("listen", c.listen);
  s.string("ke_listen", c.ke_listen);
  s.string("pool_listen", c.pool_listen);
}

void read_ratelimit(Section& s, RateLimitConfig& c) {
  s.boolean("enabled", c.enabled);
  // chrony allows interval -19..12; below 2^-10 s per request a limit per
  // client means little, and 2^12 s is chrony's bound too.
  s.integer("interval", c.interval, -10, 12);
  s.integer("burst", c.burst, 1, 256);
  s.integer("leak", c.leak, 0, 8);
  s.integer("ipv4_prefix", c.ipv4_prefix, 1, 32);
  s.integer("ipv6_prefix", c.ipv6_prefix, 1, 128);
  // 16 bytes per entry: 2^24 entries is 256 MiB per worker, plenty.
  s.integer("table_size", c.table_size, 4, std::int64_t{1} << 24);
  s.check("table_size", (c.table_size & (c.table_size - 1)) != 0
                            ? "must be a power of two (got " + std::to_string(c.table_size) + ")"
                            : "");
}

// [[backend]] tables (ntsd-pool): each read like a table, names unique.
bool read_backends(const TomlDocument& doc, std::vector<BackendConfig>& out, std::string& error) {
  auto it = doc.find("backend");
  if (it == doc.end()) return true;
  for (std::size_t i = 0; i < it->second.array.size(); ++i) {
    const TomlTable& t = it->second.array[i];
    BackendConfig b;
    Section s("backend #" + std::to_string(i + 1), &t, error);
    read_backend(s, b);
    s.finish();
    if (!error.empty()) return false;
    for (const auto& other : out)
      if (other.name == b.name) {
        error = "line " + std::to_string(t.line) + ": [[backend]] name \"" + b.name + "\" appears twice";
        return false;
      }
    out.push_back(std::move(b));
  }
  return true;
}

}  // namespace

std::optional<Config> parse_config(std::string_view text, std::string& error) {
  error.clear();
  auto doc = parse_toml(text, error);
  if (!doc) return std::nullopt;
  Config cfg;
  auto run = [&](const std::string& name, auto reader, auto& dst) {
    auto it = doc->find(name);
    Section s(name, it == doc->end() ? nullptr : &it->second, error);
    reader(s, dst);
    s.finish();
  };
  run("server", read_server, cfg.server);
  run("ke", read_ke, cfg.ke);
  run("keys", read_keys, cfg.keys);
  run("dataplane", read_dataplane, cfg.dataplane);
  run("metrics", read_metrics, cfg.metrics);
  run("ratelimit", read_ratelimit, cfg.ratelimit);
  run("pool", read_pool, cfg.pool);
  if (!error.empty()) return std::nullopt;
  for (const auto& [name, table] : *doc) {
    if (name != "server" && name != "ke" && name != "keys" && name != "dataplane" && name != "metrics" &&
        name != "ratelimit" && name != "pool" && name != "backend") {
      error = "line " + std::to_string(table.line) + ": [" + name + "]: unknown table";
      return std::nullopt;
    }
    if (table.is_array != (name == "backend")) {
      error = "line " + std::to_string(table.line) + ": " +
              (table.is_array ? "[[" + name + "]]: must be a single [" + name + "] table"
                              : "[" + name + "]: write each time source as [[" + name + "]]");
      return std::nullopt;
    }
  }
  if (!read_backends(*doc, cfg.backends, error)) return std::nullopt;
  return cfg;
}

std::optional<Config> load_config(const std::string& path, std::string& error) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    error = path + ": cannot open";
    return std::nullopt;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  auto cfg = parse_config(ss.str(), error);
  if (!cfg) error = path + ": " + error;
  return cfg;
}

const char* to_string(Leap v) noexcept {
  switch (v) {
    case Leap::kAuto: return "auto";
    case Leap::kNone: return "none";
    case Leap::kInsert: return "insert";
    case Leap::kDelete: return "delete";
  }
  return "?";
}

const char* to_string(PhcTimescale v) noexcept { return v == PhcTimescale::kUtc ? "utc" : "tai"; }

const char* to_string(KeyFormat v) noexcept { return v == KeyFormat::kChrony ? "chrony" : "ntsd"; }
const char* to_string(KeyMode v) noexcept { return v == KeyMode::kDerived ? "derived" : "file"; }
const char* to_string(Backend v) noexcept { return v == Backend::kSocket ? "socket" : "dpdk"; }

const char* to_string(RxTimestamps v) noexcept {
  switch (v) {
    case RxTimestamps::kAuto: return "auto";
    case RxTimestamps::kSoftware: return "software";
    case RxTimestamps::kUnixUs: return "unix-us";
    case RxTimestamps::kUnixNs: return "unix-ns";
  }
  return "?";
}

const char* to_string(Exception v) noexcept {
  switch (v) {
    case Exception::kNone: return "none";
    case Exception::kTap: return "tap";
    case Exception::kVirtioUser: return "virtio_user";
    case Exception::kIsolate: return "isolate";
  }
  return "?";
}

}  // namespace ntsd::config
