// ntsgen's command line and session file: bad input is refused with a
// message, and every run is bounded.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "cli.hpp"
#include "nts_fixture.hpp"
#include "output.hpp"
#include "session_file.hpp"

namespace ntsgen {
namespace {

std::optional<Options> parse(std::vector<std::string> args, std::string& err) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  bool help = false;
  return parse_cli(static_cast<int>(argv.size()), argv.data(), err, help);
}

TEST(Cli, ParsesARamp) {
  std::string err;
  auto o = parse({"--server", "[2001:db8::1]:1123", "--mode", "nts", "--rate", "5000", "--ramp", "2",
                  "--placeholders", "2", "--json", "-"},
                 err);
  ASSERT_TRUE(o) << err;
  EXPECT_EQ(o->sock.server, "2001:db8::1");
  EXPECT_EQ(o->sock.port, 1123);
  EXPECT_EQ(o->mode, "nts");
  EXPECT_EQ(o->run.max_steps, 10u);  // a ramp defaults to 10 steps
  EXPECT_DOUBLE_EQ(o->run.factor, 2);
  EXPECT_EQ(o->placeholders, 2u);
  EXPECT_EQ(o->ke.host, "2001:db8::1");  // NTS-KE defaults to the server
  EXPECT_EQ(o->ke.port, 4460);
}

// --aead: the AEADs offered in NTS-KE, in our order (30 = AES-128-GCM-SIV).
TEST(Cli, AeadList) {
  std::string err;
  auto o = parse({"--server", "h", "--mode", "nts"}, err);
  ASSERT_TRUE(o) << err;
  EXPECT_EQ(o->ke.aeads, (std::vector<std::uint16_t>{15, 17}));
  o = parse({"--server", "h", "--mode", "nts", "--aead", "30,15"}, err);
  ASSERT_TRUE(o) << err;
  EXPECT_EQ(o->ke.aeads, (std::vector<std::uint16_t>{30, 15}));
  for (const char* bad : {"", "30,", "0", "70000", "x"}) {
    EXPECT_FALSE(parse({"--server", "h", "--aead", bad}, err)) << bad;
  }
}

TEST(Cli, RefusesBadInput) {
  const std::vector<std::vector<std::string>> bad = {
      {},                                                       // no server
      {"--server", "h", "--mode", "ptp"},                       // unknown mode
      {"--server", "h", "--rate", "-5"},                        // negative rate
      {"--server", "h", "--rate", "abc"},                       // not a number
      {"--server", "h", "--ramp", "1"},                         // a ramp must grow
      {"--server", "h", "--placeholders", "8"},                 // at most 7
      {"--server", "h:99999"},                                  // bad port
      {"--server", "h", "--duration", "0"},                     // unbounded
      {"--server", "h", "--steps", "256"},                      // step tag is 8 bits
      {"--server", "h", "--bogus", "1"},                        // unknown option
      {"--server"},                                             // missing value
  };
  for (const auto& args : bad) {
    std::string err;
    EXPECT_FALSE(parse(args, err)) << (args.empty() ? "(none)" : args.back());
    EXPECT_FALSE(err.empty());
  }
  std::string err;
  EXPECT_TRUE(parse({"--server", "h", "--duration", "0", "--count", "100"}, err)) << err;
}

TEST(SessionFile, RoundTripAndErrors) {
  const auto k = test::vector_keys();
  Session s;
  s.c2s = k.c2s;
  s.s2c = k.s2c;
  const std::string path = ::testing::TempDir() + "/ntsgen_sessions.txt";
  std::ofstream(path) << "# comment\n" << session_line(s, k.cookie) << "\n\n";
  std::vector<Session> out;
  std::string err;
  ASSERT_TRUE(load_session_file(path, out, err)) << err;
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].jar.size(), 1u);
  EXPECT_EQ(out[0].c2s.size(), 32u);
  for (const char* line : {"zz 00 11\n", "00112233 44556677 aa\n"}) {
    std::ofstream(path) << session_line(s, k.cookie).substr(0, 64) << " " << line;
    out.clear();
    EXPECT_FALSE(load_session_file(path, out, err)) << line;
  }
  std::ofstream(path) << "";
  EXPECT_FALSE(load_session_file(path, out, err));
  std::remove(path.c_str());
}

TEST(Output, JsonHasEveryCounter) {
  RunResult r;
  StepResult s;
  s.offered_rate = 1000;
  s.duration_s = 1;
  s.c.sent = 10;
  s.c.valid = 7;
  s.c.lost = 1;
  s.c.nak = 1;
  s.c.add_invalid(Invalid::kAuthFail);
  s.latency.record(1500);
  r.steps.push_back(s);
  r.knee = -1;
  const auto j = nlohmann::json::parse(to_json(RunInfo{"nts", "test", 4, 0, 1.0}, r));
  const auto& st = j["steps"][0];
  EXPECT_EQ(st["sent"], 10);
  EXPECT_EQ(st["valid"], 7);
  EXPECT_EQ(st["invalid"], 1);
  EXPECT_EQ(st["invalid_by_reason"]["auth"], 1);
  EXPECT_EQ(st["nak"], 1);
  EXPECT_EQ(st["lost"], 1);
  EXPECT_DOUBLE_EQ(st["lost_pct"].get<double>(), 10.0);
  EXPECT_GE(st["latency_ns"]["p50"].get<std::uint64_t>(), 1500u);
  EXPECT_EQ(j["knee"], -1);
}

}  // namespace
}  // namespace ntsgen
