// toml++ under the configuration (issue 16): the same configs fed to the
// hand-written subset parser ntsd used before and to toml++ give the same
// document wherever the subset accepts them; what valid TOML the subset
// refused (multi-line arrays, inline tables, dotted keys, every string form)
// toml++ accepts; unknown keys are still refused with file, line and key.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ntsd/config/config.hpp"
#include "ntsd/config/toml.hpp"
#include "toml_subset.hpp"

using namespace ntsd::config;

namespace {

std::string describe(const TomlValue& v, bool element = false);

std::string describe(const TomlTable& t) {
  std::string s = "@" + std::to_string(t.line) + (t.is_array ? "[[" : "{");
  for (const auto& [k, v] : t.values) s += k + "=" + describe(v) + ";";
  for (const auto& e : t.array) s += describe(e) + ",";
  return s + (t.is_array ? "]]" : "}");
}

// Everything a reader can observe of a value, as text: equal text, equal
// value. The readers quote the key's line, never an array element's (the
// subset left those 0; toml++ knows them).
std::string describe(const TomlValue& v, bool element) {
  std::ostringstream o;
  o << TomlValue::type_name(v.type);
  if (!element) o << "@" << v.line;
  o << ":";
  switch (v.type) {
    case TomlValue::Type::kString: o << '"' << v.str << '"'; break;
    case TomlValue::Type::kInteger: o << v.integer; break;
    case TomlValue::Type::kFloat: o << v.flt; break;
    case TomlValue::Type::kBool: o << v.boolean; break;
    case TomlValue::Type::kArray:
      o << "[";
      for (const auto& e : v.array) o << describe(e, true) << ",";
      o << "]";
      break;
    default: break;
  }
  return o.str();
}

std::string describe(const TomlDocument& d) {
  std::string s;
  for (const auto& [name, t] : d) s += name + describe(t) + "\n";
  return s;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Configs in the subset: every construct it accepted, and the files ntsd ships.
std::vector<std::pair<std::string, std::string>> subset_corpus() {
  std::vector<std::pair<std::string, std::string>> c = {
      {"empty", ""},
      {"comments", "# a\n\n   # b\n[server] # c\nstratum = 2 # d\n"},
      {"every value kind",
       "[t]\ns = \"a\\\"b\\\\c\\n\\t\"\nl = 'C:\\x'\ni = -1_000\np = +7\nf = 2.5e1\ng = -0.5\nb = true\nc = false\n"
       "as = [\"x\", 'y']\nai = [15, 17,]\ne = []\n"},
      {"crlf", "[ke]\r\nport = 4460\r\ncert = \"/c.pem\"\r\n"},
      {"tabs", "[ke]\n\tport\t=\t4460\t\n"},
      {"tables", "[server]\nstratum = 1\n[ke]\nport = 1\n[keys]\nprevious = 2\n[dataplane]\nworkers = 2\n"},
      {"arrays of tables",
       "[pool]\nworkers = 2\n[[backend]]\nname = \"a\"\ntoken_file = \"t\"\n[[backend]]\nname = \"b\"\n"
       "token_file = \"u\"\nfamilies = [\"ipv4\"]\n"},
      {"big integers", "[t]\nmax = 9223372036854775807\nmin = -9223372036854775808\n"},
  };
  const char* src = std::getenv("NTSD_SOURCE");
  if (src != nullptr) {
    for (const auto& e : std::filesystem::recursive_directory_iterator(std::filesystem::path(src) / "packaging")) {
      const std::string name = e.path().filename().string();
      if (e.is_regular_file() && (name.ends_with(".toml") || name.ends_with(".toml.example")))
        c.emplace_back(e.path().string(), read_file(e.path()));
    }
  }
  return c;
}

}  // namespace

TEST(TomlDifferential, SubsetAndTomlppGiveTheSameDocument) {
  int files = 0;
  for (const auto& [name, text] : subset_corpus()) {
    std::string e1, e2;
    auto old_doc = parse_toml_subset(text, e1);
    auto new_doc = parse_toml(text, e2);
    ASSERT_TRUE(old_doc) << name << ": subset: " << e1;
    ASSERT_TRUE(new_doc) << name << ": toml++: " << e2;
    EXPECT_EQ(describe(*old_doc), describe(*new_doc)) << name;
    files += name.starts_with("/") ? 1 : 0;
  }
  EXPECT_GE(files, 1) << "no packaging/*.toml* file found under NTSD_SOURCE";
}

TEST(TomlDifferential, BothRefuseWhatTomlRefuses) {
  for (const char* text : {
           "[a]\nx = \"open\n", "[a]\nx = 1\nx = 2\n", "[a]\n[a]\n", "[a]\nx = [1 2]\n", "[a]\nx = 12abc\n",
           "[a]\nx = 1 2\n", "[a]\nx = \"\\q\"\n", "[a]\nx = 99999999999999999999\n", "[a]\njunk\n",
           "[[b]\n", "[[b]] x\n", "[b]\n[[b]]\n", "[[b]]\n[b]\n", "[a]\nx = \"\x01\"\n"}) {
    std::string e1, e2;
    EXPECT_FALSE(parse_toml_subset(text, e1)) << text;
    EXPECT_FALSE(parse_toml(text, e2)) << text;
    EXPECT_TRUE(e2.starts_with("line ")) << e2;
  }
}

TEST(Toml, AcceptsWhatTheSubsetRefused) {
  const std::string text =
      "server.stratum = 2\n"          // dotted key at the top: table server
      "[ke]\n"
      "listen = [\n"                  // multi-line array with comments
      "  \"192.0.2.1\",  # first\n"
      "  \"2001:db8::1\",\n"
      "]\n"
      "cert = \"\"\"\n/etc/ntsd/\\\n  cert.pem\"\"\"\n"  // multi-line basic, line-ending backslash
      "key = '''/etc/ntsd/key.pem'''\n"
      "ntp_server = \"caf\\u00e9.example\"\n"
      "port = 0x116c\n"                // 4460 in hex
      "aeads = [ 15,\n 17 ]\n"
      "[keys]\n"
      "previous = 0o6\n"
      "x = { a = 1 }\n";
  std::string e1, e2;
  EXPECT_FALSE(parse_toml_subset(text, e1));
  auto doc = parse_toml(text, e2);
  ASSERT_TRUE(doc) << e2;
  EXPECT_EQ(doc->at("server").values.at("stratum").integer, 2);
  const auto& ke = doc->at("ke").values;
  ASSERT_EQ(ke.at("listen").array.size(), 2u);
  EXPECT_EQ(ke.at("listen").line, 3);
  EXPECT_EQ(ke.at("cert").str, "/etc/ntsd/cert.pem");
  EXPECT_EQ(ke.at("key").str, "/etc/ntsd/key.pem");
  EXPECT_EQ(ke.at("ntp_server").str, "caf\xc3\xa9.example");
  EXPECT_EQ(ke.at("port").integer, 4460);
  EXPECT_EQ(doc->at("keys").values.at("previous").integer, 6);
  EXPECT_EQ(doc->at("keys").values.at("x").type, TomlValue::Type::kTable);
}

TEST(Toml, InlineTablesAndArraysOfThemReachTheReaders) {
  std::string err;
  auto cfg = parse_config(
      "ke = { port = 4461, aeads = [17] }\n"
      "backend = [ { name = \"a.example\", token_file = \"/t\" },\n"
      "            { name = \"b.example\", token_file = \"/u\", weight = 3 } ]\n",
      err);
  ASSERT_TRUE(cfg) << err;
  EXPECT_EQ(cfg->ke.port, 4461);
  ASSERT_EQ(cfg->ke.aeads.size(), 1u);
  ASSERT_EQ(cfg->backends.size(), 2u);
  EXPECT_EQ(cfg->backends[1].weight, 3);
}

TEST(Toml, WhatNtsdDoesNotReadIsAnUnknownKeyWithItsLine) {
  std::string err;
  EXPECT_FALSE(parse_config("[keys]\nprevious = 2\n\nbogus = 1\n", err));
  EXPECT_EQ(err, "line 4: [keys] bogus: unknown key");
  EXPECT_FALSE(parse_config("[server]\nstratum = 1\n[server.extra]\nx = 1\n", err));
  EXPECT_EQ(err, "line 3: [server] extra: unknown key");
  EXPECT_FALSE(parse_config("[ke]\nport = { n = 1 }\n", err));
  EXPECT_EQ(err, "line 2: [ke] port: must be a integer, not a table");
  EXPECT_FALSE(parse_config("[ke]\ncert = 1979-05-27T07:32:00Z\n", err));
  EXPECT_EQ(err, "line 2: [ke] cert: must be a string, not a date-time");
  EXPECT_FALSE(parse_config("[ke]\nlisten = [[\"a\"]]\n", err));
  EXPECT_EQ(err, "line 2: [ke] listen: must be an array of strings");
  EXPECT_FALSE(parse_config("stratum = 1\n", err));
  EXPECT_EQ(err, "line 1: key 'stratum' outside any [table]");
}

TEST(Toml, LoadConfigNamesFileLineAndKey) {
  char dir[] = "/tmp/ntsd_toml_XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/ntsd.toml";
  std::ofstream(path) << "[keys]\nfile = \"/k\"\n\n[keys.more]\n";
  std::string err;
  EXPECT_FALSE(load_config(path, err));
  EXPECT_EQ(err, path + ": line 4: [keys] more: unknown key");
  std::ofstream(path) << "[keys]\nfile = \"/k\"\nfile = \"/j\"\n";
  EXPECT_FALSE(load_config(path, err));
  EXPECT_TRUE(err.starts_with(path + ": line 3: ")) << err;
  std::filesystem::remove_all(dir);
}
