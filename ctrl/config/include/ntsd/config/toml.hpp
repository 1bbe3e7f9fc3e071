// The configuration file as a document of tables: what config.cpp's readers
// (its Section class) consume. Parsed by toml++ 3.3 (Debian 12's
// libtomlplusplus), so every valid TOML 1.0 file is accepted: multi-line
// arrays, inline tables, dotted keys, all four string forms, hex/octal/binary
// integers, dates. ntsd's configuration itself is one level deep: top-level
// [tables] (or [[arrays of tables]]) of keys. What TOML allows beyond that
// shape is mapped, not refused here, so that the readers name it:
//   - a value that is itself a table ([server.x], server.x.y = 1, x = {...})
//     becomes a kTable value, which no reader asks for: "unknown key";
//   - a key outside any table is refused: "key 'x' outside any [table]".
// Errors carry the line: "line N: why".
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ntsd::config {

struct TomlValue {
  enum class Type : std::uint8_t { kString, kInteger, kFloat, kBool, kArray, kTable, kDateTime };
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
