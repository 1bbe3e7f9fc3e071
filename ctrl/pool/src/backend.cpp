#include "ntsd/pool/backend.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstdio>

#include "ntsd/pool/relay.hpp"

namespace ntsd::pool {
namespace {

Failure failure_of(ke::KeError e) {
  switch (e) {
    case ke::KeError::kCertificate: return Failure::kCertificate;
    case ke::KeError::kTls:
    case ke::KeError::kNoAlpn: return Failure::kTls;
    case ke::KeError::kTimeout: return Failure::kTimeout;
    case ke::KeError::kClosed: return Failure::kClosed;
    case ke::KeError::kMalformed: return Failure::kMalformed;
    default: return Failure::kConnect;
  }
}

// An Error record from a time source: 0 and 1 mean it refused what we sent
// (for a pool, most likely our token), anything else is its own failure.
Failure failure_of_error(std::uint16_t code) { return code <= 1 ? Failure::kRefused : Failure::kServerError; }

// Server names remembered per time source for Server Deny (a source that
// names many servers is bounded here).
constexpr std::size_t kMaxLearnedServers = 16;

std::string error_text(std::uint16_t code) {
  std::string s = "Error " + std::to_string(code) + " (" + ke::error_name(code) + ")";
  if (code == 1) s += ": a wrong or missing token, or a request it does not take";
  return s;
}

}  // namespace

const char* failure_name(Failure f) noexcept {
  switch (f) {
    case Failure::kConnect: return "connect";
    case Failure::kTls: return "tls";
    case Failure::kCertificate: return "certificate";
    case Failure::kTimeout: return "timeout";
    case Failure::kClosed: return "closed";
    case Failure::kRefused: return "refused";
    case Failure::kServerError: return "server_error";
    case Failure::kMalformed: return "malformed";
    case Failure::kTooLong: return "too_long";
  }
  return "?";
}

void LatencyHistogram::observe(double seconds) noexcept {
  std::size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<std::uint64_t>(seconds * 1e9), std::memory_order_relaxed);
}

void LatencyHistogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  std::uint64_t cum = 0;
  char line[256];
  for (std::size_t i = 0; i <= kBounds.size(); ++i) {
    cum += buckets_[i].load(std::memory_order_relaxed);
    if (i < kBounds.size())
      std::snprintf(line, sizeof line, "%s_bucket{%s,le=\"%g\"} %llu\n", name.c_str(), labels.c_str(), kBounds[i],
                    static_cast<unsigned long long>(cum));
    else
      std::snprintf(line, sizeof line, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name.c_str(), labels.c_str(),
                    static_cast<unsigned long long>(cum));
    out += line;
  }
  std::snprintf(line, sizeof line, "%s_sum{%s} %.9f\n%s_count{%s} %llu\n", name.c_str(), labels.c_str(),
                static_cast<double>(sum_ns_.load()) / 1e9, name.c_str(), labels.c_str(),
                static_cast<unsigned long long>(count_.load()));
  out += line;
}

Backend::Backend(config::BackendConfig cfg, std::string token, const config::PoolConfig& pool,
                 const ke::KeConnector& tls, Log log, std::function<void()> changed)
    : cfg_(std::move(cfg)), token_(std::move(token)), pool_(pool), tls_(tls), log_(std::move(log)),
      changed_(std::move(changed)), servers_(cfg_.ntp_servers), next_check_(Clock::now()) {}

Backend::~Backend() {
  std::lock_guard lock(mu_);
  for (auto& i : idle_) i.stream->close();
}

BackendInfo Backend::info() const {
  std::lock_guard lock(mu_);
  BackendInfo b;
  b.name = cfg_.name;
  b.weight = cfg_.weight;
  b.healthy = healthy_;
  b.ipv4 = cfg_.ipv4;
  b.ipv6 = cfg_.ipv6;
  b.protocols = protocols_;
  b.algorithms = algorithms_;
  b.servers = servers_;
  return b;
}

bool Backend::healthy() const {
  std::lock_guard lock(mu_);
  return healthy_;
}

std::size_t Backend::idle_connections() const {
  std::lock_guard lock(mu_);
  return idle_.size();
}

void Backend::wake() { cv_.notify_all(); }

void Backend::run_health(const std::atomic<bool>& stop) {
  while (!stop.load()) {
    {
      std::unique_lock lock(mu_);
      // Wake at least once a second to close idle connections in time.
      auto until = std::min(next_check_, Clock::now() + std::chrono::seconds(1));
      cv_.wait_until(lock, until, [&] { return stop.load() || Clock::now() >= next_check_; });
    }
    if (stop.load()) break;
    prune();
    bool due;
    {
      std::lock_guard lock(mu_);
      due = Clock::now() >= next_check_;
    }
    if (due) check();
  }
}

