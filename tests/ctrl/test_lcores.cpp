// Which CPUs ntsd's DPDK workers take, read from [dataplane] eal_args the way
// the EAL reads them (ntsd-ke keeps its threads off them).
#include <gtest/gtest.h>

#include "ntsd/config/lcores.hpp"

using ntsd::config::cpu_list;
using ntsd::config::DataplaneConfig;
using ntsd::config::dpdk_worker_cpus;

namespace {

std::string workers(std::vector<std::string> eal, int n = 1, std::set<int> avail = {0, 1, 2, 3, 4, 5, 6, 7}) {
  DataplaneConfig d;
  d.eal_args = std::move(eal);
  d.workers = n;
  std::string err;
  auto c = dpdk_worker_cpus(d, avail, err);
  return c ? cpu_list(*c) : "error: " + err;
}

}  // namespace

TEST(Lcores, CoreList) {
  EXPECT_EQ(workers({"-l", "0-1", "--no-huge"}), "1");          // main 0, one worker on 1
  EXPECT_EQ(workers({"-l", "1-3", "--main-lcore", "1"}, 2), "2-3");
  EXPECT_EQ(workers({"-l", "1-3", "--main-lcore=3"}, 2), "1-2");
  EXPECT_EQ(workers({"-l0,2,4-5"}, 3), "2,4-5");
  EXPECT_EQ(workers({"-l", "0-7"}, 2), "1-2");                   // only as many as workers
}

TEST(Lcores, CoreMask) {
  EXPECT_EQ(workers({"-c", "0xf"}, 3), "1-3");
  EXPECT_EQ(workers({"-c0x30"}, 1), "5");
}

TEST(Lcores, LcoresMap) {
  EXPECT_EQ(workers({"--lcores", "0,1@5,2@6"}, 2), "5-6");
  EXPECT_EQ(workers({"--lcores=(0-1)@(0),(2-3)@(6,7)"}, 2), "0,6-7");  // lcore 1 on CPU 0, lcore 2 on 6-7
}

TEST(Lcores, DefaultIsEveryAvailableCpu) {
  EXPECT_EQ(workers({"--no-huge"}, 2, {2, 3, 4}), "3-4");  // main = first available
}

TEST(Lcores, SocketBackendHasNoWorkerLcores) {
  DataplaneConfig d;
  d.backend = ntsd::config::Backend::kSocket;
  d.eal_args = {"-l", "0-3"};
  std::string err;
  auto c = dpdk_worker_cpus(d, {0, 1, 2, 3}, err);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->empty());
}

TEST(Lcores, Errors) {
  EXPECT_EQ(workers({"-l"}), "error: [dataplane] eal_args: -l needs a value");
  EXPECT_EQ(workers({"-l", "3-1"}).rfind("error: [dataplane] eal_args: cannot read -l 3-1", 0), 0u);
  EXPECT_EQ(workers({"-c", "xyz"}).rfind("error:", 0), 0u);
}

TEST(Lcores, CpuList) {
  EXPECT_EQ(cpu_list({}), "");
  EXPECT_EQ(cpu_list({0, 1, 2, 5, 7, 8}), "0-2,5,7-8");
}
