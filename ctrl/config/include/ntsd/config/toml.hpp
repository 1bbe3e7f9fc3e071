// A small, strict TOML subset: enough for ntsd's configuration and nothing
// more, so that every accepted file means exactly one thing.
//
// Accepted:
//   # comment                       (whole line or after a value)
//   [table]                         (one level, bare name, each at most once)
//   key = "string"                  (basic string, escapes \" \\ \n \t)
//   key = 'literal'                 (no escapes)
//   key = 42 / -7 / 1_000           (64-bit integer)
//   key = 1.5 / -2e3                (float)
//   key = true / false
//   key = ["a", "b"] / [15, 17] / [] (one line, one element type)
//   [[name]]                        (array of tables: each header starts one)
// Rejected with a line number: everything else (dotted keys, inline tables,
// multi-line strings or arrays, dates, duplicate keys or tables, keys before
// the first table).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ntsd::config {

struct TomlValue {
  enum class Type : std::uint8_t { kString, kInteger, kFloat, kBool, kArray };
  Type type = Type::kString;
  std::string str;
  std::int64_t integer = 0;
  double flt = 0;
  bool boolean = false;
  std::vector<TomlValue> array;
  int line = 0;  // where the key was defined, for error messages

  static const char* type_name(Type t) noexcept;
};

struct TomlTable {
  int line = 0;
  std::map<std::string, TomlValue> values;
  // [[name]]: the tables of the array, in file order (values stays empty).
  bool is_array = false;
  std::vector<TomlTable> array;
};

// table name -> table. Keys are unique per table.
using TomlDocument = std::map<std::string, TomlTable>;

// Parses `text`. On failure returns nullopt and sets `error` to "line N: why".
std::optional<TomlDocument> parse_toml(std::string_view text, std::string& error);

}  // namespace ntsd::config
