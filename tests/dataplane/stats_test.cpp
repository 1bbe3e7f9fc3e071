// Counters and the Prometheus rendering: T3 - T2 histogram buckets, labels,
// and HELP/TYPE for every metric that has samples.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>
#include <cstring>

#include "ntsd/runtime/stats.hpp"

using namespace ntsd;

namespace {

std::vector<std::uint8_t> response_with_t3(proto::NtpTime t3) {
  std::vector<std::uint8_t> r(48, 0);
  for (int i = 0; i < 8; ++i) r[40 + i] = static_cast<std::uint8_t>(t3 >> (56 - 8 * i));
  return r;
}

constexpr proto::NtpTime kT2 = 0xE000000000000000ull;
proto::NtpTime plus_ns(proto::NtpTime t, std::uint64_t ns) { return t + ((ns << 32) / 1'000'000'000); }

}  // namespace

TEST(Stats, ProcessingHistogramBuckets) {
  runtime::WorkerStats w;
  w.record_processing(kT2, response_with_t3(plus_ns(kT2, 50)));       // bucket 0
  w.record_processing(kT2, response_with_t3(plus_ns(kT2, 1'250)));    // bucket 12
  w.record_processing(kT2, response_with_t3(plus_ns(kT2, 999'999)));  // overflow
  w.record_processing(kT2, response_with_t3(kT2 - 1000));             // T3 < T2: counted as 0
  w.record_processing(kT2, std::vector<std::uint8_t>(47, 0));         // too short: ignored
  EXPECT_EQ(w.proc_ns[0].load(), 2u);
  EXPECT_EQ(w.proc_ns[12].load(), 1u);
  EXPECT_EQ(w.proc_ns[runtime::WorkerStats::kProcBuckets - 1].load(), 1u);
  w.record_processing(kT2, response_with_t3(plus_ns(kT2, 10'050)));  // first 1 us bucket
  w.record_processing(kT2, response_with_t3(plus_ns(kT2, 99'999)));  // last 1 us bucket
  EXPECT_EQ(w.proc_ns[100].load(), 1u);
  EXPECT_EQ(w.proc_ns[189].load(), 1u);
  EXPECT_EQ(runtime::WorkerStats::proc_upper_ns(99), 10'000);
  EXPECT_EQ(runtime::WorkerStats::proc_upper_ns(189), 100'000);
  EXPECT_NEAR(static_cast<double>(w.proc_sum_ns.load()), 50 + 1'250 + 999'999 + 10'050 + 99'999, 6);
}

TEST(Stats, StallsCountEveryThresholdTheyPass) {
  runtime::WorkerStats w;
  w.record_stall(200'000);    // a long burst, not a stall
  w.record_stall(300'000);    // over 0.25 ms
  w.record_stall(1'500'000);  // over 0.25 and 1 ms
  w.record_stall(6'000'000);  // over all three
  EXPECT_EQ(w.stalls[0].load(), 3u);
  EXPECT_EQ(w.stalls[1].load(), 2u);
  EXPECT_EQ(w.stalls[2].load(), 1u);
  EXPECT_EQ(w.stalled_ns.load(), 300'000u + 1'500'000u + 6'000'000u);
}

TEST(Stats, BusyTimeIsTheIterationsThatServedABurst) {
  runtime::WorkerStats w;
  w.record_iteration(2'000, true);    // a burst's work
  w.record_iteration(50, false);      // an empty poll
  w.record_iteration(3'000, true);
  w.record_iteration(500'000, true);  // a stall: counted as one, not as busy
  EXPECT_EQ(w.busy_ns.load(), 5'000u);
  EXPECT_EQ(w.stalls[0].load(), 1u);
  EXPECT_EQ(w.stalled_ns.load(), 500'000u);
  runtime::Metrics m(1);
  m.worker(0).record_iteration(1'500'000 / 10, true);
  const std::string text = m.render();
  EXPECT_NE(text.find("# TYPE ntsd_worker_busy_seconds_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("ntsd_worker_busy_seconds_total{worker=\"0\"} 0.000150\n"), std::string::npos);
}

TEST(Stats, PrometheusTextHasHelpAndTypeForEverySample) {
  runtime::Metrics m(2);
  runtime::bump(m.worker(1).rx, 7);
  m.worker(0).reasons[static_cast<std::size_t>(proto::Reason::kOkNts)].store(5);
  m.worker(1).net_drops[static_cast<std::size_t>(net::Drop::kUdpChecksum)].store(3);
  m.worker(0).record_processing(kT2, response_with_t3(plus_ns(kT2, 150)));
  runtime::bump(m.worker(1).ratelimit_kod, 4);
  runtime::bump(m.worker(1).ratelimit_dropped, 2);
  runtime::bump(m.worker(0).ratelimit_leaked);
  m.worker(0).ratelimit_evictions.store(9);
  m.worker(1).record_stall(2'000'000);
  runtime::bump(m.worker(0).rx_timestamped, 6);
  const std::string text = m.render();
  std::set<std::string> help, type, sampled;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# HELP ", 0) == 0) help.insert(line.substr(7, line.find(' ', 7) - 7));
    else if (line.rfind("# TYPE ", 0) == 0) type.insert(line.substr(7, line.find(' ', 7) - 7));
    else sampled.insert(line.substr(0, line.find_first_of("{ ")));
  }
  for (const auto& s : sampled) {
    std::string base = s;
    for (const char* suffix : {"_bucket", "_sum", "_count"})
      if (base.size() > std::strlen(suffix) && base.ends_with(suffix) && help.count(base.substr(0, base.size() - std::strlen(suffix))))
        base = base.substr(0, base.size() - std::strlen(suffix));
    EXPECT_TRUE(help.count(base)) << s;
    EXPECT_TRUE(type.count(base)) << s;
  }
  EXPECT_NE(text.find("ntsd_rx_packets_total{worker=\"1\"} 7\n"), std::string::npos);
  EXPECT_NE(text.find("ntsd_requests_total{worker=\"0\",reason=\"ok_nts\"} 5\n"), std::string::npos);
  EXPECT_NE(text.find("ntsd_frames_dropped_total{worker=\"1\",reason=\"udp_checksum\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("ntsd_processing_seconds_bucket{worker=\"0\",le=\"0.0000001\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("ntsd_processing_seconds_bucket{worker=\"0\",le=\"0.0000002\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("ntsd_processing_seconds_count{worker=\"0\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("ntsd_ratelimit_total{worker=\"1\",action=\"kod\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("ntsd_ratelimit_total{worker=\"1\",action=\"drop\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("ntsd_ratelimit_total{worker=\"0\",action=\"leak\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("ntsd_worker_stalls_total{worker=\"1\",over=\"0.001\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("ntsd_worker_stalls_total{worker=\"1\",over=\"0.004\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("ntsd_worker_stalled_seconds_total{worker=\"1\"} 0.002000\n"), std::string::npos);
  EXPECT_NE(text.find("ntsd_ratelimit_evictions_total{worker=\"0\"} 9\n"), std::string::npos);
  EXPECT_NE(text.find("ntsd_rx_timestamped_total{worker=\"0\"} 6\n"), std::string::npos);
  EXPECT_NE(text.find("ntsd_rx_timestamped_total{worker=\"1\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE ntsd_rx_timestamped_total counter\n"), std::string::npos);
}
