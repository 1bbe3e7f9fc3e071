#include "ntsd/config/lcores.hpp"

#include <charconv>
#include <map>
#include <vector>

namespace ntsd::config {
namespace {

bool number(std::string_view s, int& v) {
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() && v >= 0 && v < 4096;
}

// "1,3-5" (the EAL's corelist; also the inside of "(...)").
bool parse_list(std::string_view s, std::set<int>& out) {
  if (s.empty()) return false;
  while (!s.empty()) {
    const std::size_t comma = s.find(',');
    const std::string_view item = s.substr(0, comma);
    const std::size_t dash = item.find('-');
    int a = 0, b = 0;
    if (dash == std::string_view::npos) {
      if (!number(item, a)) return false;
      b = a;
    } else if (!number(item.substr(0, dash), a) || !number(item.substr(dash + 1), b) || b < a) {
      return false;
    }
    for (int i = a; i <= b; ++i) out.insert(i);
    s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
  }
  return true;
}

// One group of --lcores: "3", "1-2", "(1,2)"; unwraps the parentheses.
bool parse_group(std::string_view s, std::set<int>& out) {
  if (s.size() >= 2 && s.front() == '(' && s.back() == ')') s = s.substr(1, s.size() - 2);
  return parse_list(s, out);
}

// --lcores "1,2@3,(4-5)@(0,1),6-7": lcore -> its CPUs.
bool parse_lcores(std::string_view s, std::map<int, std::set<int>>& out) {
  std::vector<std::string_view> items;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i < s.size() && s[i] == '(') ++depth;
    if (i < s.size() && s[i] == ')') --depth;
    if (i == s.size() || (s[i] == ',' && depth == 0)) {
      items.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  for (std::string_view it : items) {
    const std::size_t at = it.find('@');
    std::set<int> lcores, cpus;
    if (!parse_group(it.substr(0, at), lcores)) return false;
    if (at != std::string_view::npos && !parse_group(it.substr(at + 1), cpus)) return false;
    for (int l : lcores) out[l] = at == std::string_view::npos ? std::set<int>{l} : cpus;
  }
  return !out.empty();
}

bool parse_mask(std::string_view s, std::set<int>& out) {
  if (s.starts_with("0x") || s.starts_with("0X")) s.remove_prefix(2);
  if (s.empty()) return false;
  int bit = 0;
  for (std::size_t i = s.size(); i-- > 0; bit += 4) {
    int v = 0;
    const char c = s[i];
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else return false;
    for (int b = 0; b < 4; ++b)
      if (v & (1 << b)) out.insert(bit + b);
  }
  return !out.empty();
}

}  // namespace

std::optional<std::set<int>> dpdk_worker_cpus(const DataplaneConfig& d, const std::set<int>& available,
                                              std::string& error) {
  if (d.backend != Backend::kDpdk) return std::set<int>{};
  std::map<int, std::set<int>> lcores;  // lcore id -> CPUs
  int main_lcore = -1;
  const auto& a = d.eal_args;
  for (std::size_t i = 0; i < a.size(); ++i) {
    // "-l LIST", "-lLIST", "--lcores MAP", "--lcores=MAP", ...
    std::string opt = a[i], val;
    bool has_val = false;
    if (const auto eq = opt.find('='); opt.starts_with("--") && eq != std::string::npos) {
      val = opt.substr(eq + 1);
      opt = opt.substr(0, eq);
      has_val = true;
    } else if (opt.size() > 2 && opt[0] == '-' && opt[1] != '-' && (opt[1] == 'l' || opt[1] == 'c')) {
      val = opt.substr(2);
      opt = opt.substr(0, 2);
      has_val = true;
    }
    const bool ours = opt == "-l" || opt == "-c" || opt == "--lcores" || opt == "--main-lcore" || opt == "--master-lcore";
    if (!ours) continue;
    if (!has_val) {
      if (i + 1 >= a.size()) {
        error = "[dataplane] eal_args: " + opt + " needs a value";
        return std::nullopt;
      }
      val = a[++i];
    }
    std::set<int> ids;
    bool ok = true;
    if (opt == "-l") {
      ok = parse_list(val, ids);
      lcores.clear();
      for (int l : ids) lcores[l] = {l};
    } else if (opt == "-c") {
      ok = parse_mask(val, ids);
      lcores.clear();
      for (int l : ids) lcores[l] = {l};
    } else if (opt == "--lcores") {
      lcores.clear();
      ok = parse_lcores(val, lcores);
    } else {
      ok = number(val, main_lcore);
    }
    if (!ok) {
      error = "[dataplane] eal_args: cannot read " + opt + " " + val;
      return std::nullopt;
    }
  }
  if (lcores.empty())  // the EAL's default: one lcore per available CPU
    for (int c : available) lcores[c] = {c};
  if (main_lcore < 0 && !lcores.empty()) main_lcore = lcores.begin()->first;
  std::set<int> cpus;
  int n = 0;
  for (const auto& [l, cs] : lcores) {
    if (l == main_lcore) continue;
    if (n++ >= d.workers) break;
    cpus.insert(cs.begin(), cs.end());
  }
  return cpus;
}

std::string cpu_list(const std::set<int>& cpus) {
  std::string s;
  for (auto it = cpus.begin(); it != cpus.end();) {
    int a = *it, b = a;
    while (++it != cpus.end() && *it == b + 1) ++b;
    if (!s.empty()) s += ",";
    s += std::to_string(a);
    if (b > a) s += "-" + std::to_string(b);
  }
  return s;
}

}  // namespace ntsd::config
