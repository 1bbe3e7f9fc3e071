// The configuration document from toml++ (Debian 12's libtomlplusplus 3.3,
// TOML 1.0). toml++ does the parsing; this file maps its tree onto
// TomlDocument, the one-level shape config.cpp's readers consume (toml.hpp).
#include "ntsd/config/toml.hpp"

#include <toml++/toml.h>

namespace ntsd::config {
namespace {

int line_of(const toml::source_region& r, int fallback) {
  return r.begin.line > 0 ? static_cast<int>(r.begin.line) : fallback;
}

TomlValue convert(const toml::node& n, int line) {
  TomlValue v;
  v.line = line;
  if (const auto* s = n.as_string()) {
    v.type = TomlValue::Type::kString;
    v.str = s->get();
  } else if (const auto* i = n.as_integer()) {
    v.type = TomlValue::Type::kInteger;
    v.integer = i->get();
  } else if (const auto* f = n.as_floating_point()) {
    v.type = TomlValue::Type::kFloat;
    v.flt = f->get();
  } else if (const auto* b = n.as_boolean()) {
    v.type = TomlValue::Type::kBool;
    v.boolean = b->get();
  } else if (const auto* a = n.as_array()) {
    v.type = TomlValue::Type::kArray;
    for (const auto& e : *a) v.array.push_back(convert(e, line_of(e.source(), line)));
  } else if (n.is_table()) {
    v.type = TomlValue::Type::kTable;  // a nested or inline table: no reader asks for one
  } else {
    v.type = TomlValue::Type::kDateTime;
  }
  return v;
}

TomlTable convert_table(const toml::table& t, int line) {
  TomlTable out;
  out.line = line;
  for (const auto& [k, node] : t) {
    const int at = line_of(k.source(), line_of(node.source(), line));
    out.values.emplace(std::string(k.str()), convert(node, at));
  }
  return out;
}

}  // namespace

const char* TomlValue::type_name(Type t) noexcept {
  switch (t) {
    case Type::kString: return "string";
    case Type::kInteger: return "integer";
    case Type::kFloat: return "float";
    case Type::kBool: return "boolean";
    case Type::kArray: return "array";
    case Type::kTable: return "table";
    case Type::kDateTime: return "date-time";
  }
  return "?";
}

std::optional<TomlDocument> parse_toml(std::string_view text, std::string& error) {
  toml::table root;
  try {
    root = toml::parse(text);
  } catch (const toml::parse_error& e) {
    error = "line " + std::to_string(e.source().begin.line) + ": " + std::string(e.description());
    return std::nullopt;
  }
  TomlDocument doc;
  for (const auto& [k, node] : root) {
    const int line = line_of(k.source(), line_of(node.source(), 0));
    const std::string name(k.str());
    if (const auto* t = node.as_table()) {
      doc.emplace(name, convert_table(*t, line));
      continue;
    }
    const auto* a = node.as_array();
    if (a != nullptr && a->is_array_of_tables()) {
      TomlTable& arr = doc[name];
      arr.line = line;
      arr.is_array = true;
      for (const auto& e : *a) arr.array.push_back(convert_table(*e.as_table(), line_of(e.source(), line)));
      continue;
    }
    error = "line " + std::to_string(line) + ": key '" + name + "' outside any [table]";
    return std::nullopt;
  }
  return doc;
}

}  // namespace ntsd::config