void Backend::check() {
  counters_.support++;
  auto deadline = Clock::now() + std::chrono::milliseconds(pool_.timeout_ms);
  auto rt = roundtrip(ke::build_support_request(token_, true, true, true), deadline);
  if (!rt.ok) return failed(rt.failure, "support query: " + rt.why);
  auto s = ke::parse_support_response(rt.answer, kMaxMessage);
  if (s.status == ke::SupportResponse::Status::kErrorRecord) {
    rt.stream->close();
    return failed(failure_of_error(s.error), "support query answered with " + error_text(s.error));
  }
  if (s.status != ke::SupportResponse::Status::kOk || !s.has_protocols || !s.has_algorithms) {
    rt.stream->close();
    return failed(Failure::kMalformed,
                  "support query: " + (s.why.empty() ? std::string("both lists are required") : s.why));
  }
  counters_.support_ok++;
  up(std::move(s.protocols), std::move(s.algorithms));
  checkin(std::move(rt.stream), s.keep_alive);
}

void Backend::up(std::vector<std::uint16_t> protocols, std::vector<ke::AlgorithmDescription> algorithms) {
  bool was;
  std::string what;
  {
    std::lock_guard lock(mu_);
    was = healthy_;
    bool changed_support = protocols != protocols_ || algorithms != algorithms_;
    healthy_ = true;
    ever_checked_ = true;
    failures_ = 0;
    protocols_ = std::move(protocols);
    algorithms_ = std::move(algorithms);
    next_check_ = Clock::now() + std::chrono::seconds(pool_.support_refresh_s);
    if (!was || changed_support) {
      for (const auto& a : algorithms_) what += " " + std::to_string(a.id) + "/" + std::to_string(a.key_length);
      what = "AEAD/key length" + what + ", protocols";
      for (auto p : protocols_) what += " " + std::to_string(p);
    }
    if (was && !changed_support) what.clear();
  }
  if (!what.empty()) log_("backend " + cfg_.name + " up: " + what);
  if (!was || !what.empty()) changed_();
}

void Backend::learn_server(const std::string& name) {
  {
    std::lock_guard lock(mu_);
    if (std::find(servers_.begin(), servers_.end(), name) != servers_.end()) return;
    if (servers_.size() >= kMaxLearnedServers) return;
    servers_.push_back(name);
  }
  changed_();
}

void Backend::failed(Failure f, const std::string& why) {
  counters_.errors[static_cast<std::size_t>(f)]++;
  bool was;
  long long retry_ms;
  std::vector<Idle> drop;
  {
    std::lock_guard lock(mu_);
    was = healthy_ || !ever_checked_;
    healthy_ = false;
    ever_checked_ = true;
    ++failures_;
    // Exponential backoff: retry_min_ms, doubling, capped at retry_max_ms.
    long long ms = pool_.retry_min_ms;
    for (int i = 1; i < failures_ && ms < pool_.retry_max_ms; ++i) ms *= 2;
    retry_ms = std::min<long long>(ms, pool_.retry_max_ms);
    next_check_ = Clock::now() + std::chrono::milliseconds(retry_ms);
    drop.swap(idle_);  // its connections are suspect now
  }
  for (auto& i : drop) i.stream->close();
  log_("backend " + cfg_.name + (was ? " down" : " still down") + " (" + failure_name(f) + "): " + why +
       "; retry in " + std::to_string(retry_ms) + " ms");
  if (was) changed_();
  cv_.notify_all();
}

std::unique_ptr<ke::KeStream> Backend::checkout(bool& reused) {
  std::lock_guard lock(mu_);
  auto now = Clock::now();
  while (!idle_.empty()) {
    Idle i = std::move(idle_.back());
    idle_.pop_back();
    // A connection the time source closed or that idled too long is not
    // used: a request on it could fail after the user's keys were sent.
    if (now - i.since < std::chrono::milliseconds(pool_.idle_ms) && !i.stream->unusable()) {
      reused = true;
      return std::move(i.stream);
    }
    i.stream->close();
  }
  reused = false;
  return nullptr;
}

