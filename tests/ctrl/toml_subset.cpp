// The hand-written TOML subset ntsd parsed its configuration with before
// toml++ (issue 16), removed from ctrl/config. Kept here only as the oracle
// of the differential test (test_toml.cpp): every file it accepts must give
// toml++ the same document.
#include "toml_subset.hpp"

#include <cerrno>
#include <cstdlib>

namespace ntsd::config {
namespace {

bool is_bare_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// A cursor over one line. Every accessor is bounds-checked.
struct Cursor {
  std::string_view s;
  std::size_t i = 0;
  bool done() const { return i >= s.size(); }
  char peek() const { return done() ? '\0' : s[i]; }
  void skip_ws() {
    while (!done() && (s[i] == ' ' || s[i] == '\t')) ++i;
  }
  // True if only whitespace and an optional comment remain.
  bool at_end_of_content() {
    skip_ws();
    return done() || s[i] == '#';
  }
};

bool parse_basic_string(Cursor& c, std::string& out, std::string& why) {
  ++c.i;  // opening quote
  while (!c.done()) {
    char ch = c.s[c.i++];
    if (ch == '"') return true;
    if (ch == '\\') {
      if (c.done()) break;
      char e = c.s[c.i++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        default: why = std::string("unsupported escape \\") + e; return false;
      }
      continue;
    }
    if (static_cast<unsigned char>(ch) < 0x20) {
      why = "control character in string";
      return false;
    }
    out += ch;
  }
  why = "unterminated string";
  return false;
}

bool parse_literal_string(Cursor& c, std::string& out, std::string& why) {
  ++c.i;
  while (!c.done()) {
    char ch = c.s[c.i++];
    if (ch == '\'') return true;
    out += ch;
  }
  why = "unterminated string";
  return false;
}

bool parse_number(Cursor& c, TomlValue& v, std::string& why) {
  std::size_t start = c.i;
  while (!c.done() && (is_bare_char(c.peek()) || c.peek() == '.' || c.peek() == '+')) ++c.i;
  std::string tok;
  for (char ch : c.s.substr(start, c.i - start))
    if (ch != '_') tok += ch;
  if (tok.empty()) {
    why = "expected a value";
    return false;
  }
  bool is_float = tok.find_first_of(".eE") != std::string::npos &&
                  tok.find_first_not_of("+-0123456789.eE") == std::string::npos;
  errno = 0;
  char* end = nullptr;
  if (is_float) {
    v.type = TomlValue::Type::kFloat;
    v.flt = std::strtod(tok.c_str(), &end);
  } else {
    v.type = TomlValue::Type::kInteger;
    v.integer = std::strtoll(tok.c_str(), &end, 10);
  }
  if (end != tok.c_str() + tok.size() || errno == ERANGE) {
    why = "invalid value '" + tok + "'";
    return false;
  }
  return true;
}

bool parse_value(Cursor& c, TomlValue& v, std::string& why, bool in_array);

bool parse_array(Cursor& c, TomlValue& v, std::string& why) {
  v.type = TomlValue::Type::kArray;
  ++c.i;  // '['
  for (;;) {
    c.skip_ws();
    if (c.peek() == ']') {
      ++c.i;
      return true;
    }
    if (c.done() || c.peek() == '#') {
      why = "unterminated array (arrays must be on one line)";
      return false;
    }
    TomlValue elem;
    if (!parse_value(c, elem, why, true)) return false;
    if (!v.array.empty() && v.array.front().type != elem.type) {
      why = "mixed types in array";
      return false;
    }
    v.array.push_back(std::move(elem));
    c.skip_ws();
    if (c.peek() == ',') {
      ++c.i;
    } else if (c.peek() != ']') {
      why = "expected ',' or ']' in array (arrays must be on one line)";
      return false;
    }
  }
}

bool parse_value(Cursor& c, TomlValue& v, std::string& why, bool in_array) {
  c.skip_ws();
  char ch = c.peek();
  if (ch == '"') {
    v.type = TomlValue::Type::kString;
    return parse_basic_string(c, v.str, why);
  }
  if (ch == '\'') {
    v.type = TomlValue::Type::kString;
    return parse_literal_string(c, v.str, why);
  }
  if (ch == '[') {
    if (in_array) {
      why = "nested arrays are not supported";
      return false;
    }
    return parse_array(c, v, why);
  }
  if (c.s.substr(c.i).starts_with("true")) {
    c.i += 4;
    v.type = TomlValue::Type::kBool;
    v.boolean = true;
    return true;
  }
  if (c.s.substr(c.i).starts_with("false")) {
    c.i += 5;
    v.type = TomlValue::Type::kBool;
    v.boolean = false;
    return true;
  }
  if (ch == '{') {
    why = "inline tables are not supported";
    return false;
  }
  return parse_number(c, v, why);
}

bool parse_bare_name(Cursor& c, std::string& out) {
  std::size_t start = c.i;
  while (!c.done() && is_bare_char(c.peek())) ++c.i;
  out = std::string(c.s.substr(start, c.i - start));
  return !out.empty();
}

}  // namespace

std::optional<TomlDocument> parse_toml_subset(std::string_view text, std::string& error) {
  TomlDocument doc;
  TomlTable* table = nullptr;
  int lineno = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = nl + 1;
    ++lineno;
    auto fail = [&](const std::string& why) {
      error = "line " + std::to_string(lineno) + ": " + why;
      return std::nullopt;
    };
    Cursor c{line};
    if (c.at_end_of_content()) continue;
    if (c.s.substr(c.i).starts_with("[[")) {
      // An array of tables ([[backend]] in ntsd-pool's configuration).
      c.i += 2;
      c.skip_ws();
      std::string name;
      if (!parse_bare_name(c, name)) return fail("expected a table name after '[['");
      c.skip_ws();
      if (!c.s.substr(c.i).starts_with("]]")) return fail("expected ']]' after table name");
      c.i += 2;
      if (!c.at_end_of_content()) return fail("unexpected text after table header");
      auto [it, fresh] = doc.try_emplace(name);
      if (!fresh && !it->second.is_array) return fail("[[" + name + "]] after [" + name + "]");
      if (fresh) it->second.line = lineno;
      it->second.is_array = true;
      table = &it->second.array.emplace_back();
      table->line = lineno;
      continue;
    }
    if (c.peek() == '[') {
      ++c.i;
      c.skip_ws();
      std::string name;
      if (!parse_bare_name(c, name)) return fail("expected a table name after '['");
      c.skip_ws();
      if (c.peek() != ']') return fail("expected ']' after table name (only [name] tables)");
      ++c.i;
      if (!c.at_end_of_content()) return fail("unexpected text after table header");
      if (doc.count(name))
        return fail(doc[name].is_array ? "[" + name + "] after [[" + name + "]]"
                                       : "table [" + name + "] defined twice");
      table = &doc[name];
      table->line = lineno;
      continue;
    }
    std::string key;
    if (!parse_bare_name(c, key)) return fail("expected a key or a [table]");
    c.skip_ws();
    if (c.peek() == '.') return fail("dotted keys are not supported");
    if (c.peek() != '=') return fail("expected '=' after key '" + key + "'");
    ++c.i;
    if (table == nullptr) return fail("key '" + key + "' outside any [table]");
    TomlValue v;
    v.line = lineno;
    std::string why;
    if (!parse_value(c, v, why, false)) return fail(key + ": " + why);
    if (!c.at_end_of_content()) return fail(key + ": unexpected text after the value");
    if (table->values.count(key)) return fail("key '" + key + "' defined twice");
    table->values.emplace(key, std::move(v));
  }
  return doc;
}

}  // namespace ntsd::config
