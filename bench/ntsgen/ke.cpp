// Parallel NTS-KE on ctrl's client (ntsd::ke::run_ke): `parallel` threads each
// run handshakes until `sessions` are done. This is setup, not the load, so a
// mutex around the result list is fine.
#include "ke.hpp"

#include <atomic>
#include <mutex>
#include <thread>

#include "ntsd/ke/client.hpp"

namespace ntsgen {

bool establish_sessions(const KeOptions& opts, std::vector<Session>& out, std::string& err) {
  ntsd::ke::ClientOptions co;
  co.host = opts.host;
  co.port = opts.port;
  co.ca_file = opts.ca;
  co.timeout_ms = static_cast<int>(opts.timeout_s * 1000);
  co.aeads = opts.aeads;
  std::atomic<unsigned> next{0}, failed{0};
  std::mutex mu;
  std::string first_err;
  auto worker = [&] {
    while (next.fetch_add(1) < opts.sessions) {
      ntsd::ke::KeResult r = ntsd::ke::run_ke(co);
      std::lock_guard lock(mu);
      if (r.error != ntsd::ke::KeError::kOk || r.cookies.empty()) {
        ++failed;
        if (first_err.empty())
          first_err = std::string("NTS-KE with ") + opts.host + ": " + ntsd::ke::ke_error_name(r.error) +
                      (r.message.empty() ? "" : " (" + r.message + ")");
        continue;
      }
      Session s;
      s.c2s = r.c2s;
      s.s2c = r.s2c;
      for (const auto& c : r.cookies) s.jar.put(c);
      s.server = r.ntp_server;
      s.port = r.ntp_port;
      out.push_back(std::move(s));
    }
  };
  std::vector<std::thread> threads;
  const unsigned n = std::max(1u, std::min(opts.parallel, opts.sessions));
  for (unsigned i = 0; i < n; ++i) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  if (failed) {
    err = first_err + " [" + std::to_string(failed.load()) + " of " + std::to_string(opts.sessions) +
          " handshakes failed]";
    return false;
  }
  return true;
}

}  // namespace ntsgen
