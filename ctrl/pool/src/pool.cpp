#include "ntsd/pool/pool.hpp"

#include <openssl/crypto.h>
#include <sys/socket.h>

#include <cstdio>
#include <random>

#include "ntsd/pool/relay.hpp"

namespace ntsd::pool {

const char* outcome_name(Outcome o) noexcept {
  switch (o) {
    case Outcome::kOk: return "ok";
    case Outcome::kNoBackend: return "no_backend";
    case Outcome::kBackendFailed: return "backend_failed";
    case Outcome::kOverloaded: return "overloaded";
    case Outcome::kBadRequest: return "bad_request";
    case Outcome::kUnknownCritical: return "unknown_critical";
    case Outcome::kNoProtocol: return "no_protocol";
    case Outcome::kNoAead: return "no_aead";
    case Outcome::kInternal: return "internal_error";
  }
  return "?";
}

// C2S || S2C exported from the user's session for one protocol and AEAD;
// wiped when the job ends.
struct Pool::Keys {
  std::uint16_t protocol = 0, aead = 0, key_length = 0;
  std::vector<std::uint8_t> bytes;  // 2 * key_length
  Keys() = default;
  Keys(Keys&&) = default;
  Keys& operator=(Keys&&) = default;
  ~Keys() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

struct Pool::Job {
  std::vector<Candidate> order;
  std::vector<Keys> keys;
  ke::Deferred reply;
  Clock::time_point start;
  bool deny_ignored = false;
  bool ipv6 = false;
  bool compliant_gcm_siv = false;  // the user sent record 1024
};

Pool::Pool(PoolOptions opt, Log log) : opt_(std::move(opt)), log_(std::move(log)) {
  snap_ = std::make_shared<const std::vector<BackendInfo>>();
}

Pool::~Pool() { stop(); }

bool Pool::start(std::string& error) {
  tls_ = std::make_unique<ke::KeConnector>(opt_.pool.ca_file);
  if (!tls_->ok()) {
    error = "[pool] ca_file: " + tls_->error();
    return false;
  }
  for (std::size_t i = 0; i < opt_.backends.size(); ++i)
    backends_.push_back(std::make_unique<Backend>(opt_.backends[i], opt_.tokens.at(i), opt_.pool, *tls_, log_,
                                                  [this] { refresh_snapshot(); }));
  refresh_snapshot();
  for (auto& b : backends_) threads_.emplace_back([this, p = b.get()] { p->run_health(stop_); });
  for (int i = 0; i < opt_.pool.workers; ++i) threads_.emplace_back([this] { worker(); });
  return true;
}

void Pool::stop() {
  if (stop_.exchange(true)) return;
  q_cv_.notify_all();
  for (auto& b : backends_) b->wake();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  std::lock_guard lock(q_mu_);
  queue_.clear();  // their users' connections close at their deadline
}

void Pool::refresh_snapshot() {
  auto s = std::make_shared<std::vector<BackendInfo>>();
  for (const auto& b : backends_) s->push_back(b->info());
  std::lock_guard lock(snap_mu_);
  snap_ = std::move(s);
}

std::shared_ptr<const std::vector<BackendInfo>> Pool::snapshot() const {
  std::lock_guard lock(snap_mu_);
  return snap_;
}

std::size_t Pool::healthy_count() const {
  std::size_t n = 0;
  for (const auto& b : backends_) n += b->healthy();
  return n;
}

void Pool::handle(ke::KeRequest& r) {
  auto p = ke::parse_pool_request(r.bytes(), r.bytes().size());
  if (p.kind == ke::PoolRequest::Kind::kError) {
    count(p.error == ke::ErrorCode::kUnrecognizedCritical ? Outcome::kUnknownCritical : Outcome::kBadRequest);
    return r.respond(ke::build_error(p.error));
  }
  if (p.kind != ke::PoolRequest::Kind::kKeyExchange) {
    // Support queries and Fixed Key Requests are for time sources; nts-pool
    // refuses them from users as invalid.
    count(Outcome::kBadRequest);
    return r.respond(ke::build_error(ke::ErrorCode::kBadRequest));
  }
  thread_local std::mt19937_64 rng{std::random_device{}()};
  auto snap = snapshot();
  UserRequest u{p.protocols, p.aeads, p.denied, r.client_family() == AF_INET6};
  Choice c = choose(u, *snap, rng);
  switch (c.kind) {
    case Choice::Kind::kNoBackend:
      count(Outcome::kNoBackend);
      if (opt_.verbose) log_("user: no healthy time source: Error 2");
      return r.respond(ke::build_error(ke::ErrorCode::kInternalServerError));
    case Choice::Kind::kNoProtocol:
      count(Outcome::kNoProtocol);
      return r.respond(ke::build_no_protocol_response());
    case Choice::Kind::kNoAead:
      count(Outcome::kNoAead);
      return r.respond(no_aead_response(c.protocol));
    case Choice::Kind::kCandidates:
      break;
  }
  auto job = std::make_unique<Job>();
  job->start = Clock::now();
  job->deny_ignored = c.deny_ignored;
  job->ipv6 = u.ipv6;
  job->compliant_gcm_siv = p.compliant_gcm_siv;
  // Export on this thread: the TLS session belongs to the event loop. One
  // export per distinct (protocol, AEAD) among the candidates, usually one.
  for (const auto& cand : c.order) {
    bool have = false;
    for (const auto& k : job->keys) have = have || (k.protocol == cand.protocol && k.aead == cand.aead);
    if (have) continue;
    Keys k;
    k.protocol = cand.protocol;
    k.aead = cand.aead;
    k.key_length = cand.key_length;
    k.bytes.resize(2u * cand.key_length);
    std::span<std::uint8_t> all(k.bytes);
    // AEAD 30 keys come from exporter id 30 only with record 1024, else from
    // chrony's legacy id 15 (ke::exporter_aead); the answer echoes 1024.
    const std::uint16_t xid = ke::exporter_aead(cand.aead, p.compliant_gcm_siv);
    if (!r.export_key(cand.protocol, xid, false, all.first(cand.key_length)) ||
        !r.export_key(cand.protocol, xid, true, all.subspan(cand.key_length))) {
      count(Outcome::kInternal);
      return r.respond(ke::build_error(ke::ErrorCode::kInternalServerError));
    }
    job->keys.push_back(std::move(k));
  }
  job->order = std::move(c.order);
  {
    std::lock_guard lock(q_mu_);
    if (queue_.size() >= static_cast<std::size_t>(opt_.pool.queue)) {
      count(Outcome::kOverloaded);
      return r.respond(ke::build_error(ke::ErrorCode::kInternalServerError));
    }
    job->reply = r.defer();
    queue_.push_back(std::move(job));
  }
  q_cv_.notify_one();
}

void Pool::worker() {
  for (;;) {
    std::unique_ptr<Job> job;
    {
      std::unique_lock lock(q_mu_);
      q_cv_.wait(lock, [&] { return stop_.load() || !queue_.empty(); });
      if (stop_.load()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    run(*job);
  }
}

void Pool::run(Job& job) {
  const auto deadline = job.start + std::chrono::milliseconds(opt_.pool.timeout_ms);
  if (job.deny_ignored) deny_ignored_++;
  bool first = true;
  for (const auto& cand : job.order) {
    Backend& b = *backends_[cand.backend];
    if (!b.healthy()) continue;  // went down since the choice: nothing sent to it
    if (!first) retried_++;
    first = false;
    const Keys* k = nullptr;
    for (const auto& x : job.keys)
      if (x.protocol == cand.protocol && x.aead == cand.aead) k = &x;
    ke::Bytes c2s(k->bytes.data(), k->key_length), s2c(k->bytes.data() + k->key_length, k->key_length);
    auto ex = b.fixed_key(cand.protocol, cand.aead, c2s, s2c, deadline);
    if (ex.ok) {
      auto relay = relay_response(ex.response, cand.protocol, cand.aead, b.config().name, job.compliant_gcm_siv);
      if (relay.ok) {
        b.counters().fixed_key_ok++;
        b.counters().cookies_dropped += relay.cookies_dropped;
        count(Outcome::kOk);
        if (opt_.verbose) {
          char line[160];
          std::snprintf(line, sizeof line, " (%s, AEAD %u, %zu cookies, %.1f ms)", job.ipv6 ? "IPv6" : "IPv4",
                        cand.aead, ex.response.cookies.size() - relay.cookies_dropped,
                        std::chrono::duration<double, std::milli>(Clock::now() - job.start).count());
          log_("user -> backend " + b.config().name + ": ok" + line);
        }
        return job.reply.complete(std::move(relay.out));
      }
      b.failed(Failure::kMalformed, "Fixed Key Request answer: " + relay.why);
    } else if (ex.keys_sent) {
      b.failed(ex.failure, ex.why);
    } else {
      // Nothing of the user's keys left us: the next time source may serve.
      b.failed(ex.failure, ex.why);
      continue;
    }
    // Pool draft, Security Considerations "Error handling": once the keys
    // went to one time source, the user gets an error, not a second try.
    count(Outcome::kBackendFailed);
    if (opt_.verbose) log_("user -> backend " + b.config().name + ": failed after the keys were sent: Error 2");
    return job.reply.complete(ke::build_error(ke::ErrorCode::kInternalServerError));
  }
  count(Outcome::kNoBackend);
  if (opt_.verbose) log_("user: every chosen time source failed before the keys were sent: Error 2");
  job.reply.complete(ke::build_error(ke::ErrorCode::kInternalServerError));
}

std::string Pool::render_metrics(const ke::ServerStats* server) const {
  std::string out;
  char line[512];
  auto add = [&](const char* fmt, auto... args) {
    std::snprintf(line, sizeof line, fmt, args...);
    out += line;
  };
  out += "# HELP ntsd_pool_backend_up 1 if the time source answered its last support query well.\n"
         "# TYPE ntsd_pool_backend_up gauge\n";
  for (const auto& b : backends_) add("ntsd_pool_backend_up{backend=\"%s\"} %d\n", b->config().name.c_str(), b->healthy() ? 1 : 0);
  out += "# HELP ntsd_pool_backend_requests_total Requests sent to a time source, by kind.\n"
         "# TYPE ntsd_pool_backend_requests_total counter\n";
  for (const auto& b : backends_) {
    const auto& c = b->counters();
    add("ntsd_pool_backend_requests_total{backend=\"%s\",kind=\"fixed_key\"} %llu\n", b->config().name.c_str(),
        (unsigned long long)c.fixed_key.load());
    add("ntsd_pool_backend_requests_total{backend=\"%s\",kind=\"support\"} %llu\n", b->config().name.c_str(),
        (unsigned long long)c.support.load());
  }
  out += "# HELP ntsd_pool_backend_ok_total Requests a time source answered well, by kind.\n"
         "# TYPE ntsd_pool_backend_ok_total counter\n";
  for (const auto& b : backends_) {
    const auto& c = b->counters();
    add("ntsd_pool_backend_ok_total{backend=\"%s\",kind=\"fixed_key\"} %llu\n", b->config().name.c_str(),
        (unsigned long long)c.fixed_key_ok.load());
    add("ntsd_pool_backend_ok_total{backend=\"%s\",kind=\"support\"} %llu\n", b->config().name.c_str(),
        (unsigned long long)c.support_ok.load());
  }
  out += "# HELP ntsd_pool_backend_errors_total Failed exchanges with a time source, by reason.\n"
         "# TYPE ntsd_pool_backend_errors_total counter\n";
  for (const auto& b : backends_)
    for (std::size_t f = 0; f < kFailureKinds; ++f)
      add("ntsd_pool_backend_errors_total{backend=\"%s\",reason=\"%s\"} %llu\n", b->config().name.c_str(),
          failure_name(static_cast<Failure>(f)), (unsigned long long)b->counters().errors[f].load());
  out += "# HELP ntsd_pool_backend_connects_total TLS connections opened to a time source.\n"
         "# TYPE ntsd_pool_backend_connects_total counter\n";
  for (const auto& b : backends_)
    add("ntsd_pool_backend_connects_total{backend=\"%s\"} %llu\n", b->config().name.c_str(),
        (unsigned long long)b->counters().connects.load());
  out += "# HELP ntsd_pool_backend_idle_connections Kept-alive connections waiting for the next user.\n"
         "# TYPE ntsd_pool_backend_idle_connections gauge\n";
  for (const auto& b : backends_)
    add("ntsd_pool_backend_idle_connections{backend=\"%s\"} %zu\n", b->config().name.c_str(), b->idle_connections());
  out += "# HELP ntsd_pool_backend_cookies_dropped_total Cookies left out to keep an answer within 4096 bytes.\n"
         "# TYPE ntsd_pool_backend_cookies_dropped_total counter\n";
  for (const auto& b : backends_)
    add("ntsd_pool_backend_cookies_dropped_total{backend=\"%s\"} %llu\n", b->config().name.c_str(),
        (unsigned long long)b->counters().cookies_dropped.load());
  out += "# HELP ntsd_pool_backend_latency_seconds Fixed Key Request exchanges with a time source.\n"
         "# TYPE ntsd_pool_backend_latency_seconds histogram\n";
  for (const auto& b : backends_)
    b->counters().latency.render(out, "ntsd_pool_backend_latency_seconds", "backend=\"" + b->config().name + "\"");
  out += "# HELP ntsd_pool_user_responses_total What users' NTS-KE requests ended with.\n"
         "# TYPE ntsd_pool_user_responses_total counter\n";
  for (std::size_t o = 0; o < kOutcomes; ++o)
    add("ntsd_pool_user_responses_total{outcome=\"%s\"} %llu\n", outcome_name(static_cast<Outcome>(o)),
        (unsigned long long)outcomes_[o].load());
  add("# HELP ntsd_pool_deny_ignored_total Users whose every usable time source was denied.\n"
      "# TYPE ntsd_pool_deny_ignored_total counter\nntsd_pool_deny_ignored_total %llu\n",
      (unsigned long long)deny_ignored_.load());
  add("# HELP ntsd_pool_retried_total Users moved to another time source before their keys were sent.\n"
      "# TYPE ntsd_pool_retried_total counter\nntsd_pool_retried_total %llu\n",
      (unsigned long long)retried_.load());
  if (server) {
    out += "# HELP ntsd_pool_ke_total The users' NTS-KE connections (shared KE server), by event.\n"
           "# TYPE ntsd_pool_ke_total counter\n";
    const std::pair<const char*, std::uint64_t> ev[] = {
        {"accepted", server->accepted.load()},         {"completed", server->completed.load()},
        {"refused_full", server->refused_full.load()}, {"tls_failed", server->tls_failed.load()},
        {"no_alpn", server->no_alpn.load()},           {"timed_out", server->timed_out.load()},
        {"errors_sent", server->errors_sent.load()}};
    for (const auto& [name, v] : ev) add("ntsd_pool_ke_total{event=\"%s\"} %llu\n", name, (unsigned long long)v);
  }
  return out;
}

}  // namespace ntsd::pool
