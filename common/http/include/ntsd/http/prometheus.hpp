// Helpers for the Prometheus text exposition format 0.0.4: every family gets
// # HELP and # TYPE lines, samples are "name{labels} value".
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace ntsd::http::prom {

inline void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

inline void sample(std::string& out, std::string_view name, std::string_view labels, std::uint64_t v) {
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(std::to_string(v)).append("\n");
}

inline void sample(std::string& out, std::string_view name, std::string_view labels, std::int64_t v) {
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(std::to_string(v)).append("\n");
}

inline void sample(std::string& out, std::string_view name, std::string_view labels, double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(buf).append("\n");
}

// A label value with \, " and newline escaped, quoted: name="value".
inline std::string label(std::string_view name, std::string_view value) {
  std::string s(name);
  s.append("=\"");
  for (char c : value) {
    if (c == '\\' || c == '"') s.push_back('\\');
    if (c == '\n') {
      s.append("\\n");
      continue;
    }
    s.push_back(c);
  }
  s.push_back('"');
  return s;
}

}  // namespace ntsd::http::prom