std::unique_ptr<ke::KeStream> Backend::dial(Clock::time_point deadline, Failure& f, std::string& why) {
  ke::ClientOptions o;
  o.host = cfg_.address.empty() ? cfg_.name : cfg_.address;
  o.port = static_cast<std::uint16_t>(cfg_.port);
  o.tls_name = cfg_.name;
  ke::KeResult err;
  counters_.connects++;
  auto s = tls_.connect(o, deadline, err);
  if (!s) {
    f = failure_of(err.error);
    why = err.message;
  }
  return s;
}

void Backend::checkin(std::unique_ptr<ke::KeStream> s, bool keep) {
  if (!s) return;
  {
    std::lock_guard lock(mu_);
    if (keep && healthy_ && idle_.size() < static_cast<std::size_t>(pool_.connections)) {
      idle_.push_back({std::move(s), Clock::now()});
      return;
    }
  }
  s->close();
}

void Backend::prune() {
  std::vector<Idle> old;
  {
    std::lock_guard lock(mu_);
    auto now = Clock::now();
    for (auto it = idle_.begin(); it != idle_.end();) {
      if (now - it->since >= std::chrono::milliseconds(pool_.idle_ms) || it->stream->unusable()) {
        old.push_back(std::move(*it));
        it = idle_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& i : old) i.stream->close();
}

Backend::Roundtrip Backend::roundtrip(std::span<const std::uint8_t> msg, Clock::time_point deadline) {
  Roundtrip rt;
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = false;
    rt.stream = checkout(reused);
    if (!rt.stream) rt.stream = dial(deadline, rt.failure, rt.why);
    if (!rt.stream) return rt;  // nothing sent
    bool any = false;
    if (!rt.stream->send(msg, deadline, rt.why, any)) {
      rt.stream->close();
      rt.stream.reset();
      rt.failure = Clock::now() >= deadline ? Failure::kTimeout : Failure::kClosed;
      rt.sent = any;
      // A kept-alive connection that turned out dead before taking a byte:
      // nothing reached the time source, so one fresh connection may try.
      if (!any && reused) continue;
      return rt;
    }
    rt.sent = true;
    switch (rt.stream->read_message(rt.answer, kMaxMessage, deadline)) {
      case ke::KeStream::Read::kOk:
        rt.ok = true;
        return rt;
      case ke::KeStream::Read::kTimeout:
        rt.failure = Failure::kTimeout;
        rt.why = "no answer in time";
        break;
      case ke::KeStream::Read::kTooLong:
        rt.failure = Failure::kTooLong;
        rt.why = "answer over " + std::to_string(kMaxMessage) + " bytes";
        break;
      default: {
        // An Error record followed by close without End of Message is still
        // worth naming.
        auto r = ke::parse_response_records(rt.answer, kMaxMessage);
        if (r.status == ke::Response::Status::kErrorRecord) {
          rt.failure = failure_of_error(r.error);
          rt.why = "answered with " + error_text(r.error);
        } else {
          rt.failure = Failure::kClosed;
          rt.why = "connection closed before End of Message";
        }
      }
    }
    rt.stream->close();
    rt.stream.reset();
    return rt;
  }
  return rt;
}

Backend::Exchange Backend::fixed_key(std::uint16_t protocol, std::uint16_t aead, ke::Bytes c2s, ke::Bytes s2c,
                                     Clock::time_point deadline) {
  Exchange ex;
  counters_.fixed_key++;
  auto t0 = Clock::now();
  auto msg = ke::build_fixed_key_request(token_, c2s, s2c, protocol, aead, true);
  auto rt = roundtrip(msg, deadline);
  OPENSSL_cleanse(msg.data(), msg.size());
  ex.keys_sent = rt.sent;
  if (!rt.ok) {
    ex.failure = rt.failure;
    ex.why = rt.why;
    return ex;
  }
  ex.response = ke::parse_response_records(rt.answer, kMaxMessage);
  if (ex.response.status == ke::Response::Status::kErrorRecord) {
    rt.stream->close();
    ex.failure = failure_of_error(ex.response.error);
    ex.why = "Fixed Key Request answered with " + error_text(ex.response.error);
    return ex;
  }
  if (ex.response.status != ke::Response::Status::kOk) {
    rt.stream->close();
    ex.failure = Failure::kMalformed;
    ex.why = "Fixed Key Request answer: " + ex.response.why;
    return ex;
  }
  checkin(std::move(rt.stream), ex.response.keep_alive);
  if (!ex.response.server.empty() && ex.response.server != cfg_.name) learn_server(ex.response.server);
  counters_.latency.observe(std::chrono::duration<double>(Clock::now() - t0).count());
  ex.ok = true;
  return ex;
}

}  // namespace ntsd::pool
