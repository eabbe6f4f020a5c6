// sim/src/json_text.h — the little JSON text the mocks write and read (internal to sim).
//
// Purpose: the mocks build small JSON documents (tool-call arguments, tool results) with
// keel's JSON string escaper (keel/core/json_escape.h, re-exported here) and read one field
// back (`call_id`) without a JSON library in sim's dependencies.
//
// Contract: `find_string_field` finds `"key"` followed by optional whitespace, `:`, optional
// whitespace and a string without escapes — the shape `append_json_string` writes for the ids
// the mocks generate — and returns its contents; anything else gives nullopt. It is a scanner
// for our own output, not a parser.
//
// Example:
//   std::string s = "{\"call_id\":";
//   append_json_string(s, "call_a_0_1");
//   s += '}';
//   assert(find_string_field(s, "call_id") == "call_a_0_1");
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "keel/core/json_escape.h"

namespace keel::sim::detail {

using keel::append_json_string;

inline std::optional<std::string_view> find_string_field(std::string_view json, std::string_view key) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  for (std::size_t pos = json.find('"'); pos != std::string_view::npos; pos = json.find('"', pos + 1)) {
    if (json.substr(pos + 1, key.size()) != key || json.substr(pos + 1 + key.size(), 1) != "\"") continue;
    std::size_t i = pos + key.size() + 2;
    while (i < json.size() && is_space(json[i])) ++i;
    if (i >= json.size() || json[i] != ':') continue;
    ++i;
    while (i < json.size() && is_space(json[i])) ++i;
    if (i >= json.size() || json[i] != '"') return std::nullopt;
    const std::size_t end = json.find_first_of("\"\\", i + 1);
    if (end == std::string_view::npos || json[end] != '"') return std::nullopt;
    return json.substr(i + 1, end - i - 1);
  }
  return std::nullopt;
}

}  // namespace keel::sim::detail
